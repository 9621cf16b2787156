// CoordService: connections and their Hello, the request path, ticking, and the rule that a
// durable change reaches the state file before any reply that depends on it is sent.
#include "server/coord_service.h"

#include <algorithm>

#include "base/assert.h"
#include "server/coord_limits.h"
#include "server/log.h"

namespace fb::server {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

env::Instant Now() { return env::SystemClock().Now(); }

coord::VolumeId VolumeOf(const coord::Request& request) {
  return std::visit([](const auto& r) { return r.volume; }, request);
}

coord::NodeId NodeOf(const coord::Request& request) {
  return std::visit([](const auto& r) { return r.node; }, request);
}

}  // namespace

coord::CoordinatorKnobs CoordKnobsFromTiming(const config::Timing& timing) {
  coord::CoordinatorKnobs knobs;
  knobs.lease_ns = int64_t(timing.lease_ms) * kNsPerMs;
  knobs.lease_margin_ns = int64_t(timing.margin_ms) * kNsPerMs;
  // Three missed heartbeats: one lost packet or a slow turn is not a death.
  knobs.node_timeout_ns = 3 * int64_t(timing.heartbeat_ms) * kNsPerMs;
  FB_ASSERT(knobs.lease_ns > knobs.lease_margin_ns);
  FB_ASSERT(knobs.node_timeout_ns > 0);
  return knobs;
}

coord::VolumeRecord InitialVolumeRecord(const config::ClusterConfig& config, size_t index) {
  FB_ASSERT(index < config.volumes.size());
  const config::VolumeConfig& v = config.volumes[index];
  FB_ASSERT(v.replicas >= 1 && size_t(v.replicas) <= config.nodes.size());
  FB_ASSERT(size_t(v.replicas) <= coord::kMaxNodes);
  coord::VolumeRecord r;
  r.volume = index + 1;
  r.epoch = 1;
  r.tenure = 1;
  r.primary = 0;
  r.members = v.replicas == int(coord::kMaxNodes) ? ~coord::NodeMask{0}
                                                  : coord::Bit(coord::NodeId(v.replicas)) - 1;
  r.in_sync = r.members;
  r.min_in_sync = v.degraded == config::DegradedPolicy::kAllowWrites ? 1 : uint32_t(v.replicas);
  return r;
}

CoordService::CoordService(asio::io_context& io, config::ClusterConfig config,
                           std::string state_path)
    : io_(io),
      config_(std::move(config)),
      state_path_(std::move(state_path)),
      knobs_(CoordKnobsFromTiming(config_.timing)),
      tick_ms_(std::max<int64_t>(1, config_.timing.heartbeat_ms / 5)),
      coordinator_(knobs_),
      tick_timer_(io) {}

CoordService::~CoordService() { Shutdown(); }

Result<std::unique_ptr<CoordService>> CoordService::Create(asio::io_context& io,
                                                           config::ClusterConfig config,
                                                           std::string state_path) {
  FB_TRY(config::ValidateClusterConfig(config));
  if (config.nodes.size() > coord::kMaxNodes) {
    return Status::InvalidArgument("the coordinator serves at most 64 nodes");
  }
  if (config.volumes.size() > coord::kStatusVolumesMax) {
    return Status::InvalidArgument("the coordinator serves at most 1024 volumes");
  }
  for (const auto& v : config.volumes) {
    if (v.name.empty() || v.name.size() > kCoordStateNameBytesMax) {
      return Status::InvalidArgument("volume name must be 1 to 255 bytes", v.name);
    }
  }
  std::unique_ptr<CoordService> service(
      new CoordService(io, std::move(config), std::move(state_path)));
  FB_ASSIGN_OR_RETURN(auto persisted, LoadCoordState(env::PosixFileSystem(), service->state_path_));
  FB_TRY(service->Restore(Now(), persisted ? *persisted : std::vector<PersistedVolume>{}));
  return service;
}

