// Text format, one field a line, the last line an XXH3-64 of everything before it:
//   firebreak-repl-state 1 / promised N / blank 0|1 / regions R1 R2 ... / checksum HEX
#include "server/repl_state_file.h"

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <sstream>

namespace fb::server {

std::string EncodeReplState(const repl::PersistedState& state) {
  std::ostringstream body;
  body << "firebreak-repl-state 1\n";
  body << "promised " << state.promised_epoch << "\n";
  body << "blank " << (state.blank ? 1 : 0) << "\n";
  body << "regions";
  for (uint64_t r : state.al_regions) body << " " << r;
  body << "\n";
  std::string text = body.str();
  char sum[32];
  std::snprintf(sum, sizeof sum, "%016" PRIx64, uint64_t(XXH3_64bits(text.data(), text.size())));
  return text + "checksum " + sum + "\n";
}

Result<repl::PersistedState> DecodeReplState(std::string_view text) {
  size_t at = text.rfind("checksum ");
  if (at == std::string_view::npos) return Status::DataLoss("repl state: no checksum");
  std::string_view body = text.substr(0, at);
  char sum[32];
  std::snprintf(sum, sizeof sum, "%016" PRIx64, uint64_t(XXH3_64bits(body.data(), body.size())));
  if (text.substr(at + 9, 16) != sum) return Status::DataLoss("repl state: checksum mismatch");
  std::istringstream in{std::string(body)};
  std::string word;
  int version = 0;
  repl::PersistedState state;
  int blank = 0;
  if (!(in >> word >> version) || word != "firebreak-repl-state" || version != 1) {
    return Status::DataLoss("repl state: bad header");
  }
  if (!(in >> word >> state.promised_epoch) || word != "promised") {
    return Status::DataLoss("repl state: bad promised line");
  }
  if (!(in >> word >> blank) || word != "blank" || (blank != 0 && blank != 1)) {
    return Status::DataLoss("repl state: bad blank line");
  }
  state.blank = blank == 1;
  if (!(in >> word) || word != "regions") return Status::DataLoss("repl state: no regions");
  uint64_t region;
  while (in >> region) {
    if (!state.al_regions.empty() && region <= state.al_regions.back()) {
      return Status::DataLoss("repl state: regions not sorted");
    }
    state.al_regions.push_back(region);
  }
  return state;
}

Status StoreReplState(env::FileSystem& fs, const std::string& path,
                      const repl::PersistedState& state) {
  return fs.WriteSmallFileDurably(path, EncodeReplState(state));
}

Result<repl::PersistedState> LoadReplState(env::FileSystem& fs, const std::string& path) {
  if (!fs.Exists(path)) return Status::NotFound("no replication state", path);
  FB_ASSIGN_OR_RETURN(std::string text, fs.ReadSmallFile(path));
  return DecodeReplState(text);
}

}  // namespace fb::server
