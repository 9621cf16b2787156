// Cluster setup helpers for the CLI.
#include "cli/cluster_setup.h"

#include <cstdio>
#include <random>

#include "env/file.h"
#include "server/repl_node.h"
#include "server/repl_state_file.h"

namespace fb::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "firebreak: %s\n", status.ToString().c_str());
  return 1;
}

store::Uuid RandomUuid() {
  std::random_device rd;  // the CLI is the edge: the store takes uuids as parameters
  store::Uuid u;
  for (auto& b : u) b = uint8_t(rd());
  return u;
}

Result<config::ClusterConfig> LoadClusterConfig(const std::string& path) {
  FB_ASSIGN_OR_RETURN(std::string text, env::PosixFileSystem().ReadSmallFile(path));
  auto config = config::ParseClusterConfig(text);
  if (!config.ok()) return Status(config.status().code(), path, config.status().message());
  return config;
}

Result<size_t> NodeIndex(const config::ClusterConfig& config, const std::string& id) {
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    if (config.nodes[i].id == id) return i;
  }
  return Status::NotFound("no such node in the config", id);
}

Result<std::unique_ptr<store::VolumeSet>> OpenNodeVolumes(const config::ClusterConfig& config,
                                                          size_t node) {
  std::vector<store::VolumeSpec> specs;
  for (const auto& v : config.volumes) {
    if (node < size_t(v.replicas)) specs.push_back({v.name, v.size_bytes, false});
  }
  return store::VolumeSet::Open(env::PosixFileSystem(), config.nodes[node].dir, specs,
                                RandomUuid);
}

Status InitNewNode(const config::ClusterConfig& config, size_t node) {
  env::FileSystem& fs = env::PosixFileSystem();
  const std::string& dir = config.nodes[node].dir;
  std::vector<std::string> fresh;
  for (const auto& v : config.volumes) {
    if (node < size_t(v.replicas) && !fs.Exists(store::VolumeMetaPath(dir, v.name))) {
      fresh.push_back(v.name);
    }
  }
  FB_ASSIGN_OR_RETURN(auto volumes, OpenNodeVolumes(config, node));
  for (size_t i = 0; i < config.volumes.size(); ++i) {
    const auto& v = config.volumes[i];
    if (std::find(fresh.begin(), fresh.end(), v.name) == fresh.end()) continue;
    auto geometry = server::ReplNode::ReplGeometry(i, v.size_bytes);
    FB_ASSIGN_OR_RETURN(auto file, server::ReplStateFile::Open(
                                       fs, server::ReplNode::ReplStatePath(dir, v.name),
                                       geometry.region_count(), /*create=*/true));
    repl::PersistedState state;  // promised 0, not blank: identical zeros on every member
    FB_TRY(file->Store(state));
  }
  return Status::Ok();
}

}  // namespace fb::cli
