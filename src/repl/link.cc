// OutboundLink: numbering, retransmission and failure detection for one replica link.
#include "repl/link.h"

#include <algorithm>

#include "base/assert.h"

namespace fb::repl {

OutboundLink::OutboundLink(NodeId target, VolumeId volume, Epoch tenure, uint32_t session)
    : target_(target), volume_(volume), tenure_(tenure), session_(session) {
  FB_ASSERT(target < kMaxNodes);
  FB_ASSERT(tenure > 0);
}

void OutboundLink::Transmit(Instant now, Epoch epoch, Sent& sent, Actions& out) {
  FB_ASSERT(epoch >= tenure_);
  sent.message.header.epoch = epoch;
  sent.last_sent = now;
  ++sent.transmissions;
  out.push_back(SendMessage{target_, sent.message});
}

uint64_t OutboundLink::Send(Instant now, Epoch epoch, MsgType type, Body body,
                            LinkCookie cookie, Actions& out) {
  uint64_t seq = next_seq_++;
  FB_ASSERT(type != MsgType::kResyncBegin || seq == 1);  // a link opens with ResyncBegin
  Sent sent;
  sent.message.header = Header{type, epoch, seq, volume_, tenure_, session_};
  sent.message.body = std::move(body);
  sent.cookie = cookie;
  sent.first_sent = now;
  last_send_ = now;
  auto [it, inserted] = unacked_.emplace(seq, std::move(sent));
  FB_ASSERT(inserted);
  Transmit(now, epoch, it->second, out);
  return seq;
}

std::optional<LinkCookie> OutboundLink::OnAck(uint64_t seq) {
  auto it = unacked_.find(seq);
  if (it == unacked_.end()) return std::nullopt;
  LinkCookie cookie = it->second.cookie;
  unacked_.erase(it);
  return cookie;
}

bool OutboundLink::Tick(Instant now, Epoch epoch, const Knobs& knobs, Actions& out) {
  for (auto& [seq, sent] : unacked_) {
    // A flush may take as long as writing back everything the replica has cached (a full
    // copy: gigabytes); the pings sent meanwhile (Idle) watch that the replica is alive.
    bool flush = sent.cookie.kind == LinkCookie::Kind::kFlush;
    int64_t limit = flush ? knobs.flush_timeout_ns : knobs.peer_timeout_ns;
    if (now.ns - sent.first_sent.ns > limit) return false;
    // Backing off: an ack that is late because the replica's disk is slow must not be
    // answered with more copies of the same (possibly megabyte) message, which only slows
    // the replica further. Lost messages (a dropped connection) are still resent soon.
    int doublings = std::min<int>(int(sent.transmissions) - 1, kRetransmitMaxDoublings);
    if (now.ns - sent.last_sent.ns >= (knobs.retransmit_ns << doublings)) {
      Transmit(now, epoch, sent, out);
    }
  }
  return true;
}

void OutboundLink::ResendAll(Instant now, Epoch epoch, Actions& out) {
  for (auto& [seq, sent] : unacked_) Transmit(now, epoch, sent, out);
}

bool OutboundLink::Idle() const {
  return std::all_of(unacked_.begin(), unacked_.end(), [](const auto& entry) {
    return entry.second.cookie.kind == LinkCookie::Kind::kFlush;
  });
}

std::vector<LinkCookie> OutboundLink::Outstanding() const {
  std::vector<LinkCookie> out;
  out.reserve(unacked_.size());
  for (const auto& [seq, sent] : unacked_) out.push_back(sent.cookie);
  return out;
}

}  // namespace fb::repl

namespace fb::repl {

std::vector<std::pair<uint64_t, uint64_t>> OutboundLink::UnackedRanges() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& [seq, sent] : unacked_) {
    if (const auto* w = std::get_if<WriteBody>(&sent.message.body)) {
      out.emplace_back(w->offset, w->length);
    }
  }
  return out;
}

}  // namespace fb::repl
