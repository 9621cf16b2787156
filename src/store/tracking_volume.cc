// TrackingVolume: mark, then forward. The map is marked even for zero-length or failing
// mutations of a region, because marking too much is safe and marking too little is not.
#include "store/tracking_volume.h"

#include "base/assert.h"

namespace fb::store {

TrackingVolume::TrackingVolume(std::unique_ptr<Volume> inner, ChangeMap& changes)
    : inner_(std::move(inner)), changes_(changes) {
  FB_ASSERT(inner_ != nullptr);
  FB_ASSERT(changes_.volume_size_bytes() == inner_->size_bytes());
}

void TrackingVolume::MarkForMutation(uint64_t offset, uint64_t length) {
  FB_ASSERT(!inner_->read_only());
  FB_ASSERT(offset <= inner_->size_bytes());
  FB_ASSERT(length <= inner_->size_bytes() - offset);
  changes_.Mark(offset, length);
}

Status TrackingVolume::Read(uint64_t offset, std::span<uint8_t> target, env::ReadOptions opts) {
  return inner_->Read(offset, target, opts);
}

Status TrackingVolume::Write(uint64_t offset, std::span<const uint8_t> source, bool fua) {
  MarkForMutation(offset, source.size());
  return inner_->Write(offset, source, fua);
}

env::File* TrackingVolume::PrepareAsyncWrite(uint64_t offset, uint64_t length) {
  MarkForMutation(offset, length);  // before the data can land, as in Write
  return inner_->PrepareAsyncWrite(offset, length);
}

Status TrackingVolume::Trim(uint64_t offset, uint64_t length, bool fua) {
  MarkForMutation(offset, length);
  return inner_->Trim(offset, length, fua);
}

Status TrackingVolume::WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) {
  MarkForMutation(offset, length);
  return inner_->WriteZeroes(offset, length, opts);
}

Status TrackingVolume::Flush() { return inner_->Flush(); }

Status TrackingVolume::BlockStatus(uint64_t offset, uint64_t length, size_t max_runs,
                                   std::vector<Allocation>& out) {
  return inner_->BlockStatus(offset, length, max_runs, out);
}

}  // namespace fb::store
