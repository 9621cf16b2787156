// OutboundLink: the primary's ordered, retransmitting message stream to one replica for one
// (tenure, session). Messages are numbered 1, 2, 3...; the replica applies them in that
// order and acks each; unacked ones are resent (with the current epoch) until the oldest is
// older than the peer timeout (flushes: the flush timeout), which declares the replica
// failed. Many messages may be in flight at once (pipelining), up to the window.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "repl/actions.h"
#include "repl/knobs.h"
#include "repl/messages.h"

namespace fb::repl {

// What a message was for, so its ack can be routed back to the operation that sent it.
struct LinkCookie {
  enum class Kind : uint8_t { kBegin, kWrite, kCopy, kFlush, kPing } kind = Kind::kBegin;
  uint64_t value = 0;  // op_seq (write, flush), region index (copy)
  uint64_t bytes = 0;  // copy length
};

class OutboundLink {
 public:
  OutboundLink(NodeId target, VolumeId volume, Epoch tenure, uint32_t session);

  NodeId target() const { return target_; }
  uint32_t session() const { return session_; }
  // Numbers, stamps and sends one message; returns its seq.
  uint64_t Send(Instant now, Epoch epoch, MsgType type, Body body, LinkCookie cookie,
                Actions& out);
  // The cookie of seq if it was outstanding (duplicate acks return nothing).
  std::optional<LinkCookie> OnAck(uint64_t seq);
  // Resends overdue messages. false: an unacked message exceeded the peer timeout (a
  // flush: the flush timeout).
  bool Tick(Instant now, Epoch epoch, const Knobs& knobs, Actions& out);
  // After an epoch change: resend everything outstanding under the new epoch at once.
  void ResendAll(Instant now, Epoch epoch, Actions& out);
  size_t unacked() const { return unacked_.size(); }
  // Nothing unacked but flushes: nothing shows the replica alive, so pings should.
  bool Idle() const;
  // How long the oldest unacknowledged message has waited (0 when none): the replica's lag.
  int64_t oldest_unacked_age_ns(Instant now) const {
    return unacked_.empty() ? 0 : now.ns - unacked_.begin()->second.first_sent.ns;
  }
  // When the newest message was first sent (the link's opening if none yet).
  Instant last_send() const { return last_send_; }
  bool Full(const Knobs& knobs) const { return unacked_.size() >= knobs.link_window_max; }
  std::vector<LinkCookie> Outstanding() const;
  // The ranges of every unacknowledged write or copy (what the target may lack).
  std::vector<std::pair<uint64_t, uint64_t>> UnackedRanges() const;

 private:
  struct Sent {
    Message message;
    LinkCookie cookie;
    Instant first_sent;
    Instant last_sent;
    uint32_t transmissions = 0;
  };
  // Retransmit intervals: retransmit_ns, then twice, four and eight times that.
  static constexpr int kRetransmitMaxDoublings = 3;
  void Transmit(Instant now, Epoch epoch, Sent& sent, Actions& out);

  const NodeId target_;
  const VolumeId volume_;
  const Epoch tenure_;
  const uint32_t session_;
  uint64_t next_seq_ = 1;
  Instant last_send_{INT64_MIN / 2};
  std::map<uint64_t, Sent> unacked_;
};

}  // namespace fb::repl
