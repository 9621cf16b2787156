// The one errno mapping. ENOSPC-like errors become kResourceExhausted so the NBD layer can
// answer ENOSPC; EAGAIN from a nowait read becomes kWouldBlock.
#include "env/posix_error.h"

#include <cerrno>
#include <cstring>

namespace fb::env {

Status PosixError(std::string_view context, int error_number) {
  std::string_view text = std::strerror(error_number);
  switch (error_number) {
    case ENOENT: return Status::NotFound(context, text);
    case EEXIST: return Status::AlreadyExists(context, text);
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return Status::ResourceExhausted(context, text);
    case EAGAIN: return Status::WouldBlock(context);
    case EOPNOTSUPP: return Status::Unimplemented(context, text);
    case EACCES:
    case EPERM:
    case EROFS: return Status::PermissionDenied(context, text);
    case EINVAL: return Status::InvalidArgument(context, text);
    default: return Status::IOError(context, text);
  }
}

}  // namespace fb::env
