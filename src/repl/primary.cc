// Primary: client ops, mirroring, the ack rule, S changes and resync driving.
#include "repl/primary.h"

#include <algorithm>

#include "base/assert.h"

namespace fb::repl {
namespace {

WriteOp ToWriteOp(OpKind kind) {
  switch (kind) {
    case OpKind::kWrite: return WriteOp::kWrite;
    case OpKind::kTrim: return WriteOp::kTrim;
    case OpKind::kWriteZeroes: return WriteOp::kZero;
    default: break;
  }
  FB_UNREACHABLE();
}

Status ValidateRequest(const ClientRequest& r, const VolumeGeometry& g) {
  if (r.kind == OpKind::kFlush) return Status::Ok();
  if (r.length == 0 || r.length > kWriteBytesMax) return Status::InvalidArgument("bad length");
  if (r.offset % kSectorBytes != 0 || r.length % kSectorBytes != 0) {
    return Status::InvalidArgument("unaligned request");
  }
  if (r.offset > g.size_bytes || r.length > g.size_bytes - r.offset) {
    return Status::OutOfRange("request beyond the end of the volume");
  }
  if (r.kind == OpKind::kWrite && (!r.data || r.data->size() != r.length)) {
    return Status::InvalidArgument("write data does not match its length");
  }
  return Status::Ok();
}

}  // namespace

Primary::Primary(const RoleContext& ctx, const coord::VolumeRecord& record, Instant now,
                 Actions& out)
    : ctx_(ctx),
      knobs_(*ctx.knobs),
      meta_(*ctx.meta),
      tenure_(record.tenure),
      epoch_(record.epoch),
      in_sync_(record.in_sync),
      members_(record.members),
      min_in_sync_(record.min_in_sync) {
  FB_ASSERT(record.primary == ctx.self);
  // A tenure starts with S = {primary}, except the volume's first, whose replicas are all
  // fresh and identical (zeros) and start in S.
  FB_ASSERT(Has(in_sync_, ctx.self));
  FB_ASSERT(in_sync_ == Bit(ctx.self) || record.epoch == 1);
  FB_ASSERT(meta_.PromiseDurable(record.epoch));
  // What this node may hold that the acknowledged history lacks (its activity log) differs
  // on every replica that was in S with it; replicas that were not get a full copy.
  std::vector<uint64_t> mine = meta_.Regions();
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!Has(members_, p) || p == ctx.self) continue;
    Peer& peer = peers_[p].emplace();
    if (Has(in_sync_, p)) {
      peer.in_sync = true;
      OpenLink(now, p, out);
      continue;
    }
    peer.resync.emplace(ctx.geometry, p);
    if (Has(record.prev_in_sync, p)) {
      peer.resync->MarkRegions(mine);
    } else {
      peer.resync->MarkAll();
    }
    peer.resync->RetryAt(now);
  }
  out.push_back(Event{EventKind::kPromoted, ctx.self, epoch_, "tenure starts"});
  ReportHealth(out);
}

// THE DURABILITY RULE (FAULTS.md, "Ack rule"); the only place a client op may complete OK.
// A WRITE/TRIM/WRITE_ZEROES is acknowledged only when every member of the committed in-sync
// set S, this primary included, has completed it; a FUA write only when every member has
// written it with FUA (durable); a FLUSH only when every member has synced after every write
// acknowledged before the flush was issued (each replica syncs behind a barrier on its link).
// S changes only by a coordinator-committed epoch, so a member that missed a write keeps
// blocking that write's ack until the coordinator has recorded that it left S; a replica
// about to be added counts as a member from its final flush on. And only while our lease holds
// (no one else can have been promoted) and S has at least min_in_sync members.
// AckQuorum: who must have an op before it may be acknowledged now (nothing may be while the
// lease is gone or S is below min_in_sync); MayAcknowledge: whether `op` has them all.
std::optional<NodeMask> Primary::AckQuorum(Instant now) const {
  if (deposed() || !lease_.Valid(now)) return std::nullopt;
  // A replica about to be added may already be in the committed S (the reply can be lost
  // or late), and must hold what a FLUSH made durable: it is required as if it were.
  NodeMask required = in_sync_ | JoinRequested();
  if (knobs_.test_ack_after_primary_only) {
    required = Bit(ctx_.self);  // TEST ONLY: deliberately broken, see knobs.h
  } else if (Count(in_sync_) < int(min_in_sync_)) {
    return std::nullopt;
  }
  FB_ASSERT(Has(required, ctx_.self));
  return required;
}

