// Per-connection transmission flags and the sanity check every offered export must pass.
// Flags are a pure function of (export, negotiated features), so INFO and GO agree.
#include "proto/nbd/export.h"

#include <algorithm>
#include <bit>

#include "base/assert.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

inline constexpr uint32_t kBlockMinLimit = 64 * 1024;
inline constexpr uint32_t kBlockPreferredFloor = 512;

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

}  // namespace

Status CheckExportInfo(const ExportInfo& info) {
  if (info.name.size() > kMaxStringBytes || HasNul(info.name)) {
    return Status::InvalidArgument("export name must be <= 4096 bytes without NUL", info.name);
  }
  if (info.description.size() > kMaxStringBytes || HasNul(info.description)) {
    return Status::InvalidArgument("export description must be <= 4096 bytes without NUL",
                                   info.name);
  }
  if (!std::has_single_bit(info.block_min) || info.block_min > kBlockMinLimit) {
    return Status::InvalidArgument("block_min must be a power of two <= 64 KiB", info.name);
  }
  if (!std::has_single_bit(info.block_preferred) ||
      info.block_preferred < std::max(info.block_min, kBlockPreferredFloor)) {
    return Status::InvalidArgument("block_preferred must be a power of two >= max(min, 512)",
                                   info.name);
  }
  if (info.block_max < info.block_preferred) {
    return Status::InvalidArgument("block_max must be >= block_preferred", info.name);
  }
  return Status::Ok();
}

uint16_t TransmissionFlags(const ExportInfo& info, bool structured_replies) {
  // FLUSH, FUA and CACHE are harmless on a read-only export and FUA is valid on any command, so
  // they are always on. CAN_MULTI_CONN holds because no connection has a private cache: every
  // connection talks to the same volume, whose flush covers all of them (NBD.md 1.4).
  uint16_t flags =
      kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendCache | kFlagCanMultiConn;
  if (info.read_only) {
    flags |= kFlagReadOnly;  // TRIM, WRITE_ZEROES and FAST_ZERO would only ever fail EPERM
  } else {
    flags |= kFlagSendTrim | kFlagSendWriteZeroes;
    if (info.can_fast_zero) flags |= kFlagSendFastZero;
  }
  if (info.rotational) flags |= kFlagRotational;
  // DF is only meaningful with structured replies (it limits a READ to one chunk).
  if (structured_replies) flags |= kFlagSendDf;

  FB_ASSERT(flags & kFlagHasFlags);
  FB_ASSERT(!(flags & kFlagSendFastZero) || (flags & kFlagSendWriteZeroes));
  FB_ASSERT(!(flags & kFlagReadOnly) || !(flags & (kFlagSendTrim | kFlagSendWriteZeroes)));
  return flags;
}

}  // namespace fb::nbd
