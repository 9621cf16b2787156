// MetaState: a node's durable replication metadata for one volume: the promised epoch (the
// fencing token), the blank flag, and the activity log (AL: regions that may differ from the
// other replicas because they hold writes not yet known acknowledged-and-flushed). It decides
// when a PersistState action is needed and tracks which state is durable, so callers can
// wait for "promise e is durable" or "these regions are in the durable AL" before acting.
#pragma once

#include <map>
#include <set>
#include <optional>
#include <vector>

#include "repl/actions.h"
#include "repl/types.h"

namespace fb::repl {

// Regions the durable log may name beyond the working one before trims are persisted.
inline constexpr size_t kAlTrimSlack = 16;
// A write that continues the previous one (a sequential stream) logs this many regions
// ahead, half of them before it gets there, so a stream costs one persist per this many
// regions and rarely waits for one. Logging more than was written is always safe, but each
// region logged costs a copy in the next resync, so only a stream earns it.
inline constexpr uint64_t kAlLookaheadRegions = 16;
// A stream is this many writes in a row, each starting exactly where the one before ended.
// Random writes into a small range often land in the same region twice in a row; that is
// not a stream, and logging ahead of it named never-written regions for the next resync.
inline constexpr uint32_t kAlStreamWrites = 3;

class MetaState {
 public:
  // Which finished regions the working log keeps (so writes to them need no persist):
  // those written within the last idle_ns, and at most capacity regions (DRBD's al-extents,
  // least recently written go first). A crashed primary resyncs what its log held, so this
  // is the hot set random writes hit for free AND the most a crash can cost in resync.
  struct Retention {
    size_t capacity = 64;
    int64_t idle_ns = 1'000'000'000;
  };
  MetaState(const VolumeGeometry& geometry, const PersistedState& durable, Retention retention);

  // The highest epoch promised or about to be: anything older is refused from now on.
  Epoch promised() const { return desired_promise_; }
  bool PromiseDurable(Epoch epoch) const { return durable_.promised_epoch >= epoch; }
  void Promise(Epoch epoch);

  bool blank() const { return blank_; }
  // A completed resync made this replica's image whole: no more full copies needed.
  void ClearBlank() { blank_ = false; }

  // Records that [offset, offset+length) is about to be written by op op_seq of the primary
  // promoted at tenure (copies use op_seq 0). The write may be issued once Covered().
  void Touch(Instant now, uint64_t offset, uint64_t length, Epoch tenure, uint64_t op_seq);
  bool Covered(uint64_t offset, uint64_t length) const;
  // Forgets regions whose writes are known acknowledged and durable everywhere in S (older
  // tenures, or this tenure up to acked_through) and that Retention no longer keeps: idle
  // ones, and past capacity the least recently written, down to 7/8 of capacity. Lazily
  // persisted with the next addition (or once kAlTrimSlack regions were dropped).
  void Trim(Instant now, Epoch tenure, uint64_t acked_through);

  // Regions that may differ from the source (durable AL and pending additions), sorted.
  std::vector<uint64_t> Regions() const;

  // Emits PersistState with io when the durable state lacks something a caller waits for
  // and no persist is in flight. Returns true if it emitted one.
  bool MaybePersist(IoId io, Actions& out);
  bool persist_in_flight() const { return inflight_io_.has_value(); }
  bool OwnsIo(IoId io) const { return inflight_io_ == io; }
  void OnPersisted(IoId io, const Status& status);

  const PersistedState& durable() const { return durable_; }
  size_t al_size() const { return al_.size(); }

 private:
  struct Tag {
    Epoch tenure = 0;
    uint64_t op_seq = 0;
    Instant touched{0};
    bool written = false;  // false: logged ahead of a stream that has not got there (yet)
  };
  bool NeedsPersist() const;
  std::shared_ptr<PersistedState> Snapshot() const;
  bool DurableHas(uint64_t region) const;
  bool StaysDurable(uint64_t region) const;

  const VolumeGeometry geometry_;
  const Retention retention_;
  PersistedState durable_;
  Epoch desired_promise_ = 0;
  bool blank_ = false;
  std::map<uint64_t, Tag> al_;  // working activity log: region -> newest writer
  std::set<uint64_t> pending_;  // regions of al_ not yet in durable_: what a persist must add
  uint64_t stream_end_ = UINT64_MAX;  // where the previous Touch's range ended
  uint32_t stream_writes_ = 0;        // writes in a row that each continued the one before
  Instant last_idle_scan_{INT64_MIN / 2};
  std::optional<IoId> inflight_io_;
  std::shared_ptr<const PersistedState> inflight_state_;
};

}  // namespace fb::repl
