// Superblock encoding, validation and durable storage. Decode trusts nothing: every field is
// checked after the checksum, so a superblock that decodes is one Encode could have written.
#include "store/superblock.h"

#include <xxhash.h>

#include <cstring>

#include "base/assert.h"
#include "base/endian.h"

namespace fb::store {
namespace {

// Field offsets; the table in superblock.h is the prose version of these.
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 8;
constexpr size_t kOffLength = 12;
constexpr size_t kOffSize = 16;
constexpr size_t kOffBlock = 24;
constexpr size_t kOffFlags = 28;
constexpr size_t kOffUuid = 32;
constexpr size_t kOffPromisedEpoch = 48;
constexpr size_t kOffGeneration = 56;
static_assert(kOffGeneration + 8 == kSuperblockChecksumOffset);
static_assert(kOffUuid + sizeof(Uuid) == kOffPromisedEpoch);

const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

uint64_t Checksum(std::string_view covered) { return XXH3_64bits(covered.data(), covered.size()); }

}  // namespace

Superblock NewSuperblock(uint64_t size_bytes, const Uuid& uuid_bytes) {
  Superblock sb;
  sb.size_bytes = size_bytes;
  sb.uuid = uuid_bytes;
  sb.uuid[6] = uint8_t((sb.uuid[6] & 0x0f) | 0x40);  // version 4
  sb.uuid[8] = uint8_t((sb.uuid[8] & 0x3f) | 0x80);  // RFC 4122 variant
  FB_ASSERT(sb.promised_epoch == 0);
  FB_ASSERT(sb.generation == 0);
  return sb;
}

Status ValidateSuperblock(const Superblock& sb) {
  if (sb.size_bytes == 0 || sb.size_bytes % kVolumeSizeAlignBytes != 0 ||
      sb.size_bytes > kVolumeSizeMaxBytes) {
    return Status::DataLoss("superblock: invalid volume size", std::to_string(sb.size_bytes));
  }
  if (sb.logical_block_bytes != kLogicalBlockBytes) {
    return Status::DataLoss("superblock: unsupported logical block size",
                            std::to_string(sb.logical_block_bytes));
  }
  if ((sb.flags & ~kSuperblockKnownFlags) != 0) {
    return Status::DataLoss("superblock: unknown flags", std::to_string(sb.flags));
  }
  return Status::Ok();
}

std::string EncodeSuperblock(const Superblock& sb) {
  FB_ASSERT(ValidateSuperblock(sb).ok());
  std::string out(kSuperblockBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p + kOffMagic, kSuperblockMagic, sizeof kSuperblockMagic);
  StoreBe32(p + kOffVersion, kSuperblockVersion);
  StoreBe32(p + kOffLength, uint32_t(kSuperblockBytes));
  StoreBe64(p + kOffSize, sb.size_bytes);
  StoreBe32(p + kOffBlock, sb.logical_block_bytes);
  StoreBe32(p + kOffFlags, sb.flags);
  std::memcpy(p + kOffUuid, sb.uuid.data(), sb.uuid.size());
  StoreBe64(p + kOffPromisedEpoch, sb.promised_epoch);
  StoreBe64(p + kOffGeneration, sb.generation);
  StoreBe64(p + kSuperblockChecksumOffset,
            Checksum(std::string_view(out).substr(0, kSuperblockChecksumOffset)));
  // Pair with Decode: what we write must read back as itself.
  FB_ASSERT(out.size() == kSuperblockBytes);
  FB_ASSERT(DecodeSuperblock(out).ok());
  return out;
}

Result<Superblock> DecodeSuperblock(std::string_view bytes) {
  // Magic and version first, so an old or foreign file gets a message that says so.
  if (bytes.size() < kOffLength + 4) {
    return Status::DataLoss("superblock: truncated", std::to_string(bytes.size()) + " bytes");
  }
  const uint8_t* p = Bytes(bytes);
  if (std::memcmp(p + kOffMagic, kSuperblockMagic, sizeof kSuperblockMagic) != 0) {
    return Status::DataLoss("superblock: bad magic (not a FireBreak volume superblock)");
  }
  uint32_t version = LoadBe32(p + kOffVersion);
  if (version != kSuperblockVersion) {
    return Status::DataLoss("superblock: unsupported format version " + std::to_string(version),
                            "this build reads version " + std::to_string(kSuperblockVersion));
  }
  uint32_t length = LoadBe32(p + kOffLength);
  if (length != kSuperblockBytes || bytes.size() != kSuperblockBytes) {
    return Status::DataLoss("superblock: bad length", std::to_string(bytes.size()) + " bytes, " +
                                                          "header says " + std::to_string(length));
  }
  uint64_t stored = LoadBe64(p + kSuperblockChecksumOffset);
  if (stored != Checksum(bytes.substr(0, kSuperblockChecksumOffset))) {
    return Status::DataLoss("superblock: checksum mismatch");
  }
  Superblock sb;
  sb.size_bytes = LoadBe64(p + kOffSize);
  sb.logical_block_bytes = LoadBe32(p + kOffBlock);
  sb.flags = LoadBe32(p + kOffFlags);
  std::memcpy(sb.uuid.data(), p + kOffUuid, sb.uuid.size());
  sb.promised_epoch = LoadBe64(p + kOffPromisedEpoch);
  sb.generation = LoadBe64(p + kOffGeneration);
  FB_TRY(ValidateSuperblock(sb));
  return sb;
}

Status StoreSuperblock(env::FileSystem& fs, const std::string& path, const Superblock& sb) {
  FB_ASSERT(!path.empty());
  std::string bytes = EncodeSuperblock(sb);
  FB_ASSERT(bytes.size() == kSuperblockBytes);
  return fs.WriteSmallFileDurably(path, bytes);
}

Result<Superblock> LoadSuperblock(env::FileSystem& fs, const std::string& path) {
  FB_ASSERT(!path.empty());
  FB_ASSIGN_OR_RETURN(std::string bytes, fs.ReadSmallFile(path));
  Result<Superblock> sb = DecodeSuperblock(bytes);
  if (!sb.ok()) return Status(sb.status().code(), path, sb.status().message());
  FB_ASSERT(ValidateSuperblock(*sb).ok());
  return sb;
}

std::string FormatUuid(const Uuid& uuid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[uuid[i] >> 4]);
    out.push_back(kHex[uuid[i] & 0xf]);
  }
  FB_ASSERT(out.size() == 36);
  return out;
}

}  // namespace fb::store
