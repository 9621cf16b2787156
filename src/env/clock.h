// Clock: monotonic time for leases, heartbeats and latency figures. Never wall-clock time,
// because a lease measured on a clock that steps backwards could be granted twice.
#pragma once

#include <compare>
#include <cstdint>

namespace fb::env {

// Nanoseconds since an arbitrary, fixed origin. Only differences mean anything.
struct Instant {
  int64_t ns = 0;
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic: never decreases (implementations assert it).
  virtual Instant Now() const = 0;
};

// The real monotonic clock (CLOCK_MONOTONIC).
Clock& SystemClock();

}  // namespace fb::env
