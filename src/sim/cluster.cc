// Cluster: event routing between nodes, disks, network, coordinator and client.
#include "sim/cluster.h"

#include <cstdio>
#include <cstdlib>

#include "base/assert.h"
#include "sim/block_stamp.h"

namespace fb::sim {
namespace {

constexpr repl::VolumeId kVolume = 7;
constexpr size_t kLogLines = 60;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

ClusterOptions SimDefaults() {
  ClusterOptions o;
  o.knobs.heartbeat_ns = 15'000'000;
  o.knobs.lease_renew_ns = 25'000'000;
  o.knobs.lease_margin_ns = 20'000'000;
  o.knobs.coord_retry_ns = 25'000'000;
  o.knobs.retransmit_ns = 10'000'000;
  o.knobs.peer_timeout_ns = 60'000'000;
  o.knobs.resync_retry_ns = 25'000'000;
  o.knobs.resync_bytes_in_flight_max = 64 * 1024;
  o.knobs.resync_bytes_per_tick_max = 64 * 1024;
  o.coord_knobs.lease_ns = 100'000'000;
  o.coord_knobs.lease_margin_ns = 20'000'000;
  o.coord_knobs.node_timeout_ns = 75'000'000;
  return o;
}

Cluster::Cluster(uint64_t seed, const ClusterOptions& options)
    : options_(options),
      rng_(seed),
      net_(options.nodes + 1),
      coordinator_(options.coord_knobs),
      workload_(options.volume_bytes / kStampBlockBytes, options.workload, checkers_) {
  FB_ASSERT(options.nodes >= 1 && options.nodes < coord::kMaxNodes);
  FB_ASSERT(options.volume_bytes % kStampBlockBytes == 0);
  geometry_ = repl::VolumeGeometry{kVolume, options.volume_bytes, options.region_bytes};
  net_.set_faults(options.net);
  coord_clock_ = NodeClock(rng_.Range(0, 1'000'000'000), rng_.Range(-options.max_drift_ppm,
                                                                    options.max_drift_ppm));
  nodes_.reserve(options.nodes);
  for (coord::NodeId n = 0; n < options.nodes; ++n) {
    nodes_.push_back(SimNode{nullptr, SimDisk(options.volume_bytes),
                             NodeClock(rng_.Range(0, 1'000'000'000),
                                       rng_.Range(-options.max_drift_ppm, options.max_drift_ppm))});
  }
  coord::VolumeRecord record;
  record.volume = kVolume;
  record.epoch = 1;
  record.primary = 0;
  record.members = (coord::NodeMask{1} << options.nodes) - 1;
  record.in_sync = record.members;  // fresh zero-filled replicas are identical
  record.min_in_sync = options.min_in_sync;
  coordinator_.AddVolume(coord_clock_.Local(0), record);
  ObserveRecord();
  for (coord::NodeId n = 0; n < options.nodes; ++n) {
    StartNode(n);
    queue_.At(rng_.Range(0, options.tick_ns), [this, n] { TickNode(n); });
  }
  queue_.At(rng_.Range(0, options.tick_ns), [this] { TickCoordinator(); });
}

Cluster::~Cluster() = default;

void Cluster::Log(const std::string& line) {
  std::string stamped = "t=" + std::to_string(queue_.now() / 1000) + "us " + line;
  if (options_.verbose) std::fprintf(stderr, "%s\n", stamped.c_str());
  log_.push_back(std::move(stamped));
  if (log_.size() > kLogLines) log_.pop_front();
}

void Cluster::Trace(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t words[4] = {uint64_t(queue_.now()), a, b, c};
  for (uint64_t w : words) {
    trace_hash_ ^= w + 0x9e3779b97f4a7c15ULL + (trace_hash_ << 6) + (trace_hash_ >> 2);
    trace_hash_ *= 0xff51afd7ed558ccdULL;
  }
}

void Cluster::StartNode(coord::NodeId n) {
  SimNode& node = nodes_[n];
  repl::NodeIdentity id{n, node.boot_id, node.incarnation};
  node.vn = std::make_unique<repl::VolumeNode>(id, geometry_, options_.knobs, node.disk.meta());
  node.up = true;
  node.paused = false;
  node.backlog.clear();
  FB_ASSERT(node.vn != nullptr);
}

void Cluster::AtNode(int64_t time_ns, coord::NodeId n, std::function<void()> fn) {
  uint64_t incarnation = nodes_[n].incarnation;
  queue_.At(time_ns, [this, n, incarnation, fn = std::move(fn)]() mutable {
    SimNode& node = nodes_[n];
    if (!node.up || node.incarnation != incarnation) return;  // that process is gone
    if (node.paused) {
      node.backlog.push_back(std::move(fn));
      return;
    }
    fn();
  });
}

int64_t Cluster::DiskLatency() { return rng_.Range(20'000, 400'000); }

void Cluster::Perform(coord::NodeId n, repl::Actions actions) {
  for (auto& action : actions) PerformOne(n, action);
}

void Cluster::PerformOne(coord::NodeId n, repl::Action& action) {
  std::visit(Overloaded{
                 [&](repl::SendMessage& send) { SendPeer(n, send); },
                 [&](repl::SendToCoordinator& send) { SendCoordinator(n, send.request); },
                 [&](repl::ReplyToClient& reply) { ReplyClient(n, std::move(reply)); },
                 [&](repl::Event& event) {
                   Trace(90, n, uint64_t(event.kind));
                   Log("node " + std::to_string(n) + " " +
                       std::string(repl::EventName(event.kind)) + " peer=" +
                       std::to_string(event.peer) + " epoch=" + std::to_string(event.epoch) +
                       " " + event.detail);
                 },
                 [&](auto&) { PerformDisk(n, action); },
             },
             action);
}

void Cluster::PerformDisk(coord::NodeId n, repl::Action& action) {
  int64_t when = queue_.now() + DiskLatency();
  auto fails = [this, n] {
    uint32_t rate = nodes_[n].disk.error_rate();
    return rate > 0 && rng_.Chance(rate);
  };
  auto done = [this, n](repl::IoId io, Status status, repl::Payload data) {
    repl::Actions out;
    nodes_[n].vn->OnDiskDone(NodeNow(n), io, status, data, out);
    Perform(n, std::move(out));
  };
  if (auto* w = std::get_if<repl::DiskWrite>(&action)) {
    Trace(10, n, w->offset);
    // 1W: a node never decides to apply a write of an older tenure than it promised to.
    checkers_.CheckApply(queue_.now(), n, w->tenure, nodes_[n].disk.meta().promised_epoch);
    AtNode(when, n, [this, n, w = *w, fails, done] {
      if (fails()) return done(w.io, Status::IOError("injected EIO on write"), nullptr);
      const uint8_t* bytes = w.op == repl::WriteOp::kWrite ? w.data->data() : nullptr;
      if (const char* watch = std::getenv("FB_SIM_BLOCK"); watch && options_.verbose) {
        uint64_t b = std::strtoull(watch, nullptr, 10) * kStampBlockBytes;
        if (b >= w.offset && b < w.offset + w.length) {
          Log("apply node " + std::to_string(n) + " op_seq " + std::to_string(w.op_seq) +
              " tenure " + std::to_string(w.tenure) + " value " +
              (bytes ? std::to_string(ReadStamp(b / kStampBlockBytes,
                                                std::span(w.data->data() + (b - w.offset),
                                                          kStampBlockBytes)).seq)
                     : "zeros"));
        }
      }
      nodes_[n].disk.Write(w.offset, w.length, bytes, w.fua);
      done(w.io, Status::Ok(), nullptr);
    });
  } else if (auto* r = std::get_if<repl::DiskRead>(&action)) {
    AtNode(when, n, [this, n, r = *r, fails, done] {
      if (fails()) return done(r.io, Status::IOError("injected EIO on read"), nullptr);
      auto data = std::make_shared<repl::Bytes>();
      nodes_[n].disk.Read(r.offset, r.length, *data);
      done(r.io, Status::Ok(), std::move(data));
    });
  } else if (auto* s = std::get_if<repl::DiskSync>(&action)) {
    AtNode(when + rng_.Range(0, 1'000'000), n, [this, n, io = s->io, fails, done] {
      if (fails()) return done(io, Status::IOError("injected EIO on sync"), nullptr);
      nodes_[n].disk.Sync();
      done(io, Status::Ok(), nullptr);
    });
  } else if (auto* p = std::get_if<repl::PersistState>(&action)) {
    Trace(11, n, p->state->promised_epoch);
    AtNode(when, n, [this, n, p = *p, done] {
      nodes_[n].disk.set_meta(*p.state);  // FUA and atomic: durable at completion
      done(p.io, Status::Ok(), nullptr);
    });
  } else {
    FB_UNREACHABLE();
  }
}

void Cluster::SendPeer(coord::NodeId n, repl::SendMessage& send) {
  FB_ASSERT(send.to < nodes_.size());
  ++messages_;
  const repl::Header& h = send.message.header;
  Trace(20 + uint64_t(h.type), n * 64 + send.to, h.seq ^ (h.epoch << 32));
  if (h.type == repl::MsgType::kCopy) checkers_.CheckCopySource(queue_.now(), n, h.epoch);
  if (options_.verbose && std::getenv("FB_SIM_MESSAGES")) {
    Log("msg " + std::to_string(n) + "->" + std::to_string(send.to) + " " +
        std::string(repl::TypeName(h.type)) + " e=" + std::to_string(h.epoch) + " seq=" +
        std::to_string(h.seq) + " t=" + std::to_string(h.tenure) + " s=" +
        std::to_string(h.session));
  }
  std::shared_ptr<const repl::Message> message;
  if (options_.codec_roundtrip) {
    auto bytes = repl::Encode(send.message);
    auto decoded = repl::Decode(bytes);
    FB_ASSERT(decoded.ok());
    message = std::make_shared<const repl::Message>(std::move(decoded).value());
  } else {
    message = std::make_shared<const repl::Message>(send.message);
  }
  coord::NodeId to = send.to;
  for (int64_t delay : net_.Plan(n, to, rng_)) {
    AtNode(queue_.now() + delay, to, [this, n, to, message] {
      if (net_.Blocked(n, to)) return;  // the partition started while it was in flight
      repl::Actions out;
      nodes_[to].vn->OnPeerMessage(NodeNow(to), n, *message, out);
      Perform(to, std::move(out));
    });
  }
}

void Cluster::SendCoordinator(coord::NodeId n, const coord::Request& request) {
  Trace(40 + request.index(), n, 0);
  for (int64_t delay : net_.Plan(n, coord_endpoint(), rng_)) {
    queue_.At(queue_.now() + delay, [this, n, request] {
      if (net_.Blocked(n, coord_endpoint())) return;
      std::vector<coord::Outbound> out;
      coordinator_.Handle(coord_clock_.Local(queue_.now()), request, out);
      ObserveRecord();
      DeliverCoordinatorOutput(out);
    });
  }
}

void Cluster::DeliverCoordinatorOutput(std::vector<coord::Outbound>& out) {
  for (auto& o : out) {
    coord::NodeId to = o.to;
    if (to >= nodes_.size()) continue;
    for (int64_t delay : net_.Plan(coord_endpoint(), to, rng_)) {
      AtNode(queue_.now() + delay, to, [this, to, reply = o.reply] {
        if (net_.Blocked(coord_endpoint(), to)) return;
        repl::Actions actions;
        nodes_[to].vn->OnCoordinatorReply(NodeNow(to), reply, actions);
        Perform(to, std::move(actions));
      });
    }
  }
}

void Cluster::ObserveRecord() {
  const coord::VolumeRecord* r = coordinator_.Find(kVolume);
  FB_ASSERT(r != nullptr);
  if (*r == last_record_) return;
  checkers_.CheckRecord(queue_.now(), last_record_, *r);
  for (coord::NodeId n = 0; n < nodes_.size(); ++n) {
    bool joined = coord::Has(r->in_sync, n) && !coord::Has(last_record_.in_sync, n);
    if (joined || (r->primary == n && r->tenure != last_record_.tenure)) nodes_[n].damaged = false;
  }
  if (r->epoch != last_record_.epoch) {
    Trace(50, r->epoch, r->primary * 1000003 + r->in_sync);
    Log("coordinator: epoch " + std::to_string(r->epoch) + " primary " +
        std::to_string(r->primary) + " in_sync 0x" + std::to_string(r->in_sync) + " tenure " +
        std::to_string(r->tenure));
  }
  last_record_ = *r;
}

void Cluster::ReplyClient(coord::NodeId n, repl::ReplyToClient reply) {
  Trace(60, n, reply.id * 2 + (reply.status.ok() ? 1 : 0));
  if (reply.status.ok() && reply.tenure > 0) checkers_.CheckAck(queue_.now(), n, reply.tenure);
  // The client's own link is reliable (path loss is not modelled); it arrives shortly.
  queue_.At(queue_.now() + rng_.Range(10'000, 100'000), [this, n, reply = std::move(reply)] {
    auto it = client_ops_.find(reply.id);
    if (it == client_ops_.end() || it->second.node != n) return;  // connection was reset
    client_ops_.erase(it);
    if (!reply.status.ok()) client_view_ = coord::kNoNode;
    if (options_.verbose && std::getenv("FB_SIM_CLIENT")) {
      Log("client reply " + std::to_string(reply.id) + " " + reply.status.ToString());
    }
    workload_.OnReply(queue_.now(), reply);
  });
}

// Like an initiator's request timeout (nbd-client -t, attach's stall probe): a request
// unanswered for a second is given up (its outcome unknown) and the path looked up again.
void Cluster::TimeOutClientOps() {
  constexpr int64_t kClientTimeoutNs = 1'000'000'000;
  std::vector<repl::ClientReqId> late;
  for (const auto& [id, op] : client_ops_) {
    if (queue_.now() - op.sent_at > kClientTimeoutNs) late.push_back(id);
  }
  for (repl::ClientReqId id : late) {
    client_ops_.erase(id);
    client_view_ = coord::kNoNode;
    workload_.OnReply(queue_.now(), repl::ReplyToClient{id, Status::Unavailable("timed out")});
  }
}

void Cluster::FailClientOps(coord::NodeId n) {
  std::vector<repl::ClientReqId> lost;
  for (const auto& [id, op] : client_ops_) {
    if (op.node == n) lost.push_back(id);
  }
  for (repl::ClientReqId id : lost) {
    client_ops_.erase(id);
    workload_.OnReply(queue_.now(),
                      repl::ReplyToClient{id, Status::Unavailable("connection reset")});
  }
}

void Cluster::TickNode(coord::NodeId n) {
  SimNode& node = nodes_[n];
  if (node.up && !node.paused) {
    repl::Actions out;
    node.vn->Tick(NodeNow(n), out);
    Perform(n, std::move(out));
  }
  queue_.At(queue_.now() + options_.tick_ns, [this, n] { TickNode(n); });
}

void Cluster::TickCoordinator() {
  std::vector<coord::Outbound> out;
  coordinator_.Tick(coord_clock_.Local(queue_.now()), out);
  ObserveRecord();
  DeliverCoordinatorOutput(out);
  queue_.At(queue_.now() + options_.tick_ns, [this] { TickCoordinator(); });
}

void Cluster::StartClient() {
  client_running_ = true;
  if (client_loop_scheduled_) return;
  client_loop_scheduled_ = true;
  queue_.At(queue_.now(), [this] { ClientLoop(); });
}

void Cluster::ClientLoop() {
  client_loop_scheduled_ = false;
  if (!client_running_) return;
  // Like a multipath initiator, the client sends to the node the coordinator names, but
  // learns of a change late: it asks again when a request fails (a path keeps its
  // connection until then), or now and then; and it sometimes tries another node. A deposed
  // or paused primary thus sees requests issued after its successor acknowledged newer
  // writes, which is what MONO must survive.
  TimeOutClientOps();
  if (client_view_ == coord::kNoNode || rng_.Below(64) == 0) client_view_ = last_record_.primary;
  while (auto req = workload_.Next(rng_)) {
    coord::NodeId target = client_view_;
    if (rng_.Below(20) == 0) target = coord::NodeId(rng_.Below(uint64_t(nodes_.size())));
    SendClient(target, *req);
  }
  client_loop_scheduled_ = true;
  queue_.At(queue_.now() + options_.client_think_ns, [this] { ClientLoop(); });
}

void Cluster::SendClient(coord::NodeId target, const repl::ClientRequest& req) {
  client_ops_[req.id] = ClientOp{target, queue_.now()};
  if (options_.verbose && std::getenv("FB_SIM_CLIENT")) {
    Log("client req " + std::to_string(req.id) + " kind " + std::to_string(int(req.kind)) +
        " block " + std::to_string(req.offset / kStampBlockBytes) + "+" +
        std::to_string(req.length / kStampBlockBytes) + " fua " + std::to_string(req.fua) +
        " to " + std::to_string(target));
  }
  Trace(70, target, req.id);
  if (!nodes_[target].up) {
    queue_.At(queue_.now(), [this, target, id = req.id] {
      ReplyClient(target, repl::ReplyToClient{id, Status::Unavailable("connection refused")});
    });
    return;
  }
  AtNode(queue_.now() + rng_.Range(10'000, 100'000), target, [this, target, req] {
    if (req.kind == repl::OpKind::kRead && MayReadLocally(target)) return LocalRead(target, req);
    repl::Actions out;
    nodes_[target].vn->OnClientRequest(NodeNow(target), req, out);
    Perform(target, std::move(out));
  });
}

void Cluster::ReadAllAt(coord::NodeId target) {
  for (const auto& req : workload_.VerifyAll()) SendClient(target, req);
}

bool Cluster::MayReadLocally(coord::NodeId n) {
  if (options_.test_local_reads_ignore_lease) return nodes_[n].vn->primary() != nullptr;
  return NodeNow(n) < nodes_[n].vn->LocalReadsUntil();
}

// The NBD runtime's fast path (server/connection.cc): a leased primary reads its own copy,
// checking the lease before and after; MONO then checks the data the client gets.
void Cluster::LocalRead(coord::NodeId n, const repl::ClientRequest& req) {
  AtNode(queue_.now() + DiskLatency(), n, [this, n, req] {
    auto data = std::make_shared<repl::Bytes>();
    nodes_[n].disk.Read(req.offset, req.length, *data);
    AtNode(queue_.now() + rng_.Range(0, 50'000), n, [this, n, req, data] {
      if (MayReadLocally(n)) {
        ReplyClient(n, repl::ReplyToClient{req.id, Status::Ok(), data});
      } else {
        ReplyClient(n, repl::ReplyToClient{req.id, repl::NotServedHere("lease ended")});
      }
    });
  });
}

bool Cluster::HealAndVerify(int64_t max_ns) {
  StopClient();
  HealNetwork();
  NetFaults calm = net_.faults();
  calm.drop_per_million = calm.duplicate_per_million = 0;
  net_.set_faults(calm);
  for (coord::NodeId n = 0; n < nodes_.size(); ++n) {
    SetDiskErrors(n, 0);
    Resume(n);
    Restart(n);
  }
  // A node that restarted while idle is noticed by the primary's next keepalive; "healthy"
  // before that would only mean nobody has looked yet.
  RunFor(2 * options_.knobs.ping_interval_ns + options_.knobs.peer_timeout_ns);
  auto idle = [this] { return Healthy() && workload_.in_flight() == 0; };
  if (!RunUntil(idle, max_ns)) {
    Log(Describe());
    if (!checkers_.failed()) {
      checkers_.Fail(now(), "CONV", "no healthy in-sync cluster within the heal budget (epoch " +
                                        std::to_string(last_record_.epoch) + ", in_sync " +
                                        std::to_string(last_record_.in_sync) + ")");
    }
    return false;
  }
  // Every block read back through the primary: ACK, MONO and FLUSH judge the values.
  coord::NodeId primary = *Primary();
  for (const auto& req : workload_.VerifyAll()) SendClient(primary, req);
  if (!RunUntil([this] { return workload_.in_flight() == 0; }, max_ns)) {
    checkers_.Fail(now(), "CONV", "verification reads did not finish");
    return false;
  }
  if (checkers_.failed()) return false;
  auto quiet = [this] {
    for (const auto& n : nodes_) {
      if (!n.vn->Idle()) return false;
    }
    return Healthy();
  };
  if (!RunUntil(quiet, max_ns)) {
    checkers_.Fail(now(), "CONV", "replication never went quiet");
    return false;
  }
  std::vector<const std::vector<uint8_t>*> images;
  std::vector<coord::NodeId> ids;
  for (coord::NodeId n = 0; n < nodes_.size(); ++n) {
    images.push_back(&nodes_[n].disk.contents());
    ids.push_back(n);
  }
  checkers_.CheckConverged(now(), images, ids);
  return !checkers_.failed();
}

void Cluster::RunFor(int64_t duration_ns) {
  int64_t until = queue_.now() + duration_ns;
  while (!checkers_.failed() && queue_.RunNext(until)) {
  }
  if (!checkers_.failed()) queue_.AdvanceTo(until);
}

bool Cluster::RunUntil(const std::function<bool()>& done, int64_t max_ns) {
  int64_t until = queue_.now() + max_ns;
  while (!checkers_.failed()) {
    if (done()) return true;
    if (!queue_.RunNext(until)) return done();
  }
  return false;
}

void Cluster::Crash(coord::NodeId n) {
  SimNode& node = nodes_[n];
  if (!node.up) return;
  ++faults_;
  Trace(80, n, 1);
  Log("FAULT kill -9 node " + std::to_string(n));
  node.up = false;
  node.paused = false;
  node.backlog.clear();
  node.vn.reset();
  FailClientOps(n);
}

void Cluster::PowerLoss(coord::NodeId n) {
  if (nodes_[n].up) Crash(n);
  Log("FAULT power loss node " + std::to_string(n));
  nodes_[n].disk.PowerLoss(rng_);
  nodes_[n].damaged = true;
  ++nodes_[n].boot_id;
}

void Cluster::PowerLossAll() {
  for (coord::NodeId n = 0; n < nodes_.size(); ++n) PowerLoss(n);
  workload_.OnPowerLossAll();  // from now on the FLUSH rule judges these blocks
}

void Cluster::Wipe(coord::NodeId n) {
  FB_ASSERT(!nodes_[n].up);
  Log("FAULT wipe disk of node " + std::to_string(n));
  nodes_[n].disk.Wipe();
  nodes_[n].damaged = true;
  ++nodes_[n].boot_id;
}

void Cluster::Restart(coord::NodeId n) {
  if (nodes_[n].up) return;
  Trace(81, n, 0);
  Log("restart node " + std::to_string(n));
  ++nodes_[n].incarnation;
  StartNode(n);
}

void Cluster::Switchover(coord::NodeId target) {
  auto p = Primary();
  if (!p || *p == target || !coord::Has(last_record_.in_sync, target)) return;
  SimNode& node = nodes_[*p];
  if (!node.up || node.paused) return;
  Log("FAULT switchover " + std::to_string(*p) + " -> " + std::to_string(target));
  repl::Actions out;
  Status s = node.vn->RequestHandover(NodeNow(*p), target, out);
  if (!s.ok()) Log("  switchover refused: " + s.ToString());
  Perform(*p, std::move(out));
}

void Cluster::Pause(coord::NodeId n) {
  if (!nodes_[n].up || nodes_[n].paused) return;
  ++faults_;
  Log("FAULT pause node " + std::to_string(n));
  nodes_[n].paused = true;
}

void Cluster::Resume(coord::NodeId n) {
  SimNode& node = nodes_[n];
  if (!node.up || !node.paused) return;
  Log("resume node " + std::to_string(n));
  node.paused = false;
  auto backlog = std::move(node.backlog);
  node.backlog.clear();
  for (auto& fn : backlog) {
    if (!node.up || node.paused) break;
    fn();
  }
}

void Cluster::Partition(coord::NodeId a, coord::NodeId b) {
  ++faults_;
  Log("FAULT partition " + std::to_string(a) + " <-> " + std::to_string(b));
  net_.Block(a, b);
  net_.Block(b, a);
}

void Cluster::PartitionOneWay(coord::NodeId from, coord::NodeId to) {
  ++faults_;
  Log("FAULT partition " + std::to_string(from) + " -> " + std::to_string(to));
  net_.Block(from, to);
}

void Cluster::CutFromCoordinator(coord::NodeId n, bool inbound, bool outbound) {
  ++faults_;
  Log("FAULT cut node " + std::to_string(n) + " from coordinator in=" +
      std::to_string(inbound) + " out=" + std::to_string(outbound));
  if (outbound) net_.Block(n, coord_endpoint());
  if (inbound) net_.Block(coord_endpoint(), n);
}

void Cluster::Isolate(coord::NodeId n) {
  ++faults_;
  Log("FAULT isolate node " + std::to_string(n));
  net_.Isolate(n);
}

void Cluster::HealNetwork() {
  Log("heal network");
  net_.HealAll();
}

void Cluster::SetDiskErrors(coord::NodeId n, uint32_t per_million) {
  if (per_million > 0) {
    ++faults_;
    Log("FAULT disk errors on node " + std::to_string(n));
  }
  nodes_[n].disk.set_error_rate(per_million);
}

std::optional<coord::NodeId> Cluster::Primary() const {
  coord::NodeId p = last_record_.primary;
  if (p >= nodes_.size() || !nodes_[p].up || !nodes_[p].vn->IsPrimary()) return std::nullopt;
  return p;
}

std::string Cluster::Describe() {
  std::string out = "state:";
  for (coord::NodeId n = 0; n < nodes_.size(); ++n) {
    const SimNode& node = nodes_[n];
    out += " [node " + std::to_string(n) + (node.up ? "" : " down") +
           (node.paused ? " paused" : "");
    if (node.vn) {
      out += " " + std::string(repl::RoleName(node.vn->role())) + " epoch " +
             std::to_string(node.vn->epoch());
      if (const repl::Primary* p = node.vn->primary()) {
        out += " lease " + std::string(p->LeaseValid(NodeNow(n)) ? "valid" : "expired") +
               " ops " + std::to_string(p->ops_in_flight()) + p->Describe();
        for (coord::NodeId m = 0; m < nodes_.size(); ++m) {
          if (auto prog = p->Progress(m)) {
            out += " resync(" + std::to_string(m) + ") left " +
                   std::to_string(prog->bytes_remaining);
          }
        }
      }
    }
    out += "]";
  }
  return out + " client in flight " + std::to_string(workload_.in_flight());
}

bool Cluster::Repaired() const {
  for (const auto& n : nodes_) {
    if (n.damaged) return false;
  }
  return Healthy();
}

const coord::VolumeRecord& Cluster::Record() const { return last_record_; }

bool Cluster::Healthy() const {
  for (const auto& n : nodes_) {
    if (!n.up || n.paused || n.vn->meta().blank()) return false;
  }
  auto p = Primary();
  return p && last_record_.in_sync == last_record_.members &&
         nodes_[*p].vn->primary()->LeaseValid(
             const_cast<Cluster*>(this)->NodeNow(*p));
}

}  // namespace fb::sim
