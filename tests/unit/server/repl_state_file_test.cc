// ReplStateFile: round trips, the torn-slot fallback that makes one fdatasync enough, and
// corruption detection.
#include "server/repl_state_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace fb::server {
namespace {

class ReplStateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fb-replstate-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/vm1.img.repl";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

repl::PersistedState State(uint64_t promised, bool blank, std::vector<uint64_t> regions) {
  repl::PersistedState s;
  s.promised_epoch = promised;
  s.blank = blank;
  s.al_regions = std::move(regions);
  return s;
}

TEST_F(ReplStateFileTest, MissingIsNotFoundAndStoresRoundTrip) {
  auto& fs = env::PosixFileSystem();
  EXPECT_EQ(ReplStateFile::Open(fs, path_, 1000, false).status().code(), Code::kNotFound);
  auto f = ReplStateFile::Open(fs, path_, 1000, true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Load().status().code(), Code::kNotFound);
  for (uint64_t i = 1; i <= 5; ++i) {
    auto s = State(i, i % 2 == 0, {0, i, 999});
    ASSERT_TRUE((*f)->Store(s).ok());
    auto reopened = ReplStateFile::Open(fs, path_, 1000, false);
    ASSERT_TRUE(reopened.ok());
    EXPECT_EQ(*(*reopened)->Load(), s);
  }
}

TEST_F(ReplStateFileTest, ATornNewestSlotFallsBackToThePreviousState) {
  auto& fs = env::PosixFileSystem();
  auto f = ReplStateFile::Open(fs, path_, 64, true);
  ASSERT_TRUE(f.ok());
  auto older = State(7, false, {1, 2});
  ASSERT_TRUE((*f)->Store(older).ok());                     // sequence 1: slot 1
  ASSERT_TRUE((*f)->Store(State(8, false, {3})).ok());      // sequence 2: slot 0
  // Tear slot 0 (the newest) as a crash mid-write would.
  auto raw = fs.Open(path_, {});
  ASSERT_TRUE(raw.ok());
  std::vector<uint8_t> junk(100, 0x5a);
  ASSERT_TRUE((*raw)->WriteAt(20, junk).ok());
  auto reopened = ReplStateFile::Open(fs, path_, 64, false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->Load(), older);
  // Both slots bad: refuse to guess.
  ASSERT_TRUE((*raw)->WriteAt(ReplSlotBytes(64) + 20, junk).ok());
  EXPECT_EQ((*reopened)->Load().status().code(), Code::kDataLoss);
}

TEST(ReplSlot, EveryBitFlipIsDetected) {
  auto slot = EncodeReplSlot(State(3, true, {0, 9, 63}), 12, 64);
  uint64_t seq = 0;
  ASSERT_TRUE(DecodeReplSlot(slot, 64, &seq).ok());
  EXPECT_EQ(seq, 12u);
  const size_t meaningful = kReplSlotHeaderBytes + 8;  // header + 64-bit bitmap
  for (size_t bit = 0; bit < meaningful * 8; ++bit) {
    auto bad = slot;
    bad[bit / 8] ^= uint8_t(1u << (bit % 8));
    EXPECT_FALSE(DecodeReplSlot(bad, 64, &seq).ok()) << "bit " << bit;
  }
  EXPECT_FALSE(DecodeReplSlot(slot, 65, &seq).ok());  // other geometry
}

}  // namespace
}  // namespace fb::server
