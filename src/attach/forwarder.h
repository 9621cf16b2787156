// Forwarder: the state machine of `firebreak attach`. It holds every client request until the
// primary answers it, decides what goes on which upstream connection under which cookie, and
// when the upstream is lost or stalls, finds the primary again and re-sends, in submission
// order, every request not yet answered. Single-threaded and sans-IO: inputs carry `now`,
// outputs are Actions (actions.h); the runtime does the sockets.
//
// The rules (docs/attach.md has the argument):
// - Lost: the node closed the connection (or it broke: EOF, RST, socket error). Every request
//   sent on it and not answered is queued again, ahead of newer ones, and re-sent to whichever
//   node accepts NBD_OPT_GO next. The node stopped reading that connection when it closed it,
//   so nothing of it can be submitted after a re-sent copy.
// - Stalled: requests out and no reply progress for stall_timeout. The connection is kept (and
//   still read) while every node is probed with a fresh handshake. A DIFFERENT node accepting
//   GO is a new primary, hence a newer epoch: the stalled node can no longer complete a write
//   in the volume's history, so the stalled connection is dropped and its requests re-sent
//   there. The SAME node accepting GO is alive and still primary (slow, not dead): the probe is
//   closed, nothing is re-sent (the old copies could still land after the new ones), and the
//   stall timeout doubles (bounded).
// - Broken (a reply that breaks the protocol): we close it ourselves, so the node may still
//   parse requests we sent; re-sending them could reorder writes. They fail with EIO (their
//   outcome is unknown, which is what EIO says); queued ones wait for the next primary.
// - Give-up: requests waiting with no progress for give_up fail with EIO, and new ones fail at
//   once, until a primary answers again. A request already sent on a live connection is then
//   kept as a "zombie" until its reply comes or the connection dies, so its cookie is never
//   reused while the node might still answer it, and it is never re-sent.
// - Bounded: max_pending slots (HasRoom() false: the runtime stops reading its clients),
//   max_upstream_inflight requests on the upstream, one attempt per node at a time, at most
//   one per node per retry_min.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attach/actions.h"
#include "attach/knobs.h"
#include "env/clock.h"
#include "proto/nbd/export.h"
#include "proto/nbd/request.h"

namespace fb::attach {

using env::Instant;

struct ForwarderStats {
  uint32_t pending = 0;     // requests held (queued or sent)
  uint32_t inflight = 0;    // on the upstream, zombies included
  uint64_t forwarded = 0;   // requests completed with the primary's answer
  uint64_t resent = 0;      // sends beyond a request's first
  uint64_t failed_eio = 0;  // requests we failed ourselves (give-up, broken, mismatch)
  uint64_t upstreams = 0;   // upstream connections adopted (failovers + 1)
  int upstream_node = -1;   // index of the node we forward to, -1 none
};

class Forwarder {
 public:
  // node_ids: the cluster's nodes in config order (their index is what Connect names).
  // reference: the export every primary must present; unset, the first primary's is used.
  Forwarder(Knobs knobs, std::vector<std::string> node_ids,
            std::optional<nbd::Negotiated> reference = std::nullopt);

  // ---- Client side ----
  // A slot is free for one more request.
  bool HasRoom() const;
  // A request the client side validated (never DISC). Precondition: HasRoom(). Returns the
  // slot that identifies it in Send and Complete; the runtime keeps its buffers until
  // Complete. May complete at once (EIO) while given up.
  uint32_t Submit(Instant now, const nbd::Request& request, Actions& out);

  // ---- Upstream side ----
  // Attempt `conn` finished its handshake: the node accepts GO with `negotiated`.
  void OnConnected(Instant now, ConnId conn, const nbd::Negotiated& negotiated, Actions& out);
  // `conn` is gone: an attempt that failed (server_message: the node's refusal text, for the
  // primary hint) or the upstream that the node closed or that broke at the socket.
  void OnClosed(Instant now, ConnId conn, std::string_view why, std::string_view server_message,
                Actions& out);
  // Bytes of some reply arrived on `conn` (progress, even before a reply is whole).
  void OnProgress(Instant now, ConnId conn);
  // The reply to `cookie` on `conn` is complete with `status` (the node's answer).
  void OnReply(Instant now, ConnId conn, uint64_t cookie, Status status, Actions& out);
  // The reply stream on `conn` broke the protocol; the runtime stops reading it.
  void OnBroken(Instant now, ConnId conn, const Status& why, Actions& out);
  // Timeouts: attempts, stalls, give-up, retries. Call often (every few ms).
  void Tick(Instant now, Actions& out);
  // Fails everything held with EIO and closes every connection (clean exit).
  void Shutdown(Actions& out);

