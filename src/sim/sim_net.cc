// SimNet: drop, duplicate, delay, reorder, partitions.
#include "sim/sim_net.h"

namespace fb::sim {

void SimNet::Isolate(uint32_t endpoint) {
  for (uint32_t other = 0; other < count_; ++other) {
    if (other == endpoint) continue;
    Block(endpoint, other);
    Block(other, endpoint);
  }
  FB_ASSERT(Blocked(endpoint, endpoint == 0 ? 1 : 0));
}

int64_t SimNet::Delay(Rng& rng) const {
  int64_t delay = rng.Range(faults_.delay_min_ns, faults_.delay_max_ns);
  if (faults_.reorder_per_million && rng.Chance(faults_.reorder_per_million)) {
    delay += rng.Range(0, faults_.reorder_extra_ns);
  }
  FB_ASSERT(delay >= 0);
  return delay;
}

std::vector<int64_t> SimNet::Plan(uint32_t from, uint32_t to, Rng& rng) {
  std::vector<int64_t> out;
  if (Blocked(from, to) || (faults_.drop_per_million && rng.Chance(faults_.drop_per_million))) {
    ++dropped_;
    return out;
  }
  out.push_back(Delay(rng));
  if (faults_.duplicate_per_million && rng.Chance(faults_.duplicate_per_million)) {
    ++duplicated_;
    out.push_back(Delay(rng));
  }
  return out;
}

}  // namespace fb::sim
