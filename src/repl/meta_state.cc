// MetaState: promise, blank flag and activity log, and when they must be persisted.
#include "repl/meta_state.h"

#include <algorithm>

#include "base/assert.h"

namespace fb::repl {

MetaState::MetaState(const VolumeGeometry& geometry, const PersistedState& durable,
                     Retention retention)
    : geometry_(geometry), retention_(retention), durable_(durable) {
  FB_ASSERT(geometry_.region_bytes > 0);
  FB_ASSERT(retention_.capacity >= 1 && retention_.idle_ns > 0);
  FB_ASSERT(std::is_sorted(durable_.al_regions.begin(), durable_.al_regions.end()));
  desired_promise_ = durable_.promised_epoch;
  blank_ = durable_.blank;
  // Regions from before a restart belong to no tenure we know: tenure 0 trims first.
  for (uint64_t r : durable_.al_regions) al_[r] = Tag{0, 0};
}

void MetaState::Promise(Epoch epoch) {
  FB_ASSERT(epoch > 0);
  desired_promise_ = std::max(desired_promise_, epoch);
  FB_ASSERT(desired_promise_ >= durable_.promised_epoch);
}

void MetaState::Touch(Instant now, uint64_t offset, uint64_t length, Epoch tenure,
                      uint64_t op_seq) {
  FB_ASSERT(length > 0);
  FB_ASSERT(offset + length <= geometry_.size_bytes);
  const uint64_t end_region = geometry_.region_count() - 1;
  const uint64_t first = offset / geometry_.region_bytes;
  const uint64_t written_last = (offset + length - 1) / geometry_.region_bytes;
  stream_writes_ = offset == stream_end_ ? stream_writes_ + 1 : 1;
  stream_end_ = offset + length;
  uint64_t last = written_last;
  if (stream_writes_ >= kAlStreamWrites &&
      !al_.contains(std::min(last + kAlLookaheadRegions / 2, end_region))) {
    last = std::min(last + kAlLookaheadRegions, end_region);
  }
  for (uint64_t r = first; r <= last; ++r) {
    Tag& tag = al_[r];
    if (tenure > tag.tenure || (tenure == tag.tenure && op_seq > tag.op_seq)) {
      tag.tenure = tenure;
      tag.op_seq = op_seq;
    }
    tag.touched = std::max(tag.touched, now);
    if (r <= written_last) tag.written = true;
    if (!StaysDurable(r)) pending_.insert(r);
  }
}

bool MetaState::DurableHas(uint64_t region) const {
  return std::binary_search(durable_.al_regions.begin(), durable_.al_regions.end(), region);
}

// The in-flight persist replaces the durable log when it lands: a region it lacks (evicted
// before its snapshot) is about to leave the disk even if the durable log has it now.
bool MetaState::StaysDurable(uint64_t region) const {
  if (inflight_state_ == nullptr) return DurableHas(region);
  const auto& next = inflight_state_->al_regions;
  return std::binary_search(next.begin(), next.end(), region);
}

bool MetaState::Covered(uint64_t offset, uint64_t length) const {
  FB_ASSERT(length > 0);
  uint64_t first = offset / geometry_.region_bytes;
  uint64_t last = (offset + length - 1) / geometry_.region_bytes;
  FB_ASSERT(last < geometry_.region_count());
  for (uint64_t r = first; r <= last; ++r) {
    if (!DurableHas(r) || !StaysDurable(r)) return false;
  }
  return true;
}

void MetaState::Trim(Instant now, Epoch tenure, uint64_t acked_through) {
  // Lazy, like DRBD's al-extents: a small log stays as it is, so a hot region is not trimmed
  // and re-persisted around every flush. Keeping a region longer is always safe: the log
  // only has to be a superset of the regions that may differ.
  auto finished = [&](const Tag& tag) {
    return tag.tenure < tenure || (tag.tenure == tenure && tag.op_seq <= acked_through);
  };
  auto forget = [&](uint64_t region) {
    al_.erase(region);
    pending_.erase(region);
  };
  // Idle regions: scanned a few times per idle period, not on every flush. Regions logged
  // ahead of a stream that stopped before them go after a quarter of it.
  if (now.ns - last_idle_scan_.ns >= retention_.idle_ns / 4) {
    last_idle_scan_ = now;
    std::vector<uint64_t> idle;
    for (const auto& [region, tag] : al_) {
      int64_t keep = tag.written ? retention_.idle_ns : retention_.idle_ns / 4;
      if (finished(tag) && now.ns - tag.touched.ns >= keep) idle.push_back(region);
    }
    for (uint64_t region : idle) forget(region);
  }
  if (al_.size() <= retention_.capacity) return;
  // Past capacity, least recently written first; down to 7/8 so the next flushes do not
  // sort again.
  std::vector<std::pair<Tag, uint64_t>> candidates;
  for (const auto& [region, tag] : al_) {
    if (finished(tag)) candidates.push_back({tag, region});
  }
  size_t excess = al_.size() - (retention_.capacity - retention_.capacity / 8);
  size_t evict = std::min(excess, candidates.size());
  auto older = [](const auto& a, const auto& b) { return a.first.touched < b.first.touched; };
  std::nth_element(candidates.begin(), candidates.begin() + long(evict), candidates.end(),
                   older);
  for (size_t i = 0; i < evict; ++i) forget(candidates[i].second);
}

std::vector<uint64_t> MetaState::Regions() const {
  std::vector<uint64_t> out = durable_.al_regions;
  for (const auto& [region, tag] : al_) out.push_back(region);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool MetaState::NeedsPersist() const {
  if (desired_promise_ > durable_.promised_epoch) return true;
  if (blank_ != durable_.blank) return true;
  // pending_ holds exactly the regions of al_ that the durable state lacks (kept up to date
  // by Touch, Trim and OnPersisted), so this check is O(1) on the write path.
  if (!pending_.empty()) return true;
  // Trims are persisted lazily, but not forever: once the durable log names many regions
  // the working log has dropped, a crash would resync all of them for nothing.
  return durable_.al_regions.size() >= al_.size() + kAlTrimSlack;
}

std::shared_ptr<PersistedState> MetaState::Snapshot() const {
  auto s = std::make_shared<PersistedState>();
  s->promised_epoch = desired_promise_;
  s->blank = blank_;
  s->al_regions.reserve(al_.size());
  for (const auto& [region, tag] : al_) s->al_regions.push_back(region);  // map: sorted
  return s;
}

bool MetaState::MaybePersist(IoId io, Actions& out) {
  if (inflight_io_ || !NeedsPersist()) return false;
  inflight_io_ = io;
  inflight_state_ = Snapshot();
  FB_ASSERT(inflight_state_->promised_epoch >= durable_.promised_epoch);
  out.push_back(PersistState{io, inflight_state_});
  return true;
}

void MetaState::OnPersisted(IoId io, const Status& status) {
  FB_ASSERT(inflight_io_ == io);
  FB_ASSERT(inflight_state_ != nullptr);
  // A failed metadata write leaves the old state durable; the next MaybePersist retries.
  if (status.ok()) durable_ = *inflight_state_;
  inflight_io_.reset();
  inflight_state_.reset();
  if (status.ok()) {
    std::erase_if(pending_, [&](uint64_t region) { return DurableHas(region); });
  } else {
    // Regions left out of pending_ because the failed snapshot had them need a persist now.
    for (const auto& [region, tag] : al_) {
      if (!DurableHas(region)) pending_.insert(region);
    }
  }
  // Every region of the working log is durable or waiting for a persist (else a write to it
  // could be issued, or keep waiting, with the region missing from the log on disk).
  FB_ASSERT(std::all_of(al_.begin(), al_.end(), [&](const auto& entry) {
    return DurableHas(entry.first) || pending_.contains(entry.first);
  }));
}

}  // namespace fb::repl
