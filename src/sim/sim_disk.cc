// SimDisk: volatile cache, sync, power loss and wipe.
#include "sim/sim_disk.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"

namespace fb::sim {

SimDisk::SimDisk(uint64_t size_bytes) : durable_(size_bytes, 0), current_(size_bytes, 0) {
  FB_ASSERT(size_bytes > 0);
  FB_ASSERT(size_bytes % kBlockBytes == 0);
  meta_.blank = false;  // a fresh cluster's replicas are identical (all zeros)
}

void SimDisk::Write(uint64_t offset, uint64_t length, const uint8_t* data, bool fua) {
  FB_ASSERT(offset + length <= current_.size());
  FB_ASSERT(length > 0);
  if (data) {
    std::memcpy(current_.data() + offset, data, length);
  } else {
    std::memset(current_.data() + offset, 0, length);
  }
  uint64_t first = offset / kBlockBytes, last = (offset + length - 1) / kBlockBytes;
  for (uint64_t b = first; b <= last; ++b) {
    if (fua) {
      // FUA makes this write durable; other unsynced bytes of the block come along (a
      // real device writes whole blocks).
      std::memcpy(durable_.data() + b * kBlockBytes, current_.data() + b * kBlockBytes,
                  kBlockBytes);
      unsynced_.erase(b);
    } else {
      unsynced_.insert(b);
    }
  }
}

void SimDisk::Read(uint64_t offset, uint64_t length, repl::Bytes& out) const {
  FB_ASSERT(offset + length <= current_.size());
  out.assign(current_.begin() + offset, current_.begin() + offset + length);
}

void SimDisk::Sync() {
  for (uint64_t b : unsynced_) {
    std::memcpy(durable_.data() + b * kBlockBytes, current_.data() + b * kBlockBytes,
                kBlockBytes);
  }
  unsynced_.clear();
}

void SimDisk::PowerLoss(Rng& rng) {
  for (uint64_t b : unsynced_) {
    if (rng.Below(2) == 0) continue;  // this block made it to the platter anyway
    std::memcpy(current_.data() + b * kBlockBytes, durable_.data() + b * kBlockBytes,
                kBlockBytes);
  }
  unsynced_.clear();
  durable_ = current_;
  FB_ASSERT(unsynced_.empty());
}

void SimDisk::Wipe() {
  std::fill(durable_.begin(), durable_.end(), 0);
  std::fill(current_.begin(), current_.end(), 0);
  unsynced_.clear();
  meta_ = repl::PersistedState{};
  meta_.blank = true;
}

}  // namespace fb::sim
