// The forwarder's transitions. Requests live in a fixed array of slots, linked in submission
// order; the ones sent on the current upstream always form a prefix of that list (sends go in
// list order), so "re-send everything unanswered, in order" is: mark the prefix queued again
// and send from the head.
#include "attach/forwarder.h"

#include <algorithm>
#include <string>

#include "attach/export_mirror.h"
#include "attach/primary_hint.h"
#include "base/assert.h"
#include "proto/nbd/wire.h"

namespace fb::attach {
namespace {

constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

Instant After(Instant at, int64_t ns) { return Instant{at.ns + ns}; }
int64_t Ms(int64_t ns) { return ns / 1'000'000; }

}  // namespace

Forwarder::Forwarder(Knobs knobs, std::vector<std::string> node_ids,
                     std::optional<nbd::Negotiated> reference)
    : knobs_(knobs),
      node_ids_(std::move(node_ids)),
      slots_(knobs.max_pending),
      nodes_(node_ids_.size()),
      reference_(std::move(reference)),
      stall_timeout_ns_(knobs.stall_timeout_ns) {
  FB_ASSERT(!node_ids_.empty() && node_ids_.size() <= size_t(kMaxNodes));
  FB_ASSERT(knobs_.max_pending > 0 && knobs_.max_pending <= kMaxPendingLimit);
  FB_ASSERT(knobs_.max_upstream_inflight > 0);
  FB_ASSERT(knobs_.retry_min_ns > 0 && knobs_.retry_min_ns <= knobs_.retry_max_ns);
  FB_ASSERT(knobs_.retry_max_ns <= knobs_.retry_max_given_up_ns);
  FB_ASSERT(knobs_.stall_timeout_ns > 0 && knobs_.stall_timeout_ns <= knobs_.stall_timeout_max_ns);
  FB_ASSERT(knobs_.connect_timeout_ns > 0 && knobs_.give_up_ns > 0);
  free_.reserve(knobs_.max_pending);
  for (uint32_t i = knobs_.max_pending; i > 0; --i) free_.push_back(i - 1);
  for (Node& n : nodes_) n.backoff_ns = knobs_.retry_min_ns;
}

// ---- Client side ---------------------------------------------------------------------------

bool Forwarder::HasRoom() const { return !free_.empty(); }

uint32_t Forwarder::Submit(Instant now, const nbd::Request& request, Actions& out) {
  FB_ASSERT(HasRoom());
  FB_ASSERT(request.type != nbd::kCmdDisc);  // the client side handles DISC itself
  const uint32_t slot = free_.back();
  free_.pop_back();
  Slot& s = slots_[slot];
  FB_ASSERT(s.state == SlotState::kFree);
  s.request = request;
  s.sends = 0;
  if (given_up_ || mismatch_) {
    stats_.failed_eio++;
    out.emplace_back(
        Complete{slot, Status::IOError(mismatch_ ? "the primary presents another export"
                                                 : "no primary answers (gave up)")});
    free_.push_back(slot);
    return slot;
  }
  if (listed_ == 0) progress_at_ = now;  // the give-up clock starts with the first waiter
  s.state = SlotState::kQueued;
  Append(slot);
  if (upstream_ != 0) SendMore(now, out);
  return slot;
}

// ---- Upstream side -------------------------------------------------------------------------

void Forwarder::OnConnected(Instant now, ConnId conn, const nbd::Negotiated& negotiated,
                            Actions& out) {
  const int node = NodeOfAttempt(conn);
  if (node < 0) {
    out.emplace_back(Close{conn});  // not an attempt of ours (any more)
    return;
  }
  nodes_[size_t(node)].attempt = 0;
  if (!reference_) reference_ = negotiated;
  if (Status same = SameExport(*reference_, negotiated); !same.ok()) {
    out.emplace_back(Close{conn});
    out.emplace_back(Notice{true, "REFUSING " + node_ids_[size_t(node)] +
                                      " as primary: " + same.ToString() +
                                      "; requests fail with EIO until a primary "
                                      "presents the original export"});
    if (!mismatch_) {
      mismatch_ = true;
      FailAll("the primary presents another export", out);
    }
    AttemptFailed(now, node, {});
    return;
  }
  if (upstream_ != 0) {  // a stall probe answered
    if (node == upstream_node_) {
      // Alive and still primary: slow, not dead. Re-sending could land old copies after new
      // ones, so keep waiting on the stalled connection.
      out.emplace_back(Close{conn});
      stall_timeout_ns_ = std::min(2 * stall_timeout_ns_, knobs_.stall_timeout_max_ns);
      stall_mark_ = now;
      StopSearch(out);
      out.emplace_back(Notice{true, node_ids_[size_t(node)] +
                                        " is slow but alive and still primary; "
                                        "waiting on it (stall timeout now " +
                                        std::to_string(Ms(stall_timeout_ns_)) + " ms)"});
      return;
    }
    // Another node is primary, so in a newer epoch: the stalled one cannot complete a write in
    // the volume's history any more, and its requests may be re-sent.
    out.emplace_back(Notice{true, node_ids_[size_t(node)] + " accepts GO while " +
                                      node_ids_[size_t(upstream_node_)] +
                                      " stalls: leaving the stalled primary"});
    out.emplace_back(Close{upstream_});
    upstream_ = 0;
    upstream_node_ = -1;
    Requeue();
  }
  Adopt(now, conn, node, out);
}

void Forwarder::OnClosed(Instant now, ConnId conn, std::string_view why,
                         std::string_view server_message, Actions& out) {
  if (conn != 0 && conn == upstream_) return LoseUpstream(now, why, out);
  const int node = NodeOfAttempt(conn);
  if (node < 0) return;  // already closed by us
  nodes_[size_t(node)].attempt = 0;
  AttemptFailed(now, node, server_message);
  TryNodes(now, out);
}

void Forwarder::OnProgress(Instant now, ConnId conn) {
  if (conn == 0 || conn != upstream_) return;
  stall_mark_ = now;
  progress_at_ = now;
}

void Forwarder::OnReply(Instant now, ConnId conn, uint64_t cookie, Status status, Actions& out) {
  if (conn == 0 || conn != upstream_) return;  // a connection we already left
  const std::optional<uint32_t> slot = SlotOfCookie(cookie);
  FB_ASSERT(slot.has_value());  // the runtime decodes only cookies it found here
  LeaveWindow(slots_[*slot]);
  Progress(now);
  upstream_answered_ = true;
  nodes_[size_t(upstream_node_)].unproductive = 0;
  if (searching_) StopSearch(out);  // the stalled primary answered after all
  Slot& s = slots_[*slot];
  if (s.state == SlotState::kZombie) {
    Release(*slot);  // its client was answered (EIO) long ago
  } else {
    FB_ASSERT(s.state == SlotState::kSent);
    stats_.forwarded++;
    Finish(*slot, std::move(status), out);
  }
  SendMore(now, out);
}

void Forwarder::OnBroken(Instant now, ConnId conn, const Status& why, Actions& out) {
  if (conn == 0 || conn != upstream_) return;
  FB_ASSERT(!why.ok());
  out.emplace_back(Notice{true, "the reply stream from " + node_ids_[size_t(upstream_node_)] +
                                    " broke the protocol (" + why.ToString() +
                                    "): failing its unanswered requests with EIO"});
  out.emplace_back(Close{conn});
  // We close it, so the node may still parse what we sent: re-sending could reorder writes.
  while (head_ != kNone && slots_[head_].state == SlotState::kSent) {
    stats_.failed_eio++;
    Finish(head_, Status::IOError("the primary's reply stream broke", why.message()), out);
  }
  upstream_ = 0;
  upstream_node_ = -1;
  Requeue();  // drops zombies; what is left was never sent
  StartSearch(now);
  TryNodes(now, out);
}

void Forwarder::Tick(Instant now, Actions& out) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    if (n.attempt == 0 || now < n.attempt_deadline) continue;
    out.emplace_back(Close{n.attempt});  // a hung node: no handshake within connect_timeout
    n.attempt = 0;
    AttemptFailed(now, int(i), {});
  }
  if (upstream_ != 0 && !searching_ && inflight_ > 0 &&
      now.ns - stall_mark_.ns >= stall_timeout_ns_) {
    out.emplace_back(Notice{true, "no reply progress from " + node_ids_[size_t(upstream_node_)] +
                                      " for " + std::to_string(Ms(now.ns - stall_mark_.ns)) +
                                      " ms with " + std::to_string(inflight_) +
                                      " requests out: probing every node for the primary"});
    StartSearch(now);
  }
  if (listed_ > 0 && !given_up_ && now.ns - progress_at_.ns >= knobs_.give_up_ns) GiveUp(now, out);
  TryNodes(now, out);
}

