// sim_seeds: the CI sweep of seeded whole-cluster simulations (ctest "sim.seeds").
//   sim_seeds [--seeds N] [--first S] [--verbose]   runs seeds S..S+N-1
//   FB_SEED=N sim_seeds                              replays seed N alone, verbosely
// Prints the number of seeds, steps and faults; a failure prints its seed, the invariant
// and the last events, and exits 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/seed_run.h"

int main(int argc, char** argv) {
  uint64_t first = 1, count = 2000;
  fb::sim::SeedOptions options;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc) count = std::strtoull(argv[++i], 0, 10);
    else if (!std::strcmp(argv[i], "--first") && i + 1 < argc) first = std::strtoull(argv[++i], 0, 10);
    else if (!std::strcmp(argv[i], "--verbose")) options.verbose = true;
    else if (!std::strcmp(argv[i], "--break-ack-rule")) options.break_ack_rule = true;
  }
  if (const char* env = std::getenv("FB_SEED")) {
    first = std::strtoull(env, nullptr, 10);
    count = 1;
    options.verbose = true;
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t steps = 0, faults = 0, writes = 0, reads = 0, promotions = 0, messages = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    fb::sim::SeedResult r = fb::sim::RunSeed(seed, options);
    steps += r.steps;
    faults += r.faults;
    writes += r.writes_acked;
    reads += r.reads_checked;
    promotions += r.promotions;
    messages += r.messages;
    if (!r.ok) {
      std::printf("SIM FAILURE seed=%llu nodes=%u invariant=%s\n  %s\nlast events:\n%s",
                  (unsigned long long)seed, r.nodes, r.invariant.c_str(), r.failure.c_str(),
                  r.log_tail.c_str());
      std::printf("replay: FB_SEED=%llu %s\n", (unsigned long long)seed, argv[0]);
      return 1;
    }
    if (count == 1) {
      std::printf("seed %llu ok: trace %016llx\n", (unsigned long long)seed,
                  (unsigned long long)r.trace_hash);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sim: %llu seeds, %llu steps, %llu faults injected, %llu messages, %llu acked "
              "writes, %llu reads checked, %llu promotions, %.1f s\n",
              (unsigned long long)count, (unsigned long long)steps, (unsigned long long)faults,
              (unsigned long long)messages, (unsigned long long)writes,
              (unsigned long long)reads, (unsigned long long)promotions, secs);
  std::printf("%llu passed, 0 failed\n", (unsigned long long)count);
  return 0;
}
