// EmbeddedCoordinator: leases, compare-and-set of the in-sync set, and promotion after a
// lease has expired by more than the margin on the coordinator's own clock.
#include "coord/embedded_coordinator.h"

#include "base/assert.h"
#include "coord/promotion.h"

namespace fb::coord {

void EmbeddedCoordinator::AddVolume(env::Instant now, const VolumeRecord& record) {
  FB_ASSERT(record.primary != kNoNode && Has(record.in_sync, record.primary));
  FB_ASSERT((record.in_sync & ~record.members) == 0);
  FB_ASSERT(!volumes_.contains(record.volume));
  VolumeState v;
  v.record = record;
  v.record.epoch = record.epoch == 0 ? 1 : record.epoch;
  v.record.tenure = v.record.epoch;
  v.lease_expiry = env::Instant{now.ns + knobs_.lease_ns};
  volumes_.emplace(record.volume, v);
}

std::optional<EmbeddedCoordinator::DurableVolume> EmbeddedCoordinator::Durable(
    VolumeId volume) const {
  auto it = volumes_.find(volume);
  if (it == volumes_.end()) return std::nullopt;
  return DurableVolume{it->second.record, it->second.in_sync_boot, it->second.tenure_leased};
}

void EmbeddedCoordinator::RestoreVolume(env::Instant now, const DurableVolume& durable) {
  const VolumeRecord& r = durable.record;
  FB_ASSERT(r.primary != kNoNode && Has(r.in_sync, r.primary));
  FB_ASSERT(r.epoch >= r.tenure && r.tenure > 0);
  FB_ASSERT(!volumes_.contains(r.volume));
  VolumeState v;
  v.record = r;
  v.in_sync_boot = durable.in_sync_boot;
  v.tenure_leased = durable.tenure_leased;
  v.lease_expiry = env::Instant{now.ns + knobs_.lease_ns};
  volumes_.emplace(r.volume, v);
}

EmbeddedCoordinator::NodeView EmbeddedCoordinator::Node(env::Instant now, NodeId node) const {
  FB_ASSERT(node < kMaxNodes);
  const NodeState& n = nodes_[node];
  return NodeView{n.seen, Live(now, node), n.blank, n.boot_id, n.incarnation, n.last_seen};
}

const VolumeRecord* EmbeddedCoordinator::Find(VolumeId volume) const {
  auto it = volumes_.find(volume);
  return it == volumes_.end() ? nullptr : &it->second.record;
}

void EmbeddedCoordinator::Handle(env::Instant now, const Request& request,
                                 std::vector<Outbound>& out) {
  if (auto* hb = std::get_if<Heartbeat>(&request)) return OnHeartbeat(now, *hb, out);
  if (auto* lr = std::get_if<LeaseRequest>(&request)) return OnLease(now, *lr, out);
  OnConfigChange(now, std::get<ConfigChange>(request), out);
}

bool EmbeddedCoordinator::Live(env::Instant now, NodeId node) const {
  FB_ASSERT(node < kMaxNodes);
  const NodeState& n = nodes_[node];
  return n.seen && now.ns - n.last_seen.ns <= knobs_.node_timeout_ns;
}

bool EmbeddedCoordinator::Intact(const VolumeState& v, NodeId node) const {
  FB_ASSERT(node < kMaxNodes);
  FB_ASSERT(Has(v.record.members, node));
  return nodes_[node].seen && v.in_sync_boot[node] == nodes_[node].boot_id;
}

void EmbeddedCoordinator::OnHeartbeat(env::Instant now, const Heartbeat& hb,
                                      std::vector<Outbound>& out) {
  if (hb.node >= kMaxNodes) return;  // hostile input: ignore
  NodeState& n = nodes_[hb.node];
  n.seen = true;
  n.boot_id = hb.boot_id;
  n.incarnation = hb.incarnation;
  n.blank = hb.blank;
  n.last_seen = now;
  auto it = volumes_.find(hb.volume);
  if (it == volumes_.end() || !Has(it->second.record.members, hb.node)) return;
  VolumeState& v = it->second;
  // Bootstrap: members of the initial S are adopted with the boot they first report.
  if (Has(v.record.in_sync, hb.node) && v.in_sync_boot[hb.node] == 0) {
    v.in_sync_boot[hb.node] = hb.boot_id;
  }
  if (v.record.primary == hb.node && v.record.primary_incarnation == 0) {
    v.record.primary_incarnation = hb.incarnation;
  }
  out.push_back({hb.node, RecordReply{v.record, 0, false}});
}

void EmbeddedCoordinator::OnLease(env::Instant now, const LeaseRequest& req,
                                  std::vector<Outbound>& out) {
  if (req.node >= kMaxNodes) return;
  auto it = volumes_.find(req.volume);
  if (it == volumes_.end()) return;
  VolumeState& v = it->second;
  LeaseReply reply{req.volume, v.record.epoch, req.request_id, false, 0};
  // Only the primary of this very epoch, in the process that was promoted (a restarted
  // process lost its in-flight state), with its cache intact, may hold the lease.
  bool ok = v.record.primary == req.node && v.record.epoch == req.epoch &&
            v.record.primary_incarnation == req.incarnation && Intact(v, req.node);
  if (ok) {
    FB_ASSERT(Has(v.record.in_sync, req.node));
    reply.granted = true;
    v.tenure_leased = true;
    reply.lease_ns = knobs_.lease_ns;
    int64_t expiry = now.ns + knobs_.lease_ns;
    if (expiry > v.lease_expiry.ns) v.lease_expiry = env::Instant{expiry};
  }
  out.push_back({req.node, reply});
}

bool EmbeddedCoordinator::ValidChange(env::Instant now, const VolumeState& v,
                                      const ConfigChange& req) const {
  const VolumeRecord& r = v.record;
  if (r.primary != req.node || r.epoch != req.expected_epoch) return false;
  if (v.record.primary_incarnation != req.incarnation || !v.tenure_leased) return false;
  if (!Has(req.new_in_sync, req.node) || (req.new_in_sync & ~r.members) != 0) return false;
  if (req.handover_to != kNoNode) {
    // Only to a live member of S that still has the cache it had when it joined.
    NodeId t = req.handover_to;
    return req.joining == kNoNode && req.new_in_sync == r.in_sync && t < kMaxNodes &&
           t != req.node && Has(r.in_sync, t) && Live(now, t) && Intact(v, t) &&
           !nodes_[t].blank;
  }
  if (req.joining == kNoNode) {
    // Shrink: a strict subset, the departing replicas are the difference.
    return (req.new_in_sync & ~r.in_sync) == 0 && req.new_in_sync != r.in_sync;
  }
  if (req.joining >= kMaxNodes || Has(r.in_sync, req.joining)) return false;
  if (req.new_in_sync != (r.in_sync | Bit(req.joining))) return false;
  // The joiner must not have lost its cache since the primary checked it was identical.
  return nodes_[req.joining].seen && nodes_[req.joining].boot_id == req.joining_boot_id;
}

void EmbeddedCoordinator::OnConfigChange(env::Instant now, const ConfigChange& req,
                                         std::vector<Outbound>& out) {
  if (req.node >= kMaxNodes) return;
  auto it = volumes_.find(req.volume);
  if (it == volumes_.end()) return;
  VolumeState& v = it->second;
  bool committed = ValidChange(now, v, req);
  if (committed && req.handover_to != kNoNode) {
    // The holder stopped acknowledging and gave up its lease before asking (Primary::
    // MaybeHandOver), so there is nothing to wait out: promote the target now.
    Promote(now, v, req.handover_to, out);
    out.push_back({req.node, RecordReply{v.record, req.request_id, true}});
    return;
  }
  if (committed) {
    Epoch before = v.record.epoch;
    v.record.epoch = before + 1;
    v.record.in_sync = req.new_in_sync;
    if (req.joining != kNoNode) v.in_sync_boot[req.joining] = req.joining_boot_id;
    ++commits_;
    FB_ASSERT(v.record.epoch > before);
    FB_ASSERT(Has(v.record.in_sync, v.record.primary));
  }
  out.push_back({req.node, RecordReply{v.record, req.request_id, committed}});
}

NodeMask EmbeddedCoordinator::HoldersOfAcked(const VolumeState& v) const {
  // A tenure that never held a lease acknowledged nothing: the previous holders still hold
  // every acknowledged write, and the never-started primary may since have lost its cache.
  NodeMask holders = v.tenure_leased ? v.record.in_sync : v.record.prev_in_sync;
  return holders != 0 ? holders : v.record.in_sync;
}

void EmbeddedCoordinator::Promote(env::Instant now, VolumeState& v, NodeId candidate,
                                  std::vector<Outbound>& out) {
  NodeMask holders = HoldersOfAcked(v);
  FB_ASSERT(Has(holders, candidate));  // STALE: only a member of the last S
  Epoch before = v.record.epoch;
  v.record.prev_in_sync = holders;
  v.tenure_leased = false;
  v.record.epoch = before + 1;
  v.record.tenure = v.record.epoch;
  v.record.primary = candidate;
  v.record.in_sync = Bit(candidate);  // the others rejoin through resync
  v.in_sync_boot[candidate] = nodes_[candidate].boot_id;
  v.record.primary_incarnation = nodes_[candidate].incarnation;
  // Nobody holds a lease now; the new primary gets one period of grace to claim it.
  v.lease_expiry = env::Instant{now.ns + knobs_.lease_ns};
  ++promotions_;
  ++commits_;
  FB_ASSERT(v.record.epoch == before + 1);
  out.push_back({candidate, RecordReply{v.record, 0, false}});
}

void EmbeddedCoordinator::Tick(env::Instant now, std::vector<Outbound>& out) {
  for (auto& [id, v] : volumes_) {
    // The holder stopped acknowledging at (its send time + lease - margin) on its clock; we
    // wait until (our receive time + lease + margin) on ours.
    if (now.ns <= v.lease_expiry.ns + knobs_.lease_margin_ns) continue;
    VolumeRecord pool = v.record;
    pool.in_sync = HoldersOfAcked(v);
    CandidateTable table{};
    for (NodeId n = 0; n < kMaxNodes; ++n) {
      if (!Has(v.record.members, n)) continue;
      table[n].live = Live(now, n);
      table[n].intact = Has(pool.in_sync, n) && Intact(v, n);
      table[n].has_data = !nodes_[n].blank;
    }
    NodeId candidate = ChoosePromotion(pool, table);
    if (candidate != kNoNode) Promote(now, v, candidate, out);
  }
}

}  // namespace fb::coord
