// Checkers: the invariants of FAULTS.md, judged against what the simulated world saw.
//   ACK   a read returns the newest acknowledged write (or a write whose outcome the client
//         never learned), after any single-node failure: CheckRead with the oracle's set.
//   MONO  after a read returned v, later reads never return an older value: CheckRead
//         narrows the set to {v} (plus later writes).
//   FLUSH after power loss of every node, each block holds the newest write acknowledged
//         before a completed FLUSH (or a FUA write), or a later one; never garbage:
//         BlockModel::OnPowerLossAll widens the set to exactly that, CheckRead judges.
//   1W    no node applies a write tagged below its durable promise (CheckApply), and acks of
//         an older tenure never follow acks of a newer one (CheckAck).
//   STALE only a member of the last committed S is promoted (CheckRecord) and only the
//         epoch's primary sends resync copies (CheckCopySource).
//   CONV  after heal and resync every replica's image is byte-identical (CheckConverged).
// The first violation is kept; the harness stops the run and prints the seed.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "coord/coordinator.h"

namespace fb::sim {

using coord::Epoch;
using coord::NodeId;

// The client's knowledge of one 4 KiB block. Values are write seqs, issued in increasing
// order (the client never overlaps two ops on a block); 0 is the initial zeros.
struct BlockModel {
  std::set<uint64_t> candidates{0};  // what a read may return now
  bool busy = false;                 // an op covering it is in flight
  uint64_t last_finished = 0;        // newest value whose op was acked or failed
  // FLUSH: after power loss of every node the block holds one of `floor`, or a value
  // issued after floor_through (`since`).
  std::set<uint64_t> floor{0};
  uint64_t floor_through = 0;
  std::vector<uint64_t> since;
  std::set<uint64_t> zero_values{0};  // values that read back as zeros (trims, zeroes)

  void OnIssue(uint64_t value, bool zero) {
    since.push_back(value);
    if (zero) zero_values.insert(value);
  }
  void OnAck(uint64_t value, bool fua);
  void OnFail(uint64_t value);
  // A flush issued when the block's candidates were `snapshot` (and its newest finished
  // value `through`) completed: one of them is durable.
  void SetFloor(const std::set<uint64_t>& snapshot, uint64_t through);
  void OnPowerLossAll();
};

class Checkers {
 public:
  void CheckRead(int64_t now, uint64_t lba, std::span<const uint8_t> block, BlockModel& model);
  // A write from the primary of tenure `tenure` lands on a node whose durable promise is
  // `promised`: wrong if that promise was made to a newer tenure (a newer primary).
  void CheckApply(int64_t now, NodeId node, Epoch tenure, Epoch promised);
  void CheckAck(int64_t now, NodeId node, Epoch tenure);
  void CheckRecord(int64_t now, const coord::VolumeRecord& before,
                   const coord::VolumeRecord& after);
  void CheckCopySource(int64_t now, NodeId from, Epoch epoch);
  void CheckConverged(int64_t now, const std::vector<const std::vector<uint8_t>*>& images,
                      const std::vector<NodeId>& nodes);

  void Fail(int64_t now, const std::string& invariant, const std::string& detail);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  const std::string& invariant() const { return invariant_; }
  uint64_t reads_checked() const { return reads_checked_; }

 private:
  std::string failure_;
  std::string invariant_;
  Epoch newest_acking_tenure_ = 0;
  std::map<Epoch, NodeId> primary_by_epoch_;  // from committed records
  std::map<Epoch, Epoch> tenure_by_epoch_;
  uint64_t reads_checked_ = 0;
};

}  // namespace fb::sim
