// Cluster: the deterministic simulator's world. N nodes (each a real repl::VolumeNode with a
// SimDisk and its own drifting clock), the embedded coordinator, a simulated network and one
// client workload, all driven by ONE event queue ordered by (time, seq) and ONE seeded Rng,
// so a seed replays exactly (trace_hash() proves it). Faults: kill -9, power loss (unsynced
// writes lost), pause/resume (SIGSTOP), partitions (one-way too), disk EIO, wiped disks.
// The methods read like a runbook: cluster.PowerLoss(cluster.Primary().value()); ...
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coord/embedded_coordinator.h"
#include "repl/volume_node.h"
#include "sim/checkers.h"
#include "sim/event_queue.h"
#include "sim/rng.h"
#include "sim/sim_clock.h"
#include "sim/sim_disk.h"
#include "sim/sim_net.h"
#include "sim/workload.h"

namespace fb::sim {

struct ClusterOptions {
  uint32_t nodes = 3;
  uint64_t volume_bytes = 64 * 4096;
  uint64_t region_bytes = 16 * 1024;
  uint32_t min_in_sync = 1;
  repl::Knobs knobs;
  coord::CoordinatorKnobs coord_knobs;
  NetFaults net;
  WorkloadOptions workload;
  int64_t tick_ns = 5'000'000;
  int64_t client_think_ns = 1'000'000;
  int64_t max_drift_ppm = 5000;  // +-0.5% clock rate
  bool codec_roundtrip = true;   // every message goes through Encode/Decode
  bool verbose = false;          // print the event log as it happens
  // TEST ONLY: local reads on any node that still has a Primary, lease or not (broken).
  bool test_local_reads_ignore_lease = false;
};

// Fast timings for simulation (the same ratios as the defaults, 2x shorter).
ClusterOptions SimDefaults();

class Cluster {
 public:
  Cluster(uint64_t seed, const ClusterOptions& options);
  ~Cluster();

  // Time.
  void RunFor(int64_t duration_ns);
  // Runs until done() holds (checked after every event) or max_ns passes; false on timeout.
  bool RunUntil(const std::function<bool()>& done, int64_t max_ns);
  int64_t now() const { return queue_.now(); }
  void At(int64_t time_ns, std::function<void()> fn) { queue_.At(time_ns, std::move(fn)); }

  // Faults.
  void Crash(coord::NodeId node);      // kill -9: the process dies, the page cache survives
  void PowerLoss(coord::NodeId node);  // and every unsynced write is lost (new boot)
  void PowerLossAll();
  void Wipe(coord::NodeId node);  // the disk is replaced by an empty one (node must be down)
  void Restart(coord::NodeId node);
  void Pause(coord::NodeId node);
  // `firebreak switchover --to target`: asked of the current primary, if target is in S.
  void Switchover(coord::NodeId target);
  void Resume(coord::NodeId node);
  void Partition(coord::NodeId a, coord::NodeId b);        // both ways
  void PartitionOneWay(coord::NodeId from, coord::NodeId to);
  void CutFromCoordinator(coord::NodeId node, bool inbound, bool outbound);
  void Isolate(coord::NodeId node);
  void HealNetwork();
  void SetDiskErrors(coord::NodeId node, uint32_t per_million);
  void SetNetFaults(const NetFaults& faults) { net_.set_faults(faults); }

  // The client.
  void StartClient();
  void StopClient() { client_running_ = false; }
  // Reads every block back through `target` (whatever it is now); the checkers judge them.
  void ReadAllAt(coord::NodeId target);
  // Stops the client, heals every fault, waits for S = all members and an idle client, then
  // reads every block through the primary (ACK/MONO/FLUSH) and compares the images (CONV).
  bool HealAndVerify(int64_t max_ns);