void Forwarder::Shutdown(Actions& out) {
  FailAll("attach is shutting down", out);
  given_up_ = true;
  searching_ = false;
  for (Node& n : nodes_) {
    if (n.attempt != 0) out.emplace_back(Close{n.attempt});
    n.attempt = 0;
  }
  if (upstream_ != 0) out.emplace_back(Close{upstream_});
  upstream_ = 0;
  upstream_node_ = -1;
  Requeue();
}

// ---- Lookups -------------------------------------------------------------------------------

std::optional<uint32_t> Forwarder::SlotOfCookie(uint64_t cookie) const {
  const uint64_t slot = cookie & kSlotMask;
  if (slot >= slots_.size()) return std::nullopt;
  const Slot& s = slots_[slot];
  if (s.state != SlotState::kSent && s.state != SlotState::kZombie) return std::nullopt;
  if (s.cookie != cookie) return std::nullopt;
  return uint32_t(slot);
}

bool Forwarder::Answered(uint32_t slot) const {
  FB_ASSERT(slot < slots_.size());
  return slots_[slot].state == SlotState::kZombie;
}

const nbd::Request& Forwarder::RequestOf(uint32_t slot) const {
  FB_ASSERT(slot < slots_.size());
  FB_ASSERT(slots_[slot].state != SlotState::kFree);
  return slots_[slot].request;
}

