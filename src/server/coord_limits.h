// Every limit of the coordinator runtime (coord_service: the witness; coord_client: its
// nodes and admin tools), in one place, with the relations between them checked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "coord/wire.h"

namespace fb::server {

// Connections the witness serves at once (nodes reconnecting, plus admin queries); more are
// closed at accept.
inline constexpr size_t kCoordMaxConnections = 256;
// Encoded frames waiting to be written on one connection, in bytes. A peer that stops
// reading long enough to fill it is closed (witness) or its requests are dropped (client).
inline constexpr size_t kCoordSendQueueBytesMax = 1u << 20;
// A connection must say Hello this soon after it is accepted.
inline constexpr int64_t kCoordHelloTimeoutMs = 2'000;
// A connection that sends nothing for this long is closed (nodes heartbeat far more often).
inline constexpr int64_t kCoordIdleTimeoutMs = 30'000;
// While the state file cannot be written, the witness sends nothing and retries this often.
inline constexpr int64_t kCoordPersistRetryMs = 100;
// Client: reconnect backoff doubles from the first value to the second.
inline constexpr int64_t kCoordReconnectMinMs = 20;
inline constexpr int64_t kCoordReconnectMaxMs = 500;
// Client: a connect (resolution included) that takes longer is abandoned and retried.
inline constexpr int64_t kCoordConnectTimeoutMs = 1'000;
// Client: requests sent and no frame back for this long means a dead connection.
inline constexpr int64_t kCoordReplyTimeoutMs = 3'000;

static_assert(kCoordSendQueueBytesMax >= 4 * coord::kFrameBytesMax);
static_assert(kCoordReconnectMinMs > 0 && kCoordReconnectMinMs <= kCoordReconnectMaxMs);
static_assert(kCoordHelloTimeoutMs < kCoordIdleTimeoutMs);

}  // namespace fb::server
