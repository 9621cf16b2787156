// EmbeddedCoordinator and the promotion rule: leases, compare-and-set of S, and promotion
// only after lease + margin, only of an intact member of the last S.
#include "coord/embedded_coordinator.h"

#include <gtest/gtest.h>

#include "coord/promotion.h"

namespace fb::coord {
namespace {

constexpr int64_t kMs = 1'000'000;
env::Instant At(int64_t ms) { return env::Instant{ms * kMs}; }

class Coord : public ::testing::Test {
 protected:
  Coord() : c_(CoordinatorKnobs{100 * kMs, 20 * kMs, 75 * kMs}) {
    VolumeRecord r;
    r.volume = 1;
    r.primary = 0;
    r.members = r.in_sync = 0b111;
    r.min_in_sync = 2;
    c_.AddVolume(At(0), r);
  }
  void Beat(int64_t ms, NodeId n, uint64_t boot = 1, uint64_t incarnation = 1) {
    std::vector<Outbound> out;
    c_.Handle(At(ms), Heartbeat{n, boot, incarnation, 1, 0, false}, out);
  }
  LeaseReply Lease(int64_t ms, NodeId n, Epoch e, uint64_t incarnation = 1) {
    std::vector<Outbound> out;
    c_.Handle(At(ms), LeaseRequest{n, incarnation, 1, e, 1}, out);
    return std::get<LeaseReply>(out.at(0).reply);
  }
  const VolumeRecord& Record() { return *c_.Find(1); }
  EmbeddedCoordinator c_;
};

TEST_F(Coord, OnlyThePrimaryOfTheEpochGetsTheLease) {
  for (NodeId n = 0; n < 3; ++n) Beat(1, n);
  EXPECT_TRUE(Lease(2, 0, 1).granted);
  EXPECT_FALSE(Lease(2, 1, 1).granted);
  EXPECT_FALSE(Lease(2, 0, 2).granted);
  EXPECT_FALSE(Lease(2, 0, 1, /*incarnation=*/2).granted);  // a restarted process
}

TEST_F(Coord, PromotesOnlyAfterLeasePlusMarginAndOnlyFromS) {
  for (NodeId n = 0; n < 3; ++n) Beat(1, n);
  ASSERT_TRUE(Lease(10, 0, 1).granted);  // expires at 110 ms on our clock
  std::vector<Outbound> out;
  for (int64_t ms = 20; ms <= 130; ms += 10) {
    Beat(ms, 1);
    Beat(ms, 2);
    c_.Tick(At(ms), out);
    EXPECT_EQ(Record().primary, 0u) << ms;  // 110 + 20 margin not yet passed
  }
  Beat(140, 1);
  Beat(140, 2);
  c_.Tick(At(140), out);
  EXPECT_EQ(Record().epoch, 2u);
  EXPECT_EQ(Record().primary, 1u);
  EXPECT_EQ(Record().in_sync, Bit(1));
  EXPECT_EQ(Record().prev_in_sync, 0b111u);
}

TEST_F(Coord, ShrinkAndGrowAreCompareAndSet) {
  for (NodeId n = 0; n < 3; ++n) Beat(1, n);
  ASSERT_TRUE(Lease(2, 0, 1).granted);
  std::vector<Outbound> out;
  c_.Handle(At(3), ConfigChange{0, 1, 1, 1, 0b101, kNoNode, 0, 7}, out);
  auto reply = std::get<RecordReply>(out.back().reply);
  EXPECT_TRUE(reply.committed);
  EXPECT_EQ(Record().epoch, 2u);
  EXPECT_EQ(Record().in_sync, 0b101u);
  // A stale expected epoch fails and returns the current record.
  c_.Handle(At(4), ConfigChange{0, 1, 1, 1, 0b001, kNoNode, 0, 8}, out);
  EXPECT_FALSE(std::get<RecordReply>(out.back().reply).committed);
  // Growing needs the joiner's current boot.
  c_.Handle(At(5), ConfigChange{0, 1, 1, 2, 0b111, 1, /*boot=*/9, 9}, out);
  EXPECT_FALSE(std::get<RecordReply>(out.back().reply).committed);
  c_.Handle(At(6), ConfigChange{0, 1, 1, 2, 0b111, 1, /*boot=*/1, 10}, out);
  EXPECT_TRUE(std::get<RecordReply>(out.back().reply).committed);
  EXPECT_EQ(Record().in_sync, 0b111u);
}

TEST(Promotion, PrefersIntactMembersAndWaitsForMissingOnes) {
  VolumeRecord r;
  r.primary = 0;
  r.members = 0b111;
  r.in_sync = 0b011;
  CandidateTable t{};
  t[0] = {false, true, true};
  t[1] = {true, true, true};
  t[2] = {true, true, true};  // not in S: never
  EXPECT_EQ(ChoosePromotion(r, t), 1u);
  t[1].intact = false;  // lost its cache; node 0 may hold acked writes it lacks
  EXPECT_EQ(ChoosePromotion(r, t), kNoNode);
  t[0] = {true, false, true};  // every member lost power: FLUSH rule, lowest id with data
  EXPECT_EQ(ChoosePromotion(r, t), 0u);
  t[0].has_data = false;  // a wiped disk is never a candidate
  EXPECT_EQ(ChoosePromotion(r, t), 1u);
}

}  // namespace
}  // namespace fb::coord
