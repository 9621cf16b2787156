// FileVolume tests: real sparse files in a temporary directory for I/O, trim, zeroing and
// block status; a FakeFile for the fallbacks ext4 never needs and for exact call accounting.
#include "store/file_volume.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "base/units.h"
#include "env/file.h"
#include "fake_file.h"
#include "temp_dir.h"

namespace fb::store {
namespace {

using testing::AllocatedBytes;
using testing::FakeFile;

constexpr uint64_t kSize = 4 * kMiB;

// A buffer aligned for O_DIRECT, so aligned writes take the direct path as in production.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n, uint8_t fill = 0)
      : data(static_cast<uint8_t*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096))), size(n) {
    std::memset(data, fill, n);
  }
  ~AlignedBuffer() { std::free(data); }
  std::span<uint8_t> span() { return {data, size}; }
  uint8_t* data;
  size_t size;
};

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

uint64_t Total(const std::vector<Allocation>& runs) {
  uint64_t total = 0;
  for (const Allocation& run : runs) total += run.length;
  return total;
}

class FileVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("vol.img");
    env::FileSystem& fs = env::PosixFileSystem();
    auto file = fs.Open(path_, {.create = true});
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Truncate(kSize).ok());
    auto direct = fs.Open(path_, {.direct_writes = true});
    ASSERT_TRUE(direct.ok()) << direct.status().ToString();
    volume_ = std::make_unique<FileVolume>("vol", std::move(*direct), kSize, false);
  }

  std::vector<uint8_t> ReadBack(uint64_t offset, size_t n) {
    std::vector<uint8_t> out(n, 0xee);
    EXPECT_TRUE(volume_->Read(offset, out).ok());
    return out;
  }

  std::vector<Allocation> Runs(uint64_t offset, uint64_t length, size_t max_runs = 64) {
    std::vector<Allocation> runs;
    EXPECT_TRUE(volume_->BlockStatus(offset, length, max_runs, runs).ok());
    return runs;
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<FileVolume> volume_;
};

TEST_F(FileVolumeTest, NewVolumeReadsZerosAndIsOneHole) {
  EXPECT_EQ(volume_->name(), "vol");
  EXPECT_EQ(volume_->size_bytes(), kSize);
  EXPECT_FALSE(volume_->read_only());
  EXPECT_TRUE(AllZero(ReadBack(0, 64 * kKiB)));
  std::vector<Allocation> runs = Runs(0, kSize);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].length, kSize);
  EXPECT_TRUE(runs[0].hole);
  EXPECT_TRUE(runs[0].zero);
}

TEST_F(FileVolumeTest, AlignedWriteReadsBack) {
  AlignedBuffer buf(64 * kKiB, 0x5a);
  ASSERT_TRUE(volume_->Write(128 * kKiB, buf.span(), false).ok());
  std::vector<uint8_t> back = ReadBack(128 * kKiB, 64 * kKiB);
  EXPECT_TRUE(std::all_of(back.begin(), back.end(), [](uint8_t b) { return b == 0x5a; }));
  EXPECT_TRUE(volume_->Flush().ok());
}

TEST_F(FileVolumeTest, UnalignedWriteAndReadAcrossBlocks) {
  std::vector<uint8_t> data = Pattern(10000, 3);
  ASSERT_TRUE(volume_->Write(4095, data, false).ok());
  EXPECT_EQ(ReadBack(4095, 10000), data);
  // The bytes around it are untouched.
  EXPECT_EQ(ReadBack(4094, 1)[0], 0);
  EXPECT_EQ(ReadBack(4095 + 10000, 1)[0], 0);
  // A read straddling the written range sees both.
  std::vector<uint8_t> straddle = ReadBack(4000, 200);
  EXPECT_TRUE(AllZero(std::span(straddle).first(95)));
  EXPECT_EQ(straddle[95], data[0]);
}

