// Timeouts and limits of the attach core, each with the reason for its default. The runtime
// fills them from cluster.toml's [timing] (so "hung" follows the cluster's own failover time)
// and the command line; the unit tests shrink them.
#pragma once

#include <cstdint>

namespace fb::attach {

struct Knobs {
  // No reply progress for this long while requests are out: look for the primary (the stalled
  // connection stays open). Default from the cluster: lease + margin + 2 heartbeats, the
  // earliest a successor can have been promoted, plus slack.
  int64_t stall_timeout_ns = 700'000'000;
  // A stall probe that finds the same node alive and primary doubles the stall timeout (a slow
  // primary, not a dead one), up to this; progress resets it.
  int64_t stall_timeout_max_ns = 8'000'000'000;
  // A connect + handshake slower than this means the node is hung (e.g. SIGSTOP): give up on
  // that attempt and try it again later.
  int64_t connect_timeout_ns = 500'000'000;
  // Per-node retry backoff while looking for the primary: a refused attempt waits at least
  // retry_min, doubling to retry_max (retry_max_given_up once requests are failing).
  int64_t retry_min_ns = 10'000'000;
  int64_t retry_max_ns = 100'000'000;
  int64_t retry_max_given_up_ns = 1'000'000'000;
  // Requests waiting with no progress for this long fail with EIO, and new ones fail at once,
  // until a primary answers again (never hang forever).
  int64_t give_up_ns = 60'000'000'000;
  // Requests held at once (queued + sent + answered-but-unreplied): over it the runtime stops
  // reading its clients' sockets.
  uint32_t max_pending = 1024;
  // Requests sent to the primary and not yet answered: a node holds 256 client ops at once
  // (repl::Knobs::ops_in_flight_max) and answers more with an error, so stay under it.
  uint32_t max_upstream_inflight = 192;
  // WRITE payload bytes sent and not yet answered: the runtime copies payloads into its
  // upstream send buffer, which this bounds (one request is always allowed, whatever its size).
  uint64_t max_upstream_bytes = 64ull << 20;
};

// Slots are numbered below 2^kSlotBits; an upstream cookie is (serial << kSlotBits) | slot.
inline constexpr int kSlotBits = 20;
inline constexpr uint32_t kMaxPendingLimit = 1u << kSlotBits;
// Nodes a cluster may have (config::ClusterConfig allows no more).
inline constexpr int kMaxNodes = 64;

}  // namespace fb::attach
