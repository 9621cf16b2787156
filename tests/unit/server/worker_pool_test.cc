#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace fb::server {
namespace {

struct CountTask final : Task {
  std::atomic<int>* counter;
  void Run() override { counter->fetch_add(1); }
};

TEST(WorkerPool, RunsEveryTaskBeforeShutdownReturns) {
  std::atomic<int> counter{0};
  std::vector<CountTask> tasks(1000);
  {
    WorkerPool pool(4, tasks.size());
    for (auto& t : tasks) {
      t.counter = &counter;
      pool.Submit(&t);
    }
    pool.Shutdown();
  }
  EXPECT_EQ(counter.load(), 1000);
}

struct GateTask final : Task {
  std::atomic<bool> open{false};
  std::atomic<bool> ran{false};
  void Run() override {
    while (!open.load()) std::this_thread::yield();
    ran = true;
  }
};

TEST(WorkerPool, IdleOnlyWhenNoTaskIsQueuedOrRunning) {
  WorkerPool pool(1, 4);
  EXPECT_TRUE(pool.Idle());
  GateTask task;
  pool.Submit(&task);
  EXPECT_FALSE(pool.Idle());  // queued or running, not returned
  task.open = true;
  for (int i = 0; i < 10000 && !pool.Idle(); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  EXPECT_TRUE(task.ran.load());
  EXPECT_TRUE(pool.Idle());
}

TEST(WorkerPoolDeathTest, OverCapacityIsABug) {
  EXPECT_DEATH(
      {
        std::atomic<int> counter{0};
        WorkerPool pool(1, 1);
        std::vector<CountTask> tasks(64);
        for (auto& t : tasks) {
          t.counter = &counter;
          pool.Submit(&t);
        }
      },
      "assertion failed");
}

}  // namespace
}  // namespace fb::server
