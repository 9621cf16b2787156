// Workload: the simulated initiator. It keeps a few operations in flight (stamped 4 KiB
// writes, FUA writes, trims, reads, flushes), never overlaps two operations on one block,
// and keeps, per block, the oracle the checkers judge reads against (checkers.h).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "repl/actions.h"
#include "repl/types.h"
#include "sim/checkers.h"
#include "sim/rng.h"

namespace fb::sim {

struct WorkloadOptions {
  uint32_t in_flight_max = 4;
  uint32_t blocks_per_op_max = 4;
  // Out of 100: the rest are writes.
  uint32_t read_percent = 25;
  uint32_t flush_percent = 8;
  uint32_t trim_percent = 4;
  uint32_t zero_percent = 3;
  uint32_t fua_percent = 10;  // of writes
};

class Workload {
 public:
  Workload(uint64_t blocks, const WorkloadOptions& options, Checkers& checkers);

  // The next request, or nullopt when the window is full or no blocks are free.
  std::optional<repl::ClientRequest> Next(Rng& rng);
  // A read of every free block, for the final verification.
  std::vector<repl::ClientRequest> VerifyAll();
  void OnReply(int64_t now, const repl::ReplyToClient& reply);
  // Every node lost power at once: the FLUSH rule replaces the ACK rule for every block.
  void OnPowerLossAll();

  size_t in_flight() const { return pending_.size(); }
  uint64_t writes_acked() const { return writes_acked_; }
  uint64_t ops_failed() const { return ops_failed_; }
  uint64_t flushes_acked() const { return flushes_acked_; }
  uint64_t reads_ok() const { return reads_ok_; }
  uint64_t blocks() const { return blocks_.size(); }

 private:
  struct Pending {
    repl::OpKind kind = repl::OpKind::kRead;
    uint64_t first = 0;
    uint64_t count = 0;
    uint64_t value = 0;
    bool fua = false;
    // Per block, when a flush was issued: the candidates and the newest finished value.
    std::vector<std::pair<std::set<uint64_t>, uint64_t>> flush_snapshot;
  };
  std::optional<uint64_t> FreeRange(Rng& rng, uint64_t count);
  repl::ClientRequest Issue(Pending pending, const repl::Payload& data);

  WorkloadOptions options_;
  Checkers& checkers_;
  std::vector<BlockModel> blocks_;
  std::map<repl::ClientReqId, Pending> pending_;
  repl::ClientReqId next_id_ = 1;
  uint64_t next_value_ = 1;
  uint64_t writes_acked_ = 0;
  uint64_t ops_failed_ = 0;
  uint64_t flushes_acked_ = 0;
  uint64_t reads_ok_ = 0;
};

}  // namespace fb::sim
