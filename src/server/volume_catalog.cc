// VolumeCatalog: exports derived once from the volume set.
#include "server/volume_catalog.h"

#include "base/assert.h"
#include "base/units.h"
#include "server/limits.h"
#include "server/repl_node.h"

namespace fb::server {

VolumeCatalog::VolumeCatalog(store::VolumeSet& volumes, const ReplNode* repl)
    : volumes_(volumes), repl_(repl) {
  for (store::Volume* v : volumes_.volumes()) {
    nbd::ExportInfo info;
    info.name = v->name();
    info.description = "FireBreak volume " + v->name();
    info.size_bytes = v->size_bytes();
    info.read_only = v->read_only();
    // Local: punch hole / zero range (the store answers kUnimplemented when it cannot).
    // Replicated: zeroing every copy is never fast, so it is not offered.
    info.can_fast_zero = repl_ == nullptr;
    info.block_min = 1;         // unaligned I/O is served (read-modify-write in the kernel)
    info.block_preferred = 4096;
    info.block_max = kMaxPayloadBytes;
    FB_ASSERT(nbd::CheckExportInfo(info).ok());
    exports_.push_back(std::move(info));
  }
}

std::optional<nbd::ExportInfo> VolumeCatalog::Find(std::string_view name) const {
  if (exports_.empty()) return std::nullopt;
  if (name.empty()) return exports_.front();  // the default export is the first volume
  for (const auto& e : exports_) {
    if (e.name == name) return e;
  }
  return std::nullopt;
}

std::string VolumeCatalog::Refusal(std::string_view name) const {
  return repl_ == nullptr ? std::string() : repl_->Refusal(name);
}

store::Volume* VolumeCatalog::FindVolume(std::string_view name) {
  if (name.empty() && !volumes_.volumes().empty()) return volumes_.volumes().front();
  return volumes_.Find(name);
}

Result<store::VolumeSpec> ParseVolumeSpec(std::string_view text) {
  store::VolumeSpec spec;
  if (text.ends_with(":ro")) {
    spec.read_only = true;
    text.remove_suffix(3);
  }
  size_t eq = text.find('=');
  spec.name = std::string(text.substr(0, eq));
  FB_TRY(store::ValidateVolumeName(spec.name));
  if (eq != std::string_view::npos) {
    FB_ASSIGN_OR_RETURN(uint64_t size, ParseSize(text.substr(eq + 1)));
    FB_TRY(store::ValidateVolumeSize(size));
    spec.size_bytes = size;
  }
  return spec;
}

}  // namespace fb::server
