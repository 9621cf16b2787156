// SimClock: simulated global time, and each node's own monotonic clock derived from it with
// a fixed offset and a rate drift (TigerBeetle's TimeSim, linear mode). Leases are measured
// on these local clocks, so drift is what the lease margin must absorb.
#pragma once

#include <cstdint>

#include "base/assert.h"
#include "env/clock.h"

namespace fb::sim {

class NodeClock {
 public:
  NodeClock() = default;
  NodeClock(int64_t offset_ns, int64_t drift_ppm) : offset_ns_(offset_ns), drift_ppm_(drift_ppm) {
    FB_ASSERT(drift_ppm > -100'000 && drift_ppm < 100'000);
  }
  // The node's monotonic reading at global time global_ns. Asserts it never goes back.
  env::Instant Local(int64_t global_ns) {
    // global * (1 + drift/1e6), exactly: rounding the product (not the factor) keeps it
    // monotonic for every |drift| < 1e6 ppm.
    int64_t skew = int64_t(__int128(global_ns) * drift_ppm_ / 1'000'000);
    int64_t local = offset_ns_ + global_ns + skew;
    FB_ASSERT(local >= last_ns_);
    last_ns_ = local;
    return env::Instant{local};
  }
  int64_t drift_ppm() const { return drift_ppm_; }

 private:
  int64_t offset_ns_ = 0;
  int64_t drift_ppm_ = 0;
  int64_t last_ns_ = INT64_MIN;
};

}  // namespace fb::sim
