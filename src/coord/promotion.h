// Promotion choice: which node may become primary once the old primary's lease has expired.
// A pure function so the rule (STALE: only a member of the last committed S, and only one
// that still holds every acknowledged write) is stated and tested in one place.
#pragma once

#include <array>

#include "coord/coordinator.h"

namespace fb::coord {

struct CandidateInfo {
  bool live = false;    // heard from within the node timeout
  bool intact = false;  // same boot as when it joined S: its volatile cache was never lost
  bool has_data = true; // not a new or wiped disk
};

using CandidateTable = std::array<CandidateInfo, kMaxNodes>;

// The node to promote, or kNoNode to keep waiting. In order of preference:
// 1. a live, intact member of S other than the old primary (lowest id: deterministic);
// 2. the old primary itself if it is live and intact (it lost its lease, not its data);
// 3. when EVERY member of S is live and none is intact (all lost power together), the lowest
//    id that still has its data: each such member holds every write covered by a completed
//    FLUSH (FAULTS.md's FLUSH rule);
// otherwise nobody: a member that may hold acknowledged writes the others lack is missing.
NodeId ChoosePromotion(const VolumeRecord& record, const CandidateTable& candidates);

}  // namespace fb::coord
