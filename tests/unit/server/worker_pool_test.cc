#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
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
