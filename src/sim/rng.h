// Rng: the simulator's only source of randomness, seeded once per run, so one seed replays
// one run exactly. xoshiro256** seeded through SplitMix64 (both public domain, Vigna).
#pragma once

#include <cstdint>

#include "base/assert.h"

namespace fb::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) word = SplitMix(seed);
  }
  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n). n > 0.
  uint64_t Below(uint64_t n) {
    FB_ASSERT(n > 0);
    return Next() % n;  // bias is irrelevant for fault injection
  }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    FB_ASSERT(lo <= hi);
    return lo + int64_t(Below(uint64_t(hi - lo) + 1));
  }
  // True with probability per_million / 1e6.
  bool Chance(uint32_t per_million) { return Below(1'000'000) < per_million; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

}  // namespace fb::sim