TEST_F(FileVolumeTest, FuaWriteAndLastByte) {
  std::vector<uint8_t> data = Pattern(513, 9);
  ASSERT_TRUE(volume_->Write(kSize - 513, data, true).ok());
  EXPECT_EQ(ReadBack(kSize - 513, 513), data);
}

TEST_F(FileVolumeTest, ZeroLengthCallsAreNoOps) {
  EXPECT_TRUE(volume_->Read(kSize, {}).ok());
  EXPECT_TRUE(volume_->Write(kSize, {}, true).ok());
  EXPECT_TRUE(volume_->Trim(0, 0, false).ok());
  EXPECT_TRUE(volume_->WriteZeroes(kSize, 0, {}).ok());
}

TEST_F(FileVolumeTest, NowaitReadOfCachedDataPassesThrough) {
  std::vector<uint8_t> data = Pattern(100, 1);
  ASSERT_TRUE(volume_->Write(1, data, false).ok());  // unaligned: through the page cache
  std::vector<uint8_t> back(100);
  Status status = volume_->Read(1, back, {.nowait = true});
  // Cached pages read without blocking; kWouldBlock is the only other acceptable answer.
  if (status.ok()) {
    EXPECT_EQ(back, data);
  } else {
    EXPECT_EQ(status.code(), Code::kWouldBlock);
  }
}

// The zero-copy read path: FileForRead names the file holding the bytes, and its cached-read
// handle exists only while every page of the range is in the page cache.
TEST_F(FileVolumeTest, CachedReadHandleOnlyForCachedRanges) {
  constexpr uint64_t kAt = 512 * kKiB;
  constexpr uint64_t kLen = 128 * kKiB;
  env::File* file = volume_->FileForRead(kAt, kLen);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->CachedReadHandle(kAt, kLen), -1);  // never written or read: not cached
  // An unaligned write goes through the page cache and leaves every page it touched there.
  std::vector<uint8_t> data = Pattern(kLen - 1, 7);
  ASSERT_TRUE(volume_->Write(kAt + 1, data, false).ok());
  int fd = file->CachedReadHandle(kAt, kLen);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> back(kLen);
  ASSERT_EQ(pread(fd, back.data(), kLen, off_t(kAt)), ssize_t(kLen));
  EXPECT_EQ(back[0], 0);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin() + 1));
  EXPECT_GE(file->CachedReadHandle(kAt + 4095, 2), 0);  // a part of a cached range
  EXPECT_EQ(file->CachedReadHandle(kAt, 2 * kLen), -1);  // runs into uncached pages
  EXPECT_EQ(file->CachedReadHandle(kSize, 4096), -1);     // past the end
  EXPECT_EQ(file->CachedReadHandle(kAt, 0), -1);
}

TEST_F(FileVolumeTest, TrimReadsZeroAndDeallocates) {
  AlignedBuffer buf(256 * kKiB, 0x77);
  ASSERT_TRUE(volume_->Write(0, buf.span(), false).ok());
  ASSERT_TRUE(volume_->Flush().ok());
  int64_t before = AllocatedBytes(path_);
  ASSERT_TRUE(volume_->Trim(64 * kKiB, 128 * kKiB, true).ok());
  EXPECT_TRUE(AllZero(ReadBack(64 * kKiB, 128 * kKiB)));
  EXPECT_EQ(ReadBack(64 * kKiB - 1, 1)[0], 0x77);
  EXPECT_EQ(ReadBack(192 * kKiB, 1)[0], 0x77);
  EXPECT_EQ(AllocatedBytes(path_), before - int64_t(128 * kKiB));
  std::vector<Allocation> runs = Runs(0, 256 * kKiB);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_FALSE(runs[0].hole);
  EXPECT_TRUE(runs[1].hole && runs[1].zero);
  EXPECT_EQ(runs[1].length, 128 * kKiB);
  EXPECT_FALSE(runs[2].zero);
}

