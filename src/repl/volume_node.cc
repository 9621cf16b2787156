// VolumeNode: role transitions (failover) and input routing for one (node, volume).
#include "repl/volume_node.h"

#include "base/assert.h"

namespace fb::repl {

std::string_view RoleName(VolumeNode::Role role) {
  switch (role) {
    case VolumeNode::Role::kReplica: return "replica";
    case VolumeNode::Role::kPromoting: return "promoting";
    case VolumeNode::Role::kPrimary: return "primary";
    case VolumeNode::Role::kDraining: return "draining";
  }
  return "unknown";
}

std::string_view EventName(EventKind kind) {
  switch (kind) {
    case EventKind::kPromoted: return "PROMOTED";
    case EventKind::kHandover: return "SWITCHOVER";
    case EventKind::kSteppedDown: return "STEPPED_DOWN";
    case EventKind::kDegraded: return "DEGRADED";
    case EventKind::kWritesBlocked: return "WRITES_BLOCKED";
    case EventKind::kReplicaEjected: return "REPLICA_EJECTED";
    case EventKind::kReplicaJoined: return "REPLICA_JOINED";
    case EventKind::kResyncStarted: return "RESYNC_STARTED";
    case EventKind::kFenced: return "FENCED";
  }
  return "UNKNOWN";
}

VolumeNode::VolumeNode(const NodeIdentity& identity, const VolumeGeometry& geometry,
                       const Knobs& knobs, const PersistedState& durable)
    : identity_(identity),
      geometry_(geometry),
      knobs_(knobs),
      meta_(geometry, durable, {knobs.al_capacity_regions, knobs.al_idle_ns}) {
  FB_ASSERT(identity.node < kMaxNodes);
  FB_ASSERT(geometry.size_bytes > 0 && geometry.size_bytes % kSectorBytes == 0);
  record_.volume = geometry.volume;
  replica_ = std::make_unique<Replica>(Context(), identity_.boot_id);
}

RoleContext VolumeNode::Context() {
  return RoleContext{identity_.node, identity_.incarnation, geometry_, &knobs_, &meta_,
                     [this] { return next_io_++; }};
}

Epoch VolumeNode::epoch() const {
  return role_ == Role::kPrimary ? primary_->epoch() : meta_.promised();
}

bool VolumeNode::Idle() const {
  if (meta_.persist_in_flight()) return false;
  if (primary_ && (primary_->ops_in_flight() > 0 || primary_->unacked_messages() > 0 ||
                   primary_->local_io_in_flight() > 0)) {
    return false;
  }
  return !replica_ || replica_->io_in_flight() == 0;
}

Status VolumeNode::RequestHandover(Instant now, NodeId target, Actions& out) {
  if (role_ != Role::kPrimary) return Status::FailedPrecondition("not the primary here");
  Status s = primary_->RequestHandover(now, target, out);
  AfterInput(now, out);
  return s;
}

Instant VolumeNode::LocalReadsUntil() const {
  if (role_ != Role::kPrimary || primary_ == nullptr || primary_->deposed()) return Instant{0};
  return primary_->lease_until();
}

void VolumeNode::OnClientRequest(Instant now, const ClientRequest& request, Actions& out) {
  if (role_ == Role::kPrimary) {
    primary_->OnClient(now, request, out);
    return AfterInput(now, out);
  }
  std::string where = record_.primary == kNoNode || record_.primary == identity_.node
                          ? "unknown"
                          : "node " + std::to_string(record_.primary);
  out.push_back(ReplyToClient{request.id,
                              NotServedHere("not primary; primary is", where)});
}

void VolumeNode::OnPeerMessage(Instant now, NodeId from, const Message& message,
                               Actions& out) {
  const Header& h = message.header;
  if (h.volume != geometry_.volume || from >= kMaxNodes) return;
  if (role_ == Role::kPrimary) {
    if (!IsPrimaryToReplica(h.type)) {
      primary_->OnMessage(now, from, message, out);
      return AfterInput(now, out);
    }
    // Another primary's traffic. A newer epoch means we were superseded: step down.
    if (h.epoch > primary_->epoch()) {
      meta_.Promise(h.epoch);
      StepDown(now, "a newer primary is writing", out);
    }
    return;  // dropped either way: its sender retransmits once we are a replica
  }
  if (role_ == Role::kReplica) {
    replica_->OnMessage(now, from, message, out);
    return AfterInput(now, out);
  }
  // Promoting or draining: local I/O of the previous role is still in flight, so nothing
  // that writes may start. Raise the promise so an old primary is refused meanwhile.
  if (IsPrimaryToReplica(h.type) && h.epoch > meta_.promised()) meta_.Promise(h.epoch);
}

void VolumeNode::OnDiskDone(Instant now, IoId io, const Status& status, const Payload& data,
                            Actions& out) {
  if (meta_.OwnsIo(io)) {
    meta_.OnPersisted(io, status);
    if (role_ == Role::kPrimary) primary_->OnMetaPersisted(now, out);
    if (role_ == Role::kReplica) replica_->OnMetaPersisted(now, out);
    meta_.MaybePersist(next_io_++, out);
    return AfterInput(now, out);
  }
  bool handled = primary_ && primary_->OnDiskDone(now, io, status, data, out);
  if (!handled && replica_) handled = replica_->OnDiskDone(now, io, status, out);
  AfterInput(now, out);
}

void VolumeNode::OnCoordinatorReply(Instant now, const coord::Reply& reply, Actions& out) {
  if (auto* lease = std::get_if<coord::LeaseReply>(&reply)) {
    if (role_ == Role::kPrimary) primary_->OnLease(now, *lease, out);
    return AfterInput(now, out);
  }
  OnRecord(now, std::get<coord::RecordReply>(reply), out);
  AfterInput(now, out);
}

void VolumeNode::OnRecord(Instant now, const coord::RecordReply& reply, Actions& out) {
  const coord::VolumeRecord& r = reply.record;
  if (r.volume != geometry_.volume) return;
  if (r.epoch > record_.epoch) record_ = r;
  if (role_ == Role::kPrimary) {
    primary_->OnRecord(now, reply, out);
    return;  // AfterInput steps down if that deposed it
  }
  // Promotion: the coordinator named us primary of a tenure we have not started, and no
  // newer epoch has been promised since.
  bool named = r.primary == identity_.node && r.primary_incarnation == identity_.incarnation &&
               r.tenure == r.epoch && r.epoch >= meta_.promised();
  if (!named || r.tenure <= last_tenure_ || (promotion_ && promotion_->epoch >= r.epoch)) return;
  promotion_ = r;
  meta_.Promise(r.epoch);
  if (role_ == Role::kReplica) role_ = Role::kPromoting;
  FB_ASSERT(role_ == Role::kPromoting || role_ == Role::kDraining);
}

void VolumeNode::StepDown(Instant now, const std::string& why, Actions& out) {
  FB_ASSERT(role_ == Role::kPrimary);
  FB_ASSERT(primary_ != nullptr);
  primary_->Abort(NotServedHere("stepped down", why), out);
  out.push_back(Event{EventKind::kSteppedDown, identity_.node, primary_->epoch(), why});
  role_ = Role::kDraining;
}

// Finishes transitions that wait for local I/O or a durable promise.
void VolumeNode::MaybeFinishTransitions(Instant now, Actions& out) {
  if (role_ == Role::kPrimary && primary_->deposed()) {
    StepDown(now, primary_->deposed_reason(), out);
  }
  if (role_ == Role::kDraining && primary_->local_io_in_flight() == 0) {
    // The old tenure's writes have all landed: only now may anyone else's writes start.
    primary_.reset();
    replica_ = std::make_unique<Replica>(Context(), identity_.boot_id);
    role_ = promotion_ ? Role::kPromoting : Role::kReplica;
  }
  if (role_ == Role::kPromoting && promotion_) {
    if (promotion_->epoch < meta_.promised()) {  // superseded while we waited
      promotion_.reset();
      role_ = Role::kReplica;
      return;
    }
    meta_.MaybePersist(next_io_++, out);
    if (replica_->io_in_flight() > 0 || !meta_.PromiseDurable(promotion_->epoch)) return;
    replica_.reset();
    last_tenure_ = promotion_->tenure;
    primary_ = std::make_unique<Primary>(Context(), *promotion_, now, out);
    promotion_.reset();
    role_ = Role::kPrimary;
  }
}

void VolumeNode::AfterInput(Instant now, Actions& out) {
  MaybeFinishTransitions(now, out);
  meta_.MaybePersist(next_io_++, out);
  FB_ASSERT((role_ == Role::kPrimary) == (primary_ != nullptr && !primary_->deposed()));
  FB_ASSERT(role_ != Role::kReplica || replica_ != nullptr);
}

void VolumeNode::Tick(Instant now, Actions& out) {
  if (now.ns - last_heartbeat_.ns >= knobs_.heartbeat_ns) {
    last_heartbeat_ = now;
    out.push_back(SendToCoordinator{coord::Heartbeat{identity_.node, identity_.boot_id,
                                                     identity_.incarnation, geometry_.volume,
                                                     meta_.promised(), meta_.blank()}});
  }
  if (role_ == Role::kPrimary) primary_->Tick(now, out);
  AfterInput(now, out);
}

}  // namespace fb::repl
