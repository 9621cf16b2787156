// Checkers: invariant judgements (see checkers.h).
#include "sim/checkers.h"

#include <algorithm>

#include "base/assert.h"
#include "sim/block_stamp.h"

namespace fb::sim {

void BlockModel::OnAck(uint64_t value, bool fua) {
  candidates = {value};
  last_finished = std::max(last_finished, value);
  if (fua) SetFloor({value}, value);
}

void BlockModel::OnFail(uint64_t value) {
  candidates.insert(value);
  last_finished = std::max(last_finished, value);
}

void BlockModel::SetFloor(const std::set<uint64_t>& snapshot, uint64_t through) {
  FB_ASSERT(!snapshot.empty());
  if (through < floor_through) return;  // an older flush completing late
  floor = snapshot;
  floor_through = through;
  std::erase_if(since, [through](uint64_t v) { return v <= through; });
  FB_ASSERT(since.empty() || since.front() > through);
}

void BlockModel::OnPowerLossAll() {
  candidates = floor;
  candidates.insert(since.begin(), since.end());
  FB_ASSERT(!candidates.empty());
}

void Checkers::Fail(int64_t now, const std::string& invariant, const std::string& detail) {
  if (failed()) return;
  invariant_ = invariant;
  failure_ = invariant + " violated at t=" + std::to_string(now / 1000) + "us: " + detail;
}

void Checkers::CheckRead(int64_t now, uint64_t lba, std::span<const uint8_t> block,
                         BlockModel& model) {
  ++reads_checked_;
  StampInfo info = ReadStamp(lba, block);
  if (info.kind == StampKind::kGarbage) {
    return Fail(now, "FLUSH", "block " + std::to_string(lba) + " is torn or garbage");
  }
  if (info.kind == StampKind::kZero) {
    std::set<uint64_t> zeros;
    for (uint64_t c : model.candidates) {
      if (model.zero_values.contains(c)) zeros.insert(c);
    }
    if (!zeros.empty()) {
      model.candidates = zeros;  // MONO: one of the zeroing writes, nothing older
      return;
    }
  }
  uint64_t value = info.kind == StampKind::kZero ? 0 : info.seq;
  if (!model.candidates.contains(value)) {
    std::string allowed;
    for (uint64_t c : model.candidates) allowed += " " + std::to_string(c);
    return Fail(now, "ACK/MONO", "block " + std::to_string(lba) + " read value " +
                                     std::to_string(value) + ", allowed:" + allowed);
  }
  model.candidates = {value};  // MONO: nothing older from now on
}

void Checkers::CheckApply(int64_t now, NodeId node, Epoch tenure, Epoch promised) {
  FB_ASSERT(tenure > 0);
  auto it = tenure_by_epoch_.find(promised);
  Epoch promised_tenure = it == tenure_by_epoch_.end() ? 0 : it->second;
  if (promised_tenure > tenure) {
    Fail(now, "1W", "node " + std::to_string(node) + " applied a write of tenure " +
                        std::to_string(tenure) + " after promising epoch " +
                        std::to_string(promised) + " of tenure " +
                        std::to_string(promised_tenure));
  }
}

void Checkers::CheckAck(int64_t now, NodeId node, Epoch tenure) {
  FB_ASSERT(tenure > 0);
  if (tenure < newest_acking_tenure_) {
    Fail(now, "1W", "node " + std::to_string(node) + " acked for tenure " +
                        std::to_string(tenure) + " after tenure " +
                        std::to_string(newest_acking_tenure_) + " had acked");
  }
  newest_acking_tenure_ = std::max(newest_acking_tenure_, tenure);
}

void Checkers::CheckRecord(int64_t now, const coord::VolumeRecord& before,
                           const coord::VolumeRecord& after) {
  if (after.epoch == before.epoch) return;
  if (after.epoch < before.epoch) return Fail(now, "1W", "coordinator epoch went backwards");
  if (before.epoch == 0) {  // the initial record
    primary_by_epoch_[after.epoch] = after.primary;
    tenure_by_epoch_[after.epoch] = after.tenure;
    return;
  }
  primary_by_epoch_[after.epoch] = after.primary;
  tenure_by_epoch_[after.epoch] = after.tenure;
  if (after.primary != before.primary || after.tenure != before.tenure) {
    // Holders of every acknowledged write: the last S, or, if that tenure acknowledged
    // nothing we saw, the holders it was promoted from.
    coord::NodeMask holders = before.in_sync;
    if (newest_acking_tenure_ < before.tenure) holders |= before.prev_in_sync;
    if (!coord::Has(holders, after.primary)) {
      Fail(now, "STALE", "node " + std::to_string(after.primary) +
                             " promoted but was not in the last in-sync set");
    }
  }
  if (!coord::Has(after.in_sync, after.primary)) {
    Fail(now, "STALE", "primary outside its own in-sync set");
  }
}

void Checkers::CheckCopySource(int64_t now, NodeId from, Epoch epoch) {
  auto it = primary_by_epoch_.find(epoch);
  if (it != primary_by_epoch_.end() && it->second != from) {
    Fail(now, "STALE", "node " + std::to_string(from) + " sent a resync copy under epoch " +
                           std::to_string(epoch) + " whose primary is " +
                           std::to_string(it->second));
  }
}

void Checkers::CheckConverged(int64_t now, const std::vector<const std::vector<uint8_t>*>& images,
                              const std::vector<NodeId>& nodes) {
  FB_ASSERT(images.size() == nodes.size());
  for (size_t i = 1; i < images.size(); ++i) {
    if (*images[i] == *images[0]) continue;
    size_t at = 0;
    while (at < images[0]->size() && (*images[i])[at] == (*images[0])[at]) ++at;
    uint64_t block = at / kStampBlockBytes;
    auto value = [&](size_t k) {
      StampInfo info = ReadStamp(block, std::span(*images[k]).subspan(
                                            block * kStampBlockBytes, kStampBlockBytes));
      return info.kind == StampKind::kStamp ? std::to_string(info.seq)
                                            : info.kind == StampKind::kZero ? "zeros" : "garbage";
    };
    Fail(now, "CONV", "node " + std::to_string(nodes[i]) + " differs from node " +
                          std::to_string(nodes[0]) + " at block " + std::to_string(block) +
                          ": " + value(i) + " vs " + value(0));
    return;
  }
}

}  // namespace fb::sim
