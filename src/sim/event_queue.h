// EventQueue: the simulator's single queue of future events, ordered by (time, seq). seq is
// the insertion counter, so equal times run in insertion order and a run is deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "base/assert.h"

namespace fb::sim {

class EventQueue {
 public:
  void At(int64_t time_ns, std::function<void()> fn) {
    FB_ASSERT(time_ns >= now_ns_);
    heap_.push(Item{time_ns, next_seq_++, std::move(fn)});
  }
  // Runs the earliest event; false if none is due at or before limit_ns.
  bool RunNext(int64_t limit_ns) {
    if (heap_.empty() || heap_.top().time_ns > limit_ns) return false;
    Item item = heap_.top();
    heap_.pop();
    FB_ASSERT(item.time_ns >= now_ns_);
    now_ns_ = item.time_ns;
    ++steps_;
    item.fn();
    return true;
  }
  int64_t now() const { return now_ns_; }
  void AdvanceTo(int64_t time_ns) {
    FB_ASSERT(time_ns >= now_ns_);
    now_ns_ = time_ns;
  }
  uint64_t steps() const { return steps_; }
  size_t size() const { return heap_.size(); }

 private:
  struct Item {
    int64_t time_ns;
    uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
    }
  };
  std::priority_queue<Item, std::vector<Item>, Later> heap_;
  int64_t now_ns_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t steps_ = 0;
};

}  // namespace fb::sim
