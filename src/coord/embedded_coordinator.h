// EmbeddedCoordinator: the in-memory Coordinator a witness process runs (no extra service on
// one host). Single-threaded; the runtime owns persistence of the records if it wants them
// to survive a witness restart (not needed for the simulator's fault model).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <vector>

#include "coord/coordinator.h"

namespace fb::coord {

class EmbeddedCoordinator final : public Coordinator {
 public:
  explicit EmbeddedCoordinator(CoordinatorKnobs knobs) : knobs_(knobs) {}

  // Creates a volume: epoch 1, primary `primary`, S = initial_in_sync (fresh, identical
  // zero-filled replicas). The primary gets one lease period of grace to claim its lease.
  void AddVolume(env::Instant now, const VolumeRecord& record);

  void Handle(env::Instant now, const Request& request, std::vector<Outbound>& out) override;
  void Tick(env::Instant now, std::vector<Outbound>& out) override;
  const VolumeRecord* Find(VolumeId volume) const override;

  // For a witness that must survive its own restart (src/server/coord_service.cc): all a
  // volume's state except the lease, which a restart forgets.
  struct DurableVolume {
    VolumeRecord record;
    std::array<uint64_t, kMaxNodes> in_sync_boot{};
    bool tenure_leased = false;
    friend bool operator==(const DurableVolume&, const DurableVolume&) = default;
  };
  std::optional<DurableVolume> Durable(VolumeId volume) const;
  // Re-creates a volume exactly as Durable() reported it. The primary gets a full lease
  // period of grace from now: safe, since any lease granted before the restart ends sooner.
  void RestoreVolume(env::Instant now, const DurableVolume& durable);
  // A node's liveness as promotion sees it, for status reports.
  struct NodeView {
    bool seen = false;
    bool live = false;
    bool blank = false;
    uint64_t boot_id = 0;
    uint64_t incarnation = 0;
    env::Instant last_seen;
  };
  NodeView Node(env::Instant now, NodeId node) const;

  // Counters for the simulator's report.
  uint64_t promotions() const { return promotions_; }
  uint64_t commits() const { return commits_; }

 private:
  struct NodeState {
    bool seen = false;
    uint64_t boot_id = 0;
    uint64_t incarnation = 0;
    bool blank = false;
    env::Instant last_seen;
  };
  struct VolumeState {
    VolumeRecord record;
    std::array<uint64_t, kMaxNodes> in_sync_boot{};  // boot id at join; 0 = adopt first seen
    env::Instant lease_expiry;                       // on the coordinator's clock
    // A lease was granted in this tenure, so writes may have been acknowledged under its S.
    // If not, the last S that may hold acknowledged writes is still prev_in_sync.
    bool tenure_leased = false;
  };

  void OnHeartbeat(env::Instant now, const Heartbeat& hb, std::vector<Outbound>& out);
  void OnLease(env::Instant now, const LeaseRequest& req, std::vector<Outbound>& out);
  void OnConfigChange(env::Instant now, const ConfigChange& req, std::vector<Outbound>& out);
  bool ValidChange(env::Instant now, const VolumeState& v, const ConfigChange& req) const;
  bool Live(env::Instant now, NodeId node) const;
  bool Intact(const VolumeState& v, NodeId node) const;
  NodeMask HoldersOfAcked(const VolumeState& v) const;
  void Promote(env::Instant now, VolumeState& v, NodeId candidate, std::vector<Outbound>& out);

  const CoordinatorKnobs knobs_;
  std::array<NodeState, kMaxNodes> nodes_{};
  std::map<VolumeId, VolumeState> volumes_;  // ordered: deterministic Tick
  uint64_t promotions_ = 0;
  uint64_t commits_ = 0;
};

}  // namespace fb::coord
