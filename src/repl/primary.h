// Primary: the sans-IO state machine of the node serving one volume during one tenure.
// It numbers client operations, writes them locally, mirrors mutations to every member of
// the in-sync set S over pipelined links, resyncs the replicas outside S, shrinks S through
// the coordinator when a member fails, and acknowledges a client only when MayAcknowledge()
// (primary.cc) says the durability rule holds. It never reads a clock: `now` is an input.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "coord/coordinator.h"
#include "repl/actions.h"
#include "repl/knobs.h"
#include "repl/lease.h"
#include "repl/link.h"
#include "repl/meta_state.h"
#include "repl/resync.h"
#include "repl/types.h"

namespace fb::repl {

// What a role borrows from the VolumeNode that owns it.
struct RoleContext {
  NodeId self = kNoNode;
  uint64_t incarnation = 0;
  VolumeGeometry geometry;
  const Knobs* knobs = nullptr;
  MetaState* meta = nullptr;
  std::function<IoId()> new_io;
};

class Primary {
 public:
  // Starts a tenure from the record that promoted this node; the promise of record.epoch
  // must already be durable. Every other member starts resyncing.
  Primary(const RoleContext& ctx, const coord::VolumeRecord& record, Instant now, Actions& out);

  void OnClient(Instant now, const ClientRequest& request, Actions& out);
  void OnMessage(Instant now, NodeId from, const Message& message, Actions& out);
  // false if io is not this primary's.
  bool OnDiskDone(Instant now, IoId io, const Status& status, const Payload& data,
                  Actions& out);
  void OnRecord(Instant now, const coord::RecordReply& reply, Actions& out);
  void OnLease(Instant now, const coord::LeaseReply& reply, Actions& out);
  void OnMetaPersisted(Instant now, Actions& out);
  void Tick(Instant now, Actions& out);
  // Stepping down: every client op fails (its outcome is unknown to the client).
  void Abort(const Status& why, Actions& out);
  // Planned switchover to `target`, a member of S: new requests are turned away
  // (NotServedHere: clients re-send to the next primary), the ops in flight finish, then
  // this node gives up its lease and asks the coordinator to promote the target at once.
  // If the coordinator refuses, service resumes. Not an error reply to any client, ever.
  Status RequestHandover(Instant now, NodeId target, Actions& out);

  // Set once this node learned it must stop being primary (fenced, superseded, disk error).
  bool deposed() const { return !deposed_reason_.empty(); }
  const std::string& deposed_reason() const { return deposed_reason_; }
  size_t local_io_in_flight() const { return ios_.size(); }
  Epoch epoch() const { return epoch_; }
  Epoch tenure() const { return tenure_; }
  NodeMask in_sync() const { return in_sync_; }
  bool LeaseValid(Instant now) const { return lease_.Valid(now); }
  Instant lease_until() const { return lease_.valid_until(); }
  std::optional<ResyncProgress> Progress(NodeId peer) const;
  // A linked peer's replication backlog: messages sent but not acknowledged, and the age of
  // the oldest (what `firebreak status` shows as lag).
  struct Lag {
    size_t unacked = 0;
    int64_t oldest_ns = 0;
  };
  std::optional<Lag> LagOf(NodeId peer, Instant now) const;
  size_t ops_in_flight() const { return ops_.size(); }
  // For the simulator's failure report: the oldest ops and each link's backlog.
  std::string Describe() const;
  // Replication messages sent but not yet acknowledged, over every link.
  size_t unacked_messages() const;

 private:
  struct Op {
    uint64_t op_seq = 0;
    ClientReqId client = 0;
    OpKind kind = OpKind::kWrite;
    uint64_t offset = 0;
    uint64_t length = 0;
    bool fua = false;
    Payload data;
    NodeMask done = 0;  // completed it (written; durable when fua; synced for a flush)
    NodeMask sent = 0;  // replicas it was mirrored to
    bool local_issued = false;
    bool local_done = false;
    uint64_t acked_through = 0;  // flush: every op_seq <= this finished before it
  };
  struct Peer {
    bool in_sync = false;   // committed member of S
    bool ejecting = false;  // failed member of S: removal requested, not yet committed
    std::optional<OutboundLink> link;
    std::optional<ResyncTarget> resync;  // present iff not a healthy member of S
    uint32_t next_session = 1;
  };
  struct IoRef {
    enum class Kind : uint8_t { kLocalWrite, kLocalSync, kRead, kCopyRead } kind;
    uint64_t value = 0;  // op_seq, client id, or region
    NodeId target = kNoNode;
    uint32_t session = 0;
  };
  struct PendingChange {
    coord::ConfigChange request;
    Instant sent_at;
  };

  std::optional<NodeMask> AckQuorum(Instant now) const;
  bool MayAcknowledge(const Op& op, NodeMask required) const;
  void RunAcks(Instant now, Actions& out);
  void StartMutation(Instant now, const ClientRequest& request, Actions& out);
  void StartFlush(Instant now, const ClientRequest& request, Actions& out);
  void StartRead(Instant now, const ClientRequest& request, Actions& out);
  void Mirror(Instant now, Op& op, Actions& out);
  void IssueLocalWrites(Actions& out);
  void IssueLocalWrite(Op& op, Actions& out);
  void OnAck(Instant now, NodeId from, const Message& message, Actions& out);
  void OnHello(Instant now, NodeId from, const Message& message, Actions& out);
  void OnLocalDone(Instant now, const IoRef& ref, const Status& status, const Payload& data,
                   Actions& out);
  void PeerFailed(Instant now, NodeId peer, std::string_view why, Actions& out);
  void ForgetSent(NodeId peer, ResyncTarget& resync);
  void StartSession(Instant now, NodeId peer, Actions& out);
  void OpenLink(Instant now, NodeId peer, Actions& out);
  void PumpResync(Instant now, NodeId peer, Actions& out);
  void MaybeFinishResync(Instant now, NodeId peer, Actions& out);
  void MaybeRequestChange(Instant now, Actions& out);
  void MaybeHandOver(Instant now, Actions& out);
  // A compare-and-set from this tenure's epoch (ids filled in), and sending one.
  coord::ConfigChange NewChange();
  void SendChange(Instant now, const coord::ConfigChange& req, Actions& out);
  void AdoptRecord(Instant now, const coord::VolumeRecord& record, Actions& out);
  void Joined(Instant now, NodeId peer, Actions& out);
  void ReportHealth(Actions& out) const;
  void Depose(std::string reason);
  bool RegionBusy(uint64_t region) const;
  void SendFlush(Instant now, NodeId peer, const Op& op, Actions& out);
  uint64_t FinishedThrough() const;
  NodeMask JoinRequested() const;

  const RoleContext ctx_;
  const Knobs& knobs_;
  MetaState& meta_;
  const Epoch tenure_;
  Epoch epoch_;
  NodeMask in_sync_;
  NodeMask members_;
  uint32_t min_in_sync_;
  Lease lease_;
  std::optional<NodeId> handover_;  // switching over to this node
  bool handover_sent_ = false;      // the lease is given up and the request is out
  std::array<std::optional<Peer>, kMaxNodes> peers_;
  std::map<uint64_t, Op> ops_;
  std::map<IoId, IoRef> ios_;
  std::map<uint64_t, uint32_t> local_writes_by_region_;  // region -> local writes in flight
  uint64_t next_op_seq_ = 1;
  uint64_t next_request_id_ = 1;
  std::optional<PendingChange> pending_change_;
  std::string deposed_reason_;
};

}  // namespace fb::repl