TEST_F(FileVolumeTest, UnalignedTrimStillReadsZero) {
  std::vector<uint8_t> data = Pattern(20000, 5);
  ASSERT_TRUE(volume_->Write(1000, data, false).ok());
  ASSERT_TRUE(volume_->Trim(1500, 9000, false).ok());
  std::vector<uint8_t> back = ReadBack(1000, 20000);
  EXPECT_TRUE(AllZero(std::span(back).subspan(500, 9000)));
  EXPECT_EQ(back[499], data[499]);
  EXPECT_EQ(back[9500], data[9500]);
}

TEST_F(FileVolumeTest, WriteZeroesMayTrimPunchesHole) {
  AlignedBuffer buf(128 * kKiB, 0x11);
  ASSERT_TRUE(volume_->Write(0, buf.span(), false).ok());
  ASSERT_TRUE(volume_->WriteZeroes(0, 128 * kKiB, {.may_trim = true, .fua = true}).ok());
  EXPECT_TRUE(AllZero(ReadBack(0, 128 * kKiB)));
  std::vector<Allocation> runs = Runs(0, 128 * kKiB);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].hole);
  EXPECT_EQ(AllocatedBytes(path_), 0);
}

TEST_F(FileVolumeTest, WriteZeroesNoHoleKeepsAllocation) {
  AlignedBuffer buf(128 * kKiB, 0x22);
  ASSERT_TRUE(volume_->Write(0, buf.span(), false).ok());
  ASSERT_TRUE(volume_->Flush().ok());
  int64_t before = AllocatedBytes(path_);
  ASSERT_GE(before, int64_t(128 * kKiB));
  ASSERT_TRUE(volume_->WriteZeroes(0, 128 * kKiB, {.may_trim = false}).ok());
  EXPECT_TRUE(AllZero(ReadBack(0, 128 * kKiB)));
  // Allocation is kept (st_blocks). Block status cannot show it: SEEK_DATA calls the
  // unwritten extent a hole, or data once its zero pages are cached (as ReadBack just did).
  // Either answer is consistent: a hole always reads as zeros.
  EXPECT_EQ(AllocatedBytes(path_), before);
  std::vector<Allocation> runs = Runs(0, 128 * kKiB);
  for (const Allocation& run : runs) EXPECT_TRUE(!run.hole || run.zero);
  EXPECT_EQ(Total(runs), 128 * kKiB);
}

TEST_F(FileVolumeTest, FastZeroSucceedsWhereZeroRangeExists) {
  ASSERT_TRUE(volume_->Write(0, Pattern(8192, 1), false).ok());
  ASSERT_TRUE(volume_->WriteZeroes(0, 8192, {.may_trim = false, .fast_only = true}).ok());
  EXPECT_TRUE(AllZero(ReadBack(0, 8192)));
}

TEST_F(FileVolumeTest, BlockStatusOfMixedRegions) {
  AlignedBuffer buf(64 * kKiB, 1);
  ASSERT_TRUE(volume_->Write(64 * kKiB, buf.span(), false).ok());
  ASSERT_TRUE(volume_->Write(1 * kMiB, buf.span(), false).ok());
  std::vector<Allocation> runs = Runs(0, kSize);
  ASSERT_EQ(runs.size(), 5u);
  const uint64_t lengths[] = {64 * kKiB, 64 * kKiB, kMiB - 128 * kKiB, 64 * kKiB,
                              kSize - kMiB - 64 * kKiB};
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].length, lengths[i]) << i;
    EXPECT_EQ(runs[i].hole, i % 2 == 0) << i;
    EXPECT_EQ(runs[i].zero, i % 2 == 0) << i;
  }
  EXPECT_EQ(Total(runs), kSize);
}

TEST_F(FileVolumeTest, BlockStatusRespectsMaxRunsAndStopsShort) {
  AlignedBuffer buf(64 * kKiB, 1);
  ASSERT_TRUE(volume_->Write(64 * kKiB, buf.span(), false).ok());
  std::vector<Allocation> one = Runs(0, kSize, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].length, 64 * kKiB);
  EXPECT_TRUE(one[0].hole);
  std::vector<Allocation> two = Runs(0, kSize, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(Total(two), 128 * kKiB);
  EXPECT_FALSE(two[1].hole);
}

