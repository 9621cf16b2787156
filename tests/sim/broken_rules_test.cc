// The checkers can fail. With a rule deliberately broken, the seeded simulator finds the
// violation, names the invariant, and the seed replays it; the unbroken rule passes that seed.
//   - the ack rule (acknowledge after the primary's local write alone,
//     knobs.h test_ack_after_primary_only): a lost acknowledged write;
//   - the read lease (a node answers reads from its copy while it still has a Primary, lease
//     or not, cluster.h test_local_reads_ignore_lease): a stale read after a failover.
#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>

#include "sim/seed_run.h"

namespace fb::sim {
namespace {

void ExpectCaught(const SeedOptions& broken, const char* what, uint64_t max_seeds,
                  std::initializer_list<std::string_view> invariants) {
  uint64_t failing_seed = 0;
  SeedResult failure;
  for (uint64_t seed = 1; seed <= max_seeds && failing_seed == 0; ++seed) {
    SeedResult r = RunSeed(seed, broken);
    if (!r.ok) {
      failing_seed = seed;
      failure = r;
    }
  }
  ASSERT_NE(failing_seed, 0u) << max_seeds << " seeds never caught " << what;
  EXPECT_NE(std::find(invariants.begin(), invariants.end(), failure.invariant), invariants.end())
      << failure.invariant;
  SeedResult again = RunSeed(failing_seed, broken);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.failure, failure.failure);
  EXPECT_EQ(again.trace_hash, failure.trace_hash);
  SeedResult fixed = RunSeed(failing_seed, SeedOptions{});
  EXPECT_TRUE(fixed.ok) << fixed.failure;
  std::printf("%s caught at seed %llu: %s\n", what, (unsigned long long)failing_seed,
              failure.failure.c_str());
}

TEST(BrokenAckRule, SimulatorCatchesItWithASeed) {
  SeedOptions broken;
  broken.break_ack_rule = true;
  ExpectCaught(broken, "an ack after the primary alone", 300, {"ACK/MONO", "FLUSH", "CONV"});
}

TEST(BrokenReadLease, SimulatorCatchesItWithASeed) {
  SeedOptions broken;
  broken.break_read_lease = true;
  // Rare (about 1 seed in 1000): a deposed primary drops its Primary soon after its lease
  // ends, so only a read that waited out a pause in its backlog, issued after the successor
  // acknowledged a newer write to the same block, shows the difference.
  ExpectCaught(broken, "a local read past the lease", 2000, {"ACK/MONO"});
}

}  // namespace
}  // namespace fb::sim
