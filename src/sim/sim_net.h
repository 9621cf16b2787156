// SimNet: the simulated network between nodes and the coordinator. It decides, per send,
// whether a message is dropped, duplicated, delayed or reordered (a random extra delay),
// and holds the partition matrix: a blocked direction a->b drops everything sent while it
// is blocked and everything that would arrive while it is (one-way partitions included).
#pragma once

#include <cstdint>
#include <cstddef>
#include <vector>

#include "sim/rng.h"

namespace fb::sim {

struct NetFaults {
  uint32_t drop_per_million = 0;
  uint32_t duplicate_per_million = 0;
  uint32_t reorder_per_million = 0;
  int64_t delay_min_ns = 50'000;
  int64_t delay_max_ns = 500'000;
  int64_t reorder_extra_ns = 3'000'000;
};

class SimNet {
 public:
  // Endpoints 0..count-1 (the harness makes the coordinator the last one).
  explicit SimNet(uint32_t count) : count_(count), blocked_(size_t(count) * count, false) {}

  void set_faults(const NetFaults& faults) { faults_ = faults; }
  const NetFaults& faults() const { return faults_; }

  void Block(uint32_t from, uint32_t to) { blocked_[Index(from, to)] = true; }
  void Unblock(uint32_t from, uint32_t to) { blocked_[Index(from, to)] = false; }
  void HealAll() { blocked_.assign(blocked_.size(), false); }
  bool Blocked(uint32_t from, uint32_t to) const { return blocked_[Index(from, to)]; }
  // Cuts an endpoint off from every other one, both ways.
  void Isolate(uint32_t endpoint);

  // Delays (ns from now) at which copies of one message arrive: none if dropped, two if
  // duplicated.
  std::vector<int64_t> Plan(uint32_t from, uint32_t to, Rng& rng);

  uint64_t dropped() const { return dropped_; }
  uint64_t duplicated() const { return duplicated_; }
  uint32_t count() const { return count_; }

 private:
  size_t Index(uint32_t from, uint32_t to) const {
    FB_ASSERT(from < count_ && to < count_);
    return size_t(from) * count_ + to;
  }
  int64_t Delay(Rng& rng) const;

  uint32_t count_;
  std::vector<bool> blocked_;
  NetFaults faults_;
  uint64_t dropped_ = 0;
  uint64_t duplicated_ = 0;
};

}  // namespace fb::sim
