// What a server offers (ExportInfo, via an ExportCatalog) and what a connection negotiated.
// Transmission flags are computed per connection from both (NBD.md 1.4): SEND_DF only with
// structured replies, and identical for INFO and GO so clients that compare them see no change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fb::nbd {

struct ExportInfo {
  std::string name;
  std::string description;
  uint64_t size_bytes = 0;
  bool read_only = false;
  bool rotational = false;
  bool can_fast_zero = true;  // the store can zero faster than writing zeros
  // NBD_INFO_BLOCK_SIZE, always advertised. min 1 lets clients send unaligned requests;
  // preferred 4096 matches the page cache; max is the largest WRITE/READ payload we buffer.
  uint32_t block_min = 1;
  uint32_t block_preferred = 4096;
  uint32_t block_max = 32u << 20;
};

// OK when `info` can be offered as is: name and description <= 4096 bytes without NUL; block
// sizes as NBD.md 1.9 requires (min a power of two <= 64 KiB; preferred a power of two
// >= max(min, 512); max >= preferred). The server checks this when it loads a volume; the codec
// asserts it for every export the catalog returns.
Status CheckExportInfo(const ExportInfo& info);

// Read-only lookup of exports; implemented by the server over its volumes. Must be
// thread-safe if shared across connections. Every ExportInfo returned must pass
// CheckExportInfo.
class ExportCatalog {
 public:
  virtual ~ExportCatalog() = default;
  // Every export, in a stable order (for NBD_OPT_LIST).
  virtual std::vector<ExportInfo> List() const = 0;
  // "" names the default export (the first one). nullopt: no such export.
  virtual std::optional<ExportInfo> Find(std::string_view name) const = 0;
  // Non-empty: the export exists but this server will not serve it now (a standby refuses
  // while another node is primary); the text tells the client where to go instead.
  virtual std::string Refusal(std::string_view name) const { return {}; }
};

// The outcome of a handshake: everything the transmission phase needs to know.
struct Negotiated {
  ExportInfo export_info;
  uint16_t transmission_flags = 0;  // as sent to the client
  bool structured_replies = false;
  bool no_zeroes = false;
  // The id given to base:allocation by SET_META_CONTEXT; nullopt if not selected.
  std::optional<uint32_t> base_allocation_id;
};

// Transmission flags for this export on a connection with these negotiated features.
uint16_t TransmissionFlags(const ExportInfo& info, bool structured_replies);

}  // namespace fb::nbd
