// The witness state file: encoding, checked decoding (it may be torn or rotted), load, save.
#include "server/coord_state_file.h"

#include <xxhash.h>

#include "base/assert.h"
#include "base/endian.h"
#include "coord/wire.h"

namespace fb::server {
namespace {

constexpr size_t kHeaderBytes = 16;
constexpr size_t kEntryFixedBytes = 4 + coord::kRecordBytes + 4;  // name/flags, record, count
constexpr size_t kBootBytes = 16;
constexpr size_t kChecksumBytes = 8;

void Put16(std::string& out, uint16_t v) {
  uint8_t b[2];
  StoreBe16(b, v);
  out.append(reinterpret_cast<const char*>(b), 2);
}
void Put32(std::string& out, uint32_t v) {
  uint8_t b[4];
  StoreBe32(b, v);
  out.append(reinterpret_cast<const char*>(b), 4);
}
void Put64(std::string& out, uint64_t v) {
  uint8_t b[8];
  StoreBe64(b, v);
  out.append(reinterpret_cast<const char*>(b), 8);
}

void PutEntry(std::string& out, const PersistedVolume& v) {
  FB_ASSERT(!v.name.empty() && v.name.size() <= kCoordStateNameBytesMax);
  Put16(out, uint16_t(v.name.size()));
  Put16(out, v.state.tenure_leased ? 1 : 0);
  out += v.name;
  uint8_t record[coord::kRecordBytes];
  coord::EncodeRecord(v.state.record, record);
  out.append(reinterpret_cast<const char*>(record), sizeof record);
  uint32_t boots = 0;
  for (uint64_t boot : v.state.in_sync_boot) boots += boot != 0;
  Put32(out, boots);
  for (coord::NodeId n = 0; n < coord::kMaxNodes; ++n) {
    if (v.state.in_sync_boot[n] == 0) continue;
    Put32(out, n);
    Put32(out, 0);
    Put64(out, v.state.in_sync_boot[n]);
  }
}

Status Corrupt(std::string_view what) {
  return Status::InvalidArgument("coordinator state file is malformed", what);
}

// Reads one entry at `at`, advancing it; `end` is where the checksum starts.
Result<PersistedVolume> TakeEntry(const uint8_t* p, size_t& at, size_t end) {
  if (end - at < kEntryFixedBytes) return Corrupt("truncated entry");
  const size_t name_bytes = LoadBe16(p + at);
  const uint16_t flags = LoadBe16(p + at + 2);
  if (name_bytes == 0 || name_bytes > kCoordStateNameBytesMax || (flags & ~1u) != 0) {
    return Corrupt("entry name or flags");
  }
  if (end - at < kEntryFixedBytes + name_bytes) return Corrupt("truncated entry");
  PersistedVolume v;
  v.name.assign(reinterpret_cast<const char*>(p + at + 4), name_bytes);
  v.state.tenure_leased = flags & 1;
  at += 4 + name_bytes;
  FB_ASSIGN_OR_RETURN(v.state.record,
                      coord::DecodeRecord(std::span<const uint8_t, coord::kRecordBytes>(
                          p + at, coord::kRecordBytes)));
  at += coord::kRecordBytes;
  const uint32_t boots = LoadBe32(p + at);
  at += 4;
  if (boots > coord::kMaxNodes || end - at < size_t(boots) * kBootBytes) {
    return Corrupt("boot list");
  }
  int64_t last = -1;
  for (uint32_t i = 0; i < boots; ++i, at += kBootBytes) {
    const uint32_t node = LoadBe32(p + at);
    const uint64_t boot = LoadBe64(p + at + 8);
    if (node >= coord::kMaxNodes || int64_t(node) <= last || LoadBe32(p + at + 4) != 0 ||
        boot == 0) {
      return Corrupt("boot entry");
    }
    v.state.in_sync_boot[node] = boot;
    last = node;
  }
  return v;
}

}  // namespace

std::string EncodeCoordState(const std::vector<PersistedVolume>& volumes) {
  FB_ASSERT(volumes.size() <= coord::kStatusVolumesMax);
  std::string out;
  Put32(out, kCoordStateMagic);
  Put32(out, kCoordStateVersion);
  Put32(out, uint32_t(volumes.size()));
  Put32(out, 0);
  for (const PersistedVolume& v : volumes) PutEntry(out, v);
  Put64(out, XXH3_64bits(out.data(), out.size()));
  FB_ASSERT(out.size() >= kHeaderBytes + kChecksumBytes);
  return out;
}

Result<std::vector<PersistedVolume>> DecodeCoordState(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < kHeaderBytes + kChecksumBytes) {
    return Status::DataLoss("coordinator state file is truncated");
  }
  const size_t end = bytes.size() - kChecksumBytes;
  if (XXH3_64bits(p, end) != LoadBe64(p + end)) {
    return Status::DataLoss("coordinator state file checksum mismatch");
  }
  if (LoadBe32(p) != kCoordStateMagic) return Corrupt("bad magic");
  if (LoadBe32(p + 4) != kCoordStateVersion) return Corrupt("unsupported version");
  const uint32_t count = LoadBe32(p + 8);
  if (count > coord::kStatusVolumesMax || LoadBe32(p + 12) != 0) return Corrupt("header");
  std::vector<PersistedVolume> volumes;
  size_t at = kHeaderBytes;
  for (uint32_t i = 0; i < count; ++i) {
    FB_ASSIGN_OR_RETURN(PersistedVolume v, TakeEntry(p, at, end));
    volumes.push_back(std::move(v));
  }
  if (at != end) return Corrupt("trailing bytes");
  return volumes;
}

Status SaveCoordState(env::FileSystem& fs, const std::string& path,
                      const std::vector<PersistedVolume>& volumes) {
  return fs.WriteSmallFileDurably(path, EncodeCoordState(volumes));
}

Result<std::optional<std::vector<PersistedVolume>>> LoadCoordState(env::FileSystem& fs,
                                                                   const std::string& path) {
  if (!fs.Exists(path)) return std::optional<std::vector<PersistedVolume>>();
  FB_ASSIGN_OR_RETURN(std::string bytes, fs.ReadSmallFile(path));
  Result<std::vector<PersistedVolume>> volumes = DecodeCoordState(bytes);
  if (!volumes.ok()) {
    return Status(volumes.status().code(), path, volumes.status().message());
  }
  return std::optional<std::vector<PersistedVolume>>(std::move(volumes).value());
}

}  // namespace fb::server
