// ReplNode: performing the replication state machines' actions on real sockets and disks.
#include "server/repl_node.h"

#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <random>

#include "base/assert.h"
#include "server/admin_endpoint.h"
#include "server/coord_client.h"
#include "server/log.h"
#include "server/peer_transport.h"
#include "server/repl_state_file.h"

namespace fb::server {
namespace {

constexpr int kTickMs = 5;
constexpr int kReplDiskWorkers = 16;
// Bounded by the state machines: ops in flight per volume plus resync copies and metadata.
constexpr size_t kReplDiskQueue = 64 * 1024;

env::Instant Now() { return env::SystemClock().Now(); }

}  // namespace

repl::VolumeGeometry ReplNode::ReplGeometry(size_t volume_index, uint64_t size_bytes) {
  // 1 MiB regions: a random-write working set is covered by a few hundred activity-log
  // entries (each new one costs a metadata fdatasync before the data write), while a
  // returning replica still copies little more than what changed.
  return repl::VolumeGeometry{repl::VolumeId(volume_index + 1), size_bytes, 1024 * 1024};
}

namespace {

repl::Knobs KnobsFrom(const config::Timing& t) {
  repl::Knobs k;
  const int64_t ms = 1'000'000;
  k.heartbeat_ns = int64_t(t.heartbeat_ms) * ms;
  k.lease_renew_ns = int64_t(t.heartbeat_ms) * ms;
  k.lease_margin_ns = int64_t(t.margin_ms) * ms;
  k.coord_retry_ns = int64_t(t.heartbeat_ms) * ms;
  // Long enough that a busy machine's scheduling hiccups do not eject a healthy replica (each
  // ejection costs an epoch and a resync); short enough that a dead one stalls writes briefly.
  k.peer_timeout_ns = std::max<int64_t>(6 * int64_t(t.heartbeat_ms), 300) * ms;
  // TCP delivers in order; a message is lost only with its connection, so retransmitting is
  // for after a reconnect, not for a slow ack.
  k.retransmit_ns = k.peer_timeout_ns / 3;
  k.ping_interval_ns = int64_t(t.heartbeat_ms) * ms;
  // A flush writes back whatever the replica cached: after a full copy, gigabytes. A disk
  // that cannot do that within a minute is failing (FAULTS.md #9: ejected, not waited on).
  k.flush_timeout_ns = 60'000'000'000;
  // Up to 4096 regions of 1 MiB (ReplGeometry) written in the last second: random writes
  // over up to 4 GiB revisit each region well within a second at NBD rates and cost no
  // metadata write (DRBD's default al-extents is 1237 x 4 MiB); a restarted primary
  // resyncs only what was written in its last second (at most 4 GiB).
  k.al_capacity_regions = 4096;
  k.al_idle_ns = 1'000'000'000;
  // Resync pacing on a real node (ticks every kTickMs = 5 ms): up to 4 MiB started per tick
  // and 64 MiB unacknowledged, i.e. at most ~800 MB/s, leaving the disk to client I/O beyond.
  k.resync_bytes_in_flight_max = 64u << 20;
  k.resync_bytes_per_tick_max = 4u << 20;
  return k;
}

// Changes only when the machine rebooted, i.e. when volatile caches may have been lost.
uint64_t BootId() {
  auto text = env::PosixFileSystem().ReadSmallFile("/proc/sys/kernel/random/boot_id");
  if (!text.ok()) return 1;
  return std::hash<std::string>{}(*text) | 1;
}

}  // namespace

struct ReplNode::Vol {
  std::string name;
  size_t index = 0;  // into vols_ and status_ (its VolumeHandle)
  repl::VolumeGeometry geometry;
  store::Volume* volume = nullptr;
  std::unique_ptr<ReplStateFile> state_file;
  std::unique_ptr<repl::VolumeNode> node;
  std::atomic<bool> primary{false};
  // VolumeNode::LocalReadsUntil after the newest input, for MayReadLocally on NBD loops.
  std::atomic<int64_t> local_reads_until_ns{0};
  // Client requests held back while the primary has ops_in_flight_max ops: every connection
  // may have its own full window, and the sum must wait here, not fail with ENOSPC. Bounded
  // by the connections' own windows; admitted in arrival order as ops complete.
  std::deque<repl::ClientRequest> held;
  bool admitting = false;
};

// One disk action, run on a worker; its completion goes back to the replication loop.
class ReplNode::DiskTask final : public Task {
 public:
  DiskTask(ReplNode* owner, Vol* vol, repl::Action action)
      : owner_(owner), vol_(vol), action_(std::move(action)) {}
  void Run() override {
    repl::IoId io = 0;
    Status status;
    repl::Payload data;
    store::Volume& v = *vol_->volume;
    if (auto* w = std::get_if<repl::DiskWrite>(&action_)) {
      io = w->io;
      switch (w->op) {
        case repl::WriteOp::kWrite: status = v.Write(w->offset, *w->data, w->fua); break;
        case repl::WriteOp::kTrim: status = v.Trim(w->offset, w->length, w->fua); break;
        case repl::WriteOp::kZero:
          status = v.WriteZeroes(w->offset, w->length, {.may_trim = true, .fua = w->fua});
          break;
      }
    } else if (auto* r = std::get_if<repl::DiskRead>(&action_)) {
      io = r->io;
      auto bytes = std::make_shared<repl::Bytes>(r->length);
      status = v.Read(r->offset, *bytes);
      data = std::move(bytes);
    } else if (auto* s = std::get_if<repl::DiskSync>(&action_)) {
      io = s->io;
      status = v.Flush();
    } else if (auto* p = std::get_if<repl::PersistState>(&action_)) {
      io = p->io;
      // Durable before the state machine answers anything that depends on it.
      status = vol_->state_file->Store(*p->state);
    } else {
      FB_UNREACHABLE();
    }
    asio::post(owner_->loop_->io(), [owner = owner_, vol = vol_, io, status = std::move(status),
                             data = std::move(data), self = this]() mutable {
      std::unique_ptr<DiskTask> done(self);
      owner->OnDiskDone(*vol, io, std::move(status), std::move(data));
    });
  }

