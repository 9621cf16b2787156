// Dispatch: executes one validated NBD request against a Volume. Called on a disk worker (or
// on the loop thread for a cached read). The protocol layer validated the request; here we
// assert what it promised (nbdkit's validate-at-the-edge, assert-inside pairing).
#pragma once

#include <vector>

#include "base/status.h"
#include "proto/nbd/request.h"
#include "store/volume.h"

namespace fb::server {

// `data` is the WRITE payload or the READ target (exactly request.length bytes, else empty).
// BLOCK_STATUS results land in `runs`.
Status Execute(store::Volume& volume, const nbd::Request& request, std::span<uint8_t> data,
               std::vector<store::Allocation>& runs);

}  // namespace fb::server