// The state file wins over the config for every volume it holds (epochs only move forward);
// it must describe the same volumes at the same ids, or the records would be misapplied.
Status CoordService::Restore(env::Instant now, const std::vector<PersistedVolume>& persisted) {
  FB_ASSERT(volume_ids_.empty());
  if (persisted.size() > config_.volumes.size()) {
    return Status::FailedPrecondition(state_path_, "holds more volumes than the config lists");
  }
  const coord::NodeMask nodes = config_.nodes.size() == coord::kMaxNodes
                                    ? ~coord::NodeMask{0}
                                    : coord::Bit(coord::NodeId(config_.nodes.size())) - 1;
  for (size_t i = 0; i < persisted.size(); ++i) {
    const coord::VolumeRecord& r = persisted[i].state.record;
    if (r.volume != i + 1 || persisted[i].name != config_.volumes[i].name) {
      return Status::FailedPrecondition(state_path_,
                                        "volume " + persisted[i].name +
                                            " is not at the same place in the config; remove "
                                            "the file only if every replica is wiped too");
    }
    if ((r.members & ~nodes) != 0) {
      return Status::FailedPrecondition(
          state_path_, "volume " + persisted[i].name + " has members the config lacks");
    }
  }
  for (size_t i = 0; i < config_.volumes.size(); ++i) {
    if (i < persisted.size()) {
      const coord::VolumeRecord& r = persisted[i].state.record;
      coordinator_.RestoreVolume(now, persisted[i].state);
      Log(LogLevel::kInfo, "volume {}: restored at epoch {}, primary {}, in sync {}",
          persisted[i].name, r.epoch, NodeName(r.primary), NodeSet(r.in_sync));
    } else {
      coordinator_.AddVolume(now, InitialVolumeRecord(config_, i));
    }
    volume_ids_.push_back(i + 1);
  }
  dirty_ = true;  // Start() writes the file before anything is served
  FB_ASSERT(volume_ids_.size() == config_.volumes.size());
  return Status::Ok();
}

Status CoordService::Start() {
  FB_ASSERT(!running_);
  FB_ASSERT(listener_ == nullptr);
  FB_TRY(SaveCoordState(env::PosixFileSystem(), state_path_, PersistedVolumes()));
  dirty_ = false;
  FB_ASSIGN_OR_RETURN(listener_,
                      net::Listener::Open(io_, config_.coordinator,
                                          [this](net::Socket s) { Accept(std::move(s)); }));
  address_ = listener_->address();
  listener_->Start();
  running_ = true;
  ScheduleTick();
  return Status::Ok();
}

void CoordService::Shutdown() {
  running_ = false;
  if (listener_) listener_->Close();
  tick_timer_.cancel();
  for (auto& [id, conn] : conns_) conn.stream->Close();
  conns_.clear();
  node_conn_.fill(0);
}

void CoordService::Accept(net::Socket socket) {
  if (!running_) return;
  if (conns_.size() >= kCoordMaxConnections) {
    Log(LogLevel::kWarn, "coordinator: refusing a connection: {} already open", conns_.size());
    return;  // the socket closes as it goes out of scope
  }
  const uint64_t id = next_conn_id_++;
  auto stream = std::make_shared<CoordStream>(std::move(socket), kCoordSendQueueBytesMax);
  conns_.emplace(id, Conn{stream, std::nullopt, Now()});
  stream->Start([this, id](coord::Frame frame) { OnFrame(id, std::move(frame)); },
                [this, id](const Status& why) {
                  Log(LogLevel::kDebug, "coordinator: connection {} closed: {}", id,
                      why.ToString());
                  Forget(id);
                });
  FB_ASSERT(conns_.size() <= kCoordMaxConnections);
}

void CoordService::Forget(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (it->second.hello && !it->second.hello->admin && node_conn_[it->second.hello->node] == id) {
    node_conn_[it->second.hello->node] = 0;
  }
  conns_.erase(it);
  FB_ASSERT(!conns_.contains(id));
}

void CoordService::CloseConn(uint64_t id, std::string_view why) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Log(LogLevel::kWarn, "coordinator: closing connection {}: {}", id, why);
  it->second.stream->Close();
  Forget(id);
}

