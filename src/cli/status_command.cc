// firebreak status: the coordinator's records (epoch, primary, in-sync set) joined with what
// each node reports about itself (pid, role, resync progress). Exit 0 healthy, 2 DEGRADED
// (fewer copies in sync than configured), 1 when the coordinator cannot be reached.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/units.h"
#include "cli/cluster_setup.h"
#include "cli/commands.h"
#include "env/file.h"
#include "server/coord_client.h"
#include "server/repl_node.h"

namespace fb::cli {
namespace {

struct StatusFlags {
  std::string config;
  bool json = false;
};

std::string MaskNames(const config::ClusterConfig& c, uint64_t mask) {
  std::string out;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    if (mask & (uint64_t(1) << i)) out += (out.empty() ? "" : ",") + c.nodes[i].id;
  }
  return "{" + out + "}";
}

nlohmann::json NodeReport(const config::NodeConfig& node) {
  auto text = env::PosixFileSystem().ReadSmallFile(server::ReplNode::StatusFilePath(node.dir));
  if (!text.ok()) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

nlohmann::json Collect(const config::ClusterConfig& c, const coord::StatusReply& reply,
                       bool* degraded) {
  nlohmann::json out;
  out["cluster"] = c.name;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const auto& n = c.nodes[i];
    nlohmann::json node{{"id", n.id}, {"nbd", n.nbd.ToString()}, {"reachable", false}};
    if (i < reply.nodes.size()) {
      node["reachable"] = reply.nodes[i].live;
      node["heartbeat_age_ms"] = reply.nodes[i].heartbeat_age_ms;
    }
    nlohmann::json self = NodeReport(n);
    if (!self.is_null()) {
      node["pid"] = self.value("pid", 0);
      node["volumes"] = self.value("volumes", nlohmann::json::array());
    }
    out["nodes"].push_back(std::move(node));
  }
  for (const auto& record : reply.volumes) {
    size_t index = size_t(record.volume - 1);
    if (index >= c.volumes.size()) continue;
    const auto& vc = c.volumes[index];
    // A member of S counts only while the coordinator sees it alive and holding data: a node
    // that died (or came back wiped) while no write was in flight is still in the record
    // until the next write makes the primary eject it, and must not be counted as a copy.
    uint64_t counted = record.in_sync;
    for (size_t i = 0; i < reply.nodes.size() && i < 64; ++i) {
      if (!reply.nodes[i].live || reply.nodes[i].blank) counted &= ~(uint64_t(1) << i);
    }
    int in_sync = std::popcount(counted);
    bool is_degraded = in_sync < vc.replicas;
    *degraded = *degraded || is_degraded;
    nlohmann::json v{{"name", vc.name},
                     {"size_bytes", vc.size_bytes},
                     {"epoch", record.epoch},
                     {"primary", record.primary < c.nodes.size()
                                     ? c.nodes[record.primary].id : std::string("none")},
                     {"in_sync", MaskNames(c, record.in_sync)},
                     {"copies_in_sync", in_sync},
                     {"copies_configured", vc.replicas},
                     {"degraded", is_degraded}};
    for (size_t i = 0; i < c.nodes.size() && i < size_t(vc.replicas); ++i) {
      std::string state = (record.in_sync >> i) & 1 ? "in-sync" : "stale";
      if (i < reply.nodes.size() && reply.nodes[i].blank) state = "blank (needs a full copy)";
      if (i < reply.nodes.size() && !reply.nodes[i].live) state = "down";
      nlohmann::json replica{{"node", c.nodes[i].id}, {"state", state}};
      // Resync progress comes from the primary's own report.
      const nlohmann::json& primary = out["nodes"][record.primary < c.nodes.size()
                                                       ? record.primary : 0];
      for (const auto& pv : primary.value("volumes", nlohmann::json::array())) {
        if (pv.value("name", "") != vc.name || i == record.primary) continue;
        for (const auto& l : pv.value("lags", nlohmann::json::array())) {
          if (l.value("node", -1) != int(i)) continue;
          replica["lag_unacked"] = l.value("unacked", uint64_t(0));
          replica["lag_ms"] = l.value("oldest_ms", 0.0);
        }
        if (state == "in-sync") continue;
        for (const auto& r : pv.value("resyncs", nlohmann::json::array())) {
          if (r.value("node", -1) != int(i)) continue;
          uint64_t done = r.value("bytes_done", uint64_t(0));
          uint64_t left = r.value("bytes_remaining", uint64_t(0));
          replica["state"] = state == "down" ? "down" : "resyncing";
          replica["resync_percent"] = done + left == 0 ? 100.0 : 100.0 * done / (done + left);
          replica["resync_bytes_remaining"] = left;
          replica["full_copy"] = r.value("full", false);
          uint64_t rate = r.value("rate_bytes_per_s", uint64_t(0));
          if (rate > 0) {
            replica["resync_rate_bytes_per_s"] = rate;
            replica["resync_eta_s"] = double(left) / double(rate);
          }
        }
      }
      v["replicas"].push_back(std::move(replica));
    }
    out["volumes"].push_back(std::move(v));
  }
  out["degraded"] = *degraded;
  return out;
}

void PrintText(const nlohmann::json& s) {
  std::printf("cluster %s\n", s["cluster"].get<std::string>().c_str());
  std::printf("%-6s %-10s %-8s %-22s %-6s %s\n", "node", "role", "pid", "nbd", "epoch",
              "reachable");
  for (const auto& n : s["nodes"]) {
    std::string role = "?";
    uint64_t epoch = 0;
    for (const auto& v : n.value("volumes", nlohmann::json::array())) {
      role = v.value("role", "?");
      epoch = v.value("epoch", uint64_t(0));
    }
    if (!n["reachable"].get<bool>()) role = "down";  // its last report is stale
    std::printf("%-6s %-10s %-8d %-22s %-6llu %s\n", n["id"].get<std::string>().c_str(),
                role.c_str(), n.value("pid", 0), n["nbd"].get<std::string>().c_str(),
                (unsigned long long)epoch, n["reachable"].get<bool>() ? "yes" : "NO");
  }
  for (const auto& v : s.value("volumes", nlohmann::json::array())) {
    std::printf("volume %s (%s): primary %s, epoch %llu, in-sync %s (%d of %d copies)\n",
                v["name"].get<std::string>().c_str(),
                FormatSize(v["size_bytes"].get<uint64_t>()).c_str(),
                v["primary"].get<std::string>().c_str(),
                (unsigned long long)v["epoch"].get<uint64_t>(),
                v["in_sync"].get<std::string>().c_str(), v["copies_in_sync"].get<int>(),
                v["copies_configured"].get<int>());
    for (const auto& r : v.value("replicas", nlohmann::json::array())) {
      std::printf("  %-6s %s", r["node"].get<std::string>().c_str(),
                  r["state"].get<std::string>().c_str());
      if (r.contains("resync_percent")) {
        std::printf(" %.1f%% (%s left%s)", r["resync_percent"].get<double>(),
                    FormatSize(r["resync_bytes_remaining"].get<uint64_t>()).c_str(),
                    r.value("full_copy", false) ? ", full copy" : "");
        if (r.contains("resync_eta_s")) {
          std::printf(" at %.1f MB/s, ETA %.0f s",
                      r["resync_rate_bytes_per_s"].get<uint64_t>() / 1e6,
                      r["resync_eta_s"].get<double>());
        }
      }
      if (r.contains("lag_ms")) {
        std::printf(", lag %llu unacked, oldest %.1f ms",
                    (unsigned long long)r["lag_unacked"].get<uint64_t>(),
                    r["lag_ms"].get<double>());
      }
      std::printf("\n");
    }
    if (v["degraded"].get<bool>()) {
      std::printf("DEGRADED: volume %s has %d of %d copies in sync\n",
                  v["name"].get<std::string>().c_str(), v["copies_in_sync"].get<int>(),
                  v["copies_configured"].get<int>());
    }
  }
}

int RunStatus(const StatusFlags& f) {
  auto config = LoadClusterConfig(f.config);
  if (!config.ok()) return Fail(config.status());
  auto reply = server::QueryCoordinatorStatus(config->coordinator, 2000);
  if (!reply.ok()) {
    std::fprintf(stderr, "firebreak: coordinator at %s unreachable: %s\n",
                 config->coordinator.ToString().c_str(), reply.status().ToString().c_str());
    return 1;
  }
  bool degraded = false;
  nlohmann::json s = Collect(*config, *reply, &degraded);
  if (f.json) {
    std::printf("%s\n", s.dump(2).c_str());
  } else {
    PrintText(s);
  }
  return degraded ? 2 : 0;
}

}  // namespace

Runner AddStatusCommand(CLI::App& app) {
  auto flags = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Show roles, epochs, in-sync sets and resync progress (exit 2 when DEGRADED)");
  cmd->add_option("--config", flags->config, "Cluster config (cluster.toml)")->required();
  cmd->add_flag("--json", flags->json, "Machine-readable output");
  return [flags] { return RunStatus(*flags); };
}

}  // namespace fb::cli
