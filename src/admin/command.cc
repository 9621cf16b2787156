// Admin command parsing: strict, bounded, whitespace-separated words.
#include "admin/command.h"

#include <sstream>
#include <vector>

namespace fb::admin {

Result<Command> ParseCommand(std::string_view line) {
  if (line.size() > kMaxCommandBytes) return Status::InvalidArgument("command too long");
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::istringstream in{std::string(line)};
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) return Status::InvalidArgument("empty command");
  Command c;
  if (words[0] == "ping" && words.size() == 1) return c;
  if (words[0] == "block" && words.size() == 3) {
    c.kind = Command::Kind::kBlock;
    c.peer = words[1];
    if (words[2] == "in") {
      c.inbound = true;
    } else if (words[2] == "out") {
      c.outbound = true;
    } else if (words[2] == "both") {
      c.inbound = c.outbound = true;
    } else {
      return Status::InvalidArgument("block PEER in|out|both", line);
    }
    return c;
  }
  if (words[0] == "heal" && words.size() == 2) {
    c.kind = Command::Kind::kHeal;
    c.peer = words[1];
    return c;
  }
  if (words[0] == "switchover" && words.size() == 3) {
    c.kind = Command::Kind::kSwitchover;
    c.volume = words[1];
    c.peer = words[2];
    return c;
  }
  return Status::InvalidArgument(
      "unknown command (ping, block PEER in|out|both, heal PEER, switchover VOLUME TARGET)",
      line);
}

std::string FormatCommand(const Command& c) {
  switch (c.kind) {
    case Command::Kind::kPing: return "ping";
    case Command::Kind::kHeal: return "heal " + c.peer;
    case Command::Kind::kSwitchover: return "switchover " + c.volume + " " + c.peer;
    case Command::Kind::kBlock:
      return "block " + c.peer + " " +
             (c.inbound && c.outbound ? "both" : c.inbound ? "in" : "out");
  }
  return "ping";
}

}  // namespace fb::admin