 private:
  ReplNode* owner_;
  Vol* vol_;
  repl::Action action_;
};

ReplNode::ReplNode(const config::ClusterConfig& config, repl::NodeId self,
                   store::VolumeSet& volumes, std::string data_dir)
    : config_(config),
      self_(self),
      volumes_(volumes),
      data_dir_(std::move(data_dir)),
      workers_(kReplDiskWorkers, kReplDiskQueue),
      knobs_(KnobsFrom(config.timing)) {
  std::random_device rd;
  identity_ = {self_, BootId(), (uint64_t(rd()) << 32 | rd()) | 1};
}

ReplNode::~ReplNode() { Stop(); }

Status ReplNode::Start(Loop& loop) {
  FB_ASSERT(loop_ == nullptr);  // at most once
  loop_ = &loop;
  asio::io_context& io = loop.io();
  env::FileSystem& fs = env::PosixFileSystem();
  for (size_t i = 0; i < config_.volumes.size(); ++i) {
    const config::VolumeConfig& vc = config_.volumes[i];
    if (self_ >= repl::NodeId(vc.replicas)) continue;  // the first `replicas` nodes hold it
    auto vol = std::make_unique<Vol>();
    vol->name = vc.name;
    vol->index = vols_.size();
    vol->geometry = ReplGeometry(i, vc.size_bytes);
    vol->volume = volumes_.Find(vc.name);
    if (vol->volume == nullptr) return Status::NotFound("volume not open", vc.name);
    auto file = ReplStateFile::Open(fs, ReplStatePath(data_dir_, vc.name),
                                    vol->geometry.region_count(), /*create=*/true);
    if (!file.ok()) return file.status();
    vol->state_file = std::move(file).value();
    auto durable = vol->state_file->Load();
    repl::PersistedState state;
    if (durable.ok()) {
      state = *durable;
    } else if (durable.status().code() == Code::kNotFound) {
      // No state: this replica's image may hold anything; it must get a full copy.
      state.blank = true;
    } else {
      return durable.status();
    }
    vol->node = std::make_unique<repl::VolumeNode>(identity_, vol->geometry, knobs_, state);
    by_name_[vol->name] = vol.get();
    vols_.push_back(std::move(vol));
  }
  status_.resize(vols_.size());
  std::map<repl::NodeId, net::Address> peers;
  for (size_t n = 0; n < config_.nodes.size(); ++n) {
    if (repl::NodeId(n) != self_) peers[repl::NodeId(n)] = config_.nodes[n].repl;
  }
  peers_ = std::make_unique<PeerTransport>(
      io, self_, peers,
      [this](repl::NodeId from, repl::Message m) { OnPeerMessage(from, std::move(m)); });
  FB_TRY(peers_->Listen(config_.nodes[self_].repl));
  coord_ = std::make_unique<CoordClient>(io, config_.coordinator, self_,
                                         [this](coord::Reply r) { OnCoordinatorReply(r); });
  admin_ = std::make_unique<AdminEndpoint>(
      io, AdminSocketPath(data_dir_), [this](const admin::Command& c) { return OnAdmin(c); });
  FB_TRY(admin_->Start());
  peers_->Start();
  coord_->Start();
  for (auto& v : vols_) Publish(*v);
  tick_timer_.emplace(io);
  ArmTick();
  return Status::Ok();
}

void ReplNode::Stop() {
  if (loop_ == nullptr || stopping_) return;
  stopping_ = true;
  loop_->Drain();  // the kernel finishes the queued writes (their payloads must outlive them)
  if (admin_) admin_->Close();
  workers_.Shutdown();  // their completions land on the stopped loop and are dropped
  if (peers_) peers_->Close();
  // Nothing of ours may stay on the loop: its owner destroys it after this node stops.
  tick_timer_.reset();
  admin_.reset();
  coord_.reset();
  peers_.reset();
}

void ReplNode::ArmTick() {
  tick_timer_->expires_after(std::chrono::milliseconds(kTickMs));
  tick_timer_->async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    Tick();
    ArmTick();
  });
}

