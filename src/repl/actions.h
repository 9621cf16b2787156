// Actions: everything a replication state machine asks its runtime to do. The runtime (the
// real node or the simulator) performs them and feeds completions back in as inputs, tagged
// with the IoId the action carried. Nothing here performs I/O.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "coord/coordinator.h"
#include "repl/messages.h"
#include "repl/types.h"

namespace fb::repl {

// Send a replication message to a peer (best effort: the protocol retransmits).
struct SendMessage {
  NodeId to = kNoNode;
  Message message;
};

// Send a request to the coordinator (best effort: the caller retries).
struct SendToCoordinator {
  coord::Request request;
};

// A local mutation. Completed => written to the local block layer (durable only after a
// later DiskSync completes, or at once when fua). epoch/tenure/op_seq identify the writer
// (tenure: the epoch its primary was promoted at) for logs and the simulator's checkers.
struct DiskWrite {
  IoId io = 0;
  WriteOp op = WriteOp::kWrite;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool fua = false;
  Payload data;  // kWrite only
  Epoch epoch = 0;
  uint64_t op_seq = 0;
  Epoch tenure = 0;
};

struct DiskRead {
  IoId io = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Every write completed before this is issued is durable when it completes.
struct DiskSync {
  IoId io = 0;
};

// Durable replication metadata, written with FUA (superblock promised_epoch + activity log)
// BEFORE the machine answers anything that depends on it.
struct PersistedState {
  Epoch promised_epoch = 0;
  bool blank = false;                // holds no replicated data yet (new or wiped replica)
  std::vector<uint64_t> al_regions;  // sorted region indices that may differ from peers
  friend bool operator==(const PersistedState&, const PersistedState&) = default;
};

struct PersistState {
  IoId io = 0;
  std::shared_ptr<const PersistedState> state;
};

// A reply whose status is kUnavailable means "this node does not serve the volume now" (not
// primary, lease not held, stepped down): nothing of the request was acknowledged, and the
// client should re-send it to the current primary. The NBD runtime closes the connection
// instead of answering, so qemu (reconnect-delay) and `firebreak attach` re-send; an error
// reply would reach the guest as an I/O error (NBD.md 3.5).
inline Status NotServedHere(std::string_view why, std::string_view detail = {}) {
  return Status::Unavailable(why, detail);
}

struct ReplyToClient {
  ClientReqId id = 0;
  Status status;
  Payload data;      // reads
  Epoch epoch = 0;   // the epoch under which the primary completed it (for 1W checks)
  Epoch tenure = 0;
};

enum class EventKind : uint8_t {
  kPromoted,        // this node became primary
  kHandover,        // planned switchover: draining, or refused
  kSteppedDown,     // this node stopped being primary
  kDegraded,        // S has fewer members than configured replicas (loud)
  kWritesBlocked,   // S has fewer members than min_in_sync: writes wait
  kReplicaEjected,  // a replica left S (committed)
  kReplicaJoined,   // a replica rejoined S (committed)
  kResyncStarted,
  kFenced,          // a replica refused our epoch
};

// Something the runtime should log (and alert on, for kDegraded/kWritesBlocked).
struct Event {
  EventKind kind = EventKind::kDegraded;
  NodeId peer = kNoNode;
  Epoch epoch = 0;
  std::string detail;
};

using Action = std::variant<SendMessage, SendToCoordinator, DiskWrite, DiskRead, DiskSync,
                            PersistState, ReplyToClient, Event>;
using Actions = std::vector<Action>;

std::string_view EventName(EventKind kind);

}  // namespace fb::repl
