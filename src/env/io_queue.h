// IoQueue: asynchronous writes on Files for ONE event-loop thread (io_uring). Requests queued
// during a loop turn reach the kernel in one submission, so a burst of client writes costs one
// system call and one device notification instead of one each, and no thread hand-off.
// Not thread-safe: owned and used by a single loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "env/file.h"

namespace fb::env {

class IoQueue {
 public:
  struct Completion {
    uint64_t token = 0;
    Status status;     // the kernel's error, if any
    size_t bytes = 0;  // written; less than requested is a short write the caller finishes
  };

  virtual ~IoQueue() = default;
  // Queues a write of all of `source` at `offset`, durable at completion when fua. Returns
  // false (nothing queued) when this write cannot go asynchronously (unaligned, buffered file,
  // queue full); the caller then uses File::WriteAt on a worker. `source` must stay valid
  // until the completion carrying `token` is reaped.
  virtual bool Write(File& file, uint64_t offset, std::span<const uint8_t> source, bool fua,
                     uint64_t token) = 0;
  // Sends every queued request to the kernel.
  virtual void Submit() = 0;
  // Readable (an eventfd) when completions are ready.
  virtual int event_fd() const = 0;
  // Appends every ready completion (clears the eventfd).
  virtual void Reap(std::vector<Completion>& out) = 0;
  // Blocks until every submitted request has completed, appending their completions.
  virtual void Drain(std::vector<Completion>& out) = 0;
  virtual size_t inflight() const = 0;
};

// io_uring with `entries` submission slots; kUnavailable where io_uring is disabled.
Result<std::unique_ptr<IoQueue>> NewUringIoQueue(unsigned entries);

}  // namespace fb::env
