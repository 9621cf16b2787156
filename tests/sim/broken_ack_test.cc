// The checkers can fail: with the ack rule deliberately broken (acknowledge after the
// primary's local write alone, knobs.h test_ack_after_primary_only), the seeded simulator
// finds a lost acknowledged write, names the invariant, and the seed replays it.
#include <gtest/gtest.h>

#include "sim/seed_run.h"

namespace fb::sim {
namespace {

TEST(BrokenAckRule, SimulatorCatchesItWithASeed) {
  SeedOptions broken;
  broken.break_ack_rule = true;
  uint64_t failing_seed = 0;
  SeedResult failure;
  for (uint64_t seed = 1; seed <= 300 && failing_seed == 0; ++seed) {
    SeedResult r = RunSeed(seed, broken);
    if (!r.ok) {
      failing_seed = seed;
      failure = r;
    }
  }
  ASSERT_NE(failing_seed, 0u) << "300 seeds never caught an ack after the primary alone";
  EXPECT_TRUE(failure.invariant == "ACK/MONO" || failure.invariant == "FLUSH" ||
              failure.invariant == "CONV")
      << failure.invariant;
  // Replaying the seed fails the same way, and the unbroken rule passes it.
  SeedResult again = RunSeed(failing_seed, broken);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.failure, failure.failure);
  EXPECT_EQ(again.trace_hash, failure.trace_hash);
  SeedResult fixed = RunSeed(failing_seed, SeedOptions{});
  EXPECT_TRUE(fixed.ok) << fixed.failure;
  std::printf("broken ack rule caught at seed %llu: %s\n", (unsigned long long)failing_seed,
              failure.failure.c_str());
}

}  // namespace
}  // namespace fb::sim
