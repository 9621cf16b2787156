// FileVolume: the bottom layer of the volume stack, a Volume whose bytes live in one sparse
// env::File (DIR/volumes/NAME.img). Holes read as zeros; trim punches them; zeroing uses the
// cheapest file-system primitive that keeps the caller's allocation wishes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "env/file.h"
#include "store/volume.h"

namespace fb::store {

// Writing zeros by hand (no ZeroRange in the file system) goes in chunks of this size from
// one static buffer: bounded memory, no allocation per request.
inline constexpr uint64_t kZeroChunkBytes = uint64_t{1} << 20;

class FileVolume final : public Volume {
 public:
  // file must already be exactly size_bytes long (VolumeSet checks it on open).
  FileVolume(std::string name, std::unique_ptr<env::File> file, uint64_t size_bytes,
             bool read_only);

  const std::string& name() const override { return name_; }
  uint64_t size_bytes() const override { return size_bytes_; }
  bool read_only() const override { return read_only_; }

  Status Read(uint64_t offset, std::span<uint8_t> target, env::ReadOptions opts = {}) override;
  Status Write(uint64_t offset, std::span<const uint8_t> source, bool fua) override;
  env::File* PrepareAsyncWrite(uint64_t offset, uint64_t length) override;
  env::File* FileForRead(uint64_t offset, uint64_t length) override;
  Status Trim(uint64_t offset, uint64_t length, bool fua) override;
  // may_trim: punch a hole. Otherwise ZeroRange (allocation kept); where the file system has
  // no ZeroRange, fast_only fails with kUnimplemented before touching any byte, else zeros
  // are written in kZeroChunkBytes chunks after reserving the space.
  Status WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) override;
  Status Flush() override;
  // From SEEK_DATA / SEEK_HOLE: holes are hole+zero, data is neither. Unwritten extents (left by
  // ZeroRange or Allocate) look like holes to SEEK_DATA on ext4 and xfs unless their pages are
  // cached, so they report hole+zero or data: both true enough, since they read as zeros and
  // hole is only a hint to the client.
  Status BlockStatus(uint64_t offset, uint64_t length, size_t max_runs,
                     std::vector<Allocation>& out) override;

 private:
  bool InRange(uint64_t offset, uint64_t length) const;
  void AssertMutation(uint64_t offset, uint64_t length) const;
  Status SyncIf(bool fua);
  Status WriteZeroBytes(uint64_t offset, uint64_t length);

  const std::string name_;
  const std::unique_ptr<env::File> file_;
  const uint64_t size_bytes_;
  const bool read_only_;
};

}  // namespace fb::store
