// firebreak fault: injects or heals a fault on a running node through its admin socket,
// e.g. `firebreak fault --config C --node n1 block n2 both` cuts n1's replication traffic
// with n2 (a partition as n1 sees it); `... heal n2` restores it. The seam fire drills use.
#include <cstdio>

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

int RunFault(const FaultFlags& f) {
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  auto index = NodeIndex(*config, f.node);
  if (!index.ok()) return Fail(index.status());
  std::string line;
  for (const auto& w : f.words) line += (line.empty() ? "" : " ") + w;
  auto command = admin::ParseCommand(line);
  if (!command.ok()) return Fail(command.status());
  auto reply = AskAdmin(server::ReplNode::AdminSocketPath(config->nodes[*index].dir),
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
