// Replica: fencing, in-order application, activity log first, acks after completion.
#include "repl/replica.h"

#include <tuple>

#include "base/assert.h"

namespace fb::repl {

Replica::Replica(const RoleContext& ctx, uint64_t boot_id)
    : ctx_(ctx), meta_(*ctx.meta), boot_id_(boot_id) {
  FB_ASSERT(ctx_.knobs != nullptr);
  FB_ASSERT(ctx_.meta != nullptr);
}

bool Replica::SameLink(const Header& h) const {
  return link_ && link_->tenure == h.tenure && link_->session == h.session;
}

void Replica::Reply(const Header& about, MsgType type, Body body, Actions& out) const {
  FB_ASSERT(link_.has_value());
  Message m;
  m.header = Header{type, link_->epoch, about.seq, ctx_.geometry.volume, about.tenure,
                    about.session};
  m.body = std::move(body);
  out.push_back(SendMessage{link_->primary, std::move(m)});
}

void Replica::Reject(NodeId to, const Header& about, RejectReason reason, Actions& out) const {
  Message m;
  m.header = Header{MsgType::kReject, meta_.promised(), about.seq, ctx_.geometry.volume,
                    about.tenure, about.session};
  m.body = RejectBody{reason, meta_.promised()};
  out.push_back(SendMessage{to, std::move(m)});
}

void Replica::OnMessage(Instant now, NodeId from, const Message& message, Actions& out) {
  const Header& h = message.header;
  if (h.volume != ctx_.geometry.volume || !IsPrimaryToReplica(h.type)) return;
  // Fencing: nothing older than the promise is ever applied.
  if (h.epoch < meta_.promised()) return Reject(from, h, RejectReason::kFenced, out);
  if (h.epoch > meta_.promised()) meta_.Promise(h.epoch);
  auto key = std::make_tuple(h.tenure, h.session);
  if (!link_ || key > std::make_tuple(link_->tenure, link_->session)) {
    if (!OpenLink(from, message, out)) return;
  } else if (!SameLink(h)) {
    return;  // an older link's straggler
  }
  if (link_->failed) return Reject(from, h, RejectReason::kIOError, out);
  Accept(now, message, out);
  Drain(now, out);
}

bool Replica::OpenLink(NodeId from, const Message& message, Actions& out) {
  const Header& h = message.header;
  if (h.type != MsgType::kResyncBegin || h.seq != 1) {
    // Not the start of a link we know (we restarted, or its opening was lost).
    Reject(from, h, RejectReason::kNoLink, out);
    return false;
  }
  // Disk work of the old link still completes, but its acks are dropped (SameLink fails).
  link_.emplace();
  link_->primary = from;
  link_->tenure = h.tenure;
  link_->session = h.session;
  link_->epoch = h.epoch;
  FB_ASSERT(link_->next_expected == 1);
  return true;
}

void Replica::Accept(Instant now, const Message& message, Actions& out) {
  Link& link = *link_;
  const Header& h = message.header;
  if (h.epoch > link.epoch) link.epoch = h.epoch;
  if (h.seq < link.next_expected) {
    // A duplicate. If its work is finished, our answer was lost: send it again.
    if (link.busy.contains(h.seq)) return;
    if (h.type == MsgType::kResyncBegin) {
      Reply(h, MsgType::kHello, HelloBody{boot_id_, meta_.blank(), meta_.Regions()}, out);
    } else {
      Reply(h, MsgType::kAck, AckBody{}, out);
    }
    return;
  }
  if (link.early.size() >= ctx_.knobs->link_window_max) return;  // the primary resends
  link.early.emplace(h.seq, message);
  while (!link.early.empty() && link.early.begin()->first == link.next_expected) {
    link.busy.insert(link.next_expected);
    link.ready.push_back(std::move(link.early.begin()->second));
    link.early.erase(link.early.begin());
    ++link.next_expected;
  }
  FB_ASSERT(link.early.empty() || link.early.begin()->first > link.next_expected);
}

void Replica::Drain(Instant now, Actions& out) {
  while (link_ && !link_->ready.empty()) {
    Link& link = *link_;
    // A newer primary made us promise more: this link belongs to a superseded tenure.
    if (link.epoch < meta_.promised()) {
      for (const auto& m : link.ready) Reject(link.primary, m.header, RejectReason::kFenced, out);
      link.ready.clear();
      return;
    }
    // Writes of an older link still in flight must land before this link's writes (or its
    // hello, which the new primary's copies follow) can start, or they could land after.
    bool old_io = false;
    for (const auto& [io, f] : ios_) old_io = old_io || f.tenure != link.tenure ||
                                              f.session != link.session;
    if (old_io) return;
    // The promise is durable before we answer anything under it.
    if (!meta_.PromiseDurable(link.epoch)) {
      meta_.MaybePersist(ctx_.new_io(), out);
      return;
    }
    if (!Apply(now, link.ready.front(), out)) return;
    link.ready.pop_front();
  }
}

bool Replica::Apply(Instant now, const Message& message, Actions& out) {
  Link& link = *link_;
  const Header& h = message.header;
  switch (h.type) {
    case MsgType::kPing:
      Reply(h, MsgType::kAck, AckBody{}, out);
      link.busy.erase(h.seq);
      return true;
    case MsgType::kResyncBegin: {
      HelloBody hello{boot_id_, meta_.blank(), meta_.Regions()};
      Reply(h, MsgType::kHello, std::move(hello), out);
      link.busy.erase(h.seq);
      return true;
    }
    case MsgType::kWrite:
    case MsgType::kCopy: {
      const auto& w = std::get<WriteBody>(message.body);
      if (w.length == 0 || w.offset + w.length > ctx_.geometry.size_bytes) {
        link.failed = true;  // a primary bug or corruption: refuse the link
        Reject(link.primary, h, RejectReason::kIOError, out);
        return true;
      }
      // Overlapping writes land in link order, as they did on the primary: the replica
      // converges to the primary's image even when they were in flight together.
      for (const auto& [seq, range] : link.writes_in_flight) {
        if (range.first < w.offset + w.length && w.offset < range.first + range.second) {
          return false;
        }
      }
      // Activity log first: the region is durably recorded before its data changes.
      meta_.Touch(now, w.offset, w.length, h.tenure, w.op_seq);
      if (!meta_.Covered(w.offset, w.length)) {
        meta_.MaybePersist(ctx_.new_io(), out);
        return false;
      }
      IoId io = ctx_.new_io();
      ios_[io] = InFlight{h.tenure, h.session, h.seq, false, {}};
      link.writes_in_flight[h.seq] = {w.offset, w.length};
      out.push_back(DiskWrite{io, w.op, w.offset, w.length, w.fua, w.data, link.epoch,
                              w.op_seq, h.tenure});
      return true;
    }
    case MsgType::kFlush: {
      // Barrier: every write received before the flush must be complete before the sync.
      if (!link.writes_in_flight.empty() && link.writes_in_flight.begin()->first < h.seq) {
        return false;
      }
      IoId io = ctx_.new_io();
      ios_[io] = InFlight{h.tenure, h.session, h.seq, true, std::get<FlushBody>(message.body)};
      out.push_back(DiskSync{io});
      return true;
    }
    default: break;
  }
  FB_UNREACHABLE();
}

bool Replica::OnDiskDone(Instant now, IoId io, const Status& status, Actions& out) {
  auto it = ios_.find(io);
  if (it == ios_.end()) return false;
  InFlight f = it->second;
  ios_.erase(it);
  Header about{MsgType::kAck, 0, f.seq, ctx_.geometry.volume, f.tenure, f.session};
  if (!SameLink(about)) {  // the link moved on; its primary ignores old acks
    Drain(now, out);          // but the new link may have been waiting for this write
    return true;
  }
  Link& link = *link_;
  if (!f.is_sync) link.writes_in_flight.erase(f.seq);
  link.busy.erase(f.seq);
  if (!status.ok()) {
    link.failed = true;
    Reply(about, MsgType::kAck, AckBody{Code::kIOError}, out);
    return true;
  }
  if (f.is_sync) {
    // Durable and, when in S, acknowledged everywhere: the activity log may forget it.
    if (f.flush.in_sync) meta_.Trim(now, f.tenure, f.flush.acked_through);
    if (f.flush.resync_complete && meta_.blank()) {
      meta_.ClearBlank();
      meta_.MaybePersist(ctx_.new_io(), out);
    }
  }
  Reply(about, MsgType::kAck, AckBody{}, out);
  Drain(now, out);
  return true;
}

void Replica::OnMetaPersisted(Instant now, Actions& out) { Drain(now, out); }

}  // namespace fb::repl