bool Primary::MayAcknowledge(const Op& op, NodeMask required) const {
  if (!op.local_done) return false;
  FB_ASSERT(Has(op.done, ctx_.self));
  return (required & ~op.done) == 0;
}

NodeMask Primary::JoinRequested() const {
  NodeMask mask = 0;
  if (pending_change_ && pending_change_->request.joining != kNoNode) {
    mask |= Bit(pending_change_->request.joining);
  }
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (peers_[p] && peers_[p]->resync &&
        (peers_[p]->resync->state() == ResyncTarget::State::kFinalFlush ||
         peers_[p]->resync->state() == ResyncTarget::State::kJoining)) {
      mask |= Bit(p);
    }
  }
  FB_ASSERT(!Has(mask, ctx_.self));
  return mask;
}

uint64_t Primary::FinishedThrough() const {
  uint64_t through = ops_.empty() ? next_op_seq_ - 1 : ops_.begin()->first - 1;
  FB_ASSERT(through < next_op_seq_);
  return through;
}

void Primary::RunAcks(Instant now, Actions& out) {
  const std::optional<NodeMask> required = AckQuorum(now);
  for (auto it = ops_.begin(); required && it != ops_.end();) {
    if (!MayAcknowledge(it->second, *required)) {
      ++it;
      continue;
    }
    const Op& op = it->second;
    // A completed flush: everything finished before it is acknowledged and durable on all
    // of S, so this node's activity log may forget it.
    if (op.kind == OpKind::kFlush) meta_.Trim(now, tenure_, op.acked_through);
    out.push_back(ReplyToClient{op.client, Status::Ok(), nullptr, epoch_, tenure_});
    it = ops_.erase(it);
  }
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (peers_[p] && peers_[p]->resync) MaybeFinishResync(now, p, out);
  }
  MaybeHandOver(now, out);
}

Status Primary::RequestHandover(Instant now, NodeId target, Actions& out) {
  if (deposed()) return Status::FailedPrecondition("not primary");
  if (handover_) return Status::FailedPrecondition("already switching over");
  if (target >= kMaxNodes || target == ctx_.self || !peers_[target] ||
      !peers_[target]->in_sync || peers_[target]->ejecting || !Has(in_sync_, target)) {
    return Status::FailedPrecondition("the target is not an in-sync replica");
  }
  handover_ = target;
  out.push_back(Event{EventKind::kHandover, target, epoch_, "draining"});
  MaybeHandOver(now, out);
  return Status::Ok();
}

void Primary::MaybeHandOver(Instant now, Actions& out) {
  if (!handover_ || handover_sent_ || deposed() || pending_change_ || !ops_.empty()) return;
  // Every acknowledged write is on every member of S, the target included; none is in
  // flight. Stop being able to acknowledge (or read locally) BEFORE asking: the coordinator
  // promotes the target without waiting out our lease.
  lease_.Drop();
  handover_sent_ = true;
  coord::ConfigChange req = NewChange();
  req.new_in_sync = in_sync_;
  req.handover_to = *handover_;
  SendChange(now, req, out);
}

coord::ConfigChange Primary::NewChange() {
  coord::ConfigChange req;
  req.node = ctx_.self;
  req.incarnation = ctx_.incarnation;
  req.volume = ctx_.geometry.volume;
  req.expected_epoch = epoch_;
  req.request_id = next_request_id_++;
  return req;
}

void Primary::SendChange(Instant now, const coord::ConfigChange& req, Actions& out) {
  FB_ASSERT(!pending_change_);  // one compare-and-set at a time
  FB_ASSERT(Has(req.new_in_sync, ctx_.self));
  pending_change_ = PendingChange{req, now};
  out.push_back(SendToCoordinator{req});
}

void Primary::OnClient(Instant now, const ClientRequest& request, Actions& out) {
  if (deposed()) {
    out.push_back(ReplyToClient{request.id, NotServedHere("not primary")});
    return;
  }
  if (handover_) {
    out.push_back(ReplyToClient{request.id, NotServedHere("switching over to node",
                                                          std::to_string(*handover_))});
    return;
  }
  Status valid = ValidateRequest(request, ctx_.geometry);
  if (!valid.ok()) {
    out.push_back(ReplyToClient{request.id, valid});
    return;
  }
  if (request.kind == OpKind::kRead) return StartRead(now, request, out);
  if (ops_.size() >= knobs_.ops_in_flight_max) {
    out.push_back(ReplyToClient{request.id, Status::ResourceExhausted("too many ops")});
    return;
  }
  if (request.kind == OpKind::kFlush) return StartFlush(now, request, out);
  StartMutation(now, request, out);
}

