// TrackingVolume tests: every mutation is marked before the layer below sees it (checked from
// inside that layer), failures stay marked, and reads, flushes and block status never mark.
#include "store/tracking_volume.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "fake_file.h"
#include "store/file_volume.h"

namespace fb::store {
namespace {

constexpr uint64_t kSize = 64 * ChangeMap::kDefaultGranularityBytes;
constexpr uint64_t kGran = ChangeMap::kDefaultGranularityBytes;

// A Volume that records, at the moment each call arrives, whether the map already covered
// the call's range: the decorator's whole promise.
class ProbeVolume final : public Volume {
 public:
  explicit ProbeVolume(const ChangeMap& changes) : changes_(changes) {}

  const std::string& name() const override { return name_; }
  uint64_t size_bytes() const override { return kSize; }
  bool read_only() const override { return false; }

  Status Read(uint64_t, std::span<uint8_t>, env::ReadOptions opts) override {
    ++reads;
    last_nowait = opts.nowait;
    return Status::Ok();
  }
  Status Write(uint64_t offset, std::span<const uint8_t> source, bool fua) override {
    last_fua = fua;
    return Arrive(offset, source.size());
  }
  Status Trim(uint64_t offset, uint64_t length, bool fua) override {
    last_fua = fua;
    return Arrive(offset, length);
  }
  Status WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) override {
    last_zero = opts;
    return Arrive(offset, length);
  }
  Status Flush() override {
    ++flushes;
    return Status::Ok();
  }
  Status BlockStatus(uint64_t, uint64_t length, size_t, std::vector<Allocation>& out) override {
    out.push_back({.length = length, .hole = true, .zero = true});
    return Status::Ok();
  }

  Status result;  // what mutations return
  int mutations = 0;
  int marked_on_arrival = 0;
  int reads = 0;
  int flushes = 0;
  bool last_nowait = false;
  bool last_fua = false;
  ZeroOptions last_zero;

 private:
  Status Arrive(uint64_t offset, uint64_t length) {
    ++mutations;
    bool covered = true;
    for (uint64_t at = offset; at < offset + length; at += kGran / 2) {
      covered = covered && changes_.IsDirty(at);
    }
    covered = covered && changes_.IsDirty(offset + length - 1);
    if (covered) ++marked_on_arrival;
    return result;
  }

