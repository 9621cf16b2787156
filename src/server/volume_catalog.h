// VolumeCatalog: presents the volumes of a VolumeSet as NBD exports (names, sizes, flags,
// block sizes identical on every connection, so INFO, GO and reconnects always agree) and maps
// an agreed export name back to its Volume.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/nbd/export.h"
#include "server/server.h"
#include "store/volume_set.h"

namespace fb::server {

class VolumeCatalog final : public nbd::ExportCatalog, public VolumeLookup {
 public:
  // repl: when set, the volumes are replicated and served only while this node is primary.
  explicit VolumeCatalog(store::VolumeSet& volumes, const ReplNode* repl = nullptr);

  std::vector<nbd::ExportInfo> List() const override { return exports_; }
  std::optional<nbd::ExportInfo> Find(std::string_view name) const override;
  store::Volume* FindVolume(std::string_view name) override;
  std::string Refusal(std::string_view name) const override;

 private:
  store::VolumeSet& volumes_;
  const ReplNode* const repl_;
  std::vector<nbd::ExportInfo> exports_;  // constant after construction
};

// "NAME", "NAME=SIZE", "NAME=SIZE:ro" or "NAME:ro" (SIZE with units, e.g. 4GiB).
Result<store::VolumeSpec> ParseVolumeSpec(std::string_view text);

}  // namespace fb::server
