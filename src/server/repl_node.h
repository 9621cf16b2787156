// ReplNode: the runtime of one node's replicated volumes. It runs every repl::VolumeNode of
// this node on ONE event loop (the state machines are single-threaded by design) and performs
// their actions: peer messages through PeerTransport, coordinator requests through CoordClient,
// disk I/O on the loop's io_uring or the disk workers against the local store::Volume, durable
// metadata through the repl state file, and client replies back to the NBD connection that
// asked.
// The loop is the NBD server's first loop, not a thread of its own: a client connection on it
// hands a write to the replication core and gets the reply back without any thread hop
// (a hop costs two wake-ups and context switches per request, which on a busy machine was
// most of what replication added to a write).
// Threading: FindVolume, Submit, IsPrimary, MayReadLocally, Refusal and Snapshot may be
// called from any thread; all else runs on the loop given to Start.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>

#include "admin/command.h"
#include "config/cluster_config.h"
#include "repl/volume_node.h"
#include "server/limits.h"
#include "server/loop.h"
#include "server/worker_pool.h"
#include "store/volume_set.h"

namespace fb::server {

class PeerTransport;
class CoordClient;
class AdminEndpoint;

// What `firebreak status` and the catalog need to know about one volume on this node.
struct ReplVolumeStatus {
  std::string name;
  std::string role;  // replica, promoting, primary, draining
  uint64_t epoch = 0;
  int primary = -1;  // node index per the coordinator's newest record, -1 unknown
  uint64_t in_sync_mask = 0;
  uint64_t members_mask = 0;
  struct Resync {
    int node = -1;
    uint64_t bytes_done = 0;
    uint64_t bytes_remaining = 0;
    bool full = false;
    uint64_t rate_bytes_per_s = 0;  // over the last status period; 0 = not known yet
  };
  std::vector<Resync> resyncs;  // primary only: replicas outside S being caught up
  struct Lag {
    int node = -1;
    uint64_t unacked = 0;    // replication messages not yet acknowledged
    int64_t oldest_ns = 0;   // how long the oldest of them has waited
  };
  std::vector<Lag> lags;  // primary only: every linked replica
};

class ReplNode {
 public:
  using Done = std::function<void(repl::ReplyToClient reply)>;

  ReplNode(const config::ClusterConfig& config, repl::NodeId self, store::VolumeSet& volumes,
           std::string data_dir);
  ~ReplNode();

  // Loads each volume's replication state and sets up transports and timers on `loop`, which
  // the caller runs (and must outlive this node's Stop).
  Status Start(Loop& loop);
  // Call once `loop` no longer runs (or never ran): finishes queued disk writes, stops the
  // workers and releases every socket and timer on the loop. Idempotent.
  void Stop();

  // A volume's handle for the per-request calls below, resolved once per connection (the
  // set of volumes is constant after Start, so no lookup by name on the I/O path).
  using VolumeHandle = size_t;
  std::optional<VolumeHandle> FindVolume(std::string_view name) const;
  // `done` runs on the replication loop: post to your own loop from it.
  void Submit(VolumeHandle volume, repl::ClientRequest request, Done done);
  bool IsPrimary(std::string_view volume) const;
  // True while this node holds the primary lease for `volume`: a read may then be answered
  // from the local store directly (see VolumeNode::LocalReadsUntil). Check it before the
  // read starts AND after it ends; the read is then inside the lease.
  bool MayReadLocally(VolumeHandle volume) const;
  // "" when this node serves `volume` now; else why not and where to go.
  std::string Refusal(std::string_view volume) const;
  std::vector<ReplVolumeStatus> Snapshot() const;
  // DIR/node-status.json: what `firebreak status` shows for this node (pid, roles, resync).
  static std::string StatusFilePath(const std::string& data_dir);
  // DIR/admin.sock: the fault seams (block/heal replication traffic with a peer).
  static std::string AdminSocketPath(const std::string& data_dir);
  // Where a volume's replication state lives, and the geometry every node uses for it
  // (volume id = its index in the config + 1; 1 MiB activity-log and resync regions).
  static std::string ReplStatePath(const std::string& data_dir, std::string_view volume);
  static repl::VolumeGeometry ReplGeometry(size_t volume_index, uint64_t size_bytes);

 private:
  struct Vol;
  class DiskTask;
  class AsyncWrite;

  void Tick();
  void ArmTick();
  void Perform(Vol& vol, repl::Actions& actions);
  bool TryAsyncWrite(Vol& vol, repl::Action& action);
  bool Full(const Vol& vol) const;  // the primary holds ops_in_flight_max ops
  void Admit(Vol& vol);             // feeds held client requests while there is room
  void OnDiskDone(Vol& vol, repl::IoId io, Status status, repl::Payload data);
  void OnPeerMessage(repl::NodeId from, repl::Message message);
  void OnCoordinatorReply(const coord::Reply& reply);
  void Publish(Vol& vol);
  void MaybeWriteStatusFile();
  std::string OnAdmin(const admin::Command& command);
  Vol* FindById(repl::VolumeId id);

  const config::ClusterConfig config_;
  const repl::NodeId self_;
  store::VolumeSet& volumes_;
  const std::string data_dir_;
  WorkerPool workers_;  // disk I/O for the state machines; drained before the loop dies
  repl::Knobs knobs_;
  repl::NodeIdentity identity_;

  Loop* loop_ = nullptr;  // set by Start: the loop everything runs on, with its io_uring
  std::optional<asio::steady_timer> tick_timer_;
  bool stopping_ = false;  // set once the loop stopped: late completions are dropped
  std::unique_ptr<PeerTransport> peers_;
  std::unique_ptr<CoordClient> coord_;
  std::unique_ptr<AdminEndpoint> admin_;
  std::vector<std::unique_ptr<Vol>> vols_;  // constant after Start
  std::map<std::string, Vol*, std::less<>> by_name_;

  // Client requests waiting for their reply; loop thread only.
  std::unordered_map<repl::ClientReqId, Done> waiting_;
  repl::ClientReqId next_request_ = 1;
  env::Instant last_status_write_{};
  // Resync bytes done per (volume index, peer) at the previous status publish, for the rate.
  struct ResyncMark {
    env::Instant since;
    uint64_t done_then = 0;
    uint64_t rate = 0;  // last measured, bytes per second
  };
  std::map<std::pair<size_t, int>, ResyncMark> resync_marks_;
  std::atomic<bool> status_write_in_flight_{false};

  mutable std::mutex status_mu_;
  std::vector<ReplVolumeStatus> status_;  // guarded by status_mu_, published after each input
};

}  // namespace fb::server
