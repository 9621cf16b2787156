// The witness's state file: every volume's durable coordinator state (record, boots of S,
// whether the tenure held a lease), so a restarted witness never forgets an epoch. Written
// whole, atomically and durably, before any reply that depends on a change leaves the witness.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "coord/embedded_coordinator.h"
#include "env/file.h"

namespace fb::server {

// File = header, entries, checksum. All integers big-endian.
//   magic "FBCS" u32, version u32 (1), entry count u32, zero u32
//   per entry: name length u16, flags u16 (bit 0 tenure_leased), name bytes, record
//     (coord::kRecordBytes, wire.h), boot count u32, then that many (node u32, zero u32,
//     boot u64): every node with a recorded join boot (non-zero), ascending nodes
//   XXH3-64 (seed 0) of everything before it
inline constexpr uint32_t kCoordStateMagic = 0x46424353;  // "FBCS"
inline constexpr uint32_t kCoordStateVersion = 1;
inline constexpr size_t kCoordStateNameBytesMax = 255;

struct PersistedVolume {
  std::string name;  // the config's volume name, checked on load against the volume id
  coord::EmbeddedCoordinator::DurableVolume state;
  friend bool operator==(const PersistedVolume&, const PersistedVolume&) = default;
};

std::string EncodeCoordState(const std::vector<PersistedVolume>& volumes);
// kDataLoss on a checksum mismatch or a torn file, kInvalidArgument on anything malformed.
Result<std::vector<PersistedVolume>> DecodeCoordState(std::string_view bytes);

// WriteSmallFileDurably: on stable storage when this returns OK.
Status SaveCoordState(env::FileSystem& fs, const std::string& path,
                      const std::vector<PersistedVolume>& volumes);
// nullopt when the file does not exist (a witness's first start).
Result<std::optional<std::vector<PersistedVolume>>> LoadCoordState(env::FileSystem& fs,
                                                                   const std::string& path);

}  // namespace fb::server
