#include "server/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/limits.h"

namespace fb::server {
namespace {

using std::chrono::milliseconds;

// A polling loop still runs work posted from another thread while it polls and after it fell
// asleep, and Run returns when the io_context stops.
TEST(Loop, APollingLoopRunsPostedWorkAndStops) {
  Loop loop(kIoQueueEntries);
  loop.SetPoll(milliseconds(20));
  loop.Start();
  std::atomic<int> ran{0};
  std::thread poster([&] {
    asio::post(loop.io(), [&] { ran.fetch_add(1); });  // while it polls
    std::this_thread::sleep_for(milliseconds(100));
    asio::post(loop.io(), [&] { ran.fetch_add(1); });  // after the window: it slept
    std::this_thread::sleep_for(milliseconds(10));
    asio::post(loop.io(), [&] { loop.io().stop(); });
  });
  loop.Run();
  poster.join();
  EXPECT_EQ(ran.load(), 2);
  loop.Drain();
}

TEST(Loop, WithoutPollingRunIsPlainRun) {
  Loop loop(kIoQueueEntries);
  loop.Start();
  std::atomic<int> ran{0};
  asio::post(loop.io(), [&] {
    ran.fetch_add(1);
    loop.io().stop();
  });
  loop.Run();
  EXPECT_EQ(ran.load(), 1);
  loop.Drain();
}

}  // namespace
}  // namespace fb::server
