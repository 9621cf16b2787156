// TrackingVolume: a Volume layer that records every mutated region in a ChangeMap before
// forwarding the mutation, so resync and incremental backup know what changed. Reads,
// flushes and block status pass straight through.
#pragma once

#include <memory>

#include "store/change_map.h"
#include "store/volume.h"

namespace fb::store {

class TrackingVolume final : public Volume {
 public:
  // Owns the next layer down; changes must outlive this object and cover the same size.
  TrackingVolume(std::unique_ptr<Volume> inner, ChangeMap& changes);

  const std::string& name() const override { return inner_->name(); }
  uint64_t size_bytes() const override { return inner_->size_bytes(); }
  bool read_only() const override { return inner_->read_only(); }

  Status Read(uint64_t offset, std::span<uint8_t> target, env::ReadOptions opts = {}) override;
  // Mutations mark first, then forward: a crash after the data lands can never leave the
  // region unmarked (once the map is persisted as an activity log). A mutation that fails,
  // or a fast zero refused with kUnimplemented, leaves its region marked: over-marking only
  // costs a redundant copy, while unmarking could race with another writer and lose a change.
  Status Write(uint64_t offset, std::span<const uint8_t> source, bool fua) override;
  env::File* PrepareAsyncWrite(uint64_t offset, uint64_t length) override;
  env::File* FileForRead(uint64_t offset, uint64_t length) override {
    return inner_->FileForRead(offset, length);
  }
  Status Trim(uint64_t offset, uint64_t length, bool fua) override;
  Status WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) override;
  Status Flush() override;
  Status BlockStatus(uint64_t offset, uint64_t length, size_t max_runs,
                     std::vector<Allocation>& out) override;

  Volume& inner() { return *inner_; }
  ChangeMap& changes() { return changes_; }

 private:
  void MarkForMutation(uint64_t offset, uint64_t length);

  const std::unique_ptr<Volume> inner_;
  ChangeMap& changes_;
};

}  // namespace fb::store
