// ChangeMap tests: region edges and granularity, runs in order, conservative clearing,
// merge, serialization with every corruption path, and lock-free marking from many threads.
#include "store/change_map.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <thread>
#include <vector>

#include "base/endian.h"

namespace fb::store {
namespace {

constexpr uint64_t kGran = ChangeMap::kDefaultGranularityBytes;

std::vector<ChangeRun> Runs(const ChangeMap& map) {
  std::vector<ChangeRun> runs;
  map.ForEachDirtyRun([&](uint64_t offset, uint64_t length) { runs.push_back({offset, length}); });
  return runs;
}

TEST(ChangeMap, StartsClean) {
  ChangeMap map(kGiB);
  EXPECT_EQ(map.granularity_bytes(), 64 * kKiB);
  EXPECT_EQ(map.region_count(), kGiB / kGran);
  EXPECT_EQ(map.CountDirty(), 0u);
  EXPECT_FALSE(map.IsDirty(0));
  EXPECT_FALSE(map.NextDirtyRun(0).has_value());
  EXPECT_TRUE(Runs(map).empty());
}

TEST(ChangeMap, OneByteMarksItsRegionOnly) {
  ChangeMap map(kGiB);
  map.Mark(kGran + 17, 1);
  EXPECT_TRUE(map.IsDirty(kGran));
  EXPECT_TRUE(map.IsDirty(2 * kGran - 1));
  EXPECT_FALSE(map.IsDirty(kGran - 1));
  EXPECT_FALSE(map.IsDirty(2 * kGran));
  EXPECT_EQ(map.CountDirty(), 1u);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{kGran, kGran}}));
}

TEST(ChangeMap, RangeEdgesMarkEveryTouchedRegion) {
  ChangeMap map(kGiB);
  map.Mark(kGran - 1, 2);  // straddles regions 0 and 1
  EXPECT_EQ(map.CountDirty(), 2u);
  map.ClearAll();
  map.Mark(3 * kGran, kGran);  // exactly region 3
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{3 * kGran, kGran}}));
  map.Mark(0, 0);  // zero length: nothing
  map.Mark(kGiB, 0);
  EXPECT_EQ(map.CountDirty(), 1u);
}

TEST(ChangeMap, RunsCrossWordBoundaries) {
  ChangeMap map(kGiB);
  map.Mark(60 * kGran, 70 * kGran);  // regions 60..129: three words
  EXPECT_EQ(map.CountDirty(), 70u);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{60 * kGran, 70 * kGran}}));
  map.Mark(0, kGiB);
  EXPECT_EQ(map.CountDirty(), map.region_count());
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{0, kGiB}}));
}

TEST(ChangeMap, RunsAreSeparateAndAscending) {
  ChangeMap map(kGiB);
  map.Mark(500 * kGran, 1);
  map.Mark(2 * kGran, 3 * kGran);
  map.Mark(5 * kGran, 1);  // adjacent to the previous run: merges
  map.Mark(63 * kGran, 2 * kGran);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{
                           {2 * kGran, 4 * kGran}, {63 * kGran, 2 * kGran}, {500 * kGran, kGran}}));
  EXPECT_EQ(map.CountDirtyBytes(), 7 * kGran);
}

TEST(ChangeMap, NextDirtyRunIsACursor) {
  ChangeMap map(kGiB);
  map.Mark(10 * kGran, 2 * kGran);
  map.Mark(100 * kGran, kGran);
  std::optional<ChangeRun> run = map.NextDirtyRun(0);
  ASSERT_TRUE(run);
  EXPECT_EQ(*run, (ChangeRun{10 * kGran, 2 * kGran}));
  // From inside a dirty region: the run starts at that region's boundary.
  EXPECT_EQ(*map.NextDirtyRun(11 * kGran + 5), (ChangeRun{11 * kGran, kGran}));
  run = map.NextDirtyRun(run->offset_bytes + run->length_bytes);
  EXPECT_EQ(*run, (ChangeRun{100 * kGran, kGran}));
  EXPECT_FALSE(map.NextDirtyRun(101 * kGran));
  EXPECT_FALSE(map.NextDirtyRun(kGiB));
}

TEST(ChangeMap, ShortLastRegionIsClampedToTheVolume) {
  const uint64_t size = 10 * kGran + 512;
  ChangeMap map(size);
  EXPECT_EQ(map.region_count(), 11u);
  map.Mark(size - 1, 1);
  EXPECT_TRUE(map.IsDirty(10 * kGran));
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{10 * kGran, 512}}));
  EXPECT_EQ(map.CountDirtyBytes(), 512u);
  map.Mark(0, size);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{0, size}}));
}

TEST(ChangeMap, SmallerGranularity) {
  ChangeMap map(kMiB, 4096);
  map.Mark(4096 * 3 + 1, 4096);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{4096 * 3, 2 * 4096}}));
}

TEST(ChangeMap, ClearNeverDropsAPartlyCoveredRegion) {
  ChangeMap map(kGiB);
  map.Mark(0, 10 * kGran);
  map.Clear(kGran + 1, 3 * kGran);  // fully covers only regions 2 and 3
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{0, 2 * kGran}, {4 * kGran, 6 * kGran}}));
  map.Clear(5 * kGran, kGran - 1);  // covers no region fully
  EXPECT_EQ(map.CountDirty(), 8u);
  map.Clear(4 * kGran, 6 * kGran);  // exactly regions 4..9
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{0, 2 * kGran}}));
  map.Clear(0, 0);
  EXPECT_EQ(map.CountDirty(), 2u);
}

