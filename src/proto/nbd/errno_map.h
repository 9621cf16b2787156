// Status -> NBD error number: the one mapping table (NBD.md 1.6). Host errno values never
// reach the wire; a code with no better meaning becomes EIO.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace fb::nbd {
// `command` is the NBD_CMD_* type, because the same store error means different things per
// command (out of space is ENOSPC for WRITE; kUnimplemented is ENOTSUP only for FAST_ZERO).
uint32_t NbdError(const Status& status, uint16_t command, uint16_t flags);
// The other way, for a client relaying a server's error reply (firebreak attach): a Status that
// NbdError turns back into the same number for the same command, so a genuine EIO, EPERM,
// EINVAL, ENOSPC (commands that write) or ENOTSUP (FAST_ZERO) passes through unchanged. Other
// numbers have no such Status and become EIO (ENOSPC on a READ) or EINVAL (an unknown value,
// as the spec tells clients to read it). `message` is the server's text, if any.
Status StatusFromNbdError(uint32_t error, std::string_view message);
}  // namespace fb::nbd
