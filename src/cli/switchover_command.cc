// firebreak switchover: a planned handover of one volume to an in-sync replica, e.g. before
// restarting the primary's node for an upgrade. It asks the primary (admin socket) to hand
// over; the primary turns new requests away by closing their connections (clients such as
// `firebreak attach` and qemu with reconnect-delay re-send them), lets the requests in flight
// finish, gives up its lease and has the coordinator promote the target at once. No client
// sees an error. Prints how long the volume had no primary.
#include <chrono>
#include <cstdio>
#include <thread>

#include "admin/command.h"
#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "server/coord_client.h"
#include "server/repl_node.h"

namespace fb::cli {
namespace {

struct SwitchoverFlags {
  std::string config;
  std::string volume;
  std::string to;
  double timeout_s = 10;
};

// The coordinator's record for `volume`, and which nodes are live and hold data.
struct View {
  coord::VolumeRecord record;
  coord::NodeMask usable = 0;
};

Result<View> Look(const config::ClusterConfig& c, size_t volume_index) {
  auto reply = server::QueryCoordinatorStatus(c.coordinator, 2000);
  if (!reply.ok()) return reply.status();
  View view;
  bool found = false;
  for (const auto& r : reply->volumes) {
    if (r.volume == volume_index + 1) view.record = r, found = true;
  }
  if (!found) return Status::NotFound("the coordinator has no record of volume",
                                      c.volumes[volume_index].name);
  for (const auto& n : reply->nodes) {
    if (n.live && !n.blank && n.node < coord::kMaxNodes) view.usable |= coord::Bit(n.node);
  }
  return view;
}

int RunSwitchover(const SwitchoverFlags& f) {
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  size_t vi = config->volumes.size();
  for (size_t i = 0; i < config->volumes.size(); ++i) {
    if (config->volumes[i].name == f.volume) vi = i;
  }
  if (vi == config->volumes.size()) return Fail(Status::NotFound("no volume", f.volume));
  auto view = Look(*config, vi);
  if (!view.ok()) return Fail(view.status());
  const coord::VolumeRecord before = view->record;
  if (before.primary >= config->nodes.size()) {
    return Fail(Status::FailedPrecondition("volume " + f.volume + " has no primary now"));
  }
  coord::NodeId target = coord::kNoNode;
  if (!f.to.empty()) {
    auto index = NodeIndex(*config, f.to);
    if (!index.ok()) return Fail(index.status());
    target = coord::NodeId(*index);
  } else {
    for (coord::NodeId n = 0; n < config->nodes.size(); ++n) {
      if (n != before.primary && coord::Has(before.in_sync & view->usable, n)) {
        target = n;
        break;
      }
    }
  }
  const std::string& from_id = config->nodes[before.primary].id;
  if (target == coord::kNoNode) {
    return Fail(Status::FailedPrecondition("no live in-sync replica of " + f.volume +
                                           " to hand it to (see firebreak status)"));
  }
  if (target == before.primary) {
    std::printf("%s: %s is already the primary\n", f.volume.c_str(), from_id.c_str());
    return 0;
  }
  const std::string& to_id = config->nodes[target].id;
  if (!coord::Has(before.in_sync & view->usable, target)) {
    return Fail(Status::FailedPrecondition(to_id + " is not a live in-sync replica of " +
                                           f.volume + " (see firebreak status)"));
  }
  admin::Command command;
  command.kind = admin::Command::Kind::kSwitchover;
  command.volume = f.volume;
  command.peer = to_id;
  auto t0 = std::chrono::steady_clock::now();
  auto reply = AskAdmin(server::ReplNode::AdminSocketPath(config->nodes[before.primary].dir),
                        admin::FormatCommand(command));
  if (!reply.ok()) return Fail(reply.status());
  if (reply->rfind("ok", 0) != 0) {
    std::fprintf(stderr, "firebreak: %s refused: %s\n", from_id.c_str(), reply->c_str());
    return 1;
  }
  // Done when the coordinator names the target primary of a newer epoch.
  auto deadline = t0 + std::chrono::duration<double>(f.timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto now_view = Look(*config, vi);
    if (now_view.ok() && now_view->record.epoch > before.epoch &&
        now_view->record.primary == target) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            t0).count();
      std::printf("%s: primary %s -> %s (epoch %llu -> %llu) in %.0f ms\n", f.volume.c_str(),
                  from_id.c_str(), to_id.c_str(), (unsigned long long)before.epoch,
                  (unsigned long long)now_view->record.epoch, ms);
      return 0;
    }
    if (now_view.ok() && now_view->record.epoch > before.epoch) {
      std::fprintf(stderr, "firebreak: the volume moved elsewhere: primary is node %u\n",
                   now_view->record.primary);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::fprintf(stderr, "firebreak: %s did not become primary of %s within %.0f s\n",
               to_id.c_str(), f.volume.c_str(), f.timeout_s);
  return 1;
}

}  // namespace

Runner AddSwitchoverCommand(CLI::App& app) {
  auto flags = std::make_shared<SwitchoverFlags>();
  CLI::App* cmd = app.add_subcommand(
      "switchover", "Hand a volume to an in-sync replica (planned; no client sees an error)");
  cmd->add_option("--config", flags->config, "Cluster config (cluster.toml)")->required();
  cmd->add_option("--volume", flags->volume, "The volume to move")->required();
  cmd->add_option("--to", flags->to, "Target node (default: the first live in-sync replica)");
  cmd->add_option("--timeout", flags->timeout_s, "Seconds to wait for the new primary");
  return [flags] { return RunSwitchover(*flags); };
}

}  // namespace fb::cli