TEST(ChangeMap, ClearToTheEndClearsTheShortLastRegion) {
  const uint64_t size = 3 * kGran + 4096;
  ChangeMap map(size);
  map.Mark(0, size);
  map.Clear(2 * kGran, kGran + 4096);
  EXPECT_EQ(Runs(map), (std::vector<ChangeRun>{{0, 2 * kGran}}));
  map.ClearAll();
  EXPECT_EQ(map.CountDirty(), 0u);
}

TEST(ChangeMap, MergeIsAUnion) {
  ChangeMap a(kGiB), b(kGiB);
  a.Mark(0, kGran);
  b.Mark(kGran, kGran);
  b.Mark(700 * kGran, 1);
  a.Merge(b);
  EXPECT_EQ(Runs(a), (std::vector<ChangeRun>{{0, 2 * kGran}, {700 * kGran, kGran}}));
  EXPECT_EQ(b.CountDirty(), 2u);  // the source is unchanged
}

TEST(ChangeMap, ChooseGranularityBoundsTheBitmap) {
  EXPECT_EQ(ChangeMap::ChooseGranularity(kGiB), 64 * kKiB);
  EXPECT_EQ(ChangeMap::ChooseGranularity(16 * kTiB), 64 * kKiB);
  EXPECT_EQ(ChangeMap::ChooseGranularity(16 * kTiB + 512), 128 * kKiB);
  EXPECT_EQ(ChangeMap::ChooseGranularity(kMiB, 4096), 4096u);
  const uint64_t huge = uint64_t{1} << 60;
  uint64_t granularity = ChangeMap::ChooseGranularity(huge);
  EXPECT_LE((huge - 1) / granularity + 1, ChangeMap::kMaxRegions);
  EXPECT_GT((huge - 1) / (granularity / 2) + 1, ChangeMap::kMaxRegions);
}

TEST(ChangeMap, SerializeRoundTrips) {
  ChangeMap map(kGiB + 4096);
  map.Mark(0, 1);
  map.Mark(64 * kGran, 5 * kGran);
  map.Mark(kGiB, 4096);  // the short last region
  std::string bytes = map.Serialize();
  EXPECT_EQ(bytes.substr(0, 8), "FBCHGMP1");
  Result<ChangeMap> back = ChangeMap::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->volume_size_bytes(), map.volume_size_bytes());
  EXPECT_EQ(back->granularity_bytes(), map.granularity_bytes());
  EXPECT_EQ(Runs(*back), Runs(map));
  EXPECT_EQ(back->Serialize(), bytes);
}

TEST(ChangeMap, EverySingleBitFlipIsDataLoss) {
  ChangeMap map(100 * kGran);
  map.Mark(7 * kGran, 30 * kGran);
  const std::string good = map.Serialize();
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = char(bad[byte] ^ (1 << bit));
      EXPECT_EQ(ChangeMap::Deserialize(bad).status().code(), Code::kDataLoss)
          << "byte " << byte << " bit " << bit;
    }
  }
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_EQ(ChangeMap::Deserialize(good.substr(0, len)).status().code(), Code::kDataLoss);
  }
  EXPECT_EQ(ChangeMap::Deserialize(good + "x").status().code(), Code::kDataLoss);
}

TEST(ChangeMap, SealedStrayBitsAndBadGeometryAreDataLoss) {
  ChangeMap map(100 * kGran);  // 100 regions: bits 36..63 of word 1 must stay clear
  std::string bytes = map.Serialize();
  auto reseal = [](std::string& s) {
    size_t covered = s.size() - 8;
    StoreBe64(reinterpret_cast<uint8_t*>(s.data()) + covered, XXH3_64bits(s.data(), covered));
  };
  std::string stray = bytes;
  StoreBe64(reinterpret_cast<uint8_t*>(stray.data()) + kChangeMapHeaderBytes + 8,
            uint64_t{1} << 40);
  reseal(stray);
  EXPECT_EQ(ChangeMap::Deserialize(stray).status().code(), Code::kDataLoss);
  std::string odd_granularity = bytes;
  StoreBe64(reinterpret_cast<uint8_t*>(odd_granularity.data()) + 24, 3 * kGran);
  reseal(odd_granularity);
  EXPECT_EQ(ChangeMap::Deserialize(odd_granularity).status().code(), Code::kDataLoss);
}

TEST(ChangeMap, ConcurrentMarksAreNeverLost) {
  // Eight threads mark interleaved regions that share every word, plus one overlapping range
  // each: fetch_or must not lose any bit.
  constexpr int kThreads = 8;
  constexpr uint64_t kRegions = 64 * 64;
  ChangeMap map(kRegions * kGran);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&map, t] {
      for (uint64_t r = uint64_t(t); r < kRegions; r += 2 * kThreads) map.Mark(r * kGran, 1);
      map.Mark(kRegions / 2 * kGran, 64 * kGran);
    });
  }
  for (std::thread& thread : threads) thread.join();
  uint64_t expected = 0;
  for (uint64_t r = 0; r < kRegions; ++r) {
    bool want = (r % (2 * kThreads)) < kThreads || (r >= kRegions / 2 && r < kRegions / 2 + 64);
    EXPECT_EQ(map.IsDirty(r * kGran), want) << r;
    expected += want;
  }
  EXPECT_EQ(map.CountDirty(), expected);
}

TEST(ChangeMapDeathTest, OutOfRangeIsABug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ChangeMap map(kMiB);
  EXPECT_DEATH(map.Mark(kMiB - 1, 2), "length");
  EXPECT_DEATH((void)map.IsDirty(kMiB), "offset");
  EXPECT_DEATH(ChangeMap(kMiB, 3000), "has_single_bit");
}

}  // namespace
}  // namespace fb::store