void Primary::StartRead(Instant now, const ClientRequest& request, Actions& out) {
  // Reads need the lease too: an expired primary may already have a successor (MONO).
  if (!lease_.Valid(now)) {
    out.push_back(ReplyToClient{request.id, NotServedHere("primary lease not held")});
    return;
  }
  IoId io = ctx_.new_io();
  ios_[io] = IoRef{IoRef::Kind::kRead, request.id};
  out.push_back(DiskRead{io, request.offset, request.length});
}

void Primary::StartMutation(Instant now, const ClientRequest& request, Actions& out) {
  Op op;
  op.op_seq = next_op_seq_++;
  op.client = request.id;
  op.kind = request.kind;
  op.offset = request.offset;
  op.length = request.length;
  op.fua = request.fua;
  op.data = request.data;
  // The activity log records the region durably before the local write is issued.
  meta_.Touch(now, op.offset, op.length, tenure_, op.op_seq);
  uint64_t first = op.offset / ctx_.geometry.region_bytes;
  uint64_t last = (op.offset + op.length - 1) / ctx_.geometry.region_bytes;
  for (uint64_t r = first; r <= last; ++r) ++local_writes_by_region_[r];
  auto [it, inserted] = ops_.emplace(op.op_seq, std::move(op));
  FB_ASSERT(inserted);
  Mirror(now, it->second, out);
  IssueLocalWrite(it->second, out);
  if (!it->second.local_issued) meta_.MaybePersist(ctx_.new_io(), out);
}

void Primary::StartFlush(Instant now, const ClientRequest& request, Actions& out) {
  Op op;
  op.acked_through = FinishedThrough();
  op.op_seq = next_op_seq_++;
  op.client = request.id;
  op.kind = OpKind::kFlush;
  IoId io = ctx_.new_io();
  ios_[io] = IoRef{IoRef::Kind::kLocalSync, op.op_seq};
  op.local_issued = true;
  auto [it, inserted] = ops_.emplace(op.op_seq, std::move(op));
  FB_ASSERT(inserted);
  out.push_back(DiskSync{io});
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p] || !peers_[p]->in_sync || peers_[p]->ejecting || !peers_[p]->link) continue;
    SendFlush(now, p, it->second, out);
  }
}

void Primary::SendFlush(Instant now, NodeId peer, const Op& op, Actions& out) {
  FB_ASSERT(op.kind == OpKind::kFlush);
  FB_ASSERT(peers_[peer] && peers_[peer]->link);
  FlushBody body{true, false, op.acked_through};
  peers_[peer]->link->Send(now, epoch_, MsgType::kFlush, body,
                           LinkCookie{LinkCookie::Kind::kFlush, op.op_seq, 0}, out);
  ops_.at(op.op_seq).sent |= Bit(peer);
}

void Primary::Mirror(Instant now, Op& op, Actions& out) {
  WriteBody body{ToWriteOp(op.kind), op.fua, op.op_seq, op.offset, uint32_t(op.length),
                 op.kind == OpKind::kWrite ? op.data : nullptr};
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p]) continue;
    Peer& peer = *peers_[p];
    bool send = peer.in_sync && !peer.ejecting && peer.link;
    if (!send && peer.resync) {
      auto state = peer.resync->state();
      bool live = peer.link && (state == ResyncTarget::State::kCopying ||
                                state == ResyncTarget::State::kFinalFlush ||
                                state == ResyncTarget::State::kJoining);
      // A dirty or in-copy region is re-marked instead: its copy will carry this write.
      send = live && !peer.resync->NeedsCopy(op.offset, op.length);
      if (!send) peer.resync->Mark(op.offset, op.length);
    }
    if (!send) continue;
    peer.link->Send(now, epoch_, MsgType::kWrite, body,
                    LinkCookie{LinkCookie::Kind::kWrite, op.op_seq, 0}, out);
    op.sent |= Bit(p);
  }
}

void Primary::IssueLocalWrite(Op& op, Actions& out) {
  FB_ASSERT(IsMutation(op.kind));
  FB_ASSERT(!op.local_issued);
  if (!meta_.Covered(op.offset, op.length)) return;  // waits for the activity log
  // Overlapping writes land in op order, the order every replica applies them in.
  for (const auto& [seq, other] : ops_) {
    if (seq >= op.op_seq) break;
    if (IsMutation(other.kind) && !other.local_done &&
        other.offset < op.offset + op.length && op.offset < other.offset + other.length) {
      return;
    }
  }
  IoId io = ctx_.new_io();
  ios_[io] = IoRef{IoRef::Kind::kLocalWrite, op.op_seq};
  op.local_issued = true;
  out.push_back(DiskWrite{io, ToWriteOp(op.kind), op.offset, op.length, op.fua,
                          op.kind == OpKind::kWrite ? op.data : nullptr, epoch_, op.op_seq,
                          tenure_});
}

