// MetaState: the promise and activity log become durable before anything relies on them, and
// the log keeps what Retention says (recently written regions, at most capacity).
#include "repl/meta_state.h"

#include <gtest/gtest.h>

namespace fb::repl {
namespace {

const VolumeGeometry kGeometry{1, 1024 * 1024, 64 * 1024};  // 16 regions
constexpr uint64_t kRegion = 64 * 1024;
constexpr size_t kCapacity = 64;
constexpr int64_t kSecond = 1'000'000'000;
// Idle eviction off (an hour), so a test sees only the capacity rule.
const MetaState::Retention kKeep{kCapacity, 3600 * kSecond};
Instant At(int64_t ns) { return Instant{ns}; }

TEST(MetaState, PromiseIsDurableOnlyAfterThePersistCompletes) {
  MetaState meta(kGeometry, PersistedState{3, false, {}}, kKeep);
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

TEST(MetaState, RegionsAreCoveredAfterPersistAndKeptWhileRecentlyWritten) {
  MetaState meta(kGeometry, PersistedState{}, MetaState::Retention{kCapacity, kSecond});
  meta.Touch(At(0), 70 * 1024, 4096, /*tenure=*/2, /*op_seq=*/10);
  EXPECT_FALSE(meta.Covered(70 * 1024, 4096));
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  EXPECT_TRUE(meta.Covered(70 * 1024, 4096));
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{1});
  meta.Trim(At(kSecond / 2), 2, 10);  // finished but written recently: kept (a hot region)
  EXPECT_EQ(meta.al_size(), 1u);
  meta.Trim(At(2 * kSecond), 2, 9);  // idle but not finished: kept
  EXPECT_EQ(meta.al_size(), 1u);
  meta.Trim(At(3 * kSecond), 2, 10);  // idle and finished: forgotten
  EXPECT_EQ(meta.al_size(), 0u);
  // The durable log forgets it lazily: it still names region 1 (over-approximate).
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{1});
}

TEST(MetaState, PastCapacityTheLeastRecentlyWrittenFinishedRegionsAreEvicted) {
  const VolumeGeometry big{1, 2 * (kCapacity + 8) * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, kKeep);
  // Every other region (no sequential lookahead), region 2i written at time i by op 9+i.
  for (uint64_t i = 1; i <= kCapacity + 1; ++i) {
    meta.Touch(At(int64_t(i)), 2 * i * kRegion, 4096, 2, 9 + i);
  }
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  ASSERT_EQ(meta.al_size(), kCapacity + 1);
  meta.Trim(At(100), 2, 9);  // nothing finished: everything kept
  EXPECT_EQ(meta.al_size(), kCapacity + 1);
  meta.Trim(At(100), 2, 10);  // only op 10 finished: only its region goes
  EXPECT_EQ(meta.al_size(), kCapacity);
  meta.Trim(At(100), 2, 1000);  // at capacity, not past it: kept
  EXPECT_EQ(meta.al_size(), kCapacity);
  meta.Touch(At(200), 2 * (kCapacity + 2) * kRegion, 4096, 2, 9 + kCapacity + 2);
  meta.Trim(At(200), 2, 1000);  // past it, all finished: the oldest go, down to 7/8
  EXPECT_EQ(meta.al_size(), kCapacity - kCapacity / 8);
  std::vector<uint64_t> kept;
  for (uint64_t i = kCapacity + 3 - (kCapacity - kCapacity / 8); i <= kCapacity + 2; ++i) {
    kept.push_back(2 * i);
  }
  // Trims are persisted lazily: the durable log still names the evicted regions.
  EXPECT_EQ(meta.Regions().front(), 2u);
  ASSERT_TRUE(meta.MaybePersist(2, out));  // for the added region; it takes the trims along
  meta.OnPersisted(2, Status::Ok());
  EXPECT_EQ(meta.Regions(), kept);
  EXPECT_FALSE(meta.MaybePersist(3, out));
}

TEST(MetaState, ManyDroppedRegionsArePersistedWithoutAnAddition) {
  const VolumeGeometry big{1, 4 * (kAlTrimSlack + 8) * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, MetaState::Retention{4096, kSecond});
  for (uint64_t i = 0; i < kAlTrimSlack + 8; ++i) meta.Touch(At(0), 2 * i * kRegion, 4096, 2, 1);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());
  meta.Touch(At(5 * kSecond), 1 * kRegion, 4096, 2, 2);  // the hot set is now region 1
  ASSERT_TRUE(meta.MaybePersist(2, out));
  meta.OnPersisted(2, Status::Ok());
  meta.Trim(At(5 * kSecond), 2, 2);  // the sprayed regions are idle: all dropped
  EXPECT_EQ(meta.al_size(), 1u);
  ASSERT_TRUE(meta.MaybePersist(3, out));  // more than kAlTrimSlack dropped: persisted
  meta.OnPersisted(3, Status::Ok());
  EXPECT_EQ(meta.Regions(), std::vector<uint64_t>{1});
}

