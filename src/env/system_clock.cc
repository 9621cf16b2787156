// CLOCK_MONOTONIC behind the Clock seam.
#include <time.h>

#include "base/assert.h"
#include "env/clock.h"

namespace fb::env {
namespace {
class MonotonicClock final : public Clock {
 public:
  Instant Now() const override {
    timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    FB_ASSERT(rc == 0);
    return Instant{int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec};
  }
};
}  // namespace

Clock& SystemClock() {
  static MonotonicClock clock;
  return clock;
}
}  // namespace fb::env
