// VolumeNode: everything one node runs for one replicated volume, as one sans-IO state
// machine: the role (replica, promoting, primary, draining) and the failover transitions
// between them, heartbeats to the coordinator, and the routing of every input to the role
// that owns it. The runtime (src/server, or the simulator) calls the On*/Tick methods from
// one event loop and performs the returned Actions; nothing here blocks or reads a clock.
#pragma once

#include <memory>
#include <optional>

#include "coord/coordinator.h"
#include "repl/actions.h"
#include "repl/knobs.h"
#include "repl/meta_state.h"
#include "repl/primary.h"
#include "repl/replica.h"
#include "repl/types.h"

namespace fb::repl {

struct NodeIdentity {
  NodeId node = kNoNode;
  uint64_t boot_id = 0;      // changes when volatile caches were lost (power loss)
  uint64_t incarnation = 0;  // changes on every process start
};

class VolumeNode {
 public:
  enum class Role : uint8_t { kReplica, kPromoting, kPrimary, kDraining };

  // durable: what PersistState last made durable on this node (a new replica: blank=true).
  VolumeNode(const NodeIdentity& identity, const VolumeGeometry& geometry, const Knobs& knobs,
             const PersistedState& durable);
  VolumeNode(const VolumeNode&) = delete;
  VolumeNode& operator=(const VolumeNode&) = delete;

  void OnClientRequest(Instant now, const ClientRequest& request, Actions& out);
  void OnPeerMessage(Instant now, NodeId from, const Message& message, Actions& out);
  // data: the bytes of a completed DiskRead.
  void OnDiskDone(Instant now, IoId io, const Status& status, const Payload& data,
                  Actions& out);
  void OnCoordinatorReply(Instant now, const coord::Reply& reply, Actions& out);
  void Tick(Instant now, Actions& out);
  // `firebreak switchover`: see Primary::RequestHandover. kFailedPrecondition when this node
  // is not the primary or the target is not in S.
  Status RequestHandover(Instant now, NodeId target, Actions& out);

  Role role() const { return role_; }
  bool IsPrimary() const { return role_ == Role::kPrimary; }
  // Until when this node may answer reads from its local copy without asking the state
  // machine: the primary's lease (no successor can be promoted before it ends, and every
  // acknowledged write is already in the local copy). Instant{0} when it may not.
  Instant LocalReadsUntil() const;
  // The primary's epoch, or the promised epoch elsewhere.
  Epoch epoch() const;
  Epoch promised_epoch() const { return meta_.promised(); }
  const coord::VolumeRecord& last_record() const { return record_; }
  const Primary* primary() const { return primary_.get(); }
  const MetaState& meta() const { return meta_; }
  NodeId id() const { return identity_.node; }
  // Nothing in flight: no client op, unacknowledged message, disk or metadata I/O.
  bool Idle() const;

 private:
  RoleContext Context();
  void StepDown(Instant now, const std::string& why, Actions& out);
  void MaybeFinishTransitions(Instant now, Actions& out);
  void OnRecord(Instant now, const coord::RecordReply& reply, Actions& out);
  void AfterInput(Instant now, Actions& out);

  const NodeIdentity identity_;
  const VolumeGeometry geometry_;
  const Knobs knobs_;
  MetaState meta_;
  IoId next_io_ = 1;
  Role role_ = Role::kReplica;
  std::unique_ptr<Primary> primary_;   // kPrimary, and kDraining (finishing local I/O)
  std::unique_ptr<Replica> replica_;   // kReplica, and kPromoting (finishing local I/O)
  std::optional<coord::VolumeRecord> promotion_;  // kPromoting: the record that promoted us
  coord::VolumeRecord record_;                    // newest record seen
  Epoch last_tenure_ = 0;  // a tenure is started at most once, even by the same process
  Instant last_heartbeat_{INT64_MIN / 2};
};

std::string_view RoleName(VolumeNode::Role role);

}  // namespace fb::repl
