// Actions: what the attach core (forwarder.h) asks its runtime to do. The runtime performs
// them in order and reports back through the core's On* inputs; nothing here performs I/O.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"

namespace fb::attach {

// Every upstream connection (an attempt, later maybe the upstream) has an id never reused.
using ConnId = uint64_t;

// Open a connection to node `node` (index in the cluster config) and run the client handshake;
// report OnConnected or OnClosed for `conn`.
struct Connect {
  ConnId conn = 0;
  int node = -1;
};

// Close `conn` at once (an attempt, a probe, or an upstream we leave). The core forgets it:
// nothing more is reported for it.
struct Close {
  ConnId conn = 0;
};

// Send the request held in `slot` on upstream `conn` under `cookie` (header, then the WRITE
// payload the runtime keeps for the slot).
struct Send {
  ConnId conn = 0;
  uint32_t slot = 0;
  uint64_t cookie = 0;
};

// The request in `slot` is finished: answer the client with `status` (READ data and
// BLOCK_STATUS extents were delivered into the slot's buffers as the reply arrived). The slot
// may be reused after this; drop its buffers.
struct Complete {
  uint32_t slot = 0;
  Status status;
};

// Something an operator should see in the log (failover, give-up, export mismatch).
struct Notice {
  bool loud = false;  // warn level; otherwise info
  std::string text;
};

using Action = std::variant<Connect, Close, Send, Complete, Notice>;
using Actions = std::vector<Action>;

}  // namespace fb::attach