void CoordService::OnFrame(uint64_t id, coord::Frame frame) {
  auto it = conns_.find(id);
  FB_ASSERT(it != conns_.end());  // a closed stream calls nothing
  Conn& conn = it->second;
  const env::Instant now = Now();
  conn.last_frame = now;
  if (auto* hello = std::get_if<coord::Hello>(&frame)) return OnHello(id, conn, *hello);
  if (!conn.hello) return CloseConn(id, "a frame before hello");
  if (auto* query = std::get_if<coord::StatusRequest>(&frame)) {
    // Nothing leaves that is not durable, a status answer included.
    if (dirty_ && !Persist(now)) return;
    if (!conn.stream->Send(Snapshot(query->request_id))) CloseConn(id, "send queue full");
    return;
  }
  std::optional<coord::Request> request = coord::AsRequest(frame);
  if (!request) return CloseConn(id, "a frame only the coordinator sends");
  OnRequest(id, conn, *request);
}

void CoordService::OnHello(uint64_t id, Conn& conn, const coord::Hello& hello) {
  if (conn.hello) return CloseConn(id, "a second hello");
  if (!hello.admin && hello.node >= config_.nodes.size()) {
    return CloseConn(id, "hello from a node the config does not have");
  }
  conn.hello = hello;
  if (hello.admin) return;
  const uint64_t previous = node_conn_[hello.node];
  node_conn_[hello.node] = id;
  Log(LogLevel::kInfo, "coordinator: node {} connected", config_.nodes[hello.node].id);
  // Replies go to the newest connection only; an older one is a dead process or socket.
  if (previous != 0) CloseConn(previous, "the node connected again");
  FB_ASSERT(node_conn_[hello.node] == id);
}

void CoordService::OnRequest(uint64_t id, Conn& conn, const coord::Request& request) {
  FB_ASSERT(conn.hello.has_value());
  if (conn.hello->admin) return CloseConn(id, "a node request on an admin connection");
  if (NodeOf(request) != conn.hello->node) return CloseConn(id, "a request for another node");
  const env::Instant now = Now();
  std::vector<coord::VolumeId> touched;
  if (coordinator_.Find(VolumeOf(request)) != nullptr) touched.push_back(VolumeOf(request));
  const Durables before = DurablesOf(touched);
  std::vector<coord::Outbound> out;
  coordinator_.Handle(now, request, out);
  NoteChanges(touched, before);
  Deliver(now, out);  // may close connections, this one included
}

void CoordService::ScheduleTick() {
  tick_timer_.expires_after(std::chrono::milliseconds(tick_ms_));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;  // cancelled: `this` may be gone
    OnTick();
  });
}

void CoordService::OnTick() {
  if (!running_) return;
  const env::Instant now = Now();
  const Durables before = DurablesOf(volume_ids_);
  std::vector<coord::Outbound> out;
  coordinator_.Tick(now, out);
  NoteChanges(volume_ids_, before);
  Deliver(now, out);  // also retries a failed state-file write
  SweepConnections(now);
  ScheduleTick();
}

void CoordService::SweepConnections(env::Instant now) {
  std::vector<std::pair<uint64_t, const char*>> expired;
  for (const auto& [id, conn] : conns_) {
    const int64_t quiet_ms = (now.ns - conn.last_frame.ns) / kNsPerMs;
    if (!conn.hello && quiet_ms > kCoordHelloTimeoutMs) expired.emplace_back(id, "no hello");
    if (conn.hello && quiet_ms > kCoordIdleTimeoutMs) expired.emplace_back(id, "idle");
  }
  for (const auto& [id, why] : expired) CloseConn(id, why);
}

CoordService::Durables CoordService::DurablesOf(const std::vector<coord::VolumeId>& ids) const {
  Durables durables;
  durables.reserve(ids.size());
  for (coord::VolumeId id : ids) durables.push_back(coordinator_.Durable(id));
  return durables;
}

std::vector<PersistedVolume> CoordService::PersistedVolumes() const {
  std::vector<PersistedVolume> volumes;
  for (coord::VolumeId id : volume_ids_) {
    auto durable = coordinator_.Durable(id);
    FB_ASSERT(durable.has_value());
    volumes.push_back(PersistedVolume{config_.volumes[id - 1].name, *durable});
  }
  return volumes;
}

