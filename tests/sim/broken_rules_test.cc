// The checkers can fail. With a rule deliberately broken the simulator finds the violation
// and names the invariant:
//   - the ack rule (acknowledge after the primary's local write alone,
//     knobs.h test_ack_after_primary_only): a seed loses an acknowledged write, and replays;
//   - the read lease (a node answers reads from its copy while it still has a Primary, lease
//     or not, cluster.h test_local_reads_ignore_lease): a runbook reads through a paused old
//     primary after its successor acknowledged newer writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>

#include "sim/cluster.h"
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

// A runbook for the read lease: the primary is paused past its lease, its successor
// acknowledges newer writes, then every block is read THROUGH THE OLD PRIMARY while it is
// still paused (the reads wait in its backlog) and it resumes. The rule (reads from the local
// copy only inside the lease) refuses them; a node that serves them anyway returns data older
// than acknowledged writes, which MONO catches.
bool StaleReadsCaught(bool break_lease) {
  ClusterOptions o = SimDefaults();
  o.nodes = 2;
  o.test_local_reads_ignore_lease = break_lease;
  Cluster c(11, o);
  c.StartClient();
  c.RunFor(100'000'000);
  coord::NodeId old = c.Primary().value();
  c.Pause(old);
  EXPECT_TRUE(c.RunUntil([&] { return c.Primary() && *c.Primary() != old; }, 2'000'000'000));
  uint64_t acked = c.workload().writes_acked();
  EXPECT_TRUE(c.RunUntil([&] { return c.workload().writes_acked() > acked + 200; },
                         2'000'000'000));
  c.StopClient();
  c.ReadAllAt(old);
  c.Resume(old);
  c.RunFor(300'000'000);
  if (c.checkers().failed()) {
    EXPECT_EQ(c.checkers().invariant(), "ACK/MONO") << c.checkers().failure();
    std::printf("stale read caught: %s\n", c.checkers().failure().c_str());
  }
  return c.checkers().failed();
}

TEST(BrokenReadLease, APausedPrimaryServesNoStaleRead) { EXPECT_FALSE(StaleReadsCaught(false)); }

TEST(BrokenReadLease, IgnoringTheLeaseIsCaught) { EXPECT_TRUE(StaleReadsCaught(true)); }

}  // namespace
}  // namespace fb::sim
