// Volume: the block-device API that everything above the store uses (NBD dispatch today,
// replication, snapshots and backup later). Implementations stack like nbdkit filters: a
// FileVolume holds the bytes, a TrackingVolume records changed regions for resync and
// incremental backup, later a snapshot layer adds copy-on-write, each forwarding to the next.
// Thread-safety: every method may be called concurrently from many threads.
// Preconditions (asserted, validated earlier by the protocol layer): offset + length lies
// within size_bytes(); mutating calls are never made on a read-only volume.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/file.h"

namespace fb::store {

// One run of the allocation map (NBD base:allocation semantics).
struct Allocation {
  uint64_t length = 0;
  bool hole = false;  // unallocated: a write here may need new space
  bool zero = false;  // reads as zeros
};

struct ZeroOptions {
  bool may_trim = true;    // may deallocate (no NBD_CMD_FLAG_NO_HOLE)
  bool fast_only = false;  // NBD FAST_ZERO: fail with kUnimplemented rather than write zeros
  bool fua = false;
};

class Volume {
 public:
  virtual ~Volume() = default;
  virtual const std::string& name() const = 0;
  virtual uint64_t size_bytes() const = 0;
  virtual bool read_only() const = 0;

  // opts.nowait: kWouldBlock unless the data is cached (see env::ReadOptions).
  virtual Status Read(uint64_t offset, std::span<uint8_t> target,
                      env::ReadOptions opts = {}) = 0;
  // Durable at return when fua; otherwise after the next successful Flush().
  virtual Status Write(uint64_t offset, std::span<const uint8_t> source, bool fua) = 0;
  // Discard: the range reads as zeros afterwards (we always punch, never ignore).
  virtual Status Trim(uint64_t offset, uint64_t length, bool fua) = 0;
  virtual Status WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) = 0;
  // Every write completed before the call is on stable storage when it returns OK.
  virtual Status Flush() = 0;
  // For event loops that write asynchronously (env::IoQueue): does this layer's bookkeeping
  // for a write of [offset, offset + length) (change tracking first, as Write does) and
  // returns the File the bytes belong in at the same offset, or nullptr when the write must
  // go through Write(). After a non-null return the caller writes the data itself; if that
  // fails the region stays marked, which only costs a little extra resync.
  virtual env::File* PrepareAsyncWrite(uint64_t offset, uint64_t length) { return nullptr; }
  // For zero-copy senders: the File holding the bytes Read would return for [offset, offset +
  // length) at the same offset, or nullptr when they must come through Read() (a layer that
  // maps blocks elsewhere, such as a snapshot's copy-on-write, answers nullptr or its file).
  virtual env::File* FileForRead(uint64_t offset, uint64_t length) { return nullptr; }
  // Appends up to max_runs runs describing [offset, offset+length) contiguously from offset.
  // The runs may stop short of the end (a client asks again); at least one run is returned.
  virtual Status BlockStatus(uint64_t offset, uint64_t length, size_t max_runs,
                             std::vector<Allocation>& out) = 0;
};

}  // namespace fb::store
