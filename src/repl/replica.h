// Replica: the sans-IO state machine of a non-primary node for one volume. It accepts one
// link at a time from the newest primary (a link always opens with ResyncBegin), applies the
// link's messages strictly in seq order (buffering early arrivals, dropping duplicates),
// refuses any epoch older than its promise, makes the promise and the activity log durable
// before the writes that need them, and acks each message once its disk work completed.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "repl/actions.h"
#include "repl/knobs.h"
#include "repl/meta_state.h"
#include "repl/primary.h"
#include "repl/types.h"

namespace fb::repl {

class Replica {
 public:
  Replica(const RoleContext& ctx, uint64_t boot_id);

  void OnMessage(Instant now, NodeId from, const Message& message, Actions& out);
  // false if io is not this replica's.
  bool OnDiskDone(Instant now, IoId io, const Status& status, Actions& out);
  void OnMetaPersisted(Instant now, Actions& out);
  size_t io_in_flight() const { return ios_.size(); }
  // For status: the link's primary, or kNoNode.
  NodeId primary() const { return link_ ? link_->primary : kNoNode; }

 private:
  struct Link {
    NodeId primary = kNoNode;
    Epoch tenure = 0;
    uint32_t session = 0;
    Epoch epoch = 0;  // highest epoch seen on this link (same tenure: same primary)
    uint64_t next_expected = 1;
    std::map<uint64_t, Message> early;  // arrived ahead of next_expected
    std::deque<Message> ready;          // in order, waiting to be applied
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> writes_in_flight;  // seq -> range
    std::set<uint64_t> busy;  // accepted, answer not yet sent
    bool failed = false;  // a local I/O error: refuse the rest of the link
  };
  struct InFlight {
    Epoch tenure = 0;
    uint32_t session = 0;
    uint64_t seq = 0;
    bool is_sync = false;
    FlushBody flush;
  };

  bool SameLink(const Header& h) const;
  void Reply(const Header& about, MsgType type, Body body, Actions& out) const;
  void Reject(NodeId to, const Header& about, RejectReason reason, Actions& out) const;
  bool OpenLink(NodeId from, const Message& message, Actions& out);
  void Accept(Instant now, const Message& message, Actions& out);
  void Drain(Instant now, Actions& out);
  // false: blocked (the message stays at the head of the queue).
  bool Apply(Instant now, const Message& message, Actions& out);

  const RoleContext ctx_;
  MetaState& meta_;
  const uint64_t boot_id_;
  std::optional<Link> link_;
  std::map<IoId, InFlight> ios_;
};

}  // namespace fb::repl
