// ReplStateFile: the durable replication metadata of one volume on one node
// (repl::PersistedState: promised epoch, blank flag, activity-log regions), kept in two
// fixed-size slots that are overwritten in turn. A store is one slot write plus one
// fdatasync (no rename, no directory sync), so the activity log can be updated on the write
// path; a write torn by a crash spoils only the slot being written, and the other slot still
// holds the previous durable state, which is exactly what the state machine last relied on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "env/file.h"
#include "repl/actions.h"

namespace fb::server {

// Slot: magic "FBREPLS1" (8), version u32, flags u32 (bit 0 blank), sequence u64, promised
// epoch u64, region count u64, zero u64 x2, XXH3-64 of bytes [0, 56) and the bitmap (8),
// then the activity log as a bitmap of region_count bits, padded to 4 KiB. Big-endian.
inline constexpr size_t kReplSlotHeaderBytes = 64;

std::vector<uint8_t> EncodeReplSlot(const repl::PersistedState& state, uint64_t sequence,
                                    uint64_t region_count);
// kDataLoss on anything malformed; the sequence goes to *sequence.
Result<repl::PersistedState> DecodeReplSlot(std::span<const uint8_t> slot, uint64_t region_count,
                                            uint64_t* sequence);
size_t ReplSlotBytes(uint64_t region_count);

class ReplStateFile {
 public:
  // kNotFound when the file is missing and !create.
  static Result<std::unique_ptr<ReplStateFile>> Open(env::FileSystem& fs, const std::string& path,
                                                     uint64_t region_count, bool create);
  // The newest valid slot. kNotFound if nothing was ever stored, kDataLoss if both are bad.
  Result<repl::PersistedState> Load();
  // Durable when it returns OK. Not thread-safe: one store at a time (the state machine
  // never has two persists in flight).
  Status Store(const repl::PersistedState& state);

 private:
  ReplStateFile(std::unique_ptr<env::File> file, uint64_t region_count)
      : file_(std::move(file)), region_count_(region_count) {}
  std::unique_ptr<env::File> file_;
  const uint64_t region_count_;
  uint64_t sequence_ = 0;  // of the newest slot on disk
};

}  // namespace fb::server
