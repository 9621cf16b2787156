// firebreak serve: open (or create) the volumes of a data directory and serve them over NBD
// until SIGINT/SIGTERM, then flush every volume so a clean stop loses nothing.
#include <unistd.h>

#include <cstdio>
#include <random>
#include <thread>

#include "base/units.h"
#include "cli/commands.h"
#include "env/file.h"
#include "net/address.h"
#include "server/log.h"
#include "server/server.h"
#include "server/volume_catalog.h"
#include "store/volume_set.h"
#include "cli/cluster_setup.h"
#include "server/repl_node.h"

namespace fb::cli {
namespace {

struct ServeFlags {
  std::vector<std::string> listen{"127.0.0.1:10809"};
  std::string config;  // a cluster node: everything below comes from the config
  std::string node;
  std::string dir;
  std::vector<std::string> volumes;
  int io_threads = 0;
  int disk_workers = server::kDefaultDiskWorkers;
  int poll_us = server::kDefaultPollMicros;
  std::string memory = "1GiB";
  std::string log_level = "info";
};


// Serves the stack until a signal; flushes the writable volumes on the way out.
int ServeUntilStopped(server::Server& srv, store::VolumeSet& volumes) {
  for (const auto& a : srv.BoundAddresses()) {
    for (store::Volume* v : volumes.volumes()) {
      std::printf("firebreak: serving %s (%s%s) at %s\n", v->name().c_str(),
                  FormatSize(v->size_bytes()).c_str(), v->read_only() ? ", read-only" : "",
                  a.NbdUri(v->name()).c_str());
    }
  }
  std::fflush(stdout);
  srv.Run(/*handle_signals=*/true);
  int rc = 0;
  for (store::Volume* v : volumes.volumes()) {
    if (v->read_only()) continue;
    if (Status s = v->Flush(); !s.ok()) rc = Fail(s);
  }
  server::Log(server::LogLevel::kInfo, "stopped; volumes flushed");
  return rc;
}

// `serve --config C --node ID`: one node of a replicated cluster.
int RunClusterNode(const ServeFlags& f) {
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  auto index = NodeIndex(*config, f.node);
  if (!index.ok()) return Fail(index.status());
  const config::NodeConfig& node = config->nodes[*index];
  auto volumes = OpenNodeVolumes(*config, *index);
  if (!volumes.ok()) return Fail(volumes.status());
  server::ReplNode repl(*config, repl::NodeId(*index), **volumes, node.dir);
  server::ServerOptions options;
  options.listen = {node.nbd};
  // One loop by default: it carries the replication core too, and every write of every
  // volume passes through that one state machine anyway. More loops only add parallel
  // local reads, at a thread hop per write for the connections they take.
  options.io_threads = f.io_threads > 0 ? f.io_threads : 1;
  options.disk_workers = f.disk_workers;
  options.poll = std::chrono::microseconds(f.poll_us);
  options.repl = &repl;
  server::VolumeCatalog catalog(**volumes, &repl);
  server::Server srv(options, catalog, catalog);
  // Stops the replication core before the server (and the loop it runs on) goes away.
  struct StopRepl {
    server::ReplNode& repl;
    ~StopRepl() { repl.Stop(); }
  } stop_repl{repl};
  if (Status s = repl.Start(srv.FirstLoop()); !s.ok()) return Fail(s);
  if (Status s = srv.Start(); !s.ok()) return Fail(s);
  server::Log(server::LogLevel::kInfo, "node {} (pid {}) up: nbd {}, repl {}", node.id,
              int(getpid()), node.nbd.ToString(), node.repl.ToString());
  int rc = ServeUntilStopped(srv, **volumes);
  repl.Stop();
  return rc;
}

int RunServe(const ServeFlags& f) {
  server::MinLogLevel() = server::ParseLogLevel(f.log_level);
  if (!f.config.empty()) return RunClusterNode(f);
  if (f.dir.empty()) return Fail(Status::InvalidArgument("--dir is required without --config"));
  server::ServerOptions options;
  for (const auto& text : f.listen) {
    auto address = net::ParseAddress(text);
    if (!address.ok()) return Fail(address.status());
    options.listen.push_back(*address);
  }
  std::vector<store::VolumeSpec> specs;
  for (const auto& text : f.volumes) {
    auto spec = server::ParseVolumeSpec(text);
    if (!spec.ok()) return Fail(spec.status());
    specs.push_back(*spec);
  }
  env::FileSystem& fs = env::PosixFileSystem();
  if (specs.empty()) {  // no --volume: serve every volume the directory already has
    auto names = store::VolumeSet::ListExisting(fs, f.dir);
    if (!names.ok()) return Fail(names.status());
    for (auto& n : *names) specs.push_back({n, std::nullopt, false});
    if (specs.empty()) return Fail(Status::InvalidArgument("no volumes: give --volume NAME=SIZE"));
  }
  auto memory = ParseSize(f.memory);
  if (!memory.ok()) return Fail(memory.status());
  options.memory_budget_bytes = *memory;
  options.io_threads = f.io_threads > 0 ? f.io_threads
                                        : int(std::max(2u, std::thread::hardware_concurrency()));
  options.disk_workers = f.disk_workers;
  options.poll = std::chrono::microseconds(f.poll_us);

  auto volumes = store::VolumeSet::Open(fs, f.dir, specs, RandomUuid);
  if (!volumes.ok()) return Fail(volumes.status());
  server::VolumeCatalog catalog(**volumes);
  server::Server srv(options, catalog, catalog);
  if (Status s = srv.Start(); !s.ok()) return Fail(s);
  return ServeUntilStopped(srv, **volumes);
}

}  // namespace

void AddPollOption(CLI::App& cmd, int& poll_us) {
  cmd.add_option("--poll-us", poll_us,
                 "Busy-poll window in microseconds: after serving, a loop keeps polling this "
                 "long for the next request before it sleeps (saves a wake-up per request at "
                 "low queue depth; costs CPU while idle-waiting). 0 never polls.")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
}

Runner AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve volumes over NBD until SIGINT/SIGTERM");
  cmd->add_option("--listen", flags->listen,
                  "Address to listen on: HOST:PORT or unix:PATH (repeatable)")
      ->capture_default_str();
  cmd->add_option("--config", flags->config,
                  "Cluster config (cluster.toml): serve as one node of a replicated cluster");
  cmd->add_option("--node", flags->node, "With --config: this node's id");
  cmd->add_option("--dir", flags->dir,
                  "Data directory; volumes live in DIR/volumes/ (required without --config)");
  cmd->add_option("--volume", flags->volumes,
                  "NAME=SIZE creates or reopens a volume (SIZE like 4GiB; a different size for "
                  "an existing volume is an error); NAME reopens one; add :ro to serve it "
                  "read-only. Repeatable. Default: every volume already in DIR. The first "
                  "volume is also the default export \"\".");
  cmd->add_option("--io-threads", flags->io_threads,
                  "Event-loop threads (default: one per CPU, at least 2; a cluster node: 1, shared "
                  "with its replication core)");
  cmd->add_option("--disk-workers", flags->disk_workers,
                  "Threads for blocking disk calls (writes, flushes, uncached reads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  AddPollOption(*cmd, flags->poll_us);
  cmd->add_option("--memory", flags->memory,
                  "Budget for request buffers across all connections (e.g. 1GiB)")
      ->capture_default_str();
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  return [flags] { return RunServe(*flags); };
}

}  // namespace fb::cli
