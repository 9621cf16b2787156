// The witness state file: round trips through a real file; torn, rotted or malformed files
// are errors, and a missing one is "first start".
#include "server/coord_state_file.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include "../store/temp_dir.h"
#include "base/endian.h"
#include "coord/wire.h"

namespace fb::server {
namespace {

std::vector<PersistedVolume> Sample() {
  PersistedVolume a;
  a.name = "vm1";
  a.state.record.volume = 1;
  a.state.record.epoch = 4;
  a.state.record.tenure = 3;
  a.state.record.primary = 1;
  a.state.record.members = 0b111;
  a.state.record.in_sync = 0b011;
  a.state.record.prev_in_sync = 0b110;
  a.state.record.min_in_sync = 2;
  a.state.record.primary_incarnation = 77;
  a.state.in_sync_boot[0] = 11;
  a.state.in_sync_boot[1] = 12;
  a.state.in_sync_boot[63] = UINT64_MAX;
  a.state.tenure_leased = true;
  PersistedVolume b;
  b.name = std::string(kCoordStateNameBytesMax, 'x');
  b.state.record.volume = 2;
  b.state.record.epoch = b.state.record.tenure = 1;
  b.state.record.primary = 0;
  b.state.record.members = b.state.record.in_sync = 1;
  return {a, b};
}

TEST(CoordStateFile, RoundTrips) {
  for (const auto& volumes : {Sample(), std::vector<PersistedVolume>{}}) {
    Result<std::vector<PersistedVolume>> back = DecodeCoordState(EncodeCoordState(volumes));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, volumes);
  }
}

TEST(CoordStateFile, SavesAndLoadsThroughTheFileSystem) {
  store::testing::TempDir dir;
  env::FileSystem& fs = env::PosixFileSystem();
  const std::string path = dir.File("coordinator.state");
  auto missing = LoadCoordState(fs, path);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(SaveCoordState(fs, path, Sample()).ok());
  auto loaded = LoadCoordState(fs, path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, Sample());
  ASSERT_TRUE(fs.WriteSmallFileDurably(path, "garbage").ok());
  auto bad = LoadCoordState(fs, path);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path), std::string::npos);  // names the file
}

TEST(CoordStateFile, EveryCorruptionIsAnError) {
  const std::string good = EncodeCoordState(Sample());
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] ^= 0x20;
    EXPECT_FALSE(DecodeCoordState(bad).ok()) << at;
  }
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(DecodeCoordState(good.substr(0, n)).status().code(), Code::kDataLoss) << n;
  }
}

// A file written by a buggy writer (valid checksum, bad content) is still refused.
TEST(CoordStateFile, MalformedContentIsAnErrorUnderAGoodChecksum) {
  auto reseal = [](std::string bytes) {
    const size_t end = bytes.size() - 8;
    uint8_t sum[8];
    StoreBe64(sum, XXH3_64bits(bytes.data(), end));
    bytes.replace(end, 8, reinterpret_cast<const char*>(sum), 8);
    return bytes;
  };
  const std::string good = EncodeCoordState(Sample());
  auto with = [&](size_t at, uint32_t value) {
    std::string bytes = good;
    uint8_t be[4];
    StoreBe32(be, value);
    bytes.replace(at, 4, reinterpret_cast<const char*>(be), 4);
    return DecodeCoordState(reseal(bytes)).status().code();
  };
  EXPECT_EQ(with(0, 0x46424350), Code::kInvalidArgument);  // magic
  EXPECT_EQ(with(4, kCoordStateVersion + 1), Code::kInvalidArgument);
  EXPECT_EQ(with(8, 3), Code::kInvalidArgument);            // more entries than present
  EXPECT_EQ(with(8, 1), Code::kInvalidArgument);            // trailing bytes
  EXPECT_EQ(with(12, 1), Code::kInvalidArgument);           // padding
  EXPECT_EQ(with(16, 0x00000001), Code::kInvalidArgument);  // name length 0, flags 1
  EXPECT_EQ(with(16, 0x00030002), Code::kInvalidArgument);  // unknown entry flag
  const size_t record = 16 + 4 + 3;                         // after "vm1"
  EXPECT_EQ(with(record + 16, 2), Code::kInvalidArgument);  // primary outside S
  const size_t boots = record + coord::kRecordBytes;
  EXPECT_EQ(with(boots, 65), Code::kInvalidArgument);          // boot count
  EXPECT_EQ(with(boots + 4, 64), Code::kInvalidArgument);      // boot node
  EXPECT_EQ(with(boots + 4 + 16, 0), Code::kInvalidArgument);  // nodes not ascending
  EXPECT_EQ(with(boots + 4 + 4, 1), Code::kInvalidArgument);   // boot padding
  EXPECT_EQ(with(boots + 4 + 12, 0), Code::kInvalidArgument);  // a zero boot
}

}  // namespace
}  // namespace fb::server
