// Loop: batching io_uring submissions per loop turn and delivering completions.
#include "server/loop.h"

#include <sched.h>
#include <unistd.h>

#include "base/assert.h"
#include "server/limits.h"
#include "server/log.h"

namespace fb::server {

Loop::Loop(unsigned io_queue_entries) {
  auto queue = env::NewUringIoQueue(io_queue_entries);
  if (queue.ok()) {
    queue_ = std::move(queue).value();
    event_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(queue_->event_fd()));
  } else {
    Log(LogLevel::kWarn, "io_uring unavailable ({}); writes use worker threads",
        queue.status().ToString());
  }
}

void Loop::Start() {
  if (event_) WatchCompletions();
}

void Loop::SetPoll(std::chrono::nanoseconds window) {
  FB_ASSERT(window.count() >= 0);
  poll_window_ = window;
}

void Loop::Run() {
  auto guard = asio::make_work_guard(io_);
  if (poll_window_.count() == 0) {
    io_.run();
    return;
  }
  // A sleeping loop costs a wake-up per request (the core idles, then an interrupt and a
  // context switch): at queue depth 1 that is half the round trip (docs/design.md).
  using Clock = std::chrono::steady_clock;
  constexpr auto kYieldContended = std::chrono::microseconds(5);
  Clock::time_point busy = Clock::now();
  while (!io_.stopped()) {
    if (io_.poll() > 0) {
      busy = Clock::now();
      continue;
    }
    const bool ours_in_flight =
        requests_.load(std::memory_order_relaxed) > 0 || (queue_ && queue_->inflight() > 0);
    const Clock::time_point now = Clock::now();
    if (!ours_in_flight && now - busy < poll_window_) {
      sched_yield();
      // The yield ran someone else: the core is wanted, so stop polling and sleep.
      if (Clock::now() - now < kYieldContended) continue;
    }
    io_.run_one();
    busy = Clock::now();
  }
}

bool Loop::TryWrite(env::File& file, uint64_t offset, std::span<const uint8_t> source, bool fua,
                    IoWaiter* waiter) {
  if (!queue_) return false;
  if (!queue_->Write(file, offset, source, fua, reinterpret_cast<uint64_t>(waiter))) return false;
  submit_.Post(io_.get_executor(), [this] { queue_->Submit(); });
  return true;
}

bool Loop::TryVolumeWrite(store::Volume& volume, uint64_t offset,
                          std::span<const uint8_t> source, bool fua, IoWaiter* waiter) {
  // Large writes stay on the workers: pinning and mapping a megabyte of pages is work better
  // spread over both cores than done on the loop that also serves the socket.
  if (source.empty() || source.size() > kAsyncWriteMaxBytes) return false;
  env::File* file = volume.PrepareAsyncWrite(offset, source.size());
  return file != nullptr && TryWrite(*file, offset, source, fua, waiter);
}

void Loop::WatchCompletions() {
  event_->async_wait(asio::posix::stream_descriptor::wait_read,
                     [this](const asio::error_code& ec) {
                       if (ec) return;
                       Deliver();
                       WatchCompletions();
                     });
}

void Loop::Deliver() {
  completions_.clear();
  queue_->Reap(completions_);
  for (auto& c : completions_) {
    auto* waiter = reinterpret_cast<IoWaiter*>(c.token);
    FB_ASSERT(waiter != nullptr);
    waiter->OnIoDone(std::move(c.status), c.bytes);
  }
}

void Loop::Drain() {
  if (!queue_) return;
  completions_.clear();
  queue_->Drain(completions_);
  for (auto& c : completions_) {
    reinterpret_cast<IoWaiter*>(c.token)->OnIoDone(std::move(c.status), c.bytes);
  }
  FB_ASSERT(queue_->inflight() == 0);
}

}  // namespace fb::server
