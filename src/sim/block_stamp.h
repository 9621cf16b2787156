// Block stamps: the simulated client writes every 4 KiB block as (magic, LBA, seq, pattern,
// XXH3) like drbd9-tests' data generator and fio verify, so a read tells exactly which write
// it returned, and a torn or misplaced block is detected.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fb::sim {

inline constexpr uint64_t kStampBlockBytes = 4096;

// Layout: magic "FBSTAMP1" (8), lba (8), seq (8), pattern from seq (4064), XXH3 of the rest (8).
void StampBlock(uint64_t lba, uint64_t seq, std::span<uint8_t> block);

enum class StampKind { kZero, kStamp, kGarbage };
struct StampInfo {
  StampKind kind = StampKind::kGarbage;
  uint64_t seq = 0;  // kStamp
};
// kZero for an all-zero block; kGarbage for a bad checksum, magic or wrong LBA.
StampInfo ReadStamp(uint64_t lba, std::span<const uint8_t> block);

}  // namespace fb::sim
