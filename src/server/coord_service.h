// CoordService: the witness process's runtime. Runs an EmbeddedCoordinator on an asio
// io_context: listens on the cluster's coordinator address, reads Hello and then requests from
// each connection, feeds them (and a periodic Tick) to the coordinator with the monotonic
// clock, and sends each reply to the connection that last said Hello as its addressee.
// Durability: every change to a volume's durable state is written to the state file before
// any reply produced with it leaves, so a restarted witness never forgets an epoch.
// Threading: all methods run on the io_context's thread (or while it is not running).
#pragma once

#include <array>
#include <asio.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/cluster_config.h"
#include "coord/embedded_coordinator.h"
#include "coord/wire.h"
#include "env/clock.h"
#include "net/address.h"
#include "net/listener.h"
#include "server/coord_state_file.h"
#include "server/coord_stream.h"

namespace fb::server {

// The coordinator's knobs from the cluster's timing (all nodes derive the same ones).
coord::CoordinatorKnobs CoordKnobsFromTiming(const config::Timing& timing);
// A volume's record on the cluster's first start: volume id = index in the config + 1,
// epoch 1, node 0 primary, the first `replicas` nodes members and in sync.
coord::VolumeRecord InitialVolumeRecord(const config::ClusterConfig& config, size_t index);

class CoordService {
 public:
  // Registers every volume of `config`, restored from the state file at `state_path` when
  // it exists (kFailedPrecondition if it names volumes the config no longer has at those
  // ids). Nothing listens yet.
  static Result<std::unique_ptr<CoordService>> Create(asio::io_context& io,
                                                      config::ClusterConfig config,
                                                      std::string state_path);
  ~CoordService();
  CoordService(const CoordService&) = delete;
  CoordService& operator=(const CoordService&) = delete;

  // Writes the state file, binds the coordinator address and starts accepting and ticking.
  Status Start();
  // The bound address (port 0 resolved) once started.
  const net::Address& address() const { return address_; }
  // Stops listening and ticking and closes every connection. Idempotent.
  void Shutdown();

  // What a StatusRequest is answered with.
  coord::StatusReply Snapshot(uint64_t request_id) const;
  const coord::EmbeddedCoordinator& coordinator() const { return coordinator_; }

 private:
  struct Conn {
    std::shared_ptr<CoordStream> stream;
    std::optional<coord::Hello> hello;
    env::Instant last_frame;  // accept time until the first frame
  };
  using Durables = std::vector<std::optional<coord::EmbeddedCoordinator::DurableVolume>>;

  CoordService(asio::io_context& io, config::ClusterConfig config, std::string state_path);
  Status Restore(env::Instant now, const std::vector<PersistedVolume>& persisted);
  void Accept(net::Socket socket);
  void Forget(uint64_t id);
  void CloseConn(uint64_t id, std::string_view why);
  void OnFrame(uint64_t id, coord::Frame frame);
  void OnHello(uint64_t id, Conn& conn, const coord::Hello& hello);
  void OnRequest(uint64_t id, Conn& conn, const coord::Request& request);
  void ScheduleTick();
  void OnTick();
  void SweepConnections(env::Instant now);
  Durables DurablesOf(const std::vector<coord::VolumeId>& ids) const;
  std::vector<PersistedVolume> PersistedVolumes() const;
  void NoteChanges(const std::vector<coord::VolumeId>& ids, const Durables& before);
  std::string NodeName(coord::NodeId node) const;
  std::string NodeSet(coord::NodeMask mask) const;
  void LogChange(const coord::VolumeRecord& before, const coord::VolumeRecord& after) const;
  void Deliver(env::Instant now, std::vector<coord::Outbound>& out);
  bool Persist(env::Instant now);

  asio::io_context& io_;
  const config::ClusterConfig config_;
  const std::string state_path_;
  const coord::CoordinatorKnobs knobs_;
  const int64_t tick_ms_;
  coord::EmbeddedCoordinator coordinator_;
  std::vector<coord::VolumeId> volume_ids_;  // every volume, ascending
  std::unique_ptr<net::Listener> listener_;
  net::Address address_;
  asio::steady_timer tick_timer_;
  std::map<uint64_t, Conn> conns_;
  std::array<uint64_t, coord::kMaxNodes> node_conn_{};  // conn id per node; 0: none
  uint64_t next_conn_id_ = 1;
  // A durable change not yet written: nothing may be sent until it is.
  bool dirty_ = false;
  env::Instant persist_retry_at_;
  bool persist_failing_ = false;
  bool running_ = false;
};

}  // namespace fb::server
