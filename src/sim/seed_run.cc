// RunSeed: cluster shape, the nemesis (fault schedule), heal and verify.
#include "sim/seed_run.h"

#include "base/assert.h"
#include "sim/cluster.h"

namespace fb::sim {
namespace {

constexpr coord::NodeId kAny = coord::kNoNode;

coord::NodeId PickNode(Cluster& c) { return coord::NodeId(c.rng().Below(c.node_count())); }

// One fault, with its undo scheduled. Power loss of a single node is injected only while the
// cluster is healthy: ACK promises survival of any SINGLE failure, so a second lossy failure
// before the first was repaired would be a double fault (FLUSH then judges, via PowerLossAll).
void InjectOne(Cluster& c) {
  Rng& rng = c.rng();
  coord::NodeId n = PickNode(c);
  int64_t now = c.now();
  int64_t dur = rng.Range(20'000'000, 400'000'000);
  switch (rng.Below(12)) {
    case 0:
    case 1:
      c.Crash(n);
      c.At(now + rng.Range(5'000'000, 200'000'000), [&c, n] { c.Restart(n); });
      break;
    case 2:
      if (!c.Repaired()) break;
      c.PowerLoss(n);
      c.At(now + rng.Range(5'000'000, 200'000'000), [&c, n] { c.Restart(n); });
      break;
    case 3:
      c.Pause(n);
      c.At(now + dur, [&c, n] { c.Resume(n); });
      break;
    case 4:
    case 5: {
      coord::NodeId m = PickNode(c);
      if (m == n) break;
      if (rng.Below(2)) {
        c.PartitionOneWay(n, m);
      } else {
        c.Partition(n, m);
      }
      c.At(now + dur, [&c] { c.HealNetwork(); });
      break;
    }
    case 6:
      c.CutFromCoordinator(n, rng.Below(2), rng.Below(2) || true);
      c.At(now + dur, [&c] { c.HealNetwork(); });
      break;
    case 7:
      c.Isolate(n);
      c.At(now + dur, [&c] { c.HealNetwork(); });
      break;
    case 8:
      c.SetDiskErrors(n, uint32_t(rng.Range(20'000, 200'000)));
      c.At(now + rng.Range(5'000'000, 100'000'000), [&c, n] { c.SetDiskErrors(n, 0); });
      break;
    case 9:  // a replaced disk: full copy
      if (!c.Repaired() || c.Primary() == n) break;
      c.Crash(n);
      c.Wipe(n);
      c.At(now + rng.Range(5'000'000, 100'000'000), [&c, n] { c.Restart(n); });
      break;
    case 11:  // a planned switchover to another member of S (firebreak switchover)
      c.Switchover(n);
      break;
    case 10:  // every node loses power at once (rare: the FLUSH scenario)
      if (rng.Below(4) != 0) break;
      c.PowerLossAll();
      for (coord::NodeId m = 0; m < c.node_count(); ++m) {
        c.At(now + rng.Range(5'000'000, 150'000'000), [&c, m] { c.Restart(m); });
      }
      break;
  }
}

ClusterOptions ShapeFor(uint64_t seed, const SeedOptions& options) {
  Rng rng(seed ^ 0x5eedf00dULL);
  ClusterOptions o = SimDefaults();
  o.nodes = 2 + uint32_t(rng.Below(2));
  o.min_in_sync = 1 + uint32_t(rng.Below(2));
  o.net.drop_per_million = uint32_t(rng.Below(3) * 5'000);
  o.net.duplicate_per_million = uint32_t(rng.Below(3) * 5'000);
  o.net.reorder_per_million = uint32_t(rng.Below(3) * 50'000);
  // Small logs, so eviction (and its interplay with crashes) runs in every seed.
  o.knobs.al_capacity_regions = 2 + uint32_t(rng.Below(12));
  o.knobs.al_idle_ns = rng.Range(10'000'000, 300'000'000);
  o.verbose = options.verbose;
  o.knobs.test_ack_after_primary_only = options.break_ack_rule;
  o.test_local_reads_ignore_lease = options.break_read_lease;
  return o;
}

}  // namespace

SeedResult RunSeed(uint64_t seed, const SeedOptions& options) {
  ClusterOptions shape = ShapeFor(seed, options);
  Cluster c(seed, shape);
  c.StartClient();
  c.RunFor(30'000'000);  // warm up: leases granted, first writes flowing
  int64_t end = c.now() + options.fault_phase_ns;
  while (c.now() < end && !c.checkers().failed()) {
    InjectOne(c);
    c.RunFor(c.rng().Range(20'000'000, 150'000'000));
  }
  if (!c.checkers().failed()) c.HealAndVerify(options.heal_budget_ns);
  SeedResult r;
  r.seed = seed;
  r.ok = !c.checkers().failed();
  r.invariant = c.checkers().invariant();
  r.failure = c.checkers().failure();
  for (const auto& line : c.log()) r.log_tail += "  " + line + "\n";
  r.trace_hash = c.trace_hash();
  r.steps = c.steps();
  r.faults = c.faults();
  r.messages = c.messages();
  r.writes_acked = c.workload().writes_acked();
  r.reads_checked = c.checkers().reads_checked();
  r.promotions = c.coordinator().promotions();
  r.nodes = shape.nodes;
  FB_ASSERT(r.ok || !r.failure.empty());
  return r;
}

}  // namespace fb::sim
