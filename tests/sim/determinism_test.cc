// Same seed, same run: the trace hash of one seed run twice is identical (FB_SEED replays).
#include <gtest/gtest.h>

#include "sim/seed_run.h"

namespace fb::sim {
namespace {

TEST(Determinism, SameSeedSameTrace) {
  SeedOptions options;
  SeedResult a = RunSeed(42, options);
  SeedResult b = RunSeed(42, options);
  ASSERT_TRUE(a.ok) << a.failure << "\n" << a.log_tail;
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_GT(a.steps, 1000u);
}

TEST(Determinism, DifferentSeedsDiffer) {
  SeedOptions options;
  EXPECT_NE(RunSeed(1, options).trace_hash, RunSeed(2, options).trace_hash);
}

}  // namespace
}  // namespace fb::sim