void ReplNode::Tick() {
  for (auto& v : vols_) {
    repl::Actions actions;
    v->node->Tick(Now(), actions);
    Perform(*v, actions);
    Publish(*v);
  }
  MaybeWriteStatusFile();
}

std::string ReplNode::ReplStatePath(const std::string& data_dir, std::string_view volume) {
  return store::VolumeImagePath(data_dir, volume) + ".repl";
}

std::string ReplNode::AdminSocketPath(const std::string& data_dir) {
  return data_dir + "/admin.sock";
}

// Runs on the node's loop (the admin endpoint lives on it).
std::string ReplNode::OnAdmin(const admin::Command& command) {
  if (command.kind == admin::Command::Kind::kPing) return "ok";
  if (command.kind == admin::Command::Kind::kSwitchover) {
    auto vol = by_name_.find(command.volume);
    if (vol == by_name_.end()) return "error: no volume " + command.volume + " on this node";
    for (size_t n = 0; n < config_.nodes.size(); ++n) {
      if (config_.nodes[n].id != command.peer) continue;
      repl::Actions actions;
      Status s = vol->second->node->RequestHandover(Now(), repl::NodeId(n), actions);
      Perform(*vol->second, actions);
      if (!s.ok()) return "error: " + s.ToString();
      Log(LogLevel::kInfo, "volume {}: switching over to {} (admin)", command.volume,
          command.peer);
      return "ok";
    }
    return "error: no node " + command.peer;
  }
  for (size_t n = 0; n < config_.nodes.size(); ++n) {
    if (config_.nodes[n].id != command.peer) continue;
    if (repl::NodeId(n) == self_) return "error: that is this node";
    bool block = command.kind == admin::Command::Kind::kBlock;
    peers_->SetBlocked(repl::NodeId(n), block && command.outbound, block && command.inbound);
    Log(LogLevel::kWarn, "fault injected by admin: {}", admin::FormatCommand(command));
    return "ok";
  }
  return "error: no node " + command.peer;
}