  const ChangeMap& changes_;
  const std::string name_ = "probe";
};

class TrackingVolumeTest : public ::testing::Test {
 protected:
  TrackingVolumeTest() : changes_(kSize) {
    auto probe = std::make_unique<ProbeVolume>(changes_);
    probe_ = probe.get();
    volume_ = std::make_unique<TrackingVolume>(std::move(probe), changes_);
  }
  ChangeMap changes_;
  ProbeVolume* probe_ = nullptr;
  std::unique_ptr<TrackingVolume> volume_;
};

TEST_F(TrackingVolumeTest, ForwardsIdentity) {
  EXPECT_EQ(volume_->name(), "probe");
  EXPECT_EQ(volume_->size_bytes(), kSize);
  EXPECT_FALSE(volume_->read_only());
  EXPECT_EQ(&volume_->inner(), probe_);
  EXPECT_EQ(&volume_->changes(), &changes_);
}

TEST_F(TrackingVolumeTest, EveryMutationIsMarkedBeforeItIsForwarded) {
  std::vector<uint8_t> data(3 * kGran);
  ASSERT_TRUE(volume_->Write(kGran / 2, data, true).ok());
  EXPECT_TRUE(probe_->last_fua);
  ASSERT_TRUE(volume_->Trim(10 * kGran, kGran, false).ok());
  EXPECT_FALSE(probe_->last_fua);
  ZeroOptions opts{.may_trim = false, .fast_only = true, .fua = true};
  ASSERT_TRUE(volume_->WriteZeroes(20 * kGran + 1, 1, opts).ok());
  EXPECT_FALSE(probe_->last_zero.may_trim);
  EXPECT_TRUE(probe_->last_zero.fast_only);
  EXPECT_TRUE(probe_->last_zero.fua);
  EXPECT_EQ(probe_->mutations, 3);
  EXPECT_EQ(probe_->marked_on_arrival, 3);
  std::vector<ChangeRun> runs;
  changes_.ForEachDirtyRun([&](uint64_t o, uint64_t l) { runs.push_back({o, l}); });
  EXPECT_EQ(runs,
            (std::vector<ChangeRun>{{0, 4 * kGran}, {10 * kGran, kGran}, {20 * kGran, kGran}}));
}

TEST_F(TrackingVolumeTest, FailedMutationsStayMarked) {
  probe_->result = Status::Unimplemented("probe", "no fast zero");
  EXPECT_EQ(volume_->WriteZeroes(0, kGran, {.fast_only = true}).code(), Code::kUnimplemented);
  probe_->result = Status::IOError("probe", "EIO");
  std::vector<uint8_t> data(10);
  EXPECT_EQ(volume_->Write(5 * kGran, data, false).code(), Code::kIOError);
  EXPECT_TRUE(changes_.IsDirty(0));
  EXPECT_TRUE(changes_.IsDirty(5 * kGran));
  EXPECT_EQ(changes_.CountDirty(), 2u);
}

TEST_F(TrackingVolumeTest, ReadsFlushesAndBlockStatusDoNotMark) {
  std::vector<uint8_t> target(100);
  ASSERT_TRUE(volume_->Read(0, target, {.nowait = true}).ok());
  EXPECT_TRUE(probe_->last_nowait);
  ASSERT_TRUE(volume_->Flush().ok());
  std::vector<Allocation> runs;
  ASSERT_TRUE(volume_->BlockStatus(0, kSize, 4, runs).ok());
  EXPECT_EQ(runs.size(), 1u);
  EXPECT_EQ(probe_->reads, 1);
  EXPECT_EQ(probe_->flushes, 1);
  EXPECT_EQ(changes_.CountDirty(), 0u);
}

TEST(TrackingVolumeOverFile, TracksRealWrites) {
  ChangeMap changes(kSize);
  auto file = std::make_unique<testing::FakeFile>(kSize);
  TrackingVolume volume(std::make_unique<FileVolume>("v", std::move(file), kSize, false), changes);
  std::vector<uint8_t> data(100, 7);
  ASSERT_TRUE(volume.Write(kGran - 50, data, false).ok());
  std::vector<uint8_t> back(100);
  ASSERT_TRUE(volume.Read(kGran - 50, back).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(changes.CountDirty(), 2u);
  ASSERT_TRUE(volume.Trim(kSize - kGran, kGran, false).ok());
  EXPECT_TRUE(changes.IsDirty(kSize - 1));
}

TEST(TrackingVolumeOverFile, PrepareAsyncWriteMarksAndNamesTheFile) {
  ChangeMap changes(kSize);
  auto file = std::make_unique<testing::FakeFile>(kSize);
  env::File* raw = file.get();
  TrackingVolume volume(std::make_unique<FileVolume>("v", std::move(file), kSize, false), changes);
  EXPECT_EQ(volume.PrepareAsyncWrite(3 * kGran, 2 * kGran), raw);
  // Marked before the caller's data can land, exactly the written regions.
  EXPECT_TRUE(changes.IsDirty(3 * kGran));
  EXPECT_TRUE(changes.IsDirty(5 * kGran - 1));
  EXPECT_EQ(changes.CountDirty(), 2u);
}

TEST(TrackingVolumeDeathTest, MutatingAReadOnlyVolumeIsABug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ChangeMap changes(kSize);
  TrackingVolume volume(
      std::make_unique<FileVolume>("ro", std::make_unique<testing::FakeFile>(kSize), kSize, true),
      changes);
  EXPECT_DEATH((void)volume.Trim(0, 1, false), "read_only");
}

}  // namespace
}  // namespace fb::store
