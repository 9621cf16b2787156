// ResyncTarget: dirty-region bookkeeping and rate limiting for one resync target.
#include "repl/resync.h"

#include <algorithm>

#include "base/assert.h"

namespace fb::repl {

ResyncTarget::ResyncTarget(const VolumeGeometry& geometry, NodeId target)
    : geometry_(geometry), target_(target), dirty_(geometry.size_bytes, geometry.region_bytes) {
  FB_ASSERT(target < kMaxNodes);
  FB_ASSERT(dirty_.region_count() == geometry.region_count());
}

uint64_t ResyncTarget::region_length(uint64_t region) const {
  FB_ASSERT(region < geometry_.region_count());
  uint64_t offset = region_offset(region);
  return std::min(geometry_.region_bytes, geometry_.size_bytes - offset);
}

void ResyncTarget::MarkAll() {
  full_ = true;
  dirty_.Mark(0, geometry_.size_bytes);
}

void ResyncTarget::Mark(uint64_t offset, uint64_t length) { dirty_.Mark(offset, length); }

void ResyncTarget::MarkRegions(const std::vector<uint64_t>& regions) {
  for (uint64_t r : regions) {
    if (r < geometry_.region_count()) dirty_.Mark(region_offset(r), region_length(r));
  }
}

bool ResyncTarget::NeedsCopy(uint64_t offset, uint64_t length) const {
  FB_ASSERT(length > 0);
  uint64_t first = offset / geometry_.region_bytes;
  uint64_t last = (offset + length - 1) / geometry_.region_bytes;
  FB_ASSERT(last < geometry_.region_count());
  for (uint64_t r = first; r <= last; ++r) {
    if (in_copy_.contains(r) || dirty_.IsDirty(region_offset(r))) return true;
  }
  return false;
}

std::optional<uint64_t> ResyncTarget::NextRegion(
    const Knobs& knobs, const std::function<bool(uint64_t)>& busy) const {
  if (state_ != State::kCopying) return std::nullopt;
  uint64_t from = 0;
  // Bounded scan: at most one pass over the dirty runs.
  while (auto run = dirty_.NextDirtyRun(from)) {
    for (uint64_t off = run->offset_bytes; off < run->offset_bytes + run->length_bytes;
         off += geometry_.region_bytes) {
      uint64_t region = off / geometry_.region_bytes;
      uint64_t bytes = region_length(region);
      if (bytes_in_flight_ + bytes > knobs.resync_bytes_in_flight_max && bytes_in_flight_ > 0) {
        return std::nullopt;
      }
      if (started_this_tick_ + bytes > knobs.resync_bytes_per_tick_max && started_this_tick_ > 0) {
        return std::nullopt;
      }
      if (!in_copy_.contains(region) && !busy(region)) return region;
    }
    from = run->offset_bytes + run->length_bytes;
    if (from >= geometry_.size_bytes) break;
  }
  return std::nullopt;
}

void ResyncTarget::StartCopy(uint64_t region) {
  FB_ASSERT(!in_copy_.contains(region));
  FB_ASSERT(state_ == State::kCopying);
  uint64_t bytes = region_length(region);
  dirty_.Clear(region_offset(region), bytes);
  in_copy_[region] = bytes;
  bytes_in_flight_ += bytes;
  started_this_tick_ += bytes;
}

void ResyncTarget::CopyDone(uint64_t region) {
  auto it = in_copy_.find(region);
  FB_ASSERT(it != in_copy_.end());
  FB_ASSERT(bytes_in_flight_ >= it->second);
  bytes_in_flight_ -= it->second;
  bytes_done_ += it->second;
  in_copy_.erase(it);
}

void ResyncTarget::Fail(Instant now, const Knobs& knobs) {
  for (const auto& [region, bytes] : in_copy_) dirty_.Mark(region_offset(region), bytes);
  in_copy_.clear();
  bytes_in_flight_ = 0;
  state_ = State::kBackoff;
  backoff_until_ = Instant{now.ns + knobs.resync_retry_ns};
  FB_ASSERT(in_copy_.empty());
}

ResyncProgress ResyncTarget::progress() const {
  ResyncProgress p;
  p.bytes_done = bytes_done_;
  p.bytes_remaining = dirty_.CountDirtyBytes() + bytes_in_flight_;
  p.full = full_;
  return p;
}

}  // namespace fb::repl
