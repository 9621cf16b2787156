// FakeFile: an in-memory env::File with switchable capabilities (punch hole, zero range,
// fallocate) and call counters, so tests reach the fallback paths ext4 never takes and can
// see exactly which calls a FileVolume made. Allocation is tracked per 4 KiB block.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include "env/file.h"

namespace fb::store::testing {

class FakeFile final : public env::File {
 public:
  static constexpr uint64_t kBlock = 4096;

  explicit FakeFile(uint64_t size) : data_(size, 0), allocated_((size + kBlock - 1) / kBlock) {}

  // Capabilities and injected behaviour; set before use.
  bool punch_supported = true;
  bool zero_range_supported = true;
  bool allocate_supported = true;
  Status punch_error;      // returned by PunchHole when not OK
  bool racy_seek = false;  // SeekData(x) == x and SeekHole(x) == x, as under a concurrent trim

  // What the volume did.
  int syncs = 0;
  int writes = 0;
  int fua_writes = 0;
  int nowait_reads = 0;
  int punches = 0;
  int zero_ranges = 0;
  int allocates = 0;
  uint64_t max_write_bytes = 0;

  Status ReadAt(uint64_t offset, std::span<uint8_t> target, env::ReadOptions opts) override {
    std::lock_guard lock(mu_);
    if (opts.nowait) ++nowait_reads;
    for (size_t i = 0; i < target.size(); ++i) {
      target[i] = offset + i < data_.size() ? data_[offset + i] : 0;
    }
    return Status::Ok();
  }
  Status WriteAt(uint64_t offset, std::span<const uint8_t> source,
                 env::WriteOptions opts) override {
    std::lock_guard lock(mu_);
    ++writes;
    if (opts.fua) ++fua_writes;
    max_write_bytes = std::max<uint64_t>(max_write_bytes, source.size());
    if (offset + source.size() > data_.size()) data_.resize(offset + source.size());
    std::memcpy(data_.data() + offset, source.data(), source.size());
    MarkAllocated(offset, source.size(), true);
    return Status::Ok();
  }
  Status Sync() override {
    std::lock_guard lock(mu_);
    ++syncs;
    return Status::Ok();
  }
  Status PunchHole(uint64_t offset, uint64_t length) override {
    std::lock_guard lock(mu_);
    if (!punch_error.ok()) return punch_error;
    if (!punch_supported) return Status::Unimplemented("fake", "punch hole");
    ++punches;
    std::fill_n(data_.begin() + int64_t(offset), length, 0);
    // Only whole blocks are deallocated, as on a real file system.
    uint64_t first = (offset + kBlock - 1) / kBlock;
    uint64_t end = (offset + length) / kBlock;
    for (uint64_t b = first; b < end; ++b) allocated_[b] = false;
    return Status::Ok();
  }
  Status ZeroRange(uint64_t offset, uint64_t length) override {
    std::lock_guard lock(mu_);
    if (!zero_range_supported) return Status::Unimplemented("fake", "zero range");
    ++zero_ranges;
    std::fill_n(data_.begin() + int64_t(offset), length, 0);
    MarkAllocated(offset, length, true);
    return Status::Ok();
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    std::lock_guard lock(mu_);
    if (!allocate_supported) return Status::Unimplemented("fake", "allocate");
    ++allocates;
    MarkAllocated(offset, length, true);
    return Status::Ok();
  }
  Result<uint64_t> Size() override {
    std::lock_guard lock(mu_);
    return uint64_t(data_.size());
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard lock(mu_);
    data_.resize(size, 0);
    allocated_.resize((size + kBlock - 1) / kBlock, false);
    return Status::Ok();
  }
  Result<uint64_t> SeekData(uint64_t from) override { return Seek(from, true); }
  Result<uint64_t> SeekHole(uint64_t from) override { return Seek(from, false); }

  // Test access.
  bool BlockAllocated(uint64_t offset) {
    std::lock_guard lock(mu_);
    return allocated_[offset / kBlock];
  }
  uint8_t ByteAt(uint64_t offset) {
    std::lock_guard lock(mu_);
    return data_[offset];
  }

 private:
  void MarkAllocated(uint64_t offset, uint64_t length, bool value) {
    if (length == 0) return;
    for (uint64_t b = offset / kBlock; b <= (offset + length - 1) / kBlock; ++b) {
      allocated_[b] = value;
    }
  }
  Result<uint64_t> Seek(uint64_t from, bool data) {
    std::lock_guard lock(mu_);
    if (racy_seek) return from;
    for (uint64_t pos = from; pos < data_.size(); pos = (pos / kBlock + 1) * kBlock) {
      if (allocated_[pos / kBlock] == data) return pos;
    }
    return uint64_t(data_.size());
  }

  std::mutex mu_;
  std::vector<uint8_t> data_;
  std::vector<bool> allocated_;
};

}  // namespace fb::store::testing
