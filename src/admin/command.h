// Admin commands: the control API a running node answers on its admin socket
// (DIR/admin.sock), one line in, one line out. Pure parsing and formatting here; the socket
// lives in src/server/admin_endpoint. These are the seams fire drills inject faults through.
//   ping                          -> ok
//   block PEER in|out|both        -> ok   (drop replication traffic with node PEER)
//   heal PEER                     -> ok   (stop dropping it)
//   switchover VOLUME TARGET      -> ok   (planned handover of VOLUME to node TARGET; the
//                                          primary drains, then the coordinator promotes)
// PEER is a node id from the cluster config (n1, n2, ...). Errors answer "error: why".
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace fb::admin {

struct Command {
  enum class Kind { kPing, kBlock, kHeal, kSwitchover };
  Kind kind = Kind::kPing;
  std::string peer;    // block/heal: the peer; switchover: the target
  std::string volume;  // switchover
  bool inbound = false;
  bool outbound = false;
};

inline constexpr size_t kMaxCommandBytes = 256;

Result<Command> ParseCommand(std::string_view line);
std::string FormatCommand(const Command& command);

}  // namespace fb::admin