ForwarderStats Forwarder::stats() const {
  ForwarderStats s = stats_;
  s.pending = listed_;
  s.inflight = inflight_;
  s.upstream_node = upstream_node_;
  return s;
}

// ---- Order list ----------------------------------------------------------------------------

void Forwarder::Append(uint32_t slot) {
  Slot& s = slots_[slot];
  FB_ASSERT(s.prev == kNone && s.next == kNone);
  s.prev = tail_;
  if (tail_ != kNone) slots_[tail_].next = slot;
  tail_ = slot;
  if (head_ == kNone) head_ = slot;
  if (next_unsent_ == kNone && s.state == SlotState::kQueued) next_unsent_ = slot;
  ++listed_;
}

void Forwarder::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  FB_ASSERT(listed_ > 0);
  if (next_unsent_ == slot) next_unsent_ = s.next;
  if (s.prev != kNone)
    slots_[s.prev].next = s.next;
  else
    head_ = s.next;
  if (s.next != kNone)
    slots_[s.next].prev = s.prev;
  else
    tail_ = s.prev;
  s.prev = s.next = kNone;
  --listed_;
}

void Forwarder::Release(uint32_t slot) {
  Slot& s = slots_[slot];
  FB_ASSERT(s.prev == kNone && s.next == kNone);
  FB_ASSERT(s.state != SlotState::kFree);
  s.state = SlotState::kFree;
  free_.push_back(slot);
}

