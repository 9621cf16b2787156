// The volume superblock (NAME.meta): a volume's identity and geometry plus the replication
// fencing state, as one small checksummed record replaced atomically. Encode/Decode are pure;
// Load/Store go through env::FileSystem. Byte layout: docs/on-disk-layout.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"
#include "env/file.h"

namespace fb::store {

// A 128-bit volume identity (RFC 4122 version 4 layout). The store never draws randomness
// itself: the caller supplies the 16 bytes (env randomness in production, a seed in the sim).
using Uuid = std::array<uint8_t, 16>;

// Disk format, all integers big-endian (network order, like every FireBreak wire integer):
//   offset  size  field
//        0     8  magic "FBVOLSB1"
//        8     4  format version (kSuperblockVersion)
//       12     4  encoded length in bytes (kSuperblockBytes), so a torn or padded file fails
//       16     8  volume size in bytes
//       24     4  logical block size in bytes (kLogicalBlockBytes)
//       28     4  flags (kSuperblockFlagReadOnly; every other bit must be zero)
//       32    16  volume uuid
//       48     8  promised_epoch: highest replication epoch promised (fencing token)
//       56     8  generation: data generation for choosing a resync source
//       64     8  XXH3-64 (seed 0) of bytes [0, 64)
inline constexpr char kSuperblockMagic[8] = {'F', 'B', 'V', 'O', 'L', 'S', 'B', '1'};
inline constexpr uint32_t kSuperblockVersion = 1;
inline constexpr size_t kSuperblockChecksumOffset = 64;
inline constexpr size_t kSuperblockBytes = kSuperblockChecksumOffset + 8;
static_assert(kSuperblockBytes == 72, "superblock layout changed: bump kSuperblockVersion");

// The block size NBD advertises as preferred; volume sizes need only be multiples of
// kVolumeSizeAlignBytes (the smallest sector any initiator addresses).
inline constexpr uint32_t kLogicalBlockBytes = 4096;
inline constexpr uint64_t kVolumeSizeAlignBytes = 512;
// Far beyond any real disk; rejecting larger sizes keeps offset + length arithmetic safe.
inline constexpr uint64_t kVolumeSizeMaxBytes = uint64_t{1} << 60;
static_assert(kLogicalBlockBytes % kVolumeSizeAlignBytes == 0);

// The volume is permanently read-only (a sealed snapshot, a demoted replica), whatever the
// caller asks for when opening it.
inline constexpr uint32_t kSuperblockFlagReadOnly = 1u << 0;
inline constexpr uint32_t kSuperblockKnownFlags = kSuperblockFlagReadOnly;

struct Superblock {
  uint64_t size_bytes = 0;
  uint32_t logical_block_bytes = kLogicalBlockBytes;
  uint32_t flags = 0;
  Uuid uuid{};
  // Replication refuses any message with epoch < promised_epoch (FAULTS.md). 0: never promised.
  uint64_t promised_epoch = 0;
  // DRBD-style data generation; replication bumps it when a new history starts. 0 at creation.
  uint64_t generation = 0;

  bool read_only() const { return (flags & kSuperblockFlagReadOnly) != 0; }
  friend bool operator==(const Superblock&, const Superblock&) = default;
};

// A fresh superblock for a new volume of size_bytes. uuid_bytes become the uuid with the
// RFC 4122 version (4) and variant bits forced, so equal bytes give equal superblocks.
Superblock NewSuperblock(uint64_t size_bytes, const Uuid& uuid_bytes);

// kDataLoss if the fields are not ones Encode may write (size, block size, flags).
Status ValidateSuperblock(const Superblock& superblock);

// Exactly kSuperblockBytes. Asserts the superblock is valid: writing garbage is a bug.
std::string EncodeSuperblock(const Superblock& superblock);

// Validates length, magic, version, checksum and fields; any mismatch is kDataLoss.
Result<Superblock> DecodeSuperblock(std::string_view bytes);

// Durable when it returns OK: temp file, fsync, rename, directory fsync (env contract).
Status StoreSuperblock(env::FileSystem& fs, const std::string& path, const Superblock& superblock);
// kNotFound if the file is missing, kDataLoss if it is corrupt; errors name the path.
Result<Superblock> LoadSuperblock(env::FileSystem& fs, const std::string& path);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case hex, for logs and messages.
std::string FormatUuid(const Uuid& uuid);

}  // namespace fb::store