std::string ReplNode::StatusFilePath(const std::string& data_dir) {
  return data_dir + "/node-status.json";
}

// A small task: the status file is written off the loop (it fsyncs).
class StatusFileTask final : public Task {
 public:
  StatusFileTask(std::string path, std::string text, std::atomic<bool>* busy)
      : path_(std::move(path)), text_(std::move(text)), busy_(busy) {}
  void Run() override {
    (void)env::PosixFileSystem().WriteSmallFileDurably(path_, text_);
    busy_->store(false);
    delete this;
  }

 private:
  std::string path_, text_;
  std::atomic<bool>* busy_;
};

void ReplNode::MaybeWriteStatusFile() {
  constexpr int64_t kEveryNs = 500'000'000;
  env::Instant now = Now();
  if (now.ns - last_status_write_.ns < kEveryNs || status_write_in_flight_.load()) return;
  last_status_write_ = now;
  nlohmann::json j;
  j["node"] = config_.nodes[self_].id;
  j["pid"] = int(getpid());
  j["written_ns"] = now.ns;
  for (const ReplVolumeStatus& s : Snapshot()) {
    nlohmann::json v{{"name", s.name},       {"role", s.role},
                     {"epoch", s.epoch},     {"primary", s.primary},
                     {"in_sync", s.in_sync_mask}, {"members", s.members_mask}};
    for (const auto& r : s.resyncs) {
      v["resyncs"].push_back({{"node", r.node},
                              {"bytes_done", r.bytes_done},
                              {"bytes_remaining", r.bytes_remaining},
                              {"full", r.full},
                              {"rate_bytes_per_s", r.rate_bytes_per_s}});
    }
    for (const auto& l : s.lags) {
      v["lags"].push_back(
          {{"node", l.node}, {"unacked", l.unacked}, {"oldest_ms", double(l.oldest_ns) / 1e6}});
    }
    j["volumes"].push_back(std::move(v));
  }
  status_write_in_flight_.store(true);
  workers_.Submit(new StatusFileTask(StatusFilePath(data_dir_), j.dump(2) + "\n",
                                     &status_write_in_flight_));
}

std::optional<ReplNode::VolumeHandle> ReplNode::FindVolume(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second->index;
}

void ReplNode::Submit(VolumeHandle volume, repl::ClientRequest request, Done done) {
  FB_ASSERT(volume < vols_.size());
  asio::post(loop_->io(),
             [this, volume, request = std::move(request), done = std::move(done)]() mutable {
               request.id = next_request_++;
               waiting_.emplace(request.id, std::move(done));
               Vol& vol = *vols_[volume];
               vol.held.push_back(std::move(request));
               Admit(vol);
             });
}

bool ReplNode::Full(const Vol& vol) const {
  const repl::Primary* p = vol.node->IsPrimary() ? vol.node->primary() : nullptr;
  return p != nullptr && p->ops_in_flight() >= knobs_.ops_in_flight_max;
}

void ReplNode::Admit(Vol& vol) {
  if (vol.admitting) return;  // Perform below re-enters through the completions it runs
  vol.admitting = true;
  // Reads never count against the limit; anything else waits for room. A node that is not
  // primary answers at once (NotServedHere: the connection closes and the client re-sends).
  while (!vol.held.empty() &&
         (vol.held.front().kind == repl::OpKind::kRead || !Full(vol))) {
    repl::ClientRequest request = std::move(vol.held.front());
    vol.held.pop_front();
    repl::Actions actions;
    vol.node->OnClientRequest(Now(), request, actions);
    Perform(vol, actions);
  }
  vol.admitting = false;
}

