// ResyncTarget: the primary's record of what one out-of-sync replica lacks, and the pacing
// of the copy that fixes it. Dirty regions are the union of (a) regions written since the
// replica left S (marked by the primary), (b) the replica's own activity log, reported in its
// hello, and (c) at a new tenure, the new primary's activity log. A new or wiped replica, or
// one that was not in S when this primary's tenure began, gets everything marked (full copy).
// A region is copied only while no local write to it is in flight, at most one copy of it is
// in flight, and a client write to a dirty or in-copy region is not mirrored but re-marked,
// so a stale copy can never overwrite a newer mirrored write.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "repl/knobs.h"
#include "repl/types.h"
#include "store/change_map.h"

namespace fb::repl {

struct ResyncProgress {
  uint64_t bytes_done = 0;       // copied and acknowledged, this target's lifetime
  uint64_t bytes_remaining = 0;  // dirty or being copied now
  bool full = false;             // a full copy was needed
};

class ResyncTarget {
 public:
  enum class State : uint8_t {
    kAwaitHello,  // ResyncBegin sent on a fresh session
    kCopying,     // copying dirty regions, mirroring writes to clean ones
    kFinalFlush,  // everything copied: flush on the target before asking to join
    kJoining,     // config change (S + target) requested; mirror every write
    kBackoff,     // the last session failed; start another after resync_retry_ns
  };

  ResyncTarget(const VolumeGeometry& geometry, NodeId target);

  NodeId target() const { return target_; }
  State state() const { return state_; }
  void set_state(State state) { state_ = state; }
  uint64_t boot_id() const { return boot_id_; }
  void set_boot_id(uint64_t boot_id) { boot_id_ = boot_id; }
  Instant backoff_until() const { return backoff_until_; }

  void MarkAll();
  void Mark(uint64_t offset, uint64_t length);
  void MarkRegions(const std::vector<uint64_t>& regions);
  // True if any region of the range is dirty or being copied: do not mirror, Mark instead.
  bool NeedsCopy(uint64_t offset, uint64_t length) const;

  // Starts the tick's rate budget.
  void BeginTick() { started_this_tick_ = 0; }
  // The next region to copy within the rate limits, skipping regions busy(region) says have
  // local writes in flight; nullopt when nothing may start now.
  std::optional<uint64_t> NextRegion(const Knobs& knobs,
                                     const std::function<bool(uint64_t)>& busy) const;
  // Clears the region (a racing write re-marks it) and counts it in flight.
  void StartCopy(uint64_t region);
  void CopyDone(uint64_t region);
  bool Copying(uint64_t region) const { return in_copy_.contains(region); }
  bool CopyComplete() const { return in_copy_.empty() && dirty_.CountDirty() == 0; }
  // The session broke: every region in flight is dirty again; retry after a pause.
  void Fail(Instant now, const Knobs& knobs);
  // Waits (kBackoff) until `at` before the next session; used at tenure start and ejection.
  void RetryAt(Instant at) {
    state_ = State::kBackoff;
    backoff_until_ = at;
  }

  ResyncProgress progress() const;
  uint64_t region_offset(uint64_t region) const { return region * geometry_.region_bytes; }
  uint64_t region_length(uint64_t region) const;

 private:
  const VolumeGeometry geometry_;
  const NodeId target_;
  State state_ = State::kAwaitHello;
  store::ChangeMap dirty_;
  std::map<uint64_t, uint64_t> in_copy_;  // region -> bytes
  uint64_t bytes_in_flight_ = 0;
  uint64_t started_this_tick_ = 0;
  uint64_t bytes_done_ = 0;
  bool full_ = false;
  uint64_t boot_id_ = 0;
  Instant backoff_until_;
};

}  // namespace fb::repl
