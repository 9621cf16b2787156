// ClusterConfig: the cluster.toml schema (nodes, volumes, coordinator, timing) with parsing,
// validation and writing. Every process of a cluster reads the same file, so every rule about
// the topology (unique ids and addresses, replica counts) is checked here, once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/address.h"

namespace fb::config {

struct NodeConfig {
  std::string id;        // [A-Za-z0-9_-]{1,32}
  net::Address nbd;      // where clients connect
  net::Address repl;     // where peers send replication traffic
  std::string dir;       // data directory of this node
};

// Whether a volume keeps taking writes when only the primary's copy is in sync.
enum class DegradedPolicy { kRefuseWrites, kAllowWrites };

struct VolumeConfig {
  std::string name;
  uint64_t size_bytes = 0;
  int replicas = 2;  // copies, the primary's included
  DegradedPolicy degraded = DegradedPolicy::kRefuseWrites;
};

// Failure detection and lease timing. Defaults give promotion well under a second after a
// primary dies on loopback: detection after lease_ms, plus one renewal period of slack.
struct Timing {
  uint32_t heartbeat_ms = 50;   // primary renews its lease / replicas report liveness
  uint32_t lease_ms = 500;      // how long a renewal lets the primary acknowledge writes
  uint32_t margin_ms = 100;     // clock-drift safety margin the primary gives up
};

struct ClusterConfig {
  std::string name = "firebreak";
  net::Address coordinator;  // the embedded coordinator (witness) process
  Timing timing;
  std::vector<NodeConfig> nodes;
  std::vector<VolumeConfig> volumes;

  const NodeConfig* FindNode(std::string_view id) const;
  const VolumeConfig* FindVolume(std::string_view name) const;
};

Result<ClusterConfig> ParseClusterConfig(std::string_view toml_text);
Status ValidateClusterConfig(const ClusterConfig& config);
// TOML that ParseClusterConfig reads back to an equal config.
std::string FormatClusterConfig(const ClusterConfig& config);

}  // namespace fb::config
