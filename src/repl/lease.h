// Lease: the primary's right to acknowledge, measured on its own monotonic clock from the
// moment it SENT the renewal that the coordinator granted:
//   valid_until = send_time + lease_ns - margin_ns
// The coordinator counts from when it RECEIVED the request (later in real time) and promotes
// only after receive_time + lease_ns + margin_ns on its clock. With clock rates within
// (1 +- rho) of real time, the primary stops first whenever margin_ns > rho * lease_ns
// (docs/replication.md derives it); we use a margin far above that.
#pragma once

#include <map>

#include "coord/coordinator.h"
#include "repl/actions.h"
#include "repl/knobs.h"

namespace fb::repl {

class Lease {
 public:
  bool Valid(Instant now) const { return now < valid_until_; }
  Instant valid_until() const { return valid_until_; }
  // Sends a renewal if one is due; remembers its send time under its request id.
  void MaybeRenew(Instant now, const coord::LeaseRequest& base, const Knobs& knobs,
                  Actions& out);
  // A granted reply for `epoch` extends the lease from the request's send time.
  void OnReply(const coord::LeaseReply& reply, Epoch epoch, const Knobs& knobs);
  // Gives up the lease (stepping down).
  void Drop() { valid_until_ = Instant{0}; }

 private:
  Instant valid_until_{0};
  Instant last_sent_{INT64_MIN / 2};
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, Instant> sent_;  // request id -> send time, bounded below
};

}  // namespace fb::repl
