// ChangeMap: which fixed-size regions of a volume changed since a point in time, as a bitmap.
// Resync after failover copies only dirty regions (DRBD's bitmap); incremental backup reads
// them; persisted, it becomes the activity log. Mark is lock-free for the write path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/units.h"

namespace fb::store {

// One run of consecutive dirty regions. Runs start on a region boundary and end on one, or
// at the end of the volume.
struct ChangeRun {
  uint64_t offset_bytes = 0;
  uint64_t length_bytes = 0;
  friend bool operator==(const ChangeRun&, const ChangeRun&) = default;
};

// Serialized form, all integers big-endian:
//   offset  size  field
//        0     8  magic "FBCHGMP1"
//        8     4  format version (kChangeMapVersion)
//       12     4  reserved, zero
//       16     8  volume size in bytes
//       24     8  granularity in bytes (a power of two)
//       32   8*W  bitmap words, W = ceil(regions / 64); bit i of word w is region 64*w + i
//    32+8W     8  XXH3-64 (seed 0) of every preceding byte
inline constexpr char kChangeMapMagic[8] = {'F', 'B', 'C', 'H', 'G', 'M', 'P', '1'};
inline constexpr uint32_t kChangeMapVersion = 1;
inline constexpr size_t kChangeMapHeaderBytes = 32;

class ChangeMap {
 public:
  static constexpr uint64_t kDefaultGranularityBytes = 64 * kKiB;
  static constexpr uint64_t kMinGranularityBytes = 512;
  // The bitmap is bounded: at most this many regions (32 MiB of bitmap) per volume.
  static constexpr uint64_t kMaxRegions = uint64_t{1} << 28;

  // The smallest power-of-two granularity >= min_granularity_bytes that keeps the region
  // count within kMaxRegions (64 KiB covers volumes up to 16 TiB).
  static uint64_t ChooseGranularity(uint64_t volume_size_bytes,
                                    uint64_t min_granularity_bytes = kDefaultGranularityBytes);

  // All regions clean. granularity_bytes: a power of two >= kMinGranularityBytes.
  explicit ChangeMap(uint64_t volume_size_bytes,
                     uint64_t granularity_bytes = kDefaultGranularityBytes);
  ChangeMap(ChangeMap&&) noexcept = default;
  ChangeMap& operator=(ChangeMap&&) noexcept = default;

  uint64_t volume_size_bytes() const { return volume_size_bytes_; }
  uint64_t granularity_bytes() const { return granularity_bytes_; }
  uint64_t region_count() const { return region_count_; }

  // Marks every region that [offset, offset + length) touches. Lock-free, thread-safe, no
  // allocation; a no-op for length 0. The range must lie within the volume.
  void Mark(uint64_t offset, uint64_t length);
  bool IsDirty(uint64_t offset) const;
  // Number of dirty regions, and the bytes they cover (the last region may be short).
  uint64_t CountDirty() const;
  uint64_t CountDirtyBytes() const;

  // The first run of dirty regions at or after the region holding from_offset, or nullopt.
  // Cursor-style, so a resync state machine can take one bounded step at a time.
  std::optional<ChangeRun> NextDirtyRun(uint64_t from_offset) const;
  // Calls fn(offset, length) for each maximal dirty run, in ascending order.
  void ForEachDirtyRun(const std::function<void(uint64_t offset, uint64_t length)>& fn) const;

  // Clears only regions lying entirely inside the range, so a region that also holds bytes
  // outside it stays marked: clearing can never lose a change. Resync should Clear a region
  // before copying it, so a write racing with the copy marks it again.
  void Clear(uint64_t offset, uint64_t length);
  void ClearAll();
  // Marks every region dirty in other too (union), e.g. peer bitmap + activity log. Same
  // volume size and granularity required.
  void Merge(const ChangeMap& other);

  // Each word is read atomically; marks racing with Serialize may or may not be included.
  std::string Serialize() const;
  // kDataLoss on a bad magic, version, length, checksum, geometry or stray bits.
  static Result<ChangeMap> Deserialize(std::string_view bytes);

 private:
  uint64_t word_count() const { return (region_count_ + 63) / 64; }
  // First region index >= from whose bit equals dirty, or region_count_.
  uint64_t FindRegion(uint64_t from, bool dirty) const;

  uint64_t volume_size_bytes_;
  uint64_t granularity_bytes_;
  uint32_t granularity_shift_;
  uint64_t region_count_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace fb::store
