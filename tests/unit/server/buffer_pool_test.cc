#include "server/buffer_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace fb::server {
namespace {

TEST(BufferPool, AlignedAndExactSize) {
  BufferPool pool(64 << 20);
  Buffer b = pool.TryGet(5000);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.size(), 5000u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u);
  EXPECT_EQ(pool.in_use_bytes(), 8192u);  // charged by size class
  b.Reset();
  EXPECT_EQ(pool.in_use_bytes(), 0u);
}

TEST(BufferPool, BudgetIsNeverExceeded) {
  BufferPool pool(32 << 20);
  Buffer big = pool.TryGet(32 << 20);
  ASSERT_TRUE(big);
  EXPECT_FALSE(pool.TryGet(4096));  // over budget: refused, not grown
  big.Reset();
  EXPECT_TRUE(pool.TryGet(4096));
}

TEST(BufferPool, ReusesMemory) {
  BufferPool pool(64 << 20);
  uint8_t* first;
  {
    Buffer b = pool.TryGet(4096);
    first = b.data();
  }
  Buffer again = pool.TryGet(4000);
  EXPECT_EQ(again.data(), first);
}

TEST(BufferPool, MoveTransfersOwnership) {
  BufferPool pool(64 << 20);
  Buffer a = pool.TryGet(100);
  Buffer b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  EXPECT_EQ(pool.in_use_bytes(), 4096u);
}

TEST(BufferPool, ConcurrentGetAndReturn) {
  BufferPool pool(256 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool] {
      for (int i = 0; i < 2000; ++i) {
        Buffer b = pool.TryGet(size_t(1 + (i * 7919) % (1 << 20)));
        ASSERT_TRUE(b);
        b.data()[0] = 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pool.in_use_bytes(), 0u);
}

}  // namespace
}  // namespace fb::server
