// firebreak fault: injects or heals a fault on a running node through its admin socket,
// e.g. `firebreak fault --config C --node n1 block n2 both` cuts n1's replication traffic
// with n2 (a partition as n1 sees it); `... heal n2` restores it. The seam fire drills use.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "admin/command.h"
#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "server/repl_node.h"

namespace fb::cli {
namespace {

struct FaultFlags {
  std::string config;
  std::string node;
  std::vector<std::string> words;
};

Result<std::string> Ask(const std::string& path, const std::string& line) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket", std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return Status::Unavailable("admin socket " + path, std::strerror(err));
  }
  std::string out = line + "\n";
  bool sent = write(fd, out.data(), out.size()) == ssize_t(out.size());
  std::string reply;
  char c;
  while (sent && reply.size() < 1024 && read(fd, &c, 1) == 1 && c != '\n') reply.push_back(c);
  close(fd);
  if (!sent || reply.empty()) return Status::Unavailable("no answer from", path);
  return reply;
}

int RunFault(const FaultFlags& f) {
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  auto index = NodeIndex(*config, f.node);
  if (!index.ok()) return Fail(index.status());
  std::string line;
  for (const auto& w : f.words) line += (line.empty() ? "" : " ") + w;
  auto command = admin::ParseCommand(line);
  if (!command.ok()) return Fail(command.status());
  auto reply = Ask(server::ReplNode::AdminSocketPath(config->nodes[*index].dir),
                   admin::FormatCommand(*command));
  if (!reply.ok()) return Fail(reply.status());
  std::printf("%s: %s\n", f.node.c_str(), reply->c_str());
  return reply->rfind("ok", 0) == 0 ? 0 : 1;
}

}  // namespace

Runner AddFaultCommand(CLI::App& app) {
  auto flags = std::make_shared<FaultFlags>();
  CLI::App* cmd = app.add_subcommand(
      "fault", "Inject or heal a fault on a running node: block PEER in|out|both, heal PEER");
  cmd->add_option("--config", flags->config, "Cluster config (cluster.toml)")->required();
  cmd->add_option("--node", flags->node, "The node to act on")->required();
  cmd->add_option("command", flags->words, "ping | block PEER in|out|both | heal PEER")
      ->required();
  return [flags] { return RunFault(*flags); };
}

}  // namespace fb::cli