void Forwarder::LeaveWindow(const Slot& slot) {
  const uint64_t bytes = nbd::PayloadLength(slot.request);
  FB_ASSERT(inflight_ > 0);
  FB_ASSERT(inflight_bytes_ >= bytes);
  --inflight_;
  inflight_bytes_ -= bytes;
}

// ---- Transitions ---------------------------------------------------------------------------

// Sends queued requests in list order while the upstream window has room.
void Forwarder::SendMore(Instant now, Actions& out) {
  FB_ASSERT(upstream_ != 0);
  while (next_unsent_ != kNone && inflight_ < knobs_.max_upstream_inflight) {
    const uint32_t slot = next_unsent_;
    Slot& s = slots_[slot];
    FB_ASSERT(s.state == SlotState::kQueued);
    const uint64_t bytes = nbd::PayloadLength(s.request);
    if (inflight_ > 0 && inflight_bytes_ + bytes > knobs_.max_upstream_bytes) break;
    FB_ASSERT(s.prev == kNone || slots_[s.prev].state == SlotState::kSent);
    s.state = SlotState::kSent;
    s.serial++;
    s.cookie = (uint64_t{s.serial} << kSlotBits) | slot;
    if (s.sends++ > 0) stats_.resent++;
    if (inflight_ == 0) stall_mark_ = now;  // the stall clock runs while something is out
    ++inflight_;
    inflight_bytes_ += bytes;
    next_unsent_ = s.next;
    out.emplace_back(Send{upstream_, slot, s.cookie});
  }
}

void Forwarder::Finish(uint32_t slot, Status status, Actions& out) {
  Unlink(slot);
  out.emplace_back(Complete{slot, std::move(status)});
  Release(slot);
}

// Every sent request becomes queued again (same order), zombies are dropped: the upstream is
// gone, so none of them can be answered any more.
void Forwarder::Requeue() {
  FB_ASSERT(upstream_ == 0);
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    Slot& s = slots_[slot];
    if (s.state == SlotState::kSent) s.state = SlotState::kQueued;
    if (s.state == SlotState::kZombie) Release(slot);
  }
  inflight_ = 0;
  inflight_bytes_ = 0;
  next_unsent_ = head_;
}

void Forwarder::Adopt(Instant now, ConnId conn, int node, Actions& out) {
  FB_ASSERT(upstream_ == 0);
  FB_ASSERT(inflight_ == 0);
  const bool failover = stats_.upstreams > 0;
  upstream_ = conn;
  upstream_node_ = node;
  stats_.upstreams++;
  StopSearch(out);
  for (Node& n : nodes_) n.backoff_ns = knobs_.retry_min_ns;
  mismatch_ = false;
  given_up_ = false;
  stall_timeout_ns_ = knobs_.stall_timeout_ns;
  stall_mark_ = now;
  upstream_answered_ = false;
  // The give-up clock keeps running: a node that accepts GO is no answer to anything.
  std::string text = "forwarding to " + node_ids_[size_t(node)];
  if (failover) {
    text += " (" + std::to_string(Ms(now.ns - search_since_.ns)) + " ms after the search began; " +
            std::to_string(listed_) + " requests to send)";
  }
  out.emplace_back(Notice{failover, std::move(text)});
  SendMore(now, out);
}

void Forwarder::LoseUpstream(Instant now, std::string_view why, Actions& out) {
  FB_ASSERT(upstream_ != 0);
  out.emplace_back(Notice{true, "lost " + node_ids_[size_t(upstream_node_)] + " (" +
                                    std::string(why) + "): holding " + std::to_string(listed_) +
                                    " requests, looking for the primary"});
  const int lost = upstream_node_;
  upstream_ = 0;
  upstream_node_ = -1;
  Requeue();
  StartSearch(now);
  if (!upstream_answered_) {
    // Closed before answering anything: try that node again only after a growing pause, so a
    // node that accepts GO and closes at once cannot make us spin.
    Node& n = nodes_[size_t(lost)];
    n.unproductive++;
    const int shift = int(std::min<uint32_t>(n.unproductive - 1, 16));
    n.next_try = After(now, std::min(knobs_.retry_min_ns << shift, RetryMax()));
  }
  TryNodes(now, out);
}

