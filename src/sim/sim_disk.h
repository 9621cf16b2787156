// SimDisk: one node's simulated disk for one volume, in memory. Completed writes sit in a
// volatile cache until a sync (or FUA) makes them durable; a power loss keeps or drops each
// unsynced 4 KiB block independently (never tears one), like a real disk with a volatile
// write cache. Replication metadata (PersistState) is written FUA and atomically. Faults:
// EIO on a share of reads/writes/syncs while an error window is open.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "base/status.h"
#include "repl/actions.h"
#include "sim/rng.h"

namespace fb::sim {

class SimDisk {
 public:
  static constexpr uint64_t kBlockBytes = 4096;  // power-loss atomicity unit

  explicit SimDisk(uint64_t size_bytes);

  // Applies a completed write (data null: zeros). fua: durable at once.
  void Write(uint64_t offset, uint64_t length, const uint8_t* data, bool fua);
  void Read(uint64_t offset, uint64_t length, repl::Bytes& out) const;
  void Sync();
  // Power loss: each unsynced block independently keeps its new content or reverts.
  void PowerLoss(Rng& rng);
  // A replaced, empty disk: zeros, blank metadata.
  void Wipe();

  const repl::PersistedState& meta() const { return meta_; }
  void set_meta(const repl::PersistedState& meta) { meta_ = meta; }
  const std::vector<uint8_t>& contents() const { return current_; }
  size_t unsynced_blocks() const { return unsynced_.size(); }

  // EIO injection: while set, each data op fails with probability per_million.
  void set_error_rate(uint32_t per_million) { error_per_million_ = per_million; }
  uint32_t error_rate() const { return error_per_million_; }

 private:
  std::vector<uint8_t> durable_;
  std::vector<uint8_t> current_;
  std::set<uint64_t> unsynced_;  // block indices whose current content is not durable
  repl::PersistedState meta_;
  uint32_t error_per_million_ = 0;
};

}  // namespace fb::sim
