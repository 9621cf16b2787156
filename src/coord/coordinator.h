// The coordinator: the narrow, linearizable authority for each replicated volume's epoch,
// primary, in-sync set and primary lease, plus node liveness. Sans-IO: requests in, replies
// out, `now` as a parameter. EmbeddedCoordinator implements it in memory; an etcd-backed one
// can replace it (every mutation below is one compare-and-set on one key).
#pragma once

#include <bit>
#include <cstdint>
#include <variant>
#include <vector>

#include "env/clock.h"

namespace fb::coord {

using NodeId = uint32_t;
using VolumeId = uint64_t;
using Epoch = uint64_t;
// A set of nodes, bit i = node i. Node ids are small by design (a volume has a handful).
using NodeMask = uint64_t;
inline constexpr NodeId kMaxNodes = 64;
inline constexpr NodeId kNoNode = 0xffffffff;

inline NodeMask Bit(NodeId node) { return NodeMask{1} << node; }
inline bool Has(NodeMask mask, NodeId node) { return node < kMaxNodes && (mask & Bit(node)); }
inline int Count(NodeMask mask) { return std::popcount(mask); }

// The authoritative configuration of one volume. Changed only by committing epoch -> epoch+1.
struct VolumeRecord {
  VolumeId volume = 0;
  Epoch epoch = 0;
  NodeId primary = kNoNode;
  NodeMask in_sync = 0;       // S: every member holds every acknowledged write
  NodeMask members = 0;       // every configured replica, in sync or not
  NodeMask prev_in_sync = 0;  // S of the epoch the current primary was promoted from
  Epoch tenure = 0;           // epoch at which the current primary was promoted
  uint32_t min_in_sync = 1;   // policy: fewer members than this in S => writes wait
  // The process (Heartbeat::incarnation) the primary role was given to; 0 until known. A
  // restarted process lost its in-flight state and must not resume that tenure.
  uint64_t primary_incarnation = 0;
  friend bool operator==(const VolumeRecord&, const VolumeRecord&) = default;
};

// A node says it is alive. boot_id changes only when the node's volatile caches were lost
// (power loss, reboot); incarnation changes on every process start (kill -9 included).
struct Heartbeat {
  NodeId node = kNoNode;
  uint64_t boot_id = 0;
  uint64_t incarnation = 0;
  VolumeId volume = 0;
  Epoch promised_epoch = 0;
  bool blank = false;  // holds no data (new or wiped disk): never a promotion candidate
};

// The primary asks for (or renews) its lease for `epoch`. The primary measures the lease from
// the moment it SENT this request, on its own monotonic clock (lease.h).
struct LeaseRequest {
  NodeId node = kNoNode;
  uint64_t incarnation = 0;
  VolumeId volume = 0;
  Epoch epoch = 0;
  uint64_t request_id = 0;
};

// Compare-and-set of the in-sync set by the current primary: expected_epoch -> +1. A shrink
// names the departing replica(s) implicitly (new_in_sync is a subset); a grow adds exactly
// `joining`, whose boot_id must still be the one it reported when its resync started.
struct ConfigChange {
  NodeId node = kNoNode;
  uint64_t incarnation = 0;
  VolumeId volume = 0;
  Epoch expected_epoch = 0;
  NodeMask new_in_sync = 0;
  NodeId joining = kNoNode;
  uint64_t joining_boot_id = 0;
  uint64_t request_id = 0;
  // Planned switchover: the primary, drained and no longer holding its lease, hands the
  // volume to this member of S (new_in_sync = S unchanged); committed as a promotion.
  NodeId handover_to = kNoNode;
};

using Request = std::variant<Heartbeat, LeaseRequest, ConfigChange>;

// The current record. Sent as the answer to heartbeats and config changes, and pushed to a
// node when it is promoted. committed: this reply is the result of the request_id's CAS.
struct RecordReply {
  VolumeRecord record;
  uint64_t request_id = 0;
  bool committed = false;
};

struct LeaseReply {
  VolumeId volume = 0;
  Epoch epoch = 0;
  uint64_t request_id = 0;
  bool granted = false;
  int64_t lease_ns = 0;
};

using Reply = std::variant<RecordReply, LeaseReply>;

struct Outbound {
  NodeId to = kNoNode;
  Reply reply;
};

// Timings, identical on every node and the coordinator.
struct CoordinatorKnobs {
  int64_t lease_ns = 200'000'000;
  // Covers clock-rate drift and scheduling: the holder stops margin early, the coordinator
  // waits margin longer. Must exceed 2 * max_drift * lease_ns (docs/replication.md).
  int64_t lease_margin_ns = 40'000'000;
  int64_t node_timeout_ns = 150'000'000;  // no heartbeat for this long => node not live
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  // Handles one request from request's node at time now; replies are appended to out.
  virtual void Handle(env::Instant now, const Request& request, std::vector<Outbound>& out) = 0;
  // Failure detection and promotion; pushes promotion notices to out.
  virtual void Tick(env::Instant now, std::vector<Outbound>& out) = 0;
  // nullptr if unknown.
  virtual const VolumeRecord* Find(VolumeId volume) const = 0;
};

}  // namespace fb::coord
