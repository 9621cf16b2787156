// Dispatch: one flat switch from NBD command to Volume call (nbdkit's protocol.c shape).
#include "server/dispatch.h"

#include "base/assert.h"
#include "proto/nbd/wire.h"
#include "server/limits.h"

namespace fb::server {

Status Execute(store::Volume& volume, const nbd::Request& request, std::span<uint8_t> data,
               std::vector<store::Allocation>& runs) {
  // Validated by nbd::Validate before we get here.
  FB_ASSERT(request.offset <= volume.size_bytes());
  FB_ASSERT(request.length <= volume.size_bytes() - request.offset ||
            request.type == nbd::kCmdFlush);
  const bool fua = (request.flags & nbd::kCmdFlagFua) != 0;
  switch (request.type) {
    case nbd::kCmdRead:
      FB_ASSERT(data.size() == request.length);
      return volume.Read(request.offset, data);
    case nbd::kCmdWrite:
      FB_ASSERT(data.size() == request.length);
      FB_ASSERT(!volume.read_only());
      return volume.Write(request.offset, data, fua);
    case nbd::kCmdFlush:
      // Durability: every write whose reply was sent before this FLUSH arrived completed
      // its pwrite on the shared file, on any connection; fdatasync covers them all. That is
      // what makes CAN_MULTI_CONN true.
      return volume.Flush();
    case nbd::kCmdTrim:
      FB_ASSERT(!volume.read_only());
      return volume.Trim(request.offset, request.length, fua);
    case nbd::kCmdWriteZeroes: {
      FB_ASSERT(!volume.read_only());
      store::ZeroOptions opts;
      opts.may_trim = (request.flags & nbd::kCmdFlagNoHole) == 0;
      opts.fast_only = (request.flags & nbd::kCmdFlagFastZero) != 0;
      opts.fua = fua;
      return volume.WriteZeroes(request.offset, request.length, opts);
    }
    case nbd::kCmdCache:
      return Status::Ok();  // a prefetch hint; the page cache already does read-ahead
    case nbd::kCmdBlockStatus: {
      size_t max_runs = (request.flags & nbd::kCmdFlagReqOne) ? 1 : kMaxBlockStatusRuns;
      runs.clear();
      FB_TRY(volume.BlockStatus(request.offset, request.length, max_runs, runs));
      FB_ASSERT(!runs.empty());
      return Status::Ok();
    }
    default:
      FB_UNREACHABLE();  // Validate rejects unknown commands
  }
}

}  // namespace fb::server
