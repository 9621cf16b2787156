// Shared by the cluster subcommands (serve --config, up, status): loading the config, finding
// a node, opening its volumes, and initialising a brand-new node. Plus the CLI's error printer.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "config/cluster_config.h"
#include "store/superblock.h"
#include "store/volume_set.h"

namespace fb::cli {

int Fail(const Status& status);  // prints "firebreak: ..." and returns 1
store::Uuid RandomUuid();

Result<config::ClusterConfig> LoadClusterConfig(const std::string& path);
Result<size_t> NodeIndex(const config::ClusterConfig& config, const std::string& id);
// The volumes this node holds (the first `replicas` nodes of the config hold a volume).
Result<std::unique_ptr<store::VolumeSet>> OpenNodeVolumes(const config::ClusterConfig& config,
                                                          size_t node);
// For a cluster being created: creates the node's volumes and records each NEW one as an
// identical, zero-filled member (not blank). Volumes that already existed are left alone, so
// a node that was wiped or added later still starts blank and gets a full copy.
Status InitNewNode(const config::ClusterConfig& config, size_t node);

// Sends one command line to the admin socket at `path`; its one-line answer.
Result<std::string> AskAdmin(const std::string& path, const std::string& line);

}  // namespace fb::cli
