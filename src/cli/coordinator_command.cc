// firebreak coordinator: runs the cluster's witness (server/coord_service) on the config's
// coordinator address until SIGINT/SIGTERM, keeping its state file durable; promotions and
// in-sync commits are logged to stderr.
#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "config/cluster_config.h"
#include "env/file.h"
#include "server/coord_service.h"
#include "server/log.h"

namespace fb::cli {
namespace {

struct CoordinatorFlags {
  std::string config;
  std::string state;  // default: coordinator.state next to the config
  std::string log_level = "info";
};

int PrintFailure(const Status& s) {
  std::fprintf(stderr, "firebreak: coordinator: %s\n", s.ToString().c_str());
  return 1;
}

std::string DefaultStatePath(const std::string& config_path) {
  std::filesystem::path dir = std::filesystem::path(config_path).parent_path();
  return (dir.empty() ? std::filesystem::path(".") : dir) / "coordinator.state";
}

int RunCoordinator(const CoordinatorFlags& f) {
  server::MinLogLevel() = server::ParseLogLevel(f.log_level);
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return PrintFailure(config.status());
  const std::string state = f.state.empty() ? DefaultStatePath(f.config) : f.state;
  asio::io_context io(1);
  auto service = server::CoordService::Create(io, std::move(config).value(), state);
  if (!service.ok()) return PrintFailure(service.status());
  if (Status s = (*service)->Start(); !s.ok()) return PrintFailure(s);
  std::printf("firebreak: coordinator listening on %s (state %s)\n",
              (*service)->address().ToString().c_str(), state.c_str());
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signo) {
    if (ec) return;
    server::Log(server::LogLevel::kInfo, "signal {}: coordinator shutting down", signo);
    (*service)->Shutdown();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

Runner AddCoordinatorCommand(CLI::App& app) {
  auto flags = std::make_shared<CoordinatorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "coordinator", "Run the cluster's coordinator (witness) until SIGINT/SIGTERM");
  cmd->add_option("--config", flags->config, "Cluster config (TOML)")->required();
  cmd->add_option("--state", flags->state,
                  "State file that keeps epochs across restarts (default: coordinator.state "
                  "next to the config)");
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  return [flags] { return RunCoordinator(*flags); };
}

}  // namespace fb::cli
