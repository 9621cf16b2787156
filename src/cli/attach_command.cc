// firebreak attach: a local NBD endpoint for one volume of a cluster that always leads to the
// current primary. It finds the primary, presents its export unchanged (size, flags, block
// sizes, base:allocation) on a unix socket or TCP address, and forwards every request; across
// a failover it holds requests and re-sends them (src/attach, docs/attach.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "attach/export_mirror.h"
#include "base/units.h"
#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "net/address.h"
#include "server/log.h"
#include "server/server.h"
#include "server/upstream_router.h"

namespace fb::cli {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerS = 1'000'000'000;

struct AttachFlags {
  std::string config;
  std::string volume;
  std::string socket;
  std::vector<std::string> listen;
  double give_up_s = 60;
  int64_t stall_timeout_ms = 0;  // 0: from the cluster's timing
  int64_t connect_timeout_ms = 500;
  uint32_t max_pending = 1024;
  std::string memory = "256MiB";
  int poll_us = server::kDefaultPollMicros;
  double startup_timeout_s = 30;
  std::string log_level = "info";
};

// attach serves no local volume: the catalog's export is routed, never looked up.
class NoVolumes final : public server::VolumeLookup {
 public:
  store::Volume* FindVolume(std::string_view) override { return nullptr; }
};

Result<server::UpstreamOptions> UpstreamFor(const config::ClusterConfig& config,
                                            const AttachFlags& f) {
  const config::VolumeConfig* volume = config.FindVolume(f.volume);
  if (volume == nullptr) return Status::NotFound("no such volume in the cluster config", f.volume);
  server::UpstreamOptions options;
  options.volume = volume->name;
  // The first `replicas` nodes of the config hold a volume (cli/cluster_setup.h).
  for (size_t i = 0; i < config.nodes.size() && int(i) < volume->replicas; ++i) {
    options.nodes.push_back({config.nodes[i].id, config.nodes[i].nbd});
  }
  attach::Knobs& k = options.knobs;
  const config::Timing& t = config.timing;
  // A successor can exist once the lease and its margin ran out; two heartbeats of slack.
  const int64_t failover_ms = int64_t(t.lease_ms) + t.margin_ms + 2 * int64_t(t.heartbeat_ms);
  k.stall_timeout_ns = (f.stall_timeout_ms > 0 ? f.stall_timeout_ms : failover_ms) * kNsPerMs;
  k.stall_timeout_max_ns = std::max(k.stall_timeout_max_ns, k.stall_timeout_ns);
  k.connect_timeout_ns = f.connect_timeout_ms * kNsPerMs;
  k.give_up_ns = int64_t(f.give_up_s * double(kNsPerS));
  k.max_pending = f.max_pending;
  return options;
}

// Runs a throwaway router on its own io_context until some node accepts GO: the export to
// present must be known before the first client connects.
Result<nbd::Negotiated> FindPrimaryExport(const server::UpstreamOptions& options,
                                          double timeout_s) {
  asio::io_context io(1);
  server::UpstreamRouter probe(io, options);
  probe.Start();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(timeout_s * 1000));
  while (!probe.reference() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
  }
  std::optional<nbd::Negotiated> found = probe.reference();
  probe.Stop();
  io.poll();
  if (!found) {
    return Status::Unavailable("no node of the cluster accepted NBD_OPT_GO for " + options.volume,
                               "within " + std::to_string(int(timeout_s)) + " s");
  }
  return *found;
}

Result<std::vector<net::Address>> ListenAddresses(const AttachFlags& f) {
  std::vector<net::Address> out;
  if (!f.socket.empty()) {
    FB_ASSIGN_OR_RETURN(net::Address a, net::ParseAddress("unix:" + f.socket));
    out.push_back(a);
  }
  for (const std::string& text : f.listen) {
    FB_ASSIGN_OR_RETURN(net::Address a, net::ParseAddress(text));
    out.push_back(a);
  }
  if (out.empty()) return Status::InvalidArgument("give --socket PATH or --listen ADDR");
  return out;
}

