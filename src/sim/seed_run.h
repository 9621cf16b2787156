// RunSeed: one whole seeded simulation: a random cluster shape and fault mix chosen from the
// seed, a client workload, a nemesis injecting faults for a while, then heal, resync and
// final verification. FB_SEED=N replays seed N exactly (same seed, same trace hash).
#pragma once

#include <cstdint>
#include <string>

#include "repl/knobs.h"

namespace fb::sim {

struct SeedOptions {
  int64_t fault_phase_ns = 800'000'000;
  int64_t heal_budget_ns = 20'000'000'000;
  bool verbose = false;
  // TEST ONLY, forwarded to repl::Knobs: prove the checkers catch a broken ack rule.
  bool break_ack_rule = false;
  // TEST ONLY, forwarded to ClusterOptions: prove MONO catches reads served past the lease.
  bool break_read_lease = false;
};

struct SeedResult {
  uint64_t seed = 0;
  bool ok = true;
  std::string invariant;  // the first violated one
  std::string failure;
  std::string log_tail;   // the last events before the failure
  uint64_t trace_hash = 0;
  uint64_t steps = 0;
  uint64_t faults = 0;
  uint64_t messages = 0;
  uint64_t writes_acked = 0;
  uint64_t reads_checked = 0;
  uint64_t promotions = 0;
  uint32_t nodes = 0;
};

SeedResult RunSeed(uint64_t seed, const SeedOptions& options);

}  // namespace fb::sim
