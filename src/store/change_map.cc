// ChangeMap: atomic 64-bit words, one bit per region. Marks use fetch_or (release) and skip
// the read-modify-write when the bits are already set, so hot regions cost one load.
#include "store/change_map.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/assert.h"
#include "base/endian.h"
#include "store/superblock.h"

namespace fb::store {
namespace {

// Bits [first_bit, last_bit] of one word, both in 0..63.
uint64_t BitRange(uint64_t first_bit, uint64_t last_bit) {
  FB_ASSERT(first_bit <= last_bit);
  FB_ASSERT(last_bit < 64);
  uint64_t upto_last = last_bit == 63 ? ~uint64_t{0} : (uint64_t{1} << (last_bit + 1)) - 1;
  return upto_last & ~((uint64_t{1} << first_bit) - 1);
}

// Calls fn(word_index, mask) for every word overlapping regions [first, last].
template <typename Fn>
void ForEachWordMask(uint64_t first, uint64_t last, Fn fn) {
  for (uint64_t w = first / 64; w <= last / 64; ++w) {
    uint64_t lo = w == first / 64 ? first % 64 : 0;
    uint64_t hi = w == last / 64 ? last % 64 : 63;
    fn(w, BitRange(lo, hi));
  }
}

uint64_t Checksum(std::string_view covered) { return XXH3_64bits(covered.data(), covered.size()); }

}  // namespace

uint64_t ChangeMap::ChooseGranularity(uint64_t volume_size_bytes, uint64_t min_granularity_bytes) {
  FB_ASSERT(std::has_single_bit(min_granularity_bytes));
  FB_ASSERT(volume_size_bytes > 0);
  uint64_t granularity = std::max(min_granularity_bytes, kMinGranularityBytes);
  while ((volume_size_bytes - 1) / granularity + 1 > kMaxRegions) granularity *= 2;
  FB_ASSERT(std::has_single_bit(granularity));
  return granularity;
}

ChangeMap::ChangeMap(uint64_t volume_size_bytes, uint64_t granularity_bytes)
    : volume_size_bytes_(volume_size_bytes),
      granularity_bytes_(granularity_bytes),
      granularity_shift_(uint32_t(std::countr_zero(granularity_bytes))),
      region_count_(volume_size_bytes == 0 ? 0 : (volume_size_bytes - 1) / granularity_bytes + 1) {
  FB_ASSERT(volume_size_bytes_ > 0);
  FB_ASSERT(std::has_single_bit(granularity_bytes_));
  FB_ASSERT(granularity_bytes_ >= kMinGranularityBytes);
  FB_ASSERT(region_count_ <= kMaxRegions);
  words_ = std::make_unique<std::atomic<uint64_t>[]>(word_count());  // value-initialized: 0
}

void ChangeMap::Mark(uint64_t offset, uint64_t length) {
  FB_ASSERT(offset <= volume_size_bytes_);
  FB_ASSERT(length <= volume_size_bytes_ - offset);
  if (length == 0) return;
  uint64_t first = offset >> granularity_shift_;
  uint64_t last = (offset + length - 1) >> granularity_shift_;
  FB_ASSERT(last < region_count_);
  ForEachWordMask(first, last, [&](uint64_t w, uint64_t mask) {
    // Release pairs with the acquire loads of readers that then look at the data.
    if ((words_[w].load(std::memory_order_relaxed) & mask) != mask) {
      words_[w].fetch_or(mask, std::memory_order_release);
    }
  });
}

bool ChangeMap::IsDirty(uint64_t offset) const {
  FB_ASSERT(offset < volume_size_bytes_);
  uint64_t region = offset >> granularity_shift_;
  FB_ASSERT(region < region_count_);
  return (words_[region / 64].load(std::memory_order_acquire) >> (region % 64)) & 1;
}

uint64_t ChangeMap::CountDirty() const {
  uint64_t count = 0;
  for (uint64_t w = 0; w < word_count(); ++w) {
    count += uint64_t(std::popcount(words_[w].load(std::memory_order_acquire)));
  }
  FB_ASSERT(count <= region_count_);
  return count;
}

uint64_t ChangeMap::CountDirtyBytes() const {
  uint64_t bytes = 0;
  ForEachDirtyRun([&](uint64_t, uint64_t length) { bytes += length; });
  FB_ASSERT(bytes <= volume_size_bytes_);
  return bytes;
}

uint64_t ChangeMap::FindRegion(uint64_t from, bool dirty) const {
  FB_ASSERT(from <= region_count_);
  for (uint64_t w = from / 64; w < word_count(); ++w) {
    uint64_t bits = words_[w].load(std::memory_order_acquire);
    if (!dirty) bits = ~bits;
    if (w == from / 64) bits &= ~((uint64_t{1} << (from % 64)) - 1);
    if (bits != 0) return std::min(w * 64 + uint64_t(std::countr_zero(bits)), region_count_);
  }
  return region_count_;
}

std::optional<ChangeRun> ChangeMap::NextDirtyRun(uint64_t from_offset) const {
  FB_ASSERT(from_offset <= volume_size_bytes_);
  uint64_t first = FindRegion(std::min(from_offset >> granularity_shift_, region_count_), true);
  if (first == region_count_) return std::nullopt;
  uint64_t end_region = FindRegion(first + 1, false);
  uint64_t offset = first << granularity_shift_;
  uint64_t end = std::min(end_region << granularity_shift_, volume_size_bytes_);
  FB_ASSERT(offset < end);
  return ChangeRun{.offset_bytes = offset, .length_bytes = end - offset};
}

void ChangeMap::ForEachDirtyRun(
    const std::function<void(uint64_t offset, uint64_t length)>& fn) const {
  uint64_t pos = 0;
  while (pos < volume_size_bytes_) {
    std::optional<ChangeRun> run = NextDirtyRun(pos);
    if (!run) break;
    FB_ASSERT(run->offset_bytes >= pos);  // ascending, never overlapping
    fn(run->offset_bytes, run->length_bytes);
    pos = run->offset_bytes + run->length_bytes;
  }
}

void ChangeMap::Clear(uint64_t offset, uint64_t length) {
  FB_ASSERT(offset <= volume_size_bytes_);
  FB_ASSERT(length <= volume_size_bytes_ - offset);
  uint64_t end = offset + length;
  // Regions entirely inside [offset, end); the short last region counts as inside when the
  // range reaches the end of the volume.
  uint64_t first = (offset + granularity_bytes_ - 1) >> granularity_shift_;
  uint64_t last_excl = end == volume_size_bytes_ ? region_count_ : end >> granularity_shift_;
  if (length == 0 || first >= last_excl) return;
  ForEachWordMask(first, last_excl - 1, [&](uint64_t w, uint64_t mask) {
    words_[w].fetch_and(~mask, std::memory_order_acq_rel);
  });
}

void ChangeMap::ClearAll() {
  for (uint64_t w = 0; w < word_count(); ++w) words_[w].store(0, std::memory_order_release);
}

void ChangeMap::Merge(const ChangeMap& other) {
  FB_ASSERT(other.volume_size_bytes_ == volume_size_bytes_);
  FB_ASSERT(other.granularity_bytes_ == granularity_bytes_);
  for (uint64_t w = 0; w < word_count(); ++w) {
    uint64_t bits = other.words_[w].load(std::memory_order_acquire);
    if (bits != 0) words_[w].fetch_or(bits, std::memory_order_release);
  }
}

std::string ChangeMap::Serialize() const {
  std::string out(kChangeMapHeaderBytes + 8 * word_count() + 8, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kChangeMapMagic, sizeof kChangeMapMagic);
  StoreBe32(p + 8, kChangeMapVersion);
  StoreBe64(p + 16, volume_size_bytes_);
  StoreBe64(p + 24, granularity_bytes_);
  for (uint64_t w = 0; w < word_count(); ++w) {
    StoreBe64(p + kChangeMapHeaderBytes + 8 * w, words_[w].load(std::memory_order_acquire));
  }
  size_t covered = out.size() - 8;
  StoreBe64(p + covered, Checksum(std::string_view(out).substr(0, covered)));
  FB_ASSERT(covered == kChangeMapHeaderBytes + 8 * word_count());
  FB_ASSERT(Deserialize(out).ok());  // pair: what we write must read back
  return out;
}

Result<ChangeMap> ChangeMap::Deserialize(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < kChangeMapHeaderBytes + 8) return Status::DataLoss("change map: truncated");
  if (std::memcmp(p, kChangeMapMagic, sizeof kChangeMapMagic) != 0) {
    return Status::DataLoss("change map: bad magic");
  }
  if (LoadBe32(p + 8) != kChangeMapVersion || LoadBe32(p + 12) != 0) {
    return Status::DataLoss("change map: unsupported version", std::to_string(LoadBe32(p + 8)));
  }
  uint64_t size = LoadBe64(p + 16);
  uint64_t granularity = LoadBe64(p + 24);
  if (size == 0 || size > kVolumeSizeMaxBytes || granularity < kMinGranularityBytes ||
      !std::has_single_bit(granularity) || (size - 1) / granularity + 1 > kMaxRegions) {
    return Status::DataLoss("change map: bad geometry");
  }
  ChangeMap map(size, granularity);
  if (bytes.size() != kChangeMapHeaderBytes + 8 * map.word_count() + 8) {
    return Status::DataLoss("change map: bad length", std::to_string(bytes.size()) + " bytes");
  }
  size_t covered = bytes.size() - 8;
  if (LoadBe64(p + covered) != Checksum(bytes.substr(0, covered))) {
    return Status::DataLoss("change map: checksum mismatch");
  }
  for (uint64_t w = 0; w < map.word_count(); ++w) {
    map.words_[w].store(LoadBe64(p + kChangeMapHeaderBytes + 8 * w), std::memory_order_relaxed);
  }
  uint64_t tail = map.region_count_ % 64;
  if (tail != 0 && (map.words_[map.word_count() - 1].load() >> tail) != 0) {
    return Status::DataLoss("change map: bits set beyond the last region");
  }
  FB_ASSERT(map.CountDirty() <= map.region_count_);
  return map;
}

}  // namespace fb::store