void ReplNode::Perform(Vol& vol, repl::Actions& actions) {
  // Published before any action runs: an action may hand the lease away (stepping down), and
  // no local read may start after that.
  vol.local_reads_until_ns.store(vol.node->LocalReadsUntil().ns, std::memory_order_release);
  for (repl::Action& action : actions) {
    if (auto* send = std::get_if<repl::SendMessage>(&action)) {
      peers_->Send(send->to, send->message);
    } else if (auto* c = std::get_if<repl::SendToCoordinator>(&action)) {
      coord_->Send(c->request);
    } else if (auto* reply = std::get_if<repl::ReplyToClient>(&action)) {
      auto it = waiting_.find(reply->id);
      FB_ASSERT(it != waiting_.end());  // every reply answers a request we submitted
      Done done = std::move(it->second);
      waiting_.erase(it);
      done(std::move(*reply));
    } else if (auto* event = std::get_if<repl::Event>(&action)) {
      bool loud = event->kind == repl::EventKind::kDegraded ||
                  event->kind == repl::EventKind::kWritesBlocked ||
                  event->kind == repl::EventKind::kFenced;
      Log(loud ? LogLevel::kWarn : LogLevel::kInfo, "volume {}: {}{} (epoch {}, peer {}) {}",
          vol.name, loud ? "ALERT " : "", repl::EventName(event->kind), event->epoch,
          event->peer == repl::kNoNode ? -1 : int(event->peer), event->detail);
    } else if (!TryAsyncWrite(vol, action)) {
      workers_.Submit(new DiskTask(this, &vol, std::move(action)));
    }
  }
  actions.clear();
  if (!vol.held.empty()) Admit(vol);  // an input may have finished ops: room for more
  // The role flag must follow every input at once (the catalog refuses GO by it); the full
  // status snapshot is rebuilt on the tick, off the per-request path.
  vol.primary.store(vol.node->IsPrimary(), std::memory_order_release);
}

// A data write through the loop's io_uring on the O_DIRECT descriptor (payloads are
// page-aligned): no worker hand-off and no inode lock shared with other writers; the
// completion arrives on this loop. Anything else, or a short write, goes to the workers.
class ReplNode::AsyncWrite final : public IoWaiter {
 public:
  AsyncWrite(ReplNode* owner, Vol* vol, repl::DiskWrite write)
      : owner_(owner), vol_(vol), write_(std::move(write)) {}
  const repl::DiskWrite& write() const { return write_; }
  repl::DiskWrite Take() { return std::move(write_); }
  void OnIoDone(Status status, size_t bytes) override {
    std::unique_ptr<AsyncWrite> self(this);
    if (owner_->stopping_) return;
    if (status.ok() && bytes != write_.length) {
      owner_->workers_.Submit(new DiskTask(owner_, vol_, Take()));  // rewrite it all
      return;
    }
    owner_->OnDiskDone(*vol_, write_.io, std::move(status), nullptr);
  }

 private:
  ReplNode* owner_;
  Vol* vol_;
  repl::DiskWrite write_;
};

bool ReplNode::TryAsyncWrite(Vol& vol, repl::Action& action) {
  auto* w = std::get_if<repl::DiskWrite>(&action);
  if (w == nullptr || w->op != repl::WriteOp::kWrite) return false;
  FB_ASSERT(w->data && w->data->size() == w->length);
  auto* pending = new AsyncWrite(this, &vol, std::move(*w));
  const repl::DiskWrite& q = pending->write();
  if (!loop_->TryVolumeWrite(*vol.volume, q.offset, {q.data->data(), q.data->size()}, q.fua,
                            pending)) {
    *w = pending->Take();
    delete pending;
    return false;
  }
  return true;
}

void ReplNode::OnDiskDone(Vol& vol, repl::IoId io, Status status, repl::Payload data) {
  repl::Actions actions;
  vol.node->OnDiskDone(Now(), io, status, data, actions);
  Perform(vol, actions);
}

ReplNode::Vol* ReplNode::FindById(repl::VolumeId id) {
  for (auto& v : vols_) {
    if (v->geometry.volume == id) return v.get();
  }
  return nullptr;
}