int RunAttach(const AttachFlags& f) {
  server::MinLogLevel() = server::ParseLogLevel(f.log_level);
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  auto upstream = UpstreamFor(*config, f);
  if (!upstream.ok()) return Fail(upstream.status());
  auto listen = ListenAddresses(f);
  if (!listen.ok()) return Fail(listen.status());
  auto memory = ParseSize(f.memory);
  if (!memory.ok()) return Fail(memory.status());
  // One maximal request per connection must always fit (server/limits.h).
  if (*memory < server::kMaxInflightBytesPerConnection) {
    return Fail(Status::InvalidArgument("--memory must be at least 64 MiB", f.memory));
  }

  auto primary = FindPrimaryExport(*upstream, f.startup_timeout_s);
  if (!primary.ok()) return Fail(primary.status());
  auto info = attach::MirrorExport(*primary);
  if (!info.ok()) return Fail(info.status());
  upstream->reference = *primary;

  attach::MirrorCatalog catalog(*info);
  NoVolumes no_volumes;
  server::ServerOptions options;
  options.listen = *listen;
  options.io_threads = 1;  // the router and every client connection share one loop
  options.disk_workers = 1;
  options.memory_budget_bytes = *memory;
  options.poll = std::chrono::microseconds(f.poll_us);
  server::Server srv(options, catalog, no_volumes);
  server::UpstreamRouter router(srv.LoopIo(0), *upstream);
  srv.SetRouter(&router);
  if (Status s = srv.Start(); !s.ok()) return Fail(s);
  router.Start();
  asio::signal_set signals(srv.LoopIo(0), SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signo) {
    if (ec) return;
    // Stop without answering what is held: the clients' connections just close, so a client
    // with a reconnect delay (qemu) re-sends to the next attach instead of seeing EIO.
    server::Log(server::LogLevel::kInfo, "signal {}: stopping ({} requests held)", signo,
                router.stats().pending);
    srv.Stop();
  });
  for (const net::Address& a : srv.BoundAddresses()) {
    std::printf(
        "firebreak attach: %s (%s) at %s (pid %d), forwarding to the primary of %zu "
        "nodes\n",
        info->name.c_str(), FormatSize(info->size_bytes).c_str(), a.NbdUri(info->name).c_str(),
        int(getpid()), upstream->nodes.size());
  }
  std::fflush(stdout);
  srv.Run(/*handle_signals=*/false);
  router.Stop();  // the loop no longer runs: nothing it answers reaches a client
  return 0;
}

}  // namespace

Runner AddAttachCommand(CLI::App& app) {
  auto f = std::make_shared<AttachFlags>();
  CLI::App* cmd = app.add_subcommand(
      "attach",
      "Serve one volume of a cluster locally over NBD, forwarding to the current primary and "
      "riding through failovers (held requests are re-sent; clients see a pause, not an error)");
  cmd->add_option("--config", f->config, "Cluster config (cluster.toml)")->required();
  cmd->add_option("--volume", f->volume, "The volume to attach")->required();
  cmd->add_option("--socket", f->socket, "Serve on this unix socket (nbd+unix:///VOL?socket=PATH)");
  cmd->add_option("--listen", f->listen, "Serve on HOST:PORT or unix:PATH (repeatable)");
  cmd->add_option("--give-up", f->give_up_s,
                  "Seconds requests may wait without progress before they fail with EIO (and "
                  "new ones fail at once until a primary answers)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--stall-timeout-ms", f->stall_timeout_ms,
                  "No reply progress for this long: probe the nodes for a new primary "
                  "(default: lease + margin + 2 heartbeats from the config)")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));
  cmd->add_option("--connect-timeout-ms", f->connect_timeout_ms,
                  "A connect + handshake slower than this means the node hangs")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));
  cmd->add_option("--max-pending", f->max_pending,
                  "Requests held at once; over it attach stops reading its clients")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, attach::kMaxPendingLimit));
  cmd->add_option("--memory", f->memory, "Budget for request buffers (e.g. 256MiB)")
      ->capture_default_str();
  AddPollOption(*cmd, f->poll_us);
  cmd->add_option("--startup-timeout", f->startup_timeout_s,
                  "Seconds to find a primary at startup before giving up")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--log-level", f->log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  return [f] { return RunAttach(*f); };
}

}  // namespace fb::cli