  // ---- Lookups for the runtime ----
  // The slot awaiting `cookie` on the upstream (sent, or a zombie), if any.
  std::optional<uint32_t> SlotOfCookie(uint64_t cookie) const;
  // The client was already answered (a zombie): drop reply data, do not touch its buffers.
  bool Answered(uint32_t slot) const;
  const nbd::Request& RequestOf(uint32_t slot) const;
  // The first primary's export, against which every later one is checked.
  const std::optional<nbd::Negotiated>& reference() const { return reference_; }
  ConnId upstream() const { return upstream_; }
  ForwarderStats stats() const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  enum class SlotState : uint8_t { kFree, kQueued, kSent, kZombie };
  struct Slot {
    SlotState state = SlotState::kFree;
    nbd::Request request;
    uint64_t cookie = 0;
    uint32_t serial = 0;  // bumped per send: a re-sent request gets a new cookie
    uint32_t sends = 0;
    uint32_t prev = kNone;  // submission order (queued and sent only)
    uint32_t next = kNone;
  };
  struct Node {
    ConnId attempt = 0;  // in flight, 0 none
    Instant attempt_deadline;
    Instant next_try;
    Instant last_try;
    int64_t backoff_ns = 0;
    // Upstreams on this node lost in a row before answering anything (a node that accepts GO
    // but closes on every request, e.g. one still claiming its lease): each waits longer.
    uint32_t unproductive = 0;
  };

  // Order list.
  void Append(uint32_t slot);
  void Unlink(uint32_t slot);
  void Release(uint32_t slot);
  void LeaveWindow(const Slot& slot);  // an answer frees its place on the upstream
  // Transitions.
  void SendMore(Instant now, Actions& out);
  void Finish(uint32_t slot, Status status, Actions& out);
  void Requeue();
  void Adopt(Instant now, ConnId conn, int node, Actions& out);
  void LoseUpstream(Instant now, std::string_view why, Actions& out);
  void StartSearch(Instant now);
  void StopSearch(Actions& out);
  void TryNodes(Instant now, Actions& out);
  void AttemptFailed(Instant now, int node, std::string_view server_message);
  void GiveUp(Instant now, Actions& out);
  void FailAll(std::string_view why, Actions& out);
  void Progress(Instant now);
  int NodeOfAttempt(ConnId conn) const;
  int64_t RetryMax() const;

  const Knobs knobs_;
  const std::vector<std::string> node_ids_;
  std::vector<Slot> slots_;     // max_pending, allocated once
  std::vector<uint32_t> free_;  // free slot indices
  std::vector<Node> nodes_;
  uint32_t head_ = kNone;  // oldest request not yet answered
  uint32_t tail_ = kNone;
  uint32_t next_unsent_ = kNone;  // first queued request in the list (all before it are sent)
  uint32_t listed_ = 0;           // queued + sent
  uint32_t inflight_ = 0;         // sent + zombies on the upstream
  uint64_t inflight_bytes_ = 0;   // their WRITE payload bytes

  ConnId next_conn_ = 1;
  ConnId upstream_ = 0;
  int upstream_node_ = -1;
  std::optional<nbd::Negotiated> reference_;
  bool searching_ = true;  // attempts are being made (no upstream, or a stall probe)
  Instant search_since_;
  Instant stall_mark_;  // last reply progress on the upstream (or first send)
  int64_t stall_timeout_ns_ = 0;
  Instant progress_at_;  // last progress of any kind, for give-up
  bool given_up_ = false;
  bool mismatch_ = false;           // the primary presents another export: fail everything
  bool upstream_answered_ = false;  // a reply came on the current upstream
  ForwarderStats stats_;
};

}  // namespace fb::attach
