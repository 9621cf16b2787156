// Reply encoding tests: exact bytes of simple replies and structured chunks, the SR/simple
// choice, message truncation, and the chunk rules the encoders assert.
#include "proto/nbd/reply.h"

#include <gtest/gtest.h>

#include "nbd_test_util.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::Concat;
using testing::MakeExport;
using testing::NegotiatedFor;
using testing::Wire;

constexpr uint64_t kCookie = 0xfeedfacecafebeef;

const Negotiated kSimple = NegotiatedFor(MakeExport("vm1", 1 << 20));
const Negotiated kSr = NegotiatedFor(MakeExport("vm1", 1 << 20), true);

Wire Chunk(uint16_t flags, uint16_t type, uint32_t length) {
  Wire w;
  w.U32(kStructuredReplyMagic).U16(flags).U16(type).U64(kCookie).U32(length);
  return w;
}

TEST(EncodeStatusReply, SimpleReplyWithoutStructuredReplies) {
  std::vector<uint8_t> out;
  EncodeStatusReply(out, kSimple, kCookie, 0);
  EncodeStatusReply(out, kSimple, kCookie, kEnospc, "the message has nowhere to go");
  const auto expected = Wire()
                            .U32(kSimpleReplyMagic)
                            .U32(0)
                            .U64(kCookie)
                            .U32(kSimpleReplyMagic)
                            .U32(kEnospc)
                            .U64(kCookie)
                            .bytes;
  EXPECT_EQ(out, expected);
  EXPECT_EQ(out.size(), 2 * kSimpleReplyBytes);
}

TEST(EncodeStatusReply, SuccessUnderStructuredRepliesIsNoneWithDone) {
  std::vector<uint8_t> out;
  EncodeStatusReply(out, kSr, kCookie, 0, "ignored on success");
  EXPECT_EQ(out, Chunk(kReplyFlagDone, kChunkNone, 0).bytes);
}

TEST(EncodeSuccessReply, SimpleUnderStructuredRepliesExceptForRead) {
  const auto simple = Wire().U32(kSimpleReplyMagic).U32(0).U64(kCookie).bytes;
  for (uint16_t command : {kCmdWrite, kCmdFlush, kCmdTrim, kCmdWriteZeroes, kCmdCache}) {
    std::vector<uint8_t> out;
    EncodeSuccessReply(out, kSr, kCookie, command);
    EXPECT_EQ(out, simple) << "command " << command;
  }
  std::vector<uint8_t> read;
  EncodeSuccessReply(read, kSr, kCookie, kCmdRead);  // a READ of length 0
  EXPECT_EQ(read, Chunk(kReplyFlagDone, kChunkNone, 0).bytes);
  std::vector<uint8_t> plain;
  EncodeSuccessReply(plain, kSimple, kCookie, kCmdRead);
  EXPECT_EQ(plain, simple);
}

TEST(EncodeStatusReply, ErrorUnderStructuredRepliesIsAnErrorChunkWithMessage) {
  std::vector<uint8_t> out;
  EncodeStatusReply(out, kSr, kCookie, kEinval, "bad range");
  const auto expected =
      Chunk(kReplyFlagDone, kChunkError, 6 + 9).U32(kEinval).U16(9).Text("bad range").bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeStatusReply, ErrorWithoutMessage) {
  std::vector<uint8_t> out;
  EncodeStatusReply(out, kSr, kCookie, kEio);
  EXPECT_EQ(out, Chunk(kReplyFlagDone, kChunkError, 6).U32(kEio).U16(0).bytes);
}

TEST(EncodeStatusReply, LongMessagesAreCutTo4096Bytes) {
  std::vector<uint8_t> out;
  const std::string message(10000, 'x');
  EncodeStatusReply(out, kSr, kCookie, kEio, message);
  ASSERT_EQ(out.size(), kChunkHeaderBytes + 6 + 4096);
  EXPECT_EQ(LoadBe32(out.data() + 16), 6u + 4096u);
  EXPECT_EQ(LoadBe16(out.data() + 24), 4096u);
}