TEST(MetaState, ASequentialStreamLogsRegionsAheadBeforeItGetsThere) {
  const VolumeGeometry big{1, 64 * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, kKeep);
  Actions out;
  IoId io = 1;
  int persists = 0;
  for (uint64_t r = 0; r < 64; ++r) {
    meta.Touch(At(int64_t(r)), r * kRegion, kRegion, 2, 1 + r);
    if (!meta.Covered(r * kRegion, kRegion)) {
      ASSERT_TRUE(meta.MaybePersist(io, out)) << r;
      meta.OnPersisted(io++, Status::Ok());
      ++persists;
    } else if (meta.MaybePersist(io, out)) {  // ahead of the stream: persisted in passing
      meta.OnPersisted(io++, Status::Ok());
    }
    ASSERT_TRUE(meta.Covered(r * kRegion, kRegion));
  }
  // Only the writes before the stream was recognized waited for a persist.
  EXPECT_EQ(persists, int(kAlStreamWrites));
  EXPECT_LE(io, kAlStreamWrites + 64 / (kAlLookaheadRegions / 2));
}

TEST(MetaState, RegionsLoggedAheadOfAStreamThatStoppedGoSooner) {
  const VolumeGeometry big{1, 64 * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, MetaState::Retention{kCapacity, kSecond});
  static_assert(kAlStreamWrites == 3);
  meta.Touch(At(0), 0, kRegion, 2, 1);
  meta.Touch(At(0), kRegion, kRegion, 2, 2);
  EXPECT_EQ(meta.al_size(), 2u);  // two writes in a row are not a stream yet
  meta.Touch(At(0), 2 * kRegion, kRegion, 2, 3);  // a stream: regions 3..18 logged ahead
  ASSERT_EQ(meta.al_size(), 3 + kAlLookaheadRegions);
  meta.Trim(At(kSecond / 2), 2, 3);  // the stream stopped at region 2
  EXPECT_EQ(meta.al_size(), 3u);     // what it wrote stays for the idle period
  meta.Trim(At(2 * kSecond), 2, 3);
  EXPECT_EQ(meta.al_size(), 0u);
}

TEST(MetaState, RandomWritesDoNotLogAhead) {
  const VolumeGeometry big{1, 64 * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, kKeep);
  for (uint64_t r : {10u, 3u, 40u, 11u, 30u}) meta.Touch(At(0), r * kRegion, 4096, 2, 1);
  // 11 follows 10 only in address, not in time: no stream, nothing logged ahead.
  EXPECT_EQ(meta.Regions(), (std::vector<uint64_t>{3, 10, 11, 30, 40}));
}

TEST(MetaState, RandomWritesThatHitOneRegionTwiceInARowDoNotLogAhead) {
  // A 4 KiB random writer on a few regions lands in the same region, or the next one, again
  // and again; none of it continues the write before, so nothing beyond it is logged (a
  // crash would otherwise resync regions that were never written).
  const VolumeGeometry big{1, 64 * kRegion, kRegion};
  MetaState meta(big, PersistedState{}, kKeep);
  for (uint64_t off : {5 * kRegion + 8192, 5 * kRegion, 5 * kRegion + 40960, 6 * kRegion + 4096,
                       6 * kRegion, 7 * kRegion - 4096 - 8192}) {
    meta.Touch(At(0), off, 4096, 2, 1);
  }
  EXPECT_EQ(meta.Regions(), (std::vector<uint64_t>{5, 6}));
}

// Found by the simulator (seed 518, once eviction ran in every seed): a region evicted
// before an in-flight persist's snapshot, then written again while it was in flight, looked
// durable (the old durable log had it) but was about to leave the log on disk.
TEST(MetaState, ARegionTheInFlightPersistDropsIsNotCovered) {
  MetaState meta(kGeometry, PersistedState{}, MetaState::Retention{1, 3600 * kSecond});
  meta.Touch(At(1), 2 * kRegion, 4096, 2, 1);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::Ok());  // durable {2}
  meta.Touch(At(2), 4 * kRegion, 4096, 2, 2);
  meta.Trim(At(2), 2, 1);  // over capacity: region 2 (op 1, finished) is evicted
  ASSERT_TRUE(meta.MaybePersist(2, out));  // snapshot {4}: region 2 leaves the disk
  meta.Touch(At(3), 2 * kRegion, 4096, 2, 3);  // written again meanwhile
  EXPECT_FALSE(meta.Covered(2 * kRegion, 4096));
  meta.OnPersisted(2, Status::Ok());
  EXPECT_FALSE(meta.Covered(2 * kRegion, 4096));
  ASSERT_TRUE(meta.MaybePersist(3, out));  // region 2 is pending, so it goes back in
  meta.OnPersisted(3, Status::Ok());
  EXPECT_TRUE(meta.Covered(2 * kRegion, 4096));
}

TEST(MetaState, AFailedPersistKeepsTheOldStateAndRetries) {
  MetaState meta(kGeometry, PersistedState{1, false, {}}, kKeep);
  meta.Promise(2);
  Actions out;
  ASSERT_TRUE(meta.MaybePersist(1, out));
  meta.OnPersisted(1, Status::IOError("disk"));
  EXPECT_FALSE(meta.PromiseDurable(2));
  EXPECT_TRUE(meta.MaybePersist(2, out));
}

}  // namespace
}  // namespace fb::repl