TEST_F(FileVolumeTest, BlockStatusClampsToTheRequestedRange) {
  AlignedBuffer buf(64 * kKiB, 1);
  ASSERT_TRUE(volume_->Write(64 * kKiB, buf.span(), false).ok());
  std::vector<Allocation> inside = Runs(70 * kKiB, 10 * kKiB);
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside[0].length, 10 * kKiB);
  EXPECT_FALSE(inside[0].hole);
  std::vector<Allocation> straddle = Runs(60 * kKiB, 10 * kKiB);
  ASSERT_EQ(straddle.size(), 2u);
  EXPECT_EQ(straddle[0].length, 4 * kKiB);
  EXPECT_TRUE(straddle[0].hole);
  EXPECT_EQ(straddle[1].length, 6 * kKiB);
  EXPECT_FALSE(straddle[1].hole);
  std::vector<Allocation> tail = Runs(kSize - 1, 1);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].length, 1u);
}

TEST_F(FileVolumeTest, BlockStatusAppendsToOut) {
  std::vector<Allocation> runs(2);
  ASSERT_TRUE(volume_->BlockStatus(0, kSize, 4, runs).ok());
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[2].length, kSize);
}

// --- Fallbacks and call accounting, on a FakeFile. ---

class FileVolumeFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto file = std::make_unique<FakeFile>(kSize);
    fake_ = file.get();
    volume_ = std::make_unique<FileVolume>("fake", std::move(file), kSize, false);
    std::vector<uint8_t> ones(kSize, 1);
    ASSERT_TRUE(volume_->Write(0, ones, false).ok());
    fake_->writes = 0;
    fake_->max_write_bytes = 0;
  }
  FakeFile* fake_ = nullptr;
  std::unique_ptr<FileVolume> volume_;
};

TEST_F(FileVolumeFakeTest, WritePassesFuaAndNeedsNoSync) {
  ASSERT_TRUE(volume_->Write(0, Pattern(10, 1), true).ok());
  EXPECT_EQ(fake_->fua_writes, 1);
  EXPECT_EQ(fake_->syncs, 0);
  ASSERT_TRUE(volume_->Write(0, Pattern(10, 1), false).ok());
  EXPECT_EQ(fake_->fua_writes, 1);
  ASSERT_TRUE(volume_->Flush().ok());
  EXPECT_EQ(fake_->syncs, 1);
}

TEST_F(FileVolumeFakeTest, ReadPassesNowait) {
  std::vector<uint8_t> target(10);
  ASSERT_TRUE(volume_->Read(0, target, {.nowait = true}).ok());
  EXPECT_EQ(fake_->nowait_reads, 1);
}

TEST_F(FileVolumeFakeTest, TrimPunchesAndSyncsOnlyWithFua) {
  ASSERT_TRUE(volume_->Trim(0, 8192, false).ok());
  EXPECT_EQ(fake_->punches, 1);
  EXPECT_EQ(fake_->syncs, 0);
  ASSERT_TRUE(volume_->Trim(8192, 8192, true).ok());
  EXPECT_EQ(fake_->punches, 2);
  EXPECT_EQ(fake_->syncs, 1);
  EXPECT_FALSE(fake_->BlockAllocated(8192));
}

TEST_F(FileVolumeFakeTest, NoHoleUsesZeroRange) {
  ASSERT_TRUE(volume_->WriteZeroes(0, 8192, {.may_trim = false, .fua = true}).ok());
  EXPECT_EQ(fake_->zero_ranges, 1);
  EXPECT_EQ(fake_->punches, 0);
  EXPECT_EQ(fake_->syncs, 1);
  EXPECT_TRUE(fake_->BlockAllocated(0));
  EXPECT_EQ(fake_->ByteAt(8191), 0);
}

