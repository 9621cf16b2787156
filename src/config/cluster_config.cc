// cluster.toml parsing (toml++ without exceptions: errors come back as values) and writing.
#define TOML_EXCEPTIONS 0
#include "config/cluster_config.h"

#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "base/units.h"

namespace fb::config {
namespace {

Status Invalid(std::string_view what, std::string_view detail = {}) {
  return Status::InvalidArgument(std::string("cluster config: ") + std::string(what), detail);
}

Result<net::Address> AddressField(const toml::table& t, const char* key, std::string_view ctx) {
  auto text = t[key].value<std::string>();
  if (!text) return Invalid(std::string(ctx) + ": missing " + key);
  auto a = net::ParseAddress(*text);
  if (!a.ok()) return Invalid(std::string(ctx) + "." + key, a.status().message());
  return a;
}

Result<NodeConfig> ParseNode(const toml::table& t) {
  NodeConfig n;
  n.id = t["id"].value_or(std::string());
  if (n.id.empty()) return Invalid("node without id");
  FB_ASSIGN_OR_RETURN(n.nbd, AddressField(t, "nbd", "node " + n.id));
  FB_ASSIGN_OR_RETURN(n.repl, AddressField(t, "repl", "node " + n.id));
  n.dir = t["dir"].value_or(std::string());
  if (n.dir.empty()) return Invalid("node " + n.id + ": missing dir");
  return n;
}

Result<VolumeConfig> ParseVolume(const toml::table& t) {
  VolumeConfig v;
  v.name = t["name"].value_or(std::string());
  if (v.name.empty()) return Invalid("volume without name");
  auto size = t["size"].value<std::string>();
  if (!size) return Invalid("volume " + v.name + ": missing size");
  FB_ASSIGN_OR_RETURN(v.size_bytes, ParseSize(*size));
  v.replicas = int(t["replicas"].value_or(int64_t(2)));
  std::string degraded = t["degraded"].value_or(std::string("refuse-writes"));
  if (degraded == "refuse-writes") {
    v.degraded = DegradedPolicy::kRefuseWrites;
  } else if (degraded == "allow-writes") {
    v.degraded = DegradedPolicy::kAllowWrites;
  } else {
    return Invalid("volume " + v.name + ": degraded must be refuse-writes or allow-writes");
  }
  return v;
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

const NodeConfig* ClusterConfig::FindNode(std::string_view id) const {
  for (const auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

const VolumeConfig* ClusterConfig::FindVolume(std::string_view name) const {
  for (const auto& v : volumes) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Result<ClusterConfig> ParseClusterConfig(std::string_view toml_text) {
  toml::parse_result parsed = toml::parse(toml_text);
  if (!parsed) {
    std::ostringstream where;
    where << parsed.error().source().begin;
    return Invalid(std::string(parsed.error().description()), where.str());
  }
  const toml::table& root = parsed.table();
  ClusterConfig c;
  c.name = root["cluster"]["name"].value_or(std::string("firebreak"));
  const toml::table* coord = root["coordinator"].as_table();
  if (coord == nullptr) return Invalid("missing [coordinator]");
  FB_ASSIGN_OR_RETURN(c.coordinator, AddressField(*coord, "address", "coordinator"));
  if (const toml::table* timing = root["timing"].as_table()) {
    c.timing.heartbeat_ms = uint32_t((*timing)["heartbeat_ms"].value_or(int64_t(50)));
    c.timing.lease_ms = uint32_t((*timing)["lease_ms"].value_or(int64_t(500)));
    c.timing.margin_ms = uint32_t((*timing)["margin_ms"].value_or(int64_t(100)));
  }
  if (const toml::array* nodes = root["node"].as_array()) {
    for (const auto& n : *nodes) {
      if (!n.is_table()) return Invalid("[[node]] must be a table");
      FB_ASSIGN_OR_RETURN(auto node, ParseNode(*n.as_table()));
      c.nodes.push_back(std::move(node));
    }
  }
  if (const toml::array* volumes = root["volume"].as_array()) {
    for (const auto& v : *volumes) {
      if (!v.is_table()) return Invalid("[[volume]] must be a table");
      FB_ASSIGN_OR_RETURN(auto volume, ParseVolume(*v.as_table()));
      c.volumes.push_back(std::move(volume));
    }
  }
  FB_TRY(ValidateClusterConfig(c));
  return c;
}

Status ValidateClusterConfig(const ClusterConfig& c) {
  if (c.nodes.empty()) return Invalid("no [[node]]");
  std::set<std::string> ids, addresses, dirs, volumes;
  for (const auto& n : c.nodes) {
    if (!ValidId(n.id)) return Invalid("bad node id", n.id);
    if (!ids.insert(n.id).second) return Invalid("duplicate node id", n.id);
    for (const auto& a : {n.nbd, n.repl}) {
      if (!addresses.insert(a.ToString()).second) return Invalid("address used twice", a.ToString());
    }
    if (!dirs.insert(n.dir).second) return Invalid("two nodes share a data dir", n.dir);
  }
  if (!addresses.insert(c.coordinator.ToString()).second) {
    return Invalid("coordinator address used twice", c.coordinator.ToString());
  }
  for (const auto& v : c.volumes) {
    if (!volumes.insert(v.name).second) return Invalid("duplicate volume", v.name);
    if (v.size_bytes == 0 || v.size_bytes % 512 != 0) {
      return Invalid("volume size must be a positive multiple of 512", v.name);
    }
    if (v.replicas < 1 || size_t(v.replicas) > c.nodes.size()) {
      return Invalid("volume replicas must be between 1 and the number of nodes", v.name);
    }
  }
  const Timing& t = c.timing;
  // The lease must outlive several renewals, and the margin must leave time to renew.
  if (t.heartbeat_ms == 0 || t.lease_ms < 3 * t.heartbeat_ms || t.margin_ms >= t.lease_ms) {
    return Invalid("timing: need heartbeat_ms > 0, lease_ms >= 3 * heartbeat_ms, "
                   "margin_ms < lease_ms");
  }
  return Status::Ok();
}

std::string FormatClusterConfig(const ClusterConfig& c) {
  toml::table root;
  root.insert("cluster", toml::table{{"name", c.name}});
  root.insert("coordinator", toml::table{{"address", c.coordinator.ToString()}});
  root.insert("timing", toml::table{{"heartbeat_ms", int64_t(c.timing.heartbeat_ms)},
                                    {"lease_ms", int64_t(c.timing.lease_ms)},
                                    {"margin_ms", int64_t(c.timing.margin_ms)}});
  toml::array nodes;
  for (const auto& n : c.nodes) {
    nodes.push_back(toml::table{{"id", n.id},
                                {"nbd", n.nbd.ToString()},
                                {"repl", n.repl.ToString()},
                                {"dir", n.dir}});
  }
  root.insert("node", std::move(nodes));
  toml::array volumes;
  for (const auto& v : c.volumes) {
    volumes.push_back(toml::table{
        {"name", v.name},
        {"size", FormatSize(v.size_bytes).erase(FormatSize(v.size_bytes).find(' '), 1)},
        {"replicas", int64_t(v.replicas)},
        {"degraded",
         v.degraded == DegradedPolicy::kAllowWrites ? "allow-writes" : "refuse-writes"}});
  }
  root.insert("volume", std::move(volumes));
  std::ostringstream out;
  out << "# FireBreak cluster configuration: every process of the cluster reads this file.\n";
  out << root << "\n";
  return out.str();
}

}  // namespace fb::config
