// The promotion rule (see promotion.h).
#include "coord/promotion.h"

#include "base/assert.h"

namespace fb::coord {

NodeId ChoosePromotion(const VolumeRecord& record, const CandidateTable& candidates) {
  FB_ASSERT(record.in_sync != 0);
  FB_ASSERT((record.in_sync & ~record.members) == 0);
  bool all_live_none_intact = true;
  NodeId lowest = kNoNode;
  for (NodeId n = 0; n < kMaxNodes; ++n) {
    if (!Has(record.in_sync, n)) continue;
    const CandidateInfo& c = candidates[n];
    if (c.live && c.intact && c.has_data && n != record.primary) return n;  // rule 1
    if (!c.live || c.intact) all_live_none_intact = false;
    if (lowest == kNoNode && c.has_data) lowest = n;
  }
  if (record.primary != kNoNode && Has(record.in_sync, record.primary)) {
    const CandidateInfo& p = candidates[record.primary];
    if (p.live && p.intact && p.has_data) return record.primary;  // rule 2
  }
  if (all_live_none_intact) return lowest;  // rule 3
  return kNoNode;
}

}  // namespace fb::coord
