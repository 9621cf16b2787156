// Superblock tests: the byte layout is pinned, every field round-trips, and every way a
// superblock can be damaged (bit flips, truncation, foreign versions) decodes as kDataLoss.
#include "store/superblock.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <string>

#include "base/endian.h"
#include "base/units.h"
#include "env/file.h"
#include "temp_dir.h"

namespace fb::store {
namespace {

Superblock Sample() {
  Uuid bytes;
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(0xa0 + i);
  Superblock sb = NewSuperblock(4 * kGiB, bytes);
  sb.promised_epoch = 0x0102030405060708;
  sb.generation = 42;
  sb.flags = kSuperblockFlagReadOnly;
  return sb;
}

uint8_t* Raw(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

// Rewrites the checksum so only the field validation stands between bytes and a Superblock.
void Reseal(std::string& bytes) {
  StoreBe64(Raw(bytes) + kSuperblockChecksumOffset,
            XXH3_64bits(bytes.data(), kSuperblockChecksumOffset));
}

TEST(Superblock, RoundTripsEveryField) {
  Superblock sb = Sample();
  std::string bytes = EncodeSuperblock(sb);
  ASSERT_EQ(bytes.size(), kSuperblockBytes);
  Result<Superblock> decoded = DecodeSuperblock(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, sb);
  EXPECT_TRUE(decoded->read_only());
}

TEST(Superblock, LayoutIsPinnedBigEndian) {
  std::string bytes = EncodeSuperblock(Sample());
  const uint8_t* p = Raw(bytes);
  EXPECT_EQ(bytes.substr(0, 8), "FBVOLSB1");
  EXPECT_EQ(LoadBe32(p + 8), 1u);    // version
  EXPECT_EQ(LoadBe32(p + 12), 72u);  // length
  EXPECT_EQ(p[16], 0x00);            // 4 GiB = 0x0000000100000000, big-endian
  EXPECT_EQ(p[19], 0x01);
  EXPECT_EQ(LoadBe64(p + 16), 4 * kGiB);
  EXPECT_EQ(LoadBe32(p + 24), 4096u);
  EXPECT_EQ(LoadBe32(p + 28), kSuperblockFlagReadOnly);
  EXPECT_EQ(p[32], 0xa0);
  EXPECT_EQ(p[47], 0xaf);
  EXPECT_EQ(p[48], 0x01);  // promised_epoch 0x0102..08
  EXPECT_EQ(LoadBe64(p + 48), 0x0102030405060708u);
  EXPECT_EQ(LoadBe64(p + 56), 42u);
  EXPECT_EQ(LoadBe64(p + 64), XXH3_64bits(bytes.data(), 64));
}

TEST(Superblock, EverySingleBitFlipIsDataLoss) {
  const std::string good = EncodeSuperblock(Sample());
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = char(bad[byte] ^ (1 << bit));
      Result<Superblock> decoded = DecodeSuperblock(bad);
      ASSERT_FALSE(decoded.ok()) << "byte " << byte << " bit " << bit;
      EXPECT_EQ(decoded.status().code(), Code::kDataLoss) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(Superblock, EveryTruncationAndExtensionIsDataLoss) {
  const std::string good = EncodeSuperblock(Sample());
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_EQ(DecodeSuperblock(good.substr(0, len)).status().code(), Code::kDataLoss) << len;
  }
  EXPECT_EQ(DecodeSuperblock(good + '\0').status().code(), Code::kDataLoss);
  EXPECT_EQ(DecodeSuperblock(good + good).status().code(), Code::kDataLoss);
}

TEST(Superblock, ForeignMagicSaysSo) {
  std::string bytes = EncodeSuperblock(Sample());
  bytes.replace(0, 8, "FBVOLSB2");
  Reseal(bytes);
  Result<Superblock> decoded = DecodeSuperblock(bytes);
  EXPECT_EQ(decoded.status().code(), Code::kDataLoss);
  EXPECT_NE(decoded.status().message().find("magic"), std::string_view::npos);
}

TEST(Superblock, FutureVersionIsDataLossNamingTheVersion) {
  std::string bytes = EncodeSuperblock(Sample());
  StoreBe32(Raw(bytes) + 8, 2);
  Reseal(bytes);
  Result<Superblock> decoded = DecodeSuperblock(bytes);
  EXPECT_EQ(decoded.status().code(), Code::kDataLoss);
  EXPECT_NE(decoded.status().message().find("version 2"), std::string_view::npos);
}

TEST(Superblock, LengthFieldMustMatch) {
  std::string bytes = EncodeSuperblock(Sample());
  StoreBe32(Raw(bytes) + 12, 80);
  Reseal(bytes);
  EXPECT_EQ(DecodeSuperblock(bytes).status().code(), Code::kDataLoss);
}

TEST(Superblock, SealedButInvalidFieldsAreDataLoss) {
  struct Case {
    size_t offset;
    int width;
    uint64_t value;
  };
  const Case cases[] = {
      {16, 8, 0},                          // size 0
      {16, 8, 1000},                       // not a multiple of 512
      {16, 8, (uint64_t{1} << 60) + 512},  // beyond the limit
      {24, 4, 512},                        // logical block size
      {28, 4, 2},                          // unknown flag
  };
  for (const Case& c : cases) {
    std::string bytes = EncodeSuperblock(Sample());
    if (c.width == 8)
      StoreBe64(Raw(bytes) + c.offset, c.value);
    else
      StoreBe32(Raw(bytes) + c.offset, uint32_t(c.value));
    Reseal(bytes);
    EXPECT_EQ(DecodeSuperblock(bytes).status().code(), Code::kDataLoss)
        << "offset " << c.offset << " value " << c.value;
  }
}

TEST(Superblock, ValidateMatchesWhatEncodeAccepts) {
  Superblock sb = Sample();
  EXPECT_TRUE(ValidateSuperblock(sb).ok());
  sb.size_bytes = kVolumeSizeMaxBytes;
  EXPECT_TRUE(ValidateSuperblock(sb).ok());
  sb.size_bytes = 512;
  EXPECT_TRUE(ValidateSuperblock(sb).ok());
  sb.size_bytes = 513;
  EXPECT_EQ(ValidateSuperblock(sb).code(), Code::kDataLoss);
}

TEST(Superblock, NewSuperblockIsDeterministicVersion4) {
  Uuid bytes;
  bytes.fill(0xff);
  Superblock a = NewSuperblock(kMiB, bytes);
  Superblock b = NewSuperblock(kMiB, bytes);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.uuid[6] >> 4, 4);
  EXPECT_EQ(a.uuid[8] >> 6, 2);
  EXPECT_EQ(a.size_bytes, kMiB);
  EXPECT_EQ(a.logical_block_bytes, kLogicalBlockBytes);
  EXPECT_EQ(a.promised_epoch, 0u);
  EXPECT_EQ(a.generation, 0u);
  EXPECT_FALSE(a.read_only());
  bytes[0] = 0;
  EXPECT_NE(NewSuperblock(kMiB, bytes).uuid, a.uuid);
}

TEST(Superblock, FormatUuid) {
  Uuid bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 0x11);
  EXPECT_EQ(FormatUuid(bytes), "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(Superblock, StoreThenLoadThroughTheFileSystem) {
  testing::TempDir dir;
  env::FileSystem& fs = env::PosixFileSystem();
  const std::string path = dir.File("vm.meta");
  ASSERT_TRUE(StoreSuperblock(fs, path, Sample()).ok());
  Result<Superblock> loaded = LoadSuperblock(fs, path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, Sample());
  EXPECT_FALSE(fs.Exists(path + ".tmp"));  // replaced atomically, no leftovers
  Superblock next = Sample();
  next.generation = 43;
  ASSERT_TRUE(StoreSuperblock(fs, path, next).ok());
  EXPECT_EQ(LoadSuperblock(fs, path)->generation, 43u);
}

TEST(Superblock, LoadMissingIsNotFound) {
  testing::TempDir dir;
  Result<Superblock> loaded = LoadSuperblock(env::PosixFileSystem(), dir.File("none.meta"));
  EXPECT_EQ(loaded.status().code(), Code::kNotFound);
}

TEST(Superblock, LoadCorruptIsDataLossNamingThePath) {
  testing::TempDir dir;
  env::FileSystem& fs = env::PosixFileSystem();
  const std::string path = dir.File("vm.meta");
  std::string bytes = EncodeSuperblock(Sample());
  bytes[20] = char(bytes[20] ^ 0x10);
  ASSERT_TRUE(fs.WriteSmallFileDurably(path, bytes).ok());
  Result<Superblock> loaded = LoadSuperblock(fs, path);
  EXPECT_EQ(loaded.status().code(), Code::kDataLoss);
  EXPECT_NE(loaded.status().message().find(path), std::string_view::npos);
  EXPECT_NE(loaded.status().message().find("checksum"), std::string_view::npos);
}

}  // namespace
}  // namespace fb::store
