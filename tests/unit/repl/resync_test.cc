// ResyncTarget: dirty tracking, one copy per region, rate limits, and failure re-marking.
#include "repl/resync.h"

#include <gtest/gtest.h>

namespace fb::repl {
namespace {

const VolumeGeometry kGeometry{1, 1024 * 1024, 64 * 1024};  // 16 regions

TEST(ResyncTarget, CopiesOnlyDirtyRegionsWithinTheRateLimit) {
  Knobs knobs;
  knobs.resync_bytes_in_flight_max = 128 * 1024;
  knobs.resync_bytes_per_tick_max = 1024 * 1024;
  ResyncTarget t(kGeometry, 1);
  t.MarkRegions({2, 3, 9});
  t.set_state(ResyncTarget::State::kCopying);
  auto never_busy = [](uint64_t) { return false; };
  auto r = t.NextRegion(knobs, never_busy);
  ASSERT_EQ(r, 2u);
  t.StartCopy(2);
  EXPECT_TRUE(t.NeedsCopy(2 * 64 * 1024, 4096));  // in copy: writes re-mark, not mirror
  ASSERT_EQ(t.NextRegion(knobs, never_busy), 3u);
  t.StartCopy(3);
  EXPECT_FALSE(t.NextRegion(knobs, never_busy).has_value());  // 128 KiB in flight
  t.CopyDone(2);
  EXPECT_EQ(t.NextRegion(knobs, never_busy), 9u);
  EXPECT_EQ(t.progress().bytes_done, 64u * 1024);
  EXPECT_EQ(t.progress().bytes_remaining, 2u * 64 * 1024);
}

TEST(ResyncTarget, BusyRegionsWaitAndFailureReMarksCopiesInFlight) {
  Knobs knobs;
  ResyncTarget t(kGeometry, 1);
  t.MarkRegions({4});
  t.set_state(ResyncTarget::State::kCopying);
  EXPECT_FALSE(t.NextRegion(knobs, [](uint64_t r) { return r == 4; }).has_value());
  t.StartCopy(4);
  EXPECT_FALSE(t.CopyComplete());
  t.Fail(Instant{0}, knobs);
  EXPECT_EQ(t.state(), ResyncTarget::State::kBackoff);
  EXPECT_TRUE(t.NeedsCopy(4 * 64 * 1024, 512));
}

TEST(ResyncTarget, FullCopyMarksEverything) {
  ResyncTarget t(kGeometry, 1);
  t.MarkAll();
  EXPECT_EQ(t.progress().bytes_remaining, kGeometry.size_bytes);
  EXPECT_TRUE(t.progress().full);
}

}  // namespace
}  // namespace fb::repl
