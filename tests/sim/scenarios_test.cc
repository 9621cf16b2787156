// Failover scenarios from FAULTS.md as runbooks on the simulated cluster: each injects one
// fault by hand, checks the expected role changes, then heals and verifies every block
// (ACK/MONO/FLUSH) and byte-identical replicas (CONV).
#include <gtest/gtest.h>

#include "sim/cluster.h"

namespace fb::sim {
namespace {

constexpr int64_t kMs = 1'000'000;

class Scenario : public ::testing::Test {
 protected:
  Cluster& Make(uint32_t nodes, uint32_t min_in_sync, uint64_t seed = 7) {
    ClusterOptions o = SimDefaults();
    o.nodes = nodes;
    o.min_in_sync = min_in_sync;
    cluster_ = std::make_unique<Cluster>(seed, o);
    cluster_->StartClient();
    cluster_->RunFor(100 * kMs);
    return *cluster_;
  }
  void ExpectHealedAndIdentical() {
    EXPECT_TRUE(cluster_->HealAndVerify(10'000 * kMs)) << cluster_->checkers().failure();
    EXPECT_FALSE(cluster_->checkers().failed()) << cluster_->checkers().failure();
  }
  coord::NodeId WaitForNewPrimary(coord::NodeId old) {
    bool ok = cluster_->RunUntil(
        [&] { return cluster_->Primary().has_value() && *cluster_->Primary() != old; },
        2'000 * kMs);
    EXPECT_TRUE(ok) << "no promotion";
    return cluster_->Primary().value_or(coord::kNoNode);
  }
  std::unique_ptr<Cluster> cluster_;
};

// FAULTS #1: kill -9 the primary mid-write: an in-sync replica takes over.
TEST_F(Scenario, KillPrimaryPromotesAnInSyncReplica) {
  Cluster& c = Make(3, 2);
  coord::NodeId old = c.Primary().value();
  uint64_t acked_before = c.workload().writes_acked();
  c.Crash(old);
  int64_t crashed_at = c.now();
  coord::NodeId next = WaitForNewPrimary(old);
  EXPECT_NE(next, old);
  EXPECT_LT(c.now() - crashed_at, 1'000 * kMs);  // the RTO target, in simulated time
  c.Restart(old);
  c.RunFor(300 * kMs);
  EXPECT_GT(c.workload().writes_acked(), acked_before);
  ExpectHealedAndIdentical();
}

// FAULTS #2: power-cut the primary (unsynced writes lost); it returns as a sync target.
TEST_F(Scenario, PowerCutPrimaryRejoinsThroughResync) {
  Cluster& c = Make(2, 1);
  coord::NodeId old = c.Primary().value();
  c.PowerLoss(old);
  WaitForNewPrimary(old);
  c.Restart(old);
  c.RunFor(500 * kMs);
  ExpectHealedAndIdentical();
}

// FAULTS #3: every replica loses power at once; the cluster picks a holder of all flushed
// writes by itself (FLUSH judged on every block).
TEST_F(Scenario, PowerLossOfEveryNodeKeepsFlushedWrites) {
  Cluster& c = Make(3, 2);
  c.PowerLossAll();
  for (coord::NodeId n = 0; n < 3; ++n) c.Restart(n);
  EXPECT_TRUE(c.RunUntil([&] { return c.Primary().has_value(); }, 2'000 * kMs));
  ExpectHealedAndIdentical();
}

// FAULTS #5 and #15: the primary is isolated (or paused past its lease); a new primary is
// promoted only after the old lease ran out, and the old one, back, acknowledges nothing.
TEST_F(Scenario, IsolatedPrimaryIsReplacedAndStepsDown) {
  Cluster& c = Make(3, 1);
  coord::NodeId old = c.Primary().value();
  c.Isolate(old);
  WaitForNewPrimary(old);
  c.HealNetwork();
  EXPECT_TRUE(c.RunUntil([&] { return !c.node(old)->IsPrimary(); }, 1'000 * kMs));
  ExpectHealedAndIdentical();
}

TEST_F(Scenario, PausedPrimaryResumesAsReplica) {
  Cluster& c = Make(2, 1);
  coord::NodeId old = c.Primary().value();
  c.Pause(old);
  WaitForNewPrimary(old);
  c.Resume(old);
  c.RunFor(50 * kMs);
  EXPECT_FALSE(c.node(old)->IsPrimary());
  ExpectHealedAndIdentical();
}

// FAULTS #14: a replica that left S is never promoted: with the only in-sync node down the
// volume waits for it rather than serve stale data.
TEST_F(Scenario, StaleReplicaIsNeverPromoted) {
  Cluster& c = Make(2, 1);
  coord::NodeId primary = c.Primary().value();
  coord::NodeId replica = 1 - primary;
  c.Partition(primary, replica);
  EXPECT_TRUE(c.RunUntil([&] { return c.Record().in_sync == coord::Bit(primary); },
                         1'000 * kMs));
  c.Crash(primary);
  c.HealNetwork();
  c.RunFor(1'000 * kMs);
  EXPECT_FALSE(c.Primary().has_value()) << "a stale replica was promoted";
  EXPECT_NE(c.Record().primary, replica);
  c.Restart(primary);
  EXPECT_TRUE(c.RunUntil([&] { return c.Primary() == primary; }, 2'000 * kMs));
  ExpectHealedAndIdentical();
}

// FAULTS #4: partition primary <-> replica, both reach the coordinator: the primary goes on
// (min_in_sync 1), the replica is ejected, and rejoins by resync after the heal.
TEST_F(Scenario, PartitionedReplicaIsEjectedAndResyncs) {
  Cluster& c = Make(2, 1);
  coord::NodeId primary = c.Primary().value();
  c.Partition(0, 1);
  EXPECT_TRUE(c.RunUntil([&] { return c.Record().in_sync == coord::Bit(primary); },
                         1'000 * kMs));
  uint64_t acked = c.workload().writes_acked();
  c.RunFor(200 * kMs);
  EXPECT_GT(c.workload().writes_acked(), acked);  // degraded, but serving
  EXPECT_EQ(c.Primary(), primary);
  c.HealNetwork();
  EXPECT_TRUE(c.RunUntil([&] { return c.Record().in_sync == c.Record().members; },
                         2'000 * kMs));
  ExpectHealedAndIdentical();
}

// A replaced (wiped) disk is provisioned by a full copy while the primary keeps serving.
TEST_F(Scenario, WipedReplicaGetsAFullCopy) {
  Cluster& c = Make(3, 1);
  coord::NodeId victim = (c.Primary().value() + 1) % 3;
  c.Crash(victim);
  c.Wipe(victim);
  c.Restart(victim);
  ExpectHealedAndIdentical();
}

}  // namespace
}  // namespace fb::sim
