// WorkerPool: a fixed ring of pending tasks guarded by one mutex.
#include "server/worker_pool.h"

#include "base/assert.h"

namespace fb::server {

WorkerPool::WorkerPool(int threads, size_t capacity) : ring_(capacity, nullptr) {
  FB_ASSERT(threads > 0);
  FB_ASSERT(capacity > 0);
  threads_.reserve(size_t(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WorkerPool::Submit(Task* task) {
  FB_ASSERT(task != nullptr);
  {
    std::lock_guard lock(mu_);
    FB_ASSERT(!stopping_);
    FB_ASSERT(count_ < ring_.size());  // admission control upstream keeps us in bounds
    ring_[(head_ + count_) % ring_.size()] = task;
    ++count_;
  }
  ready_.notify_one();
}

void WorkerPool::Loop() {
  for (;;) {
    Task* task;
    {
      std::unique_lock lock(mu_);
      ready_.wait(lock, [this] { return count_ > 0 || stopping_; });
      if (count_ == 0) return;  // stopping and drained
      task = ring_[head_];
      head_ = (head_ + 1) % ring_.size();
      --count_;
    }
    task->Run();
  }
}

}  // namespace fb::server
