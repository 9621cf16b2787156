// WorkerPool: threads that run disk calls which may block (writes, flushes, uncached reads),
// so event loops never wait on the device. The queue is bounded by construction: callers
// submit only requests they have admitted under their in-flight limits, and Submit asserts
// the capacity sized at startup from those limits.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace fb::server {

// A unit of work; Run() executes on a worker thread and must not throw.
class Task {
 public:
  virtual void Run() = 0;

 protected:
  ~Task() = default;
};

class WorkerPool {
 public:
  WorkerPool(int threads, size_t capacity);
  ~WorkerPool();  // finishes queued tasks, then joins
  void Submit(Task* task);
  void Shutdown();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable ready_;
  std::vector<Task*> ring_;  // fixed size: capacity
  size_t head_ = 0;          // next to run
  size_t count_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fb::server