void Primary::IssueLocalWrites(Actions& out) {
  for (auto& [seq, op] : ops_) {
    if (IsMutation(op.kind) && !op.local_issued) IssueLocalWrite(op, out);
  }
}

void Primary::OnMetaPersisted(Instant now, Actions& out) {
  if (deposed()) return;
  IssueLocalWrites(out);
  bool waiting = std::any_of(ops_.begin(), ops_.end(), [](const auto& e) {
    return IsMutation(e.second.kind) && !e.second.local_issued;
  });
  if (waiting) meta_.MaybePersist(ctx_.new_io(), out);
  RunAcks(now, out);
}

bool Primary::RegionBusy(uint64_t region) const {
  auto it = local_writes_by_region_.find(region);
  return it != local_writes_by_region_.end() && it->second > 0;
}

bool Primary::OnDiskDone(Instant now, IoId io, const Status& status, const Payload& data,
                         Actions& out) {
  auto it = ios_.find(io);
  if (it == ios_.end()) return false;
  IoRef ref = it->second;
  ios_.erase(it);
  OnLocalDone(now, ref, status, data, out);
  if (!deposed()) RunAcks(now, out);
  return true;
}

void Primary::OnLocalDone(Instant now, const IoRef& ref, const Status& status,
                          const Payload& data, Actions& out) {
  switch (ref.kind) {
    case IoRef::Kind::kLocalWrite: {
      auto it = ops_.find(ref.value);
      uint64_t offset = it != ops_.end() ? it->second.offset : 0;
      if (it != ops_.end()) {
        uint64_t first = offset / ctx_.geometry.region_bytes;
        uint64_t last = (offset + it->second.length - 1) / ctx_.geometry.region_bytes;
        for (uint64_t r = first; r <= last; ++r) {
          FB_ASSERT(local_writes_by_region_[r] > 0);
          if (--local_writes_by_region_[r] == 0) local_writes_by_region_.erase(r);
        }
      }
      if (!status.ok()) return Depose("local write failed: " + status.ToString());
      if (it == ops_.end()) return;
      it->second.local_done = true;
      it->second.done |= Bit(ctx_.self);
      IssueLocalWrites(out);  // a write it held back may go now
      return;
    }
    case IoRef::Kind::kLocalSync: {
      if (!status.ok()) return Depose("local sync failed: " + status.ToString());
      auto it = ops_.find(ref.value);
      if (it == ops_.end()) return;
      it->second.local_done = true;
      it->second.done |= Bit(ctx_.self);
      return;
    }
    case IoRef::Kind::kRead: {
      bool ok = status.ok() && !deposed() && lease_.Valid(now);
      Status result = status.ok() ? NotServedHere("lease lost during read") : status;
      out.push_back(ok ? ReplyToClient{ref.value, Status::Ok(), data, epoch_, tenure_}
                       : ReplyToClient{ref.value, result});
      return;
    }
    case IoRef::Kind::kCopyRead: {
      if (!status.ok()) return Depose("local read for resync failed: " + status.ToString());
      if (deposed() || !peers_[ref.target]) return;
      Peer& peer = *peers_[ref.target];
      // A read from an older session is stale: its region was re-marked when it failed.
      if (!peer.link || peer.link->session() != ref.session || !peer.resync ||
          !peer.resync->Copying(ref.value)) {
        return;
      }
      uint64_t offset = peer.resync->region_offset(ref.value);
      uint64_t length = peer.resync->region_length(ref.value);
      FB_ASSERT(data && data->size() == length);
      // The copy may carry any op issued so far, acknowledged or not: the target's activity
      // log keeps the region until a flush says every one of them finished.
      WriteBody body{WriteOp::kWrite, false, next_op_seq_ - 1, offset, uint32_t(length), data};
      peer.link->Send(now, epoch_, MsgType::kCopy, body,
                      LinkCookie{LinkCookie::Kind::kCopy, ref.value, length}, out);
      return;
    }
  }
}