void Forwarder::StartSearch(Instant now) {
  if (!searching_) search_since_ = now;
  searching_ = true;
  for (Node& n : nodes_) {
    if (n.attempt != 0) continue;
    n.next_try = std::min(n.next_try, now);
    n.backoff_ns = knobs_.retry_min_ns;
  }
}

void Forwarder::StopSearch(Actions& out) {
  searching_ = false;
  for (Node& n : nodes_) {
    if (n.attempt != 0) out.emplace_back(Close{n.attempt});
    n.attempt = 0;
  }
}

// One attempt per node at a time, each no sooner than its backoff allows.
void Forwarder::TryNodes(Instant now, Actions& out) {
  if (!searching_) return;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    if (n.attempt != 0 || now < n.next_try) continue;
    n.attempt = next_conn_++;
    n.attempt_deadline = After(now, knobs_.connect_timeout_ns);
    n.last_try = now;
    n.next_try = After(now, knobs_.retry_min_ns);  // overwritten when it fails
    out.emplace_back(Connect{n.attempt, int(i)});
  }
}

// Backs the node off; a refusal naming the primary brings that node's next attempt forward
// (never sooner than 2 x retry_min after its last, so two stale hints cannot ping-pong fast).
void Forwarder::AttemptFailed(Instant now, int node, std::string_view server_message) {
  Node& n = nodes_[size_t(node)];
  FB_ASSERT(n.attempt == 0);
  n.next_try = After(now, n.backoff_ns);
  n.backoff_ns = std::min(2 * n.backoff_ns, RetryMax());
  const int hint = PrimaryHint(server_message, node_ids_);
  if (hint < 0 || hint == node || given_up_ || mismatch_) return;
  Node& h = nodes_[size_t(hint)];
  // A node that just accepted GO and closed without answering keeps its pause.
  if (h.attempt != 0 || h.unproductive > 0) return;
  const Instant soonest = std::max(now, After(h.last_try, 2 * knobs_.retry_min_ns));
  h.next_try = std::min(h.next_try, soonest);
}

void Forwarder::GiveUp(Instant now, Actions& out) {
  out.emplace_back(Notice{true, "no progress for " + std::to_string(Ms(now.ns - progress_at_.ns)) +
                                    " ms: failing " + std::to_string(listed_) +
                                    " requests with EIO; new ones fail until a primary answers"});
  given_up_ = true;
  FailAll("no primary answered within the give-up time", out);
}

// Answers every listed request with EIO. Sent ones stay as zombies until their reply or the
// end of the connection (their cookies stay reserved; they are never re-sent).
void Forwarder::FailAll(std::string_view why, Actions& out) {
  while (head_ != kNone) {
    const uint32_t slot = head_;
    Slot& s = slots_[slot];
    stats_.failed_eio++;
    if (s.state == SlotState::kQueued) {
      Finish(slot, Status::IOError(why), out);
      continue;
    }
    FB_ASSERT(s.state == SlotState::kSent);
    Unlink(slot);
    s.state = SlotState::kZombie;
    out.emplace_back(Complete{slot, Status::IOError(why)});
  }
  FB_ASSERT(listed_ == 0 && next_unsent_ == kNone);
}

void Forwarder::Progress(Instant now) {
  stall_mark_ = now;
  progress_at_ = now;
  stall_timeout_ns_ = knobs_.stall_timeout_ns;
  given_up_ = false;  // a primary answers again
}

int Forwarder::NodeOfAttempt(ConnId conn) const {
  if (conn == 0) return -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].attempt == conn) return int(i);
  }
  return -1;
}

int64_t Forwarder::RetryMax() const {
  return given_up_ || mismatch_ ? knobs_.retry_max_given_up_ns : knobs_.retry_max_ns;
}

}  // namespace fb::attach
