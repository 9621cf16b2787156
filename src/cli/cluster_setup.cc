// Cluster setup helpers for the CLI.
#include "cli/cluster_setup.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

// One line to a node's admin socket and its one-line answer (2 s timeout).
Result<std::string> AskAdmin(const std::string& path, const std::string& line) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket", std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return Status::Unavailable("admin socket " + path, std::strerror(err));
  }
  std::string out = line + "\n";
  bool sent = write(fd, out.data(), out.size()) == ssize_t(out.size());
  std::string reply;
  char c;
  while (sent && reply.size() < 1024 && read(fd, &c, 1) == 1 && c != '\n') reply.push_back(c);
  close(fd);
  if (!sent || reply.empty()) return Status::Unavailable("no answer from", path);
  return reply;
}

}  // namespace fb::cli