void Primary::OnMessage(Instant now, NodeId from, const Message& message, Actions& out) {
  if (deposed() || from >= kMaxNodes || !peers_[from]) return;
  if (message.header.volume != ctx_.geometry.volume) return;
  Peer& peer = *peers_[from];
  switch (message.header.type) {
    case MsgType::kAck: return OnAck(now, from, message, out);
    case MsgType::kHello: return OnHello(now, from, message, out);
    case MsgType::kReject: {
      const auto& reject = std::get<RejectBody>(message.body);
      if (reject.reason == RejectReason::kFenced) {
        // A replica promised a newer epoch: only a newer primary can have asked it to.
        if (reject.promised > epoch_) {
          out.push_back(Event{EventKind::kFenced, from, reject.promised, "replica refused"});
          Depose("fenced by a replica's newer promise");
        }
        return;  // an old-epoch copy of a message we already resent
      }
      if (peer.link && peer.link->session() == message.header.session &&
          message.header.tenure == tenure_) {
        PeerFailed(now, from, reject.reason == RejectReason::kIOError ? "replica I/O error"
                                                                      : "replica lost the link",
                   out);
      }
      return;
    }
    default: return;  // primary-to-replica traffic from another node: VolumeNode's concern
  }
}

void Primary::OnAck(Instant now, NodeId from, const Message& message, Actions& out) {
  Peer& peer = *peers_[from];
  if (!peer.link || peer.link->session() != message.header.session ||
      message.header.tenure != tenure_) {
    return;  // an ack from a closed link
  }
  std::optional<LinkCookie> cookie = peer.link->OnAck(message.header.seq);
  if (!cookie) return;
  if (std::get<AckBody>(message.body).code != Code::kOk) {
    return PeerFailed(now, from, "replica reported an error", out);
  }
  switch (cookie->kind) {
    case LinkCookie::Kind::kWrite:
    case LinkCookie::Kind::kFlush: {
      if (cookie->kind == LinkCookie::Kind::kFlush && cookie->value == 0) {
        // The pre-join flush: the target's image is whole and durable. Ask to join S.
        if (peer.resync && peer.resync->state() == ResyncTarget::State::kFinalFlush) {
          peer.resync->set_state(ResyncTarget::State::kJoining);
          MaybeRequestChange(now, out);
        }
        break;
      }
      auto it = ops_.find(cookie->value);
      if (it != ops_.end() && Has(it->second.sent, from)) it->second.done |= Bit(from);
      break;
    }
    case LinkCookie::Kind::kCopy:
      if (peer.resync && peer.resync->Copying(cookie->value)) peer.resync->CopyDone(cookie->value);
      break;
    case LinkCookie::Kind::kBegin:
    case LinkCookie::Kind::kPing: break;
  }
  RunAcks(now, out);
}

void Primary::OnHello(Instant now, NodeId from, const Message& message, Actions& out) {
  Peer& peer = *peers_[from];
  if (peer.in_sync && !peer.ejecting && peer.link &&
      peer.link->session() == message.header.session && message.header.tenure == tenure_) {
    peer.link->OnAck(message.header.seq);  // a member of the first S: nothing to copy
    return;
  }
  if (!peer.link || peer.link->session() != message.header.session ||
      message.header.tenure != tenure_ || !peer.resync ||
      peer.resync->state() != ResyncTarget::State::kAwaitHello) {
    return;
  }
  if (!peer.link->OnAck(message.header.seq)) return;
  const auto& hello = std::get<HelloBody>(message.body);
  peer.resync->set_boot_id(hello.boot_id);
  if (hello.blank) {
    peer.resync->MarkAll();
  } else {
    peer.resync->MarkRegions(hello.al_regions);
  }
  peer.resync->set_state(ResyncTarget::State::kCopying);
  out.push_back(Event{EventKind::kResyncStarted, from, epoch_,
                      std::string(hello.blank ? "full copy" : "incremental") + ": " +
                          std::to_string(peer.resync->progress().bytes_remaining) +
                          " bytes to copy (" + std::to_string(hello.al_regions.size()) +
                          " regions in its activity log)"});
  PumpResync(now, from, out);
  MaybeFinishResync(now, from, out);
}

void Primary::ForgetSent(NodeId peer, ResyncTarget& resync) {
  for (auto& [seq, op] : ops_) {
    if (!Has(op.sent, peer)) continue;
    if (IsMutation(op.kind) && !Has(op.done, peer)) resync.Mark(op.offset, op.length);
    op.sent &= ~Bit(peer);
  }
  for (const auto& [seq, op] : ops_) FB_ASSERT(!Has(op.sent, peer));
}

