// Status -> NBD error number, the one mapping table (NBD.md 1.6, 1.12). Anything without a
// more precise meaning is EIO; ESHUTDOWN is never produced (qemu 7.2 turns it into a
// guest-visible I/O error instead of reconnecting, which defeats HA switchover).
#include "proto/nbd/errno_map.h"

#include <string>

#include "base/assert.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

// Commands whose failure for lack of space is ENOSPC. FLUSH is among them: on thin storage a
// flush can run out of space, and ENOSPC lets qemu pause the guest (werror=enospc) rather
// than fail it, where EIO would not.
bool CanRunOutOfSpace(uint16_t command) {
  return command == kCmdWrite || command == kCmdWriteZeroes || command == kCmdTrim ||
         command == kCmdFlush;
}

bool WritesRange(uint16_t command) { return command == kCmdWrite || command == kCmdWriteZeroes; }

}  // namespace

uint32_t NbdError(const Status& status, uint16_t command, uint16_t flags) {
  uint32_t error = kEio;
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kResourceExhausted:
      error = CanRunOutOfSpace(command) ? kEnospc : kEio;
      break;
    case Code::kPermissionDenied:
      error = kEperm;
      break;
    case Code::kInvalidArgument:
      error = kEinval;
      break;
    // Past the end is ENOSPC for writes and EINVAL otherwise, matching what Validate answers
    // for the same request before it reaches the store.
    case Code::kOutOfRange:
      error = WritesRange(command) ? kEnospc : kEinval;
      break;
    // ENOTSUP is reserved for FAST_ZERO ("cannot zero fast"); anywhere else a client would not
    // know it, so the request was simply not valid for this export.
    case Code::kUnimplemented:
      error = (command == kCmdWriteZeroes && (flags & kCmdFlagFastZero)) ? kEnotsup : kEinval;
      break;
    default:
      error = kEio;
      break;  // fenced, unavailable, I/O, data loss, internal, ...
  }
  FB_ASSERT(error != 0);
  FB_ASSERT(error != kEshutdown);
  return error;
}

Status StatusFromNbdError(uint32_t error, std::string_view message) {
  FB_ASSERT(error != 0);
  const std::string_view what = message.empty() ? "the server gave no message" : message;
  switch (error) {
    case kEperm:
      return Status::PermissionDenied("server replied EPERM", what);
    case kEinval:
      return Status::InvalidArgument("server replied EINVAL", what);
    case kEnospc:
      return Status::ResourceExhausted("server replied ENOSPC", what);
    case kEnotsup:
      return Status::Unimplemented("server replied ENOTSUP", what);
    case kEio:
      return Status::IOError("server replied EIO", what);
    case kEnomem:
    case kEoverflow:
    case kEshutdown:
      return Status::IOError("server replied errno " + std::to_string(error), what);
    default:
      // NBD.md 1.6: clients treat values they do not know as EINVAL.
      return Status::InvalidArgument("server replied unknown error " + std::to_string(error), what);
  }
}

}  // namespace fb::nbd
