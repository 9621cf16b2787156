// MetaState: the promise and activity log become durable before anything relies on them.
#include "repl/meta_state.h"

#include <gtest/gtest.h>

namespace fb::repl {
namespace {

const VolumeGeometry kGeometry{1, 1024 * 1024, 64 * 1024};
constexpr size_t kCapacity = 64;

TEST(MetaState, PromiseIsDurableOnlyAfterThePersistCompletes) {
  MetaState meta(kGeometry, PersistedState{3, false, {}}, kCapacity);
  meta.Promise(5);
  EXPECT_EQ(meta.promised(), 5u);
  EXPECT_FALSE(meta.PromiseDurable(5));
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  EXPECT_FALSE(meta.MaybePersist(2, out));  // one persist in flight at a time
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<PersistState>(out[0]).state->promised_epoch, 5u);
  meta.OnPersisted(1, Status::Ok());
  EXPECT_TRUE(meta.PromiseDurable(5));
}

TEST(MetaState, RegionsAreCoveredAfterPersistAndTrimmedByFlushes) {
  MetaState meta(kGeometry, PersistedState{}, kCapacity);
  meta.Touch(70 * 1024, 4096, /*tenure=*/2, /*op_seq=*/10);
  EXPECT_FALSE(meta.Covered(70 * 1024, 4096));
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  EXPECT_TRUE(meta.Covered(70 * 1024, 4096));
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{1});
  meta.Trim(2, 10);  // finished, but a log this small is kept as it is (lazy trim)
  EXPECT_EQ(meta.al_size(), 1u);
}

TEST(MetaState, PastCapacityTheLeastRecentlyWrittenFinishedRegionsAreEvicted) {
  constexpr uint64_t kRegion = 64 * 1024;
  const VolumeGeometry big{1, 2 * (kCapacity + 8) * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, kCapacity);
  // Every other region: no sequential lookahead. Region 2 is written first (op 10).
  for (uint64_t i = 1; i <= kCapacity + 1; ++i) meta.Touch(2 * i * kRegion, 4096, 2, 9 + i);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  ASSERT_EQ(meta.al_size(), kCapacity + 1);
  meta.Trim(2, 9);  // nothing finished: everything kept
  EXPECT_EQ(meta.al_size(), kCapacity + 1);
  meta.Trim(2, 10);  // only op 10 finished: only its region goes
  EXPECT_EQ(meta.al_size(), kCapacity);
  meta.Trim(2, 1000);  // at capacity, not past it: kept
  EXPECT_EQ(meta.al_size(), kCapacity);
  meta.Touch(2 * (kCapacity + 2) * kRegion, 4096, 2, 9 + kCapacity + 2);
  meta.Trim(2, 1000);  // past it, all finished: the oldest go, down to 7/8 of capacity
  EXPECT_EQ(meta.al_size(), kCapacity - kCapacity / 8);
  std::vector<uint64_t> kept;
  for (uint64_t i = kCapacity + 3 - (kCapacity - kCapacity / 8); i <= kCapacity + 2; ++i) {
    kept.push_back(2 * i);
  }
  // Trims are persisted lazily; the durable log still names the evicted regions
  // (over-approximate), until it names more than kAlTrimSlack extra.
  EXPECT_EQ(meta.Regions().front(), 2u);
  ASSERT_TRUE(meta.MaybePersist(2, out));  // the added region
  meta.OnPersisted(2, Status::Ok());
  EXPECT_EQ(meta.Regions().size(), kCapacity - kCapacity / 8);  // that persist took the trims
  EXPECT_FALSE(meta.MaybePersist(4, out));
  meta.Touch(1 * kRegion, 4096, 2, 2000);
  ASSERT_TRUE(meta.MaybePersist(3, out));
  meta.OnPersisted(3, Status::Ok());
  kept.insert(kept.begin(), 1);
  EXPECT_EQ(meta.Regions(), kept);
}

TEST(MetaState, ASequentialStreamLogsRegionsAhead) {
  constexpr uint64_t kRegion = 64 * 1024;  // kGeometry: 16 regions
  MetaState meta(kGeometry, PersistedState{}, kCapacity);
  meta.Touch(0, kRegion, 2, 1);  // region 0: nothing before it, no lookahead
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{0});
  meta.Touch(kRegion, kRegion, 2, 2);  // region 1 extends a stream: 1..16, capped at 15
  std::vector<uint64_t> all(16);
  for (uint64_t r = 0; r < 16; ++r) all[r] = r;
  EXPECT_EQ(meta.Regions(), all);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  // The rest of the stream is covered already: no more persists.
  for (uint64_t r = 2; r < 16; ++r) {
    meta.Touch(r * kRegion, kRegion, 2, 1 + r);
    EXPECT_TRUE(meta.Covered(r * kRegion, kRegion));
  }
  EXPECT_FALSE(meta.MaybePersist(2, out));
}

// Found by the simulator (seed 518, once eviction ran in every seed): a region evicted
// before an in-flight persist's snapshot, then written again while it was in flight, looked
// durable (the old durable log had it) but was about to leave the log on disk.
TEST(MetaState, ARegionTheInFlightPersistDropsIsNotCovered) {
  constexpr uint64_t kRegion = 64 * 1024;
  MetaState meta(kGeometry, PersistedState{}, /*capacity=*/1);
  meta.Touch(2 * kRegion, 4096, 2, 1);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());  // durable {2}
  meta.Touch(4 * kRegion, 4096, 2, 2);
  meta.Trim(2, 1);  // over capacity: region 2 (op 1, finished) is evicted
  ASSERT_TRUE(meta.MaybePersist(2, out));  // snapshot {4}: region 2 leaves the disk
  meta.Touch(2 * kRegion, 4096, 2, 3);     // written again meanwhile
  EXPECT_FALSE(meta.Covered(2 * kRegion, 4096));
  meta.OnPersisted(2, Status::Ok());
  EXPECT_FALSE(meta.Covered(2 * kRegion, 4096));
  ASSERT_TRUE(meta.MaybePersist(3, out));  // region 2 is pending, so it goes back in
  meta.OnPersisted(3, Status::Ok());
  EXPECT_TRUE(meta.Covered(2 * kRegion, 4096));
}

TEST(MetaState, AFailedPersistKeepsTheOldStateAndRetries) {
  MetaState meta(kGeometry, PersistedState{1, false, {}}, kCapacity);
  meta.Promise(2);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::IOError("disk"));
  EXPECT_FALSE(meta.PromiseDurable(2));
  EXPECT_TRUE(meta.MaybePersist(2, out));
}

}  // namespace
}  // namespace fb::repl
