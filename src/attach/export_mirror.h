// The export `firebreak attach` presents to its clients: the primary's, unchanged, so a client
// cannot tell attach from a node (same size, transmission flags, block sizes, base:allocation)
// and a reconnect through attach changes nothing it could compare. Also the check that a
// newly found primary presents that same export: if it does not, forwarding to it would change
// the disk under the client, so attach refuses (EIO and a loud log) instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/nbd/export.h"

namespace fb::attach {

// The export to offer, from what the primary agreed in its handshake. Refused unless the
// primary gave structured replies and base:allocation (attach forwards BLOCK_STATUS) and our
// own codec advertises exactly the primary's flags for it (nbd::TransmissionFlags), so a
// client sees through attach precisely what it would see at the node.
Result<nbd::ExportInfo> MirrorExport(const nbd::Negotiated& upstream);

// OK when `candidate` (a primary found later) presents the export `reference` did: size,
// transmission flags, block sizes, structured replies and base:allocation. Otherwise why not.
Status SameExport(const nbd::Negotiated& reference, const nbd::Negotiated& candidate);

// A catalog of exactly one export, under its name and as the default export "".
class MirrorCatalog final : public nbd::ExportCatalog {
 public:
  explicit MirrorCatalog(nbd::ExportInfo info);
  std::vector<nbd::ExportInfo> List() const override { return {info_}; }
  std::optional<nbd::ExportInfo> Find(std::string_view name) const override;

 private:
  const nbd::ExportInfo info_;
};

}  // namespace fb::attach