void Primary::PeerFailed(Instant now, NodeId p, std::string_view why, Actions& out) {
  FB_ASSERT(peers_[p].has_value());
  Peer& peer = *peers_[p];
  // Everything the link still owes may be missing there, including mirrored writes that
  // were already acknowledged without it (it was not in S): dirty for its next resync.
  std::vector<std::pair<uint64_t, uint64_t>> owed;
  if (peer.link) owed = peer.link->UnackedRanges();
  if (peer.in_sync && !peer.ejecting) {
    // A member of S failed: everything it has not completed is dirty for it, and its
    // completion keeps blocking acks until the coordinator commits S without it.
    peer.ejecting = true;
    peer.resync.emplace(ctx_.geometry, p);
    ForgetSent(p, *peer.resync);
    for (const auto& [offset, length] : owed) peer.resync->Mark(offset, length);
    peer.resync->RetryAt(Instant{INT64_MAX});
    peer.link.reset();
    out.push_back(Event{EventKind::kReplicaEjected, p, epoch_, std::string("failed: ") +
                                                                   std::string(why)});
    MaybeRequestChange(now, out);
    return;
  }
  if (peer.resync) {
    ForgetSent(p, *peer.resync);
    for (const auto& [offset, length] : owed) peer.resync->Mark(offset, length);
    peer.resync->Fail(now, knobs_);
    if (peer.ejecting) peer.resync->RetryAt(Instant{INT64_MAX});
  }
  peer.link.reset();
  FB_ASSERT(!peer.link);
}

void Primary::StartSession(Instant now, NodeId p, Actions& out) {
  Peer& peer = *peers_[p];
  FB_ASSERT(peer.resync && !peer.ejecting);
  OpenLink(now, p, out);
  peer.resync->set_state(ResyncTarget::State::kAwaitHello);
}

void Primary::OpenLink(Instant now, NodeId p, Actions& out) {
  Peer& peer = *peers_[p];
  uint32_t session = peer.next_session++;
  peer.link.emplace(p, ctx_.geometry.volume, tenure_, session);
  peer.link->Send(now, epoch_, MsgType::kResyncBegin, std::monostate{},
                  LinkCookie{LinkCookie::Kind::kBegin, 0, 0}, out);
  FB_ASSERT(peer.link->unacked() == 1);
}

void Primary::PumpResync(Instant now, NodeId p, Actions& out) {
  Peer& peer = *peers_[p];
  if (!peer.link || !peer.resync) return;
  auto busy = [this](uint64_t region) { return RegionBusy(region); };
  while (auto region = peer.resync->NextRegion(knobs_, busy)) {
    peer.resync->StartCopy(*region);
    IoId io = ctx_.new_io();
    ios_[io] = IoRef{IoRef::Kind::kCopyRead, *region, p, peer.link->session()};
    out.push_back(DiskRead{io, peer.resync->region_offset(*region),
                           peer.resync->region_length(*region)});
  }
}

void Primary::MaybeFinishResync(Instant now, NodeId p, Actions& out) {
  Peer& peer = *peers_[p];
  if (!peer.link || !peer.resync || peer.resync->state() != ResyncTarget::State::kCopying) return;
  if (!peer.resync->CopyComplete()) return;
  // Writes that were re-marked instead of mirrored must have landed locally: a region is
  // copied only while no local write to it is in flight, so the copy then carries them.
  for (const auto& [seq, op] : ops_) {
    if (IsMutation(op.kind) && !Has(op.sent, p) && !op.local_done) return;
  }
  // From now on it counts for acks (JoinRequested). Writes that were not mirrored to it
  // landed locally before its copy was read, and the flush below makes that copy durable.
  for (auto& [seq, op] : ops_) {
    if (IsMutation(op.kind) && !Has(op.sent, p)) {
      FB_ASSERT(op.local_done);
      op.done |= Bit(p);
    }
  }
  FlushBody body{false, true, 0};
  peer.link->Send(now, epoch_, MsgType::kFlush, body, LinkCookie{LinkCookie::Kind::kFlush, 0, 0},
                  out);
  peer.resync->set_state(ResyncTarget::State::kFinalFlush);
}

void Primary::MaybeRequestChange(Instant now, Actions& out) {
  if (pending_change_ || deposed()) return;
  NodeMask ejecting = 0;
  NodeId joining = kNoNode;
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p]) continue;
    if (peers_[p]->ejecting) ejecting |= Bit(p);
    if (joining == kNoNode && !peers_[p]->in_sync && peers_[p]->resync &&
        peers_[p]->resync->state() == ResyncTarget::State::kJoining) {
      joining = p;
    }
  }
  coord::ConfigChange req = NewChange();
  if (ejecting != 0) {  // shrinking first: acks may be waiting for it
    req.new_in_sync = in_sync_ & ~ejecting;
  } else if (joining != kNoNode) {
    req.new_in_sync = in_sync_ | Bit(joining);
    req.joining = joining;
    req.joining_boot_id = peers_[joining]->resync->boot_id();
  } else {
    return;
  }
  SendChange(now, req, out);
}

