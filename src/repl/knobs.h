// Replication timings and limits. One struct so the runtime reads them from config and the
// simulator can shrink or randomize them (FoundationDB's knobs).
#pragma once

#include <cstdint>

namespace fb::repl {

struct Knobs {
  int64_t heartbeat_ns = 30'000'000;       // node -> coordinator liveness
  int64_t lease_renew_ns = 50'000'000;     // the primary asks again this often
  int64_t lease_margin_ns = 40'000'000;    // stop acking this long before the lease ends
  int64_t coord_retry_ns = 50'000'000;     // unanswered config change: ask again
  int64_t retransmit_ns = 20'000'000;      // unacked replication message: send again
  int64_t peer_timeout_ns = 150'000'000;   // oldest unacked message older than this: failed
  int64_t ping_interval_ns = 50'000'000;   // an idle link sends a keepalive this often
  int64_t flush_timeout_ns = 2'000'000'000;  // an unacked flush older than this: failed
  int64_t resync_retry_ns = 50'000'000;    // a failed resync session restarts after this
  uint32_t ops_in_flight_max = 256;        // client ops the primary holds at once
  uint32_t link_window_max = 1024;         // unacked messages per link
  // Activity-log retention (MetaState::Retention): finished regions written within
  // al_idle_ns stay logged, at most al_capacity_regions of them. Writes to logged regions
  // need no metadata write; a crashed primary resyncs what its log held when it returns.
  uint32_t al_capacity_regions = 64;
  int64_t al_idle_ns = 1'000'000'000;
  // Resync rate limit (client I/O keeps priority): bytes of copies unacknowledged at once,
  // and bytes started per tick.
  uint64_t resync_bytes_in_flight_max = 256 * 1024;
  uint64_t resync_bytes_per_tick_max = 128 * 1024;
  // TEST ONLY: acknowledge after the primary's local write alone. Breaks ACK on purpose so a
  // test can prove the simulator's checkers catch it. Never set outside tests.
  bool test_ack_after_primary_only = false;
};

}  // namespace fb::repl
