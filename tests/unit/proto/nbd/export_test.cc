// Transmission flag and export sanity tests: which flags each kind of export advertises on
// each kind of connection (NBD.md 1.4), and which ExportInfo values may be offered at all.
#include "proto/nbd/export.h"

#include <gtest/gtest.h>

#include "nbd_test_util.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::MakeExport;

constexpr uint16_t kWritableBase = kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                                   kFlagSendWriteZeroes | kFlagSendCache | kFlagCanMultiConn;

TEST(TransmissionFlags, WritableExportAdvertisesEverythingItHonours) {
  const ExportInfo info = MakeExport("vm1", 1 << 30);
  EXPECT_EQ(TransmissionFlags(info, false), kWritableBase | kFlagSendFastZero);
  // nbdkit-memory's 0xd6d from NBD.md 2, which matches ours.
  EXPECT_EQ(TransmissionFlags(info, false), 0xd6d);
}

TEST(TransmissionFlags, DfOnlyWithStructuredReplies) {
  const ExportInfo info = MakeExport("vm1", 1 << 30);
  EXPECT_FALSE(TransmissionFlags(info, false) & kFlagSendDf);
  EXPECT_EQ(TransmissionFlags(info, true), kWritableBase | kFlagSendFastZero | kFlagSendDf);
}

TEST(TransmissionFlags, FastZeroOnlyWhenTheStoreCanZeroFast) {
  ExportInfo info = MakeExport("vm1", 1 << 30);
  info.can_fast_zero = false;
  EXPECT_EQ(TransmissionFlags(info, false), kWritableBase);
}

TEST(TransmissionFlags, ReadOnlyExportAdvertisesNoWriteCommands) {
  const ExportInfo info = MakeExport("ro", 1 << 30, true);
  for (bool sr : {false, true}) {
    const uint16_t flags = TransmissionFlags(info, sr);
    EXPECT_TRUE(flags & kFlagHasFlags);
    EXPECT_TRUE(flags & kFlagReadOnly);
    EXPECT_FALSE(flags & kFlagSendTrim);
    EXPECT_FALSE(flags & kFlagSendWriteZeroes);
    EXPECT_FALSE(flags & kFlagSendFastZero);
    EXPECT_TRUE(flags & kFlagSendFlush);
    EXPECT_TRUE(flags & kFlagSendFua);
    EXPECT_TRUE(flags & kFlagCanMultiConn);
    EXPECT_EQ(bool(flags & kFlagSendDf), sr);
  }
}

TEST(TransmissionFlags, RotationalComesFromTheExport) {
  ExportInfo info = MakeExport("hdd", 1 << 30);
  EXPECT_FALSE(TransmissionFlags(info, false) & kFlagRotational);
  info.rotational = true;
  EXPECT_TRUE(TransmissionFlags(info, false) & kFlagRotational);
}

TEST(TransmissionFlags, NeverAdvertisesUnimplementedExtensions) {
  for (bool read_only : {false, true}) {
    for (bool sr : {false, true}) {
      const uint16_t flags = TransmissionFlags(MakeExport("x", 512, read_only), sr);
      EXPECT_FALSE(flags & kFlagSendResize);
      EXPECT_FALSE(flags & kFlagBlockStatusPayload);
      EXPECT_EQ(flags & 0xe000, 0);
    }
  }
}

TEST(CheckExportInfo, DefaultsAreValid) {
  EXPECT_TRUE(CheckExportInfo(ExportInfo{}).ok());
  ExportInfo longest;
  longest.name = std::string(4096, 'n');
  longest.description = std::string(4096, 'd');
  EXPECT_TRUE(CheckExportInfo(longest).ok());
}

TEST(CheckExportInfo, RejectsBadStrings) {
  EXPECT_FALSE(CheckExportInfo(MakeExport(std::string(4097, 'n'), 0)).ok());
  EXPECT_FALSE(CheckExportInfo(MakeExport(std::string("a\0b", 3), 0)).ok());
  ExportInfo info;
  info.description = std::string(4097, 'd');
  EXPECT_FALSE(CheckExportInfo(info).ok());
}

TEST(CheckExportInfo, RejectsBlockSizesTheSpecForbids) {
  auto with = [](uint32_t min, uint32_t preferred, uint32_t max) {
    ExportInfo info;
    info.block_min = min;
    info.block_preferred = preferred;
    info.block_max = max;
    return CheckExportInfo(info);
  };
  EXPECT_TRUE(with(1, 4096, 32 << 20).ok());
  EXPECT_TRUE(with(512, 512, 512).ok());
  EXPECT_TRUE(with(65536, 65536, 0xffffffff).ok());
  EXPECT_FALSE(with(0, 4096, 32 << 20).ok());        // not a power of two
  EXPECT_FALSE(with(3, 4096, 32 << 20).ok());        // not a power of two
  EXPECT_FALSE(with(131072, 131072, 1 << 20).ok());  // min > 64 KiB
  EXPECT_FALSE(with(1, 256, 32 << 20).ok());         // preferred < 512
  EXPECT_FALSE(with(4096, 2048, 32 << 20).ok());     // preferred < min
  EXPECT_FALSE(with(1, 3000, 32 << 20).ok());        // preferred not a power of two
  EXPECT_FALSE(with(1, 4096, 4095).ok());            // max < preferred
}

}  // namespace
}  // namespace fb::nbd