TEST_F(FileVolumeFakeTest, MayTrimFallsBackToZeroRangeWithoutPunch) {
  fake_->punch_supported = false;
  ASSERT_TRUE(volume_->Trim(0, 4096, false).ok());
  EXPECT_EQ(fake_->zero_ranges, 1);
  EXPECT_EQ(fake_->ByteAt(4095), 0);
  EXPECT_EQ(fake_->ByteAt(4096), 1);
}

TEST_F(FileVolumeFakeTest, FastZeroWithoutZeroRangeFailsUntouched) {
  fake_->punch_supported = false;
  fake_->zero_range_supported = false;
  for (bool may_trim : {false, true}) {
    Status status = volume_->WriteZeroes(0, 8192, {.may_trim = may_trim, .fast_only = true});
    EXPECT_EQ(status.code(), Code::kUnimplemented);
  }
  EXPECT_EQ(fake_->writes, 0);
  EXPECT_EQ(fake_->allocates, 0);
  EXPECT_EQ(fake_->ByteAt(0), 1);
  EXPECT_EQ(fake_->ByteAt(8191), 1);
}

TEST_F(FileVolumeFakeTest, SlowZeroWritesBoundedChunksAfterReserving) {
  fake_->zero_range_supported = false;
  const uint64_t length = 2 * kZeroChunkBytes + 12345;
  ASSERT_TRUE(volume_->WriteZeroes(1, length, {.may_trim = false, .fua = true}).ok());
  EXPECT_EQ(fake_->allocates, 1);
  EXPECT_EQ(fake_->writes, 3);
  EXPECT_EQ(fake_->max_write_bytes, kZeroChunkBytes);
  EXPECT_EQ(fake_->syncs, 1);
  EXPECT_EQ(fake_->ByteAt(0), 1);
  EXPECT_EQ(fake_->ByteAt(1), 0);
  EXPECT_EQ(fake_->ByteAt(length), 0);
  EXPECT_EQ(fake_->ByteAt(length + 1), 1);
}

TEST_F(FileVolumeFakeTest, SlowZeroWorksWithoutFallocate) {
  fake_->zero_range_supported = false;
  fake_->allocate_supported = false;
  ASSERT_TRUE(volume_->WriteZeroes(0, 4096, {.may_trim = false}).ok());
  EXPECT_EQ(fake_->writes, 1);
  EXPECT_EQ(fake_->ByteAt(4095), 0);
}

TEST_F(FileVolumeFakeTest, PunchErrorsPropagate) {
  fake_->punch_error = Status::IOError("fake", "EIO");
  EXPECT_EQ(volume_->Trim(0, 4096, false).code(), Code::kIOError);
  EXPECT_EQ(fake_->zero_ranges, 0);  // a real error is not a reason to try something else
}

TEST_F(FileVolumeFakeTest, BlockStatusTerminatesWhenSeeksRace) {
  fake_->racy_seek = true;
  std::vector<Allocation> runs;
  ASSERT_TRUE(volume_->BlockStatus(100, 10000, 64, runs).ok());
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].length, 4096u - 100);
  EXPECT_FALSE(runs[0].hole);
  EXPECT_FALSE(runs[0].zero);
  EXPECT_EQ(Total(runs), 10000u);
}

using FileVolumeDeathTest = FileVolumeFakeTest;

TEST_F(FileVolumeDeathTest, PreconditionsAreAsserted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FileVolume read_only("ro", std::make_unique<FakeFile>(kSize), kSize, true);
  std::vector<uint8_t> byte(1);
  EXPECT_DEATH((void)read_only.Write(0, byte, false), "read_only");
  EXPECT_DEATH((void)volume_->Read(kSize, byte), "InRange");
  EXPECT_DEATH((void)volume_->Trim(kSize - 1, 2, false), "InRange");
}

}  // namespace
}  // namespace fb::store