TEST(TruncateMessage, KeepsShortMessagesAndCutsAtCharacterBoundaries) {
  EXPECT_EQ(TruncateMessage("short"), "short");
  const std::string exact(4096, 'a');
  EXPECT_EQ(TruncateMessage(exact).size(), 4096u);
  // A 3-byte character (U+20AC) straddling byte 4096 is dropped whole.
  std::string straddle(4094, 'a');
  straddle += "\xe2\x82\xac";
  straddle += "tail";
  EXPECT_EQ(TruncateMessage(straddle), std::string(4094, 'a'));
  // A character ending exactly at 4096 is kept.
  std::string fits(4093, 'a');
  fits += "\xe2\x82\xac";
  fits += "tail";
  EXPECT_EQ(TruncateMessage(fits).size(), 4096u);
}

TEST(EncodeReadDataHeader, SimpleIsASuccessReply) {
  std::vector<uint8_t> out;
  EncodeReadDataHeader(out, kSimple, kCookie, 4096, 512, true);
  EXPECT_EQ(out, Wire().U32(kSimpleReplyMagic).U32(0).U64(kCookie).bytes);
}

TEST(EncodeReadDataHeader, StructuredIsAnOffsetDataChunkHeader) {
  std::vector<uint8_t> out;
  EncodeReadDataHeader(out, kSr, kCookie, 4096, 512, false);
  EXPECT_EQ(out, Chunk(0, kChunkOffsetData, 8 + 512).U64(4096).bytes);
  out.clear();
  EncodeReadDataHeader(out, kSr, kCookie, 0, 0xffffffff - 8, true);
  EXPECT_EQ(out, Chunk(kReplyFlagDone, kChunkOffsetData, 0xffffffff).U64(0).bytes);
}

TEST(EncodeReadHole, IsAnOffsetHoleChunk) {
  std::vector<uint8_t> out;
  EncodeReadHole(out, kCookie, 8192, 4096, false);
  EncodeReadHole(out, kCookie, 12288, 1, true);
  const auto expected =
      Concat({Chunk(0, kChunkOffsetHole, 12).U64(8192).U32(4096).bytes,
              Chunk(kReplyFlagDone, kChunkOffsetHole, 12).U64(12288).U32(1).bytes});
  EXPECT_EQ(out, expected);
}

TEST(EncodeDone, IsNoneWithDone) {
  std::vector<uint8_t> out;
  EncodeDone(out, kCookie);
  EXPECT_EQ(out, Chunk(kReplyFlagDone, kChunkNone, 0).bytes);
}

TEST(EncodeErrorAt, IsAnErrorOffsetChunkWithDone) {
  std::vector<uint8_t> out;
  EncodeErrorAt(out, kCookie, kEio, 0x12345, "disk");
  const auto expected = Chunk(kReplyFlagDone, kChunkErrorOffset, 6 + 4 + 8)
                            .U32(kEio)
                            .U16(4)
                            .Text("disk")
                            .U64(0x12345)
                            .bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeBlockStatus, OneChunkWithContextAndDescriptors) {
  std::vector<uint8_t> out;
  const Extent extents[] = {{4096, kStateHole | kStateZero}, {8192, 0}};
  EncodeBlockStatus(out, kCookie, kBaseAllocationId, extents);
  const auto expected = Chunk(kReplyFlagDone, kChunkBlockStatus, 4 + 16)
                            .U32(kBaseAllocationId)
                            .U32(4096)
                            .U32(3)
                            .U32(8192)
                            .U32(0)
                            .bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeReply, AppendsWithoutDisturbingEarlierBytes) {
  std::vector<uint8_t> out = {1, 2, 3};
  EncodeDone(out, kCookie);
  EXPECT_EQ(out.size(), 3 + kChunkHeaderBytes);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(LoadBe32(out.data() + 3), kStructuredReplyMagic);
}

using EncodeReplyDeathTest = ::testing::Test;

TEST_F(EncodeReplyDeathTest, ProtocolViolationsAssert) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<uint8_t> out;
  EXPECT_DEATH(EncodeBlockStatus(out, kCookie, 1, {}), "extents.empty");
  const Extent empty_extent[] = {{0, 0}};
  EXPECT_DEATH(EncodeBlockStatus(out, kCookie, 1, empty_extent), "length != 0");
  EXPECT_DEATH(EncodeReadHole(out, kCookie, 0, 0, true), "length > 0");
  EXPECT_DEATH(EncodeErrorAt(out, kCookie, 0, 0), "error != 0");
  EXPECT_DEATH(EncodeReadDataHeader(out, kSimple, kCookie, 0, 1, false), "done");
  EXPECT_DEATH(EncodeReadDataHeader(out, kSr, kCookie, 0, 0xffffffff, true), "UINT32_MAX");
}

}  // namespace
}  // namespace fb::nbd
