// MirrorExport, SameExport and the one-export catalog.
#include "attach/export_mirror.h"

#include <string>

#include "base/assert.h"
#include "proto/nbd/wire.h"

namespace fb::attach {

Result<nbd::ExportInfo> MirrorExport(const nbd::Negotiated& upstream) {
  if (!upstream.structured_replies) {
    return Status::FailedPrecondition("the primary did not agree to structured replies");
  }
  if (!upstream.base_allocation_id) {
    return Status::FailedPrecondition("the primary did not agree to base:allocation");
  }
  nbd::ExportInfo info = upstream.export_info;
  if (Status s = nbd::CheckExportInfo(info); !s.ok()) return s;
  const uint16_t ours = nbd::TransmissionFlags(info, /*structured_replies=*/true);
  if (ours != upstream.transmission_flags) {
    return Status::FailedPrecondition(
        "the primary's transmission flags cannot be presented unchanged",
        "primary " + std::to_string(upstream.transmission_flags) + ", ours " +
            std::to_string(ours));
  }
  FB_ASSERT(nbd::TransmissionFlags(info, true) == upstream.transmission_flags);
  return info;
}

Status SameExport(const nbd::Negotiated& reference, const nbd::Negotiated& candidate) {
  const nbd::ExportInfo& a = reference.export_info;
  const nbd::ExportInfo& b = candidate.export_info;
  auto differs = [](std::string what, uint64_t was, uint64_t now) {
    return Status::FailedPrecondition(
        "the new primary presents another export",
        what + " was " + std::to_string(was) + ", now " + std::to_string(now));
  };
  if (a.size_bytes != b.size_bytes) return differs("size", a.size_bytes, b.size_bytes);
  if (reference.transmission_flags != candidate.transmission_flags) {
    return differs("transmission flags", reference.transmission_flags,
                   candidate.transmission_flags);
  }
  if (a.block_min != b.block_min) return differs("minimum block size", a.block_min, b.block_min);
  if (a.block_preferred != b.block_preferred) {
    return differs("preferred block size", a.block_preferred, b.block_preferred);
  }
  if (a.block_max != b.block_max) return differs("maximum payload", a.block_max, b.block_max);
  if (reference.structured_replies != candidate.structured_replies) {
    return differs("structured replies", reference.structured_replies,
                   candidate.structured_replies);
  }
  if (reference.base_allocation_id != candidate.base_allocation_id) {
    return differs("base:allocation context id", reference.base_allocation_id.value_or(0),
                   candidate.base_allocation_id.value_or(0));
  }
  return Status::Ok();
}

MirrorCatalog::MirrorCatalog(nbd::ExportInfo info) : info_(std::move(info)) {
  FB_ASSERT(nbd::CheckExportInfo(info_).ok());
  FB_ASSERT(!info_.name.empty());
}

std::optional<nbd::ExportInfo> MirrorCatalog::Find(std::string_view name) const {
  if (name.empty() || name == info_.name) return info_;
  return std::nullopt;
}

}  // namespace fb::attach
