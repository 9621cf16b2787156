// Two-slot replication state file.
#include "server/repl_state_file.h"

#include <xxhash.h>

#include <cstring>

#include "base/assert.h"
#include "base/endian.h"

namespace fb::server {
namespace {

constexpr uint64_t kSlotMagic = 0x46425245504c5331;  // "FBREPLS1"
constexpr uint32_t kVersion = 1;
constexpr size_t kChecksumOffset = 56;

uint64_t SlotChecksum(std::span<const uint8_t> slot, size_t bitmap_bytes) {
  XXH3_state_t* st = XXH3_createState();
  FB_ASSERT(st != nullptr);
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, slot.data(), kChecksumOffset);
  XXH3_64bits_update(st, slot.data() + kReplSlotHeaderBytes, bitmap_bytes);
  uint64_t sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return sum;
}

size_t BitmapBytes(uint64_t region_count) { return size_t((region_count + 7) / 8); }

}  // namespace

size_t ReplSlotBytes(uint64_t region_count) {
  size_t raw = kReplSlotHeaderBytes + BitmapBytes(region_count);
  return (raw + 4095) / 4096 * 4096;
}

std::vector<uint8_t> EncodeReplSlot(const repl::PersistedState& state, uint64_t sequence,
                                    uint64_t region_count) {
  std::vector<uint8_t> slot(ReplSlotBytes(region_count), 0);
  StoreBe64(slot.data(), kSlotMagic);
  StoreBe32(slot.data() + 8, kVersion);
  StoreBe32(slot.data() + 12, state.blank ? 1 : 0);
  StoreBe64(slot.data() + 16, sequence);
  StoreBe64(slot.data() + 24, state.promised_epoch);
  StoreBe64(slot.data() + 32, region_count);
  for (uint64_t region : state.al_regions) {
    FB_ASSERT(region < region_count);  // the state machine only logs regions of the volume
    slot[kReplSlotHeaderBytes + region / 8] |= uint8_t(1u << (region % 8));
  }
  StoreBe64(slot.data() + kChecksumOffset, SlotChecksum(slot, BitmapBytes(region_count)));
  return slot;
}

Result<repl::PersistedState> DecodeReplSlot(std::span<const uint8_t> slot, uint64_t region_count,
                                            uint64_t* sequence) {
  if (slot.size() != ReplSlotBytes(region_count)) return Status::DataLoss("repl slot size");
  if (LoadBe64(slot.data()) != kSlotMagic) return Status::DataLoss("repl slot magic");
  if (LoadBe32(slot.data() + 8) != kVersion) return Status::DataLoss("repl slot version");
  if (LoadBe64(slot.data() + 32) != region_count) return Status::DataLoss("repl slot geometry");
  if (LoadBe64(slot.data() + kChecksumOffset) != SlotChecksum(slot, BitmapBytes(region_count))) {
    return Status::DataLoss("repl slot checksum");
  }
  uint32_t flags = LoadBe32(slot.data() + 12);
  if (flags > 1) return Status::DataLoss("repl slot flags");
  repl::PersistedState state;
  state.blank = flags == 1;
  *sequence = LoadBe64(slot.data() + 16);
  state.promised_epoch = LoadBe64(slot.data() + 24);
  for (uint64_t region = 0; region < region_count; ++region) {
    if (slot[kReplSlotHeaderBytes + region / 8] & (1u << (region % 8))) {
      state.al_regions.push_back(region);
    }
  }
  return state;
}

Result<std::unique_ptr<ReplStateFile>> ReplStateFile::Open(env::FileSystem& fs,
                                                           const std::string& path,
                                                           uint64_t region_count, bool create) {
  FB_ASSERT(region_count > 0);
  if (!create && !fs.Exists(path)) return Status::NotFound("no replication state", path);
  FB_ASSIGN_OR_RETURN(auto file, fs.Open(path, {.create = create}));
  std::unique_ptr<ReplStateFile> f(new ReplStateFile(std::move(file), region_count));
  auto loaded = f->Load();  // learns the newest sequence
  if (!loaded.ok() && loaded.status().code() != Code::kNotFound) return loaded.status();
  return f;
}

Result<repl::PersistedState> ReplStateFile::Load() {
  const size_t slot_bytes = ReplSlotBytes(region_count_);
  FB_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  if (size == 0) return Status::NotFound("replication state never stored");
  std::optional<repl::PersistedState> best;
  uint64_t best_sequence = 0;
  std::vector<uint8_t> slot(slot_bytes);
  for (int i = 0; i < 2; ++i) {
    FB_TRY(file_->ReadAt(uint64_t(i) * slot_bytes, slot));
    uint64_t sequence = 0;
    auto state = DecodeReplSlot(slot, region_count_, &sequence);
    if (state.ok() && (!best || sequence > best_sequence)) {
      best = std::move(state).value();
      best_sequence = sequence;
    }
  }
  if (!best) return Status::DataLoss("replication state: no valid slot");
  sequence_ = best_sequence;
  return *best;
}

Status ReplStateFile::Store(const repl::PersistedState& state) {
  const uint64_t sequence = sequence_ + 1;
  std::vector<uint8_t> slot = EncodeReplSlot(state, sequence, region_count_);
  // Alternate slots: the one holding the newest durable state is never overwritten.
  FB_TRY(file_->WriteAt((sequence % 2) * slot.size(), slot));
  FB_TRY(file_->Sync());
  sequence_ = sequence;
  return Status::Ok();
}

}  // namespace fb::server