void Primary::Joined(Instant now, NodeId p, Actions& out) {
  Peer& peer = *peers_[p];
  FB_ASSERT(peer.resync && peer.link);
  peer.in_sync = true;
  peer.resync.reset();
  for (auto& [seq, op] : ops_) {
    if (IsMutation(op.kind) && !Has(op.sent, p)) {
      // Not mirrored, so it was copied (after it landed locally) and flushed before the join.
      FB_ASSERT(op.local_done);
      op.done |= Bit(p);
    }
    if (op.kind == OpKind::kFlush && !Has(op.sent, p)) SendFlush(now, p, op, out);
  }
  out.push_back(Event{EventKind::kReplicaJoined, p, epoch_, "identical; rejoined S"});
}

void Primary::AdoptRecord(Instant now, const coord::VolumeRecord& record, Actions& out) {
  FB_ASSERT(record.epoch > epoch_);
  FB_ASSERT(record.primary == ctx_.self && record.tenure == tenure_);
  NodeMask before = in_sync_;
  epoch_ = record.epoch;
  in_sync_ = record.in_sync;
  min_in_sync_ = record.min_in_sync;
  meta_.Promise(epoch_);
  meta_.MaybePersist(ctx_.new_io(), out);
  if (pending_change_ && pending_change_->request.expected_epoch < epoch_) pending_change_.reset();
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p]) continue;
    Peer& peer = *peers_[p];
    bool was_in = Has(before, p), now_in = Has(in_sync_, p);
    if (was_in && !now_in) {
      peer.in_sync = false;
      peer.ejecting = false;
      if (peer.resync) peer.resync->RetryAt(now);
    } else if (!was_in && now_in) {
      if (peer.resync && peer.link && peer.resync->state() == ResyncTarget::State::kJoining) {
        Joined(now, p, out);
      } else {
        // It failed after asking to join: it is in S but may miss writes. Eject it again.
        peer.in_sync = true;
        peer.ejecting = true;
        if (!peer.resync) peer.resync.emplace(ctx_.geometry, p);
        peer.resync->RetryAt(Instant{INT64_MAX});
      }
    }
    if (peer.link) peer.link->ResendAll(now, epoch_, out);
  }
  ReportHealth(out);
  MaybeRequestChange(now, out);
}

void Primary::OnRecord(Instant now, const coord::RecordReply& reply, Actions& out) {
  const coord::VolumeRecord& r = reply.record;
  if (deposed() || r.volume != ctx_.geometry.volume || r.epoch < epoch_) return;
  if (r.primary != ctx_.self || r.tenure != tenure_ ||
      r.primary_incarnation != ctx_.incarnation) {
    return Depose("the coordinator records another primary or tenure");
  }
  if (r.epoch > epoch_) return AdoptRecord(now, r, out);
  if (!pending_change_ || reply.request_id != pending_change_->request.request_id ||
      reply.committed) {
    return;
  }
  // Our change was refused at our epoch.
  const coord::ConfigChange refused = pending_change_->request;
  pending_change_.reset();
  if (refused.handover_to != kNoNode) {
    // A switchover (the target died or rebooted): serve again; the lease renews on the tick.
    out.push_back(Event{EventKind::kHandover, *handover_, epoch_, "refused; serving again"});
    handover_.reset();
    handover_sent_ = false;
  } else if (refused.joining != kNoNode && peers_[refused.joining]) {
    // The joiner rebooted since its hello, say: start it over.
    PeerFailed(now, refused.joining, "join refused", out);
  }
  MaybeRequestChange(now, out);
}

void Primary::OnLease(Instant now, const coord::LeaseReply& reply, Actions& out) {
  if (deposed() || reply.volume != ctx_.geometry.volume) return;
  if (handover_sent_) return;  // a renewal sent before we gave the lease up
  lease_.OnReply(reply, epoch_, knobs_);
  RunAcks(now, out);
}

