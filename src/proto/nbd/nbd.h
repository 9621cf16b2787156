// NBD protocol codec: what the part is for.
// Sans-IO: bytes in, bytes and decisions out. No sockets, threads or clocks here, so every
// protocol rule is unit-tested and fuzzed without a network. The runtime (src/server) moves
// the bytes. Files follow the protocol's phases, like nbdkit's:
//   wire.h        magic numbers, flags, sizes (the wire in prose next to the constants)
//   export.h      ExportInfo/ExportCatalog (what the handshake may offer) and Negotiated
//   handshake.h   fixed-newstyle option haggling up to transmission
//   request.h     transmission request decoding and validation
//   reply.h       simple and structured reply encoding
//   errno_map.h   Status -> NBD error number, the one mapping table (and back, for a client)
// and the client's side, for firebreak attach talking to a node:
//   client_handshake.h  fixed newstyle from the client's end (SR, base:allocation, GO)
//   client_reply.h      simple and structured reply decoding, one event at a time
#pragma once

#include "proto/nbd/client_handshake.h"
#include "proto/nbd/client_reply.h"
#include "proto/nbd/errno_map.h"
#include "proto/nbd/export.h"
#include "proto/nbd/handshake.h"
#include "proto/nbd/reply.h"
#include "proto/nbd/request.h"
#include "proto/nbd/wire.h"