void ReplNode::OnPeerMessage(repl::NodeId from, repl::Message message) {
  Vol* vol = FindById(message.header.volume);
  if (vol == nullptr) return;  // not a volume we hold: ignore (the sender retries elsewhere)
  repl::Actions actions;
  vol->node->OnPeerMessage(Now(), from, message, actions);
  Perform(*vol, actions);
}

void ReplNode::OnCoordinatorReply(const coord::Reply& reply) {
  repl::VolumeId id = std::visit(
      [](const auto& r) -> repl::VolumeId {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, coord::RecordReply>) return r.record.volume;
        else return r.volume;
      },
      reply);
  Vol* vol = FindById(id);
  if (vol == nullptr) return;
  repl::Actions actions;
  vol->node->OnCoordinatorReply(Now(), reply, actions);
  Perform(*vol, actions);
}

void ReplNode::Publish(Vol& vol) {
  const repl::VolumeNode& n = *vol.node;
  ReplVolumeStatus s;
  s.name = vol.name;
  s.role = std::string(repl::RoleName(n.role()));
  s.epoch = n.epoch();
  const coord::VolumeRecord& record = n.last_record();
  s.primary = record.primary == repl::kNoNode ? -1 : int(record.primary);
  s.in_sync_mask = record.in_sync;
  s.members_mask = record.members;
  if (const repl::Primary* p = n.primary(); p != nullptr && n.IsPrimary()) {
    for (repl::NodeId peer = 0; peer < repl::NodeId(config_.nodes.size()); ++peer) {
      if (auto progress = p->Progress(peer)) {
        ReplVolumeStatus::Resync r{int(peer), progress->bytes_done, progress->bytes_remaining,
                                   progress->full};
        // The rate over at least a second of history gives the ETA `status` prints.
        ResyncMark& mark = resync_marks_[{vol.index, int(peer)}];
        env::Instant now = Now();
        if (mark.since.ns == 0 || progress->bytes_done < mark.done_then) {
          mark = {now, progress->bytes_done, 0};  // a new (or restarted) resync
        } else if (now.ns - mark.since.ns >= 1'000'000'000) {
          mark.rate = (progress->bytes_done - mark.done_then) * 1'000'000'000 /
                      uint64_t(now.ns - mark.since.ns);
          mark.since = now;
          mark.done_then = progress->bytes_done;
        }
        r.rate_bytes_per_s = mark.rate;
        s.resyncs.push_back(r);
      }
      if (auto lag = p->LagOf(peer, Now())) {
        s.lags.push_back({int(peer), uint64_t(lag->unacked), lag->oldest_ns});
      }
    }
  }
  vol.primary.store(n.IsPrimary(), std::memory_order_release);
  std::lock_guard lock(status_mu_);
  status_[vol.index] = std::move(s);
}

bool ReplNode::IsPrimary(std::string_view volume) const {
  auto it = by_name_.find(volume);
  return it != by_name_.end() && it->second->primary.load(std::memory_order_acquire);
}

bool ReplNode::MayReadLocally(VolumeHandle volume) const {
  FB_ASSERT(volume < vols_.size());
  return Now().ns < vols_[volume]->local_reads_until_ns.load(std::memory_order_acquire);
}

std::string ReplNode::Refusal(std::string_view volume) const {
  auto it = by_name_.find(volume);
  if (it == by_name_.end()) return "volume " + std::string(volume) + " is not on this node";
  if (it->second->primary.load(std::memory_order_acquire)) return {};
  int primary;
  {
    std::lock_guard lock(status_mu_);
    primary = status_[it->second->index].primary;
  }
  std::string where = "unknown";
  if (primary >= 0 && size_t(primary) < config_.nodes.size() && primary != int(self_)) {
    const auto& n = config_.nodes[size_t(primary)];
    where = n.id + " at " + n.nbd.ToString();
  }
  return "not primary for " + std::string(volume) + "; primary is " + where;
}

std::vector<ReplVolumeStatus> ReplNode::Snapshot() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

}  // namespace fb::server
