// Option helper tests: the INFO/GO and META_CONTEXT parsers at every length boundary, and the
// exact bytes of each option reply encoder.
#include "proto/nbd/options.h"

#include <gtest/gtest.h>

#include "nbd_test_util.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::InfoData;
using testing::MakeExport;
using testing::MetaData;
using testing::Wire;

Wire ReplyHeader(uint32_t option, uint32_t type, uint32_t length) {
  Wire w;
  w.U64(kOptionReplyMagic).U32(option).U32(type).U32(length);
  return w;
}

TEST(ParseInfoRequest, ReadsNameAndKnownInfoTypes) {
  const auto data = InfoData("vm1", {kInfoDescription, 77, kInfoBlockSize});
  const auto request = ParseInfoRequest(data);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->name, "vm1");
  EXPECT_FALSE(request->want_name);
  EXPECT_TRUE(request->want_description);
  EXPECT_TRUE(request->want_block_size);
}

TEST(ParseInfoRequest, BoundariesOfTheNameLength) {
  EXPECT_TRUE(ParseInfoRequest(Wire().U32(0).U16(0).bytes).ok());
  EXPECT_TRUE(ParseInfoRequest(Wire().U32(2).Text("ab").U16(0).bytes).ok());   // len - 6
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(3).Text("ab").U16(0).bytes).ok());  // len - 5
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(2).Text("ab").bytes).ok());         // no count
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(2).Text("ab").U16(0).Text("x").bytes).ok());
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(0xffffffff).U16(0).bytes).ok());
  EXPECT_FALSE(ParseInfoRequest(std::vector<uint8_t>{0, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(ParseInfoRequest({}).ok());
}

TEST(ParseInfoRequest, CountMustMatchTheRemainingBytesExactly) {
  EXPECT_TRUE(ParseInfoRequest(Wire().U32(0).U16(2).U16(1).U16(3).bytes).ok());
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(0).U16(3).U16(1).U16(3).bytes).ok());
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(0).U16(1).U16(1).U16(3).bytes).ok());
  EXPECT_FALSE(ParseInfoRequest(Wire().U32(0).U16(0x8000).U16(1).bytes).ok());
}

TEST(ParseMetaContextRequest, ReadsNameAndQueries) {
  const auto data = MetaData("vm1", {"base:allocation", "", "qemu:dirty-bitmap:x"});
  const auto request = ParseMetaContextRequest(data);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->name, "vm1");
  ASSERT_EQ(request->queries.size(), 3u);
  EXPECT_EQ(request->queries[0], "base:allocation");
  EXPECT_EQ(request->queries[1], "");
  EXPECT_EQ(request->queries[2], "qemu:dirty-bitmap:x");
}

TEST(ParseMetaContextRequest, RejectsEveryMalformedLength) {
  EXPECT_TRUE(ParseMetaContextRequest(Wire().U32(0).U32(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U16(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(1).U32(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0xffffffff).U32(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(1).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(0xffffffff).U32(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(0x40000001).U32(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(1).U32(6).Text("base:").bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(1).U32(0).U16(0).bytes).ok());
  EXPECT_FALSE(ParseMetaContextRequest(Wire().U32(0).U32(1).U16(0).bytes).ok());
}

TEST(ParseMetaContextRequest, ManyEmptyQueriesStayBounded) {
  Wire w;
  w.U32(0).U32(16000);
  for (int i = 0; i < 16000; ++i) w.U32(0);
  const auto request = ParseMetaContextRequest(w.bytes);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->queries.size(), 16000u);
}

TEST(EncodeOptionReplies, AckAndErrorWithMessage) {
  std::vector<uint8_t> out;
  EncodeAck(out, kOptGo);
  EncodeOptionError(out, kOptInfo, kRepErrUnknown, "no such export");
  const auto expected =
      Wire()
          .Raw(ReplyHeader(kOptGo, kRepAck, 0).bytes)
          .Raw(ReplyHeader(kOptInfo, kRepErrUnknown, 14).Text("no such export").bytes)
          .bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeOptionReplies, ErrorMessagesAreCut) {
  std::vector<uint8_t> out;
  EncodeOptionError(out, 99, kRepErrUnsup, std::string(5000, 'm'));
  EXPECT_EQ(out.size(), kOptionReplyHeaderBytes + kMaxStringBytes);
}

TEST(EncodeOptionReplies, ServerAndMetaContext) {
  std::vector<uint8_t> out;
  EncodeServerReply(out, "vm1");
  EncodeMetaContextReply(out, kOptSetMetaContext, 1, "base:allocation");
  const auto expected = Wire()
                            .Raw(ReplyHeader(kOptList, kRepServer, 7).U32(3).Text("vm1").bytes)
                            .Raw(ReplyHeader(kOptSetMetaContext, kRepMetaContext, 19)
                                     .U32(1)
                                     .Text("base:allocation")
                                     .bytes)
                            .bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeOptionReplies, InfoRepliesInFixedOrder) {
  ExportInfo info = MakeExport("vm1", 1 << 20);
  info.description = "d";
  InfoRequest request;
  request.want_name = true;
  request.want_description = true;
  std::vector<uint8_t> out;
  EncodeInfoReplies(out, kOptInfo, info, 0x1, request);
  const auto expected =
      Wire()
          .Raw(ReplyHeader(kOptInfo, kRepInfo, 12).U16(kInfoExport).U64(1 << 20).U16(1).bytes)
          .Raw(ReplyHeader(kOptInfo, kRepInfo, 5).U16(kInfoName).Text("vm1").bytes)
          .Raw(ReplyHeader(kOptInfo, kRepInfo, 3).U16(kInfoDescription).Text("d").bytes)
          .Raw(ReplyHeader(kOptInfo, kRepInfo, 14)
                   .U16(kInfoBlockSize)
                   .U32(1)
                   .U32(4096)
                   .U32(32 << 20)
                   .bytes)
          .bytes;
  EXPECT_EQ(out, expected);
}

TEST(EncodeOptionReplies, ExportNameReply) {
  const ExportInfo info = MakeExport("vm1", 0x0102030405060708);
  std::vector<uint8_t> out;
  EncodeExportNameReply(out, info, 0x0d6d, true);
  EXPECT_EQ(out, Wire().U64(0x0102030405060708).U16(0x0d6d).bytes);
  out.clear();
  EncodeExportNameReply(out, info, 0x0d6d, false);
  ASSERT_EQ(out.size(), 134u);
  EXPECT_TRUE(std::all_of(out.begin() + 10, out.end(), [](uint8_t b) { return b == 0; }));
}

}  // namespace
}  // namespace fb::nbd