void Primary::Tick(Instant now, Actions& out) {
  if (deposed()) return;
  coord::LeaseRequest base{ctx_.self, ctx_.incarnation, ctx_.geometry.volume, epoch_, 0};
  if (!handover_sent_) lease_.MaybeRenew(now, base, knobs_, out);
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p]) continue;
    Peer& peer = *peers_[p];
    if (peer.link && !peer.link->Tick(now, epoch_, knobs_, out)) {
      PeerFailed(now, p, "peer timeout", out);
    }
    // An idle link still proves its replica alive and unrestarted: a dead one times out, a
    // restarted (maybe wiped) one answers kNoLink. Either way S shrinks before it matters.
    if (peer.link && peer.link->Idle() &&
        now.ns - peer.link->last_send().ns >= knobs_.ping_interval_ns) {
      peer.link->Send(now, epoch_, MsgType::kPing, std::monostate{},
                      LinkCookie{LinkCookie::Kind::kPing, 0, 0}, out);
    }
    if (!peer.resync) continue;
    if (peer.resync->state() == ResyncTarget::State::kBackoff && !peer.ejecting &&
        now >= peer.resync->backoff_until()) {
      StartSession(now, p, out);
    }
    peer.resync->BeginTick();
    PumpResync(now, p, out);
  }
  if (pending_change_ && now.ns - pending_change_->sent_at.ns >= knobs_.coord_retry_ns) {
    pending_change_->sent_at = now;
    out.push_back(SendToCoordinator{pending_change_->request});
  }
  RunAcks(now, out);
}

void Primary::Abort(const Status& why, Actions& out) {
  FB_ASSERT(!why.ok());
  for (const auto& [seq, op] : ops_) out.push_back(ReplyToClient{op.client, why});
  ops_.clear();
  for (auto& [io, ref] : ios_) {
    if (ref.kind == IoRef::Kind::kRead) {
      out.push_back(ReplyToClient{ref.value, why});
      ref.kind = IoRef::Kind::kLocalSync;  // still drains; no op owns it any more
      ref.value = 0;
    }
  }
  lease_.Drop();
  if (!deposed()) Depose(why.ToString());
  FB_ASSERT(ops_.empty());
}

void Primary::Depose(std::string reason) {
  if (deposed()) return;
  deposed_reason_ = std::move(reason);
  lease_.Drop();
  FB_ASSERT(deposed());
}

void Primary::ReportHealth(Actions& out) const {
  int have = Count(in_sync_), want = Count(members_);
  if (have < want) {
    out.push_back(Event{EventKind::kDegraded, kNoNode, epoch_,
                        std::to_string(have) + " of " + std::to_string(want) + " in sync"});
  }
  if (have < int(min_in_sync_)) {
    out.push_back(Event{EventKind::kWritesBlocked, kNoNode, epoch_,
                        "fewer in-sync copies than min_in_sync"});
  }
}

size_t Primary::unacked_messages() const {
  size_t total = 0;
  for (const auto& peer : peers_) {
    if (peer && peer->link) total += peer->link->unacked();
  }
  return total;
}

std::optional<Primary::Lag> Primary::LagOf(NodeId peer, Instant now) const {
  if (peer >= kMaxNodes || !peers_[peer] || !peers_[peer]->link) return std::nullopt;
  const OutboundLink& link = *peers_[peer]->link;
  return Lag{link.unacked(), link.oldest_unacked_age_ns(now)};
}

std::string Primary::Describe() const {
  std::string out;
  size_t shown = 0;
  for (const auto& [seq, op] : ops_) {
    if (shown++ == 4) break;
    out += " op" + std::to_string(seq) + "(kind " + std::to_string(int(op.kind)) + " sent " +
           std::to_string(op.sent) + " done " + std::to_string(op.done) +
           (op.local_issued ? " issued" : "") + (op.local_done ? " local-done" : "") +
           (IsMutation(op.kind) && !meta_.Covered(op.offset, op.length) ? " uncovered" : "") +
           ")";
  }
  if (meta_.persist_in_flight()) out += " persisting";
  for (NodeId p = 0; p < kMaxNodes; ++p) {
    if (!peers_[p]) continue;
    const Peer& peer = *peers_[p];
    out += " peer" + std::to_string(p) + (peer.in_sync ? " in-sync" : "") +
           (peer.ejecting ? " ejecting" : "") + (peer.resync ? " resyncing" : "") +
           (peer.link ? " unacked " + std::to_string(peer.link->unacked()) : " no-link");
  }
  return out;
}

std::optional<ResyncProgress> Primary::Progress(NodeId peer) const {
  if (peer >= kMaxNodes || !peers_[peer] || !peers_[peer]->resync) return std::nullopt;
  return peers_[peer]->resync->progress();
}

}  // namespace fb::repl
