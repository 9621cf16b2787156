// Loop: one event-loop thread's world: its asio io_context and its io_uring queue, whose
// eventfd the loop watches. Writes queued during one turn of the loop are submitted together
// at the end of the turn (one syscall, one device notification for the batch).
// Threading: everything runs on the loop's thread, except construction and Drain.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <asio.hpp>

#include "env/io_queue.h"
#include "server/end_of_turn.h"
#include "store/volume.h"

namespace fb::server {

// Someone waiting for an asynchronous write (a connection's request).
class IoWaiter {
 public:
  virtual void OnIoDone(Status status, size_t bytes) = 0;

 protected:
  ~IoWaiter() = default;
};

class Loop {
 public:
  explicit Loop(unsigned io_queue_entries);
  asio::io_context& io() { return io_; }
  // Starts watching completions; call once before Run().
  void Start();
  // Runs the loop on this thread until the io_context stops (polling as SetPoll says).
  void Run();
  // Busy polling: a loop that just ran handlers keeps polling for up to `window` before it
  // sleeps, but only while nothing of ours is in flight: every client request it took is
  // answered (one on a disk worker, waiting for a replica or for the primary behind attach
  // leaves the core to them) and none of its io_uring writes is pending (a replica's
  // mirrored writes are not client requests). Then it waits for the client, whose next
  // request it catches without a wake-up. Between polls it yields the core, and once a
  // yield lets another thread run (the core is wanted) it sleeps. 0 never polls.
  void SetPoll(std::chrono::nanoseconds window);
  // Client requests taken and not yet answered on this loop (connections count them).
  void CountRequests(int64_t delta) {
    requests_.fetch_add(delta, std::memory_order_relaxed);
  }
  // Queues a write; false when it must go through a worker instead.
  bool TryWrite(env::File& file, uint64_t offset, std::span<const uint8_t> source, bool fua,
                IoWaiter* waiter);
  // The same for a data write to `volume` (NBD requests and replication alike): only small
  // ones, at offsets and buffers the volume can take directly (Volume::PrepareAsyncWrite).
  bool TryVolumeWrite(store::Volume& volume, uint64_t offset, std::span<const uint8_t> source,
                      bool fua, IoWaiter* waiter);
  // After the io_context stopped: waits for the kernel to finish every write (their buffers
  // must outlive them) and tells the waiters.
  void Drain();

 private:
  void WatchCompletions();
  void Deliver();

  asio::io_context io_{1};
  std::unique_ptr<env::IoQueue> queue_;  // null where io_uring is unavailable
  std::unique_ptr<asio::posix::stream_descriptor> event_;
  std::vector<env::IoQueue::Completion> completions_;
  EndOfTurn submit_;  // one io_uring submission for the writes queued in a turn
  std::chrono::nanoseconds poll_window_{0};
  std::atomic<int64_t> requests_{0};  // CountRequests: client requests not yet answered
};

}  // namespace fb::server