void CoordService::NoteChanges(const std::vector<coord::VolumeId>& ids, const Durables& before) {
  FB_ASSERT(ids.size() == before.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto after = coordinator_.Durable(ids[i]);
    FB_ASSERT(after.has_value() && before[i].has_value());
    if (*after == *before[i]) continue;
    dirty_ = true;
    LogChange(before[i]->record, after->record);
  }
}

std::string CoordService::NodeName(coord::NodeId node) const {
  return node < config_.nodes.size() ? config_.nodes[node].id : "#" + std::to_string(node);
}

std::string CoordService::NodeSet(coord::NodeMask mask) const {
  std::string names;
  for (coord::NodeId n = 0; n < coord::kMaxNodes; ++n) {
    if (!coord::Has(mask, n)) continue;
    if (!names.empty()) names += ',';
    names += NodeName(n);
  }
  return "{" + names + "}";
}

void CoordService::LogChange(const coord::VolumeRecord& before,
                             const coord::VolumeRecord& after) const {
  const std::string& volume = config_.volumes[after.volume - 1].name;
  if (after.epoch == before.epoch) {
    Log(LogLevel::kDebug, "volume {}: epoch {}: primary incarnation or boots recorded", volume,
        after.epoch);
  } else if (after.tenure != before.tenure) {
    Log(LogLevel::kInfo,
        "volume {}: PROMOTED {} to primary at epoch {} (primary was {}); in sync {}", volume,
        NodeName(after.primary), after.epoch, NodeName(before.primary), NodeSet(after.in_sync));
  } else {
    Log(LogLevel::kInfo, "volume {}: committed epoch {}: in sync {} -> {}", volume, after.epoch,
        NodeSet(before.in_sync), NodeSet(after.in_sync));
  }
}

// The durability rule of the witness: replies leave only once every change they could
// reflect is in the state file. While the file cannot be written the witness is silent
// (primaries lose their leases; nobody learns of a promotion that could be forgotten).
void CoordService::Deliver(env::Instant now, std::vector<coord::Outbound>& out) {
  if (dirty_ && !Persist(now)) return;
  FB_ASSERT(!dirty_);
  for (const coord::Outbound& o : out) {
    const uint64_t id = o.to < coord::kMaxNodes ? node_conn_[o.to] : 0;
    if (id == 0) continue;  // not connected: the node's state machine retries
    auto it = conns_.find(id);
    FB_ASSERT(it != conns_.end());
    if (!it->second.stream->Send(coord::ToFrame(o.reply))) CloseConn(id, "send queue full");
  }
}

bool CoordService::Persist(env::Instant now) {
  FB_ASSERT(dirty_);
  if (persist_failing_ && now < persist_retry_at_) return false;
  Status s = SaveCoordState(env::PosixFileSystem(), state_path_, PersistedVolumes());
  if (!s.ok()) {
    if (!persist_failing_) {
      Log(LogLevel::kError, "coordinator: cannot write {}: {}; sending nothing until it can",
          state_path_, s.ToString());
    }
    persist_failing_ = true;
    persist_retry_at_ = env::Instant{now.ns + kCoordPersistRetryMs * kNsPerMs};
    return false;
  }
  if (persist_failing_) Log(LogLevel::kInfo, "coordinator: {} written again", state_path_);
  persist_failing_ = false;
  dirty_ = false;
  return true;
}

coord::StatusReply CoordService::Snapshot(uint64_t request_id) const {
  const env::Instant now = Now();
  coord::StatusReply status;
  status.request_id = request_id;
  for (coord::VolumeId id : volume_ids_) status.volumes.push_back(*coordinator_.Find(id));
  for (coord::NodeId n = 0; n < config_.nodes.size(); ++n) {
    const auto view = coordinator_.Node(now, n);
    coord::NodeStatus node;
    node.node = n;
    node.seen = view.seen;
    if (view.seen) {
      node.live = view.live;
      node.blank = view.blank;
      node.heartbeat_age_ms = uint64_t(std::max<int64_t>(0, now.ns - view.last_seen.ns)) / kNsPerMs;
      node.incarnation = view.incarnation;
      node.boot_id = view.boot_id;
    }
    status.nodes.push_back(node);
  }
  FB_ASSERT(status.nodes.size() == config_.nodes.size());
  return status;
}

}  // namespace fb::server