  // Views.
  std::optional<coord::NodeId> Primary() const;
  const coord::VolumeRecord& Record() const;
  bool Up(coord::NodeId node) const { return nodes_[node].up; }
  bool Paused(coord::NodeId node) const { return nodes_[node].paused; }
  // All up and unpaused, S = every member, and the primary holds its lease.
  bool Healthy() const;
  // Healthy, and no node's lost data (power loss, wiped disk) is still unrepaired: only then
  // may the nemesis destroy a node's data again without that being a double failure.
  bool Repaired() const;
  const repl::VolumeNode* node(coord::NodeId n) const { return nodes_[n].vn.get(); }
  const SimDisk& disk(coord::NodeId n) const { return nodes_[n].disk; }
  uint32_t node_count() const { return uint32_t(nodes_.size()); }
  Checkers& checkers() { return checkers_; }
  Workload& workload() { return workload_; }
  Rng& rng() { return rng_; }
  const coord::EmbeddedCoordinator& coordinator() const { return coordinator_; }

  uint64_t trace_hash() const { return trace_hash_; }
  uint64_t steps() const { return queue_.steps(); }
  uint64_t faults() const { return faults_; }
  uint64_t messages() const { return messages_; }
  const std::deque<std::string>& log() const { return log_; }
  void Log(const std::string& line);
  // One line: every node's role, epoch, lease and resync progress.
  std::string Describe();

 private:
  struct SimNode {
    std::unique_ptr<repl::VolumeNode> vn;
    SimDisk disk;
    NodeClock clock;
    bool up = true;
    bool paused = false;
    uint64_t boot_id = 1;
    uint64_t incarnation = 1;
    bool damaged = false;  // lost data; repaired when it next joins S (or is promoted)
    std::vector<std::function<void()>> backlog;  // arrived while paused
  };

  env::Instant NodeNow(coord::NodeId n) { return nodes_[n].clock.Local(queue_.now()); }
  uint32_t coord_endpoint() const { return uint32_t(nodes_.size()); }
  // Runs fn at time on node n's process, unless it died meanwhile; queued while paused.
  void AtNode(int64_t time_ns, coord::NodeId n, std::function<void()> fn);
  bool MayReadLocally(coord::NodeId n);
  void LocalRead(coord::NodeId n, const repl::ClientRequest& req);
  void Perform(coord::NodeId n, repl::Actions actions);
  void PerformOne(coord::NodeId n, repl::Action& action);
  void PerformDisk(coord::NodeId n, repl::Action& action);
  void SendPeer(coord::NodeId n, repl::SendMessage& send);
  void SendCoordinator(coord::NodeId n, const coord::Request& request);
  void DeliverCoordinatorOutput(std::vector<coord::Outbound>& out);
  void ObserveRecord();
  void ReplyClient(coord::NodeId n, repl::ReplyToClient reply);
  void FailClientOps(coord::NodeId n);
  void TickNode(coord::NodeId n);
  void TickCoordinator();
  void ClientLoop();
  void SendClient(coord::NodeId target, const repl::ClientRequest& req);
  void StartNode(coord::NodeId n);
  void Trace(uint64_t a, uint64_t b, uint64_t c);
  int64_t DiskLatency();

  const ClusterOptions options_;
  repl::VolumeGeometry geometry_;
  Rng rng_;
  EventQueue queue_;
  SimNet net_;
  coord::EmbeddedCoordinator coordinator_;
  NodeClock coord_clock_;
  std::vector<SimNode> nodes_;
  Checkers checkers_;
  Workload workload_;
  coord::VolumeRecord last_record_;
  struct ClientOp {
    coord::NodeId node = coord::kNoNode;  // where it went
    int64_t sent_at = 0;
  };
  std::map<repl::ClientReqId, ClientOp> client_ops_;  // in flight
  void TimeOutClientOps();
  bool client_running_ = false;
  bool client_loop_scheduled_ = false;
  coord::NodeId client_view_ = coord::kNoNode;  // the primary as the client last learned it
  uint64_t trace_hash_ = 0x9e3779b97f4a7c15ULL;
  uint64_t faults_ = 0;
  uint64_t messages_ = 0;
  std::deque<std::string> log_;
};

}  // namespace fb::sim
