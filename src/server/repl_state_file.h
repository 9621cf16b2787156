// The durable replication metadata of one volume on one node (repl::PersistedState: promised
// epoch, blank flag, activity-log regions) as a small checksummed text file next to the
// volume, replaced atomically (write temp, fsync, rename, fsync dir) on every PersistState.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "env/file.h"
#include "repl/actions.h"

namespace fb::server {

std::string EncodeReplState(const repl::PersistedState& state);
// kDataLoss on a bad checksum or malformed text.
Result<repl::PersistedState> DecodeReplState(std::string_view text);

Status StoreReplState(env::FileSystem& fs, const std::string& path,
                      const repl::PersistedState& state);
// kNotFound when the node never held this volume.
Result<repl::PersistedState> LoadReplState(env::FileSystem& fs, const std::string& path);

}  // namespace fb::server
