// Block stamps: encode and verify.
#include "sim/block_stamp.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "base/endian.h"

namespace fb::sim {
namespace {
constexpr uint64_t kMagic = 0x46425354414d5031ULL;  // "FBSTAMP1"
constexpr size_t kSumAt = kStampBlockBytes - 8;
}  // namespace

void StampBlock(uint64_t lba, uint64_t seq, std::span<uint8_t> block) {
  FB_ASSERT(block.size() == kStampBlockBytes);
  FB_ASSERT(seq != 0);
  StoreBe64(&block[0], kMagic);
  StoreBe64(&block[8], lba);
  StoreBe64(&block[16], seq);
  uint64_t x = seq * 0x9e3779b97f4a7c15ULL + lba;
  for (size_t at = 24; at < kSumAt; at += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    StoreBe64(&block[at], x);
  }
  StoreBe64(&block[kSumAt], XXH3_64bits(block.data(), kSumAt));
}

StampInfo ReadStamp(uint64_t lba, std::span<const uint8_t> block) {
  FB_ASSERT(block.size() == kStampBlockBytes);
  if (std::all_of(block.begin(), block.end(), [](uint8_t b) { return b == 0; })) {
    return {StampKind::kZero, 0};
  }
  if (LoadBe64(&block[0]) != kMagic || LoadBe64(&block[8]) != lba ||
      LoadBe64(&block[kSumAt]) != XXH3_64bits(block.data(), kSumAt)) {
    return {StampKind::kGarbage, 0};
  }
  return {StampKind::kStamp, LoadBe64(&block[16])};
}

}  // namespace fb::sim
