// Status -> NBD error number: the one mapping table (NBD.md 1.6). Host errno values never
// reach the wire; a code with no better meaning becomes EIO.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace fb::nbd {
// `command` is the NBD_CMD_* type, because the same store error means different things per
// command (out of space is ENOSPC for WRITE; kUnimplemented is ENOTSUP only for FAST_ZERO).
uint32_t NbdError(const Status& status, uint16_t command, uint16_t flags);
}  // namespace fb::nbd
