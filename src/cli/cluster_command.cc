// firebreak up: a whole local replicated cluster (coordinator + nodes) in the foreground.
// firebreak status: what the coordinator and every node say, loud when redundancy is lost.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/units.h"
#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "cli/supervisor.h"
#include "env/file.h"
#include "server/coord_client.h"
#include "server/repl_node.h"

namespace fb::cli {
namespace {

struct UpFlags {
  std::string dir = "/var/lib/firebreak/cluster";
  int nodes = 2;
  std::vector<std::string> volumes{"vm1=4GiB"};
  int base_port = 10809;
  std::string log_level = "info";
};

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "firebreak";
}

Result<config::ClusterConfig> NewLocalConfig(const UpFlags& f) {
  config::ClusterConfig c;
  c.name = "local";
  FB_ASSIGN_OR_RETURN(c.coordinator,
                      net::ParseAddress("127.0.0.1:" + std::to_string(f.base_port + 200)));
  for (int i = 0; i < f.nodes; ++i) {
    config::NodeConfig n;
    n.id = "n" + std::to_string(i + 1);
    FB_ASSIGN_OR_RETURN(n.nbd, net::ParseAddress("127.0.0.1:" + std::to_string(f.base_port + i)));
    FB_ASSIGN_OR_RETURN(n.repl,
                        net::ParseAddress("127.0.0.1:" + std::to_string(f.base_port + 100 + i)));
    n.dir = f.dir + "/" + n.id;
    c.nodes.push_back(std::move(n));
  }
  for (const auto& text : f.volumes) {
    size_t eq = text.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--volume wants NAME=SIZE", text);
    config::VolumeConfig v;
    v.name = text.substr(0, eq);
    FB_ASSIGN_OR_RETURN(v.size_bytes, ParseSize(text.substr(eq + 1)));
    v.replicas = f.nodes;
    // A local demo cluster keeps serving on one copy after a failure (loudly: status says
    // DEGRADED and exits 2); refuse-writes would stop all writes until the copy returns.
    v.degraded = config::DegradedPolicy::kAllowWrites;
    c.volumes.push_back(std::move(v));
  }
  FB_TRY(config::ValidateClusterConfig(c));
  return c;
}

int RunUp(const UpFlags& f) {
  if (f.nodes < 2 || f.nodes > 3) return Fail(Status::InvalidArgument("--nodes must be 2 or 3"));
  env::FileSystem& fs = env::PosixFileSystem();
  const std::string config_path = f.dir + "/cluster.toml";
  if (Status s = fs.CreateDirs(f.dir + "/logs"); !s.ok()) return Fail(s);
  config::ClusterConfig config;
  if (fs.Exists(config_path)) {  // an existing cluster: start it again as it was
    auto loaded = LoadClusterConfig(config_path);
    if (!loaded.ok()) return Fail(loaded.status());
    config = *loaded;
    std::printf("firebreak up: restarting the cluster in %s\n", config_path.c_str());
  } else {
    auto fresh = NewLocalConfig(f);
    if (!fresh.ok()) return Fail(fresh.status());
    config = *fresh;
    for (size_t i = 0; i < config.nodes.size(); ++i) {
      if (Status s = InitNewNode(config, i); !s.ok()) return Fail(s);
    }
    if (Status s = fs.WriteSmallFileDurably(config_path, config::FormatClusterConfig(config));
        !s.ok()) {
      return Fail(s);
    }
    std::printf("firebreak up: wrote %s\n", config_path.c_str());
  }
  Supervisor supervisor;
  const std::string exe = SelfExe();
  Status s = supervisor.Spawn({"coordinator",
                               {exe, "coordinator", "--config", config_path},
                               f.dir + "/logs/coordinator.log"});
  for (size_t i = 0; s.ok() && i < config.nodes.size(); ++i) {
    const auto& n = config.nodes[i];
    s = supervisor.Spawn({n.id,
                          {exe, "serve", "--config", config_path, "--node", n.id,
                           "--log-level", f.log_level},
                          f.dir + "/logs/" + n.id + ".log"});
  }
  if (!s.ok()) {
    supervisor.StopAll(2000);
    return Fail(s);
  }
  std::printf("firebreak up: coordinator at %s\n", config.coordinator.ToString().c_str());
  for (const auto& n : config.nodes) {
    std::printf("firebreak up: node %s: nbd %s, replication %s, data %s\n", n.id.c_str(),
                n.nbd.ToString().c_str(), n.repl.ToString().c_str(), n.dir.c_str());
  }
  for (const auto& v : config.volumes) {
    std::printf("firebreak up: volume %s (%s, %d copies); the primary serves it, e.g.\n"
                "  qemu-io -f raw -c 'write -P 0xa5 0 1M' -c 'read -P 0xa5 0 1M' %s\n",
                v.name.c_str(), FormatSize(v.size_bytes).c_str(), v.replicas,
                config.nodes[0].nbd.NbdUri(v.name).c_str());
  }
  std::printf("firebreak up: status: %s status --config %s   (Ctrl-C stops the cluster)\n",
              exe.c_str(), config_path.c_str());
  std::fflush(stdout);
  supervisor.WaitForStop();
  std::printf("firebreak up: stopping\n");
  supervisor.StopAll(5000);
  return 0;
}

}  // namespace

Runner AddUpCommand(CLI::App& app) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* cmd = app.add_subcommand(
      "up", "Run a local replicated cluster (coordinator + nodes) until Ctrl-C");
  cmd->add_option("--dir", flags->dir, "Cluster directory (config, node data, logs)")
      ->capture_default_str();
  cmd->add_option("--nodes", flags->nodes, "Data nodes: 2 or 3")->capture_default_str();
  cmd->add_option("--volume", flags->volumes, "NAME=SIZE, replicated on every node (repeatable)")
      ->capture_default_str();
  cmd->add_option("--base-port", flags->base_port,
                  "Node i serves NBD on base+i, replication on base+100+i; coordinator base+200")
      ->capture_default_str();
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error")
      ->capture_default_str();
  return [flags] { return RunUp(*flags); };
}

}  // namespace fb::cli
