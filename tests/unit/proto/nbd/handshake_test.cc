// Handshake tests: every option rule of NBD.md 1.2-1.3 as seen from a client, plus framing
// under hostile lengths and arbitrary input splits (one byte at a time == all at once).
#include "proto/nbd/handshake.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "nbd_test_util.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::ClientFlags;
using testing::Concat;
using testing::FakeCatalog;
using testing::InfoData;
using testing::MakeExport;
using testing::MetaData;
using testing::Option;
using testing::OptionReply;
using testing::ParseReplies;
using testing::Wire;
using State = HandshakeStep::State;

struct Session {
  std::vector<uint8_t> out;  // everything the server wrote after the greeting
  HandshakeStep last;        // the final step
  size_t consumed = 0;       // total bytes the handshake took
  size_t feeds = 0;
};

// Feeds `input` in pieces of `chunk` bytes (0: all at once) the way a server reads a socket:
// unconsumed bytes are kept and offered again with the next piece.
Session Drive(const ExportCatalog& catalog, std::span<const uint8_t> input, size_t chunk = 0) {
  Handshake handshake(catalog);
  Session run;
  std::vector<uint8_t> pending;
  size_t position = 0;
  do {
    const size_t n = chunk == 0 ? input.size() : std::min(chunk, input.size() - position);
    pending.insert(pending.end(), input.begin() + position, input.begin() + position + n);
    position += n;
    run.last = handshake.Feed(pending, run.out);
    ++run.feeds;
    EXPECT_LE(run.last.consumed, pending.size());
    run.consumed += run.last.consumed;
    pending.erase(pending.begin(), pending.begin() + run.last.consumed);
  } while (run.last.state == State::kNeedMore && position < input.size());
  return run;
}

class HandshakeTest : public ::testing::Test {
 protected:
  HandshakeTest() : catalog_({MakeExport("vm1", 1ull << 30), MakeExport("ro", 64 << 20, true)}) {}

  Session Client(std::initializer_list<std::vector<uint8_t>> options, size_t chunk = 0) {
    std::vector<uint8_t> input = ClientFlags();
    for (const auto& option : options) input.insert(input.end(), option.begin(), option.end());
    return Drive(catalog_, input, chunk);
  }

  FakeCatalog catalog_;
};

std::vector<uint8_t> InfoExport(uint64_t size, uint16_t flags) {
  return Wire().U16(kInfoExport).U64(size).U16(flags).bytes;
}

std::vector<uint8_t> InfoBlockSize(const ExportInfo& info) {
  return Wire()
      .U16(kInfoBlockSize)
      .U32(info.block_min)
      .U32(info.block_preferred)
      .U32(info.block_max)
      .bytes;
}

TEST(HandshakeGreeting, IsFixedNewstyleWithNoZeroes) {
  std::vector<uint8_t> out;
  Handshake::Greeting(out);
  EXPECT_EQ(out, Wire().U64(kNbdMagic).U64(kOptionMagic).U16(3).bytes);
  EXPECT_EQ(out.size(), kGreetingBytes);
}

TEST_F(HandshakeTest, ClientFlagsNeedAllFourBytes) {
  Handshake handshake(catalog_);
  std::vector<uint8_t> out;
  const std::vector<uint8_t> partial = {0, 0, 0};
  HandshakeStep step = handshake.Feed(partial, out);
  EXPECT_EQ(step.state, State::kNeedMore);
  EXPECT_EQ(step.consumed, 0u);
  EXPECT_TRUE(out.empty());
}

TEST_F(HandshakeTest, UnknownClientFlagCloses) {
  for (uint32_t flags : {0x4u | 1u, 0x80000001u, 0x3u | 0x100u}) {
    Session run = Drive(catalog_, ClientFlags(flags));
    EXPECT_EQ(run.last.state, State::kClose) << flags;
    EXPECT_EQ(run.consumed, 4u);
    EXPECT_TRUE(run.out.empty());
    EXPECT_FALSE(run.last.close_reason.empty());
  }
}

TEST_F(HandshakeTest, ClientWithoutFixedNewstyleCloses) {
  EXPECT_EQ(Drive(catalog_, ClientFlags(0)).last.state, State::kClose);
  EXPECT_EQ(Drive(catalog_, ClientFlags(kClientFlagNoZeroes)).last.state, State::kClose);
}

TEST_F(HandshakeTest, GoRepliesExportAndBlockSizeThenAck) {
  Session run = Client({Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  const ExportInfo vm1 = *catalog_.Find("vm1");
  const uint16_t flags = TransmissionFlags(vm1, false);
  const std::vector<OptionReply> expected = {{kOptGo, kRepInfo, InfoExport(1ull << 30, flags)},
                                             {kOptGo, kRepInfo, InfoBlockSize(vm1)},
                                             {kOptGo, kRepAck, {}}};
  EXPECT_EQ(ParseReplies(run.out), expected);
  const Negotiated& negotiated = run.last.negotiated;
  EXPECT_EQ(negotiated.export_info.name, "vm1");
  EXPECT_EQ(negotiated.transmission_flags, flags);
  EXPECT_FALSE(negotiated.structured_replies);
  EXPECT_TRUE(negotiated.no_zeroes);
  EXPECT_FALSE(negotiated.base_allocation_id.has_value());
}

TEST_F(HandshakeTest, GoStopsAtTheEndOfTheOptionAndLeavesRequestsForTransmission) {
  const std::vector<uint8_t> request(28, 0x25);
  Session run = Client({Option(kOptGo, InfoData("vm1")), request});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(run.consumed, 4 + kOptionHeaderBytes + InfoData("vm1").size());
}

TEST_F(HandshakeTest, GoWithEmptyNameSelectsTheDefaultExport) {
  Session run = Client({Option(kOptGo, InfoData("", {kInfoName}))});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(run.last.negotiated.export_info.name, "vm1");
  // NBD_INFO_NAME reports the canonical name, not the "" the client used.
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[1].data, Wire().U16(kInfoName).Text("vm1").bytes);
}

TEST_F(HandshakeTest, GoSendsRequestedInfoInAFixedOrder) {
  Session run = Client({Option(
      kOptGo, InfoData("ro", {kInfoBlockSize, kInfoDescription, 999, kInfoName, kInfoName}))});
  ASSERT_EQ(run.last.state, State::kDone);
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(LoadBe16(replies[0].data.data()), kInfoExport);
  EXPECT_EQ(replies[1].data, Wire().U16(kInfoName).Text("ro").bytes);
  EXPECT_EQ(replies[2].data, Wire().U16(kInfoDescription).Text("test export ro").bytes);
  EXPECT_EQ(LoadBe16(replies[3].data.data()), kInfoBlockSize);
  EXPECT_EQ(replies[4].type, kRepAck);
  EXPECT_TRUE(run.last.negotiated.transmission_flags & kFlagReadOnly);
}

TEST_F(HandshakeTest, GoForUnknownExportIsErrUnknownAndTheClientMayRetry) {
  Session run = Client({Option(kOptGo, InfoData("nope")), Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  const auto replies = ParseReplies(run.out);
  ASSERT_GE(replies.size(), 1u);
  EXPECT_EQ(replies[0].option, kOptGo);
  EXPECT_EQ(replies[0].type, kRepErrUnknown);
  EXPECT_FALSE(replies[0].data.empty());  // carries a message
  EXPECT_EQ(replies.back().type, kRepAck);
}

TEST_F(HandshakeTest, InfoAndGoGiveByteIdenticalInfo) {
  for (bool sr : {false, true}) {
    const auto data = InfoData("vm1", {kInfoName, kInfoDescription, kInfoBlockSize});
    std::vector<uint8_t> sr_option = sr ? Option(kOptStructuredReply) : std::vector<uint8_t>{};
    Session run = Client({sr_option, Option(kOptInfo, data), Option(kOptGo, data)});
    ASSERT_EQ(run.last.state, State::kDone);
    auto replies = ParseReplies(run.out);
    if (sr) replies.erase(replies.begin());
    ASSERT_EQ(replies.size() % 2, 0u);
    const size_t half = replies.size() / 2;
    for (size_t i = 0; i < half; ++i) {
      EXPECT_EQ(replies[i].option, kOptInfo);
      EXPECT_EQ(replies[half + i].option, kOptGo);
      EXPECT_EQ(replies[i].type, replies[half + i].type);
      EXPECT_EQ(replies[i].data, replies[half + i].data);
    }
    EXPECT_EQ(replies[0].data, InfoExport(1ull << 30, run.last.negotiated.transmission_flags));
    EXPECT_EQ(bool(run.last.negotiated.transmission_flags & kFlagSendDf), sr);
  }
}

TEST_F(HandshakeTest, InfoDoesNotEnterTransmission) {
  Session run = Client({Option(kOptInfo, InfoData("vm1"))});
  EXPECT_EQ(run.last.state, State::kNeedMore);
  EXPECT_EQ(ParseReplies(run.out).back().type, kRepAck);
}

TEST_F(HandshakeTest, MalformedInfoIsErrInvalid) {
  const std::vector<std::vector<uint8_t>> bad = {
      {},                                             // shorter than 6 bytes (len 0)
      {0, 0, 0},                                      // shorter than 6 bytes
      Wire().U32(4).Text("vm1").U16(0).bytes,         // namelen > optlen - 6
      Wire().U32(0xffffffff).U16(0).bytes,            // namelen wraps any addition
      Wire().U32(3).Text("vm1").U16(2).U16(1).bytes,  // fewer info requests than counted
      Wire().U32(3).Text("vm1").U16(0).U16(1).bytes,  // trailing bytes
      Wire().U32(3).Text("vm1").U16(0xffff).bytes,    // hostile count
  };
  for (uint32_t option : {kOptInfo, kOptGo}) {
    for (const auto& data : bad) {
      Session run = Client({Option(option, data)});
      EXPECT_EQ(run.last.state, State::kNeedMore);
      const auto replies = ParseReplies(run.out);
      ASSERT_EQ(replies.size(), 1u);
      EXPECT_EQ(replies[0].type, kRepErrInvalid) << data.size();
    }
  }
}

TEST_F(HandshakeTest, NameLengthExactlyFillingTheOptionIsValid) {
  // namelen == optlen - 6 is the largest legal name.
  Session run = Client({Option(kOptGo, Wire().U32(3).Text("vm1").U16(0).bytes)});
  EXPECT_EQ(run.last.state, State::kDone);
}

TEST_F(HandshakeTest, ExportNamePadsWith124ZerosUnlessNoZeroes) {
  const ExportInfo vm1 = *catalog_.Find("vm1");
  const uint16_t flags = TransmissionFlags(vm1, false);
  for (bool no_zeroes : {false, true}) {
    const uint32_t cflags = kClientFlagFixedNewstyle | (no_zeroes ? kClientFlagNoZeroes : 0);
    const auto input =
        Concat({ClientFlags(cflags), Option(kOptExportName, Wire().Text("vm1").bytes)});
    Session run = Drive(catalog_, input);
    ASSERT_EQ(run.last.state, State::kDone);
    std::vector<uint8_t> expected = Wire().U64(1ull << 30).U16(flags).bytes;
    if (!no_zeroes) expected.resize(expected.size() + 124, 0);
    EXPECT_EQ(run.out, expected);
    EXPECT_EQ(run.last.negotiated.no_zeroes, no_zeroes);
  }
}

TEST_F(HandshakeTest, ExportNameAfterOtherOptionsAndEmptyNameIsDefault) {
  Session run = Client({Option(kOptStructuredReply), Option(kOptExportName)});
  ASSERT_EQ(run.last.state, State::kDone);
  std::vector<uint8_t> rest;
  ASSERT_EQ(ParseReplies(run.out, &rest).size(), 1u);
  EXPECT_EQ(rest.size(), kExportNameReplyBytes);
  EXPECT_EQ(run.last.negotiated.export_info.name, "vm1");
  EXPECT_TRUE(run.last.negotiated.structured_replies);
}

TEST_F(HandshakeTest, RefusedExportGetsErrPolicyNamingTheReasonAndInfoToo) {
  catalog_.refused = "vm1";
  for (uint32_t option : {kOptInfo, kOptGo}) {
    Session run = Client({Option(option, InfoData("vm1")), Option(kOptGo, InfoData("ro"))});
    ASSERT_EQ(run.last.state, State::kDone);  // the client may still pick another export
    const auto replies = ParseReplies(run.out);
    ASSERT_GE(replies.size(), 2u);
    EXPECT_EQ(replies[0].type, kRepErrPolicy);
    std::string text(replies[0].data.begin(), replies[0].data.end());
    EXPECT_NE(text.find("primary is n2"), std::string::npos) << text;
    EXPECT_EQ(run.last.negotiated.export_info.name, "ro");
  }
  Session by_name = Client({Option(kOptExportName, Wire().Text("vm1").bytes)});
  EXPECT_EQ(by_name.last.state, State::kClose);
  EXPECT_TRUE(by_name.out.empty());
}

TEST_F(HandshakeTest, ExportNameForUnknownExportCloses) {
  Session run = Client({Option(kOptExportName, Wire().Text("nope").bytes)});
  EXPECT_EQ(run.last.state, State::kClose);
  EXPECT_TRUE(run.out.empty());
}

TEST_F(HandshakeTest, ExportNameLongerThan4096ClosesWithoutReadingIt) {
  const auto header = Wire().U64(kOptionMagic).U32(kOptExportName).U32(4097).bytes;
  Session run = Client({header});
  EXPECT_EQ(run.last.state, State::kClose);
  EXPECT_EQ(run.consumed, 4 + kOptionHeaderBytes);
}

TEST_F(HandshakeTest, AbortIsAckedThenCloses) {
  for (const auto& data : {std::vector<uint8_t>{}, std::vector<uint8_t>{1, 2, 3}}) {
    Session run = Client({Option(kOptAbort, data)});
    EXPECT_EQ(run.last.state, State::kClose);
    EXPECT_EQ(ParseReplies(run.out), (std::vector<OptionReply>{{kOptAbort, kRepAck, {}}}));
  }
}

TEST_F(HandshakeTest, ListNamesEveryExportThenAcks) {
  Session run = Client({Option(kOptList), Option(kOptAbort)});
  const std::vector<OptionReply> expected = {
      {kOptList, kRepServer, Wire().U32(3).Text("vm1").bytes},
      {kOptList, kRepServer, Wire().U32(2).Text("ro").bytes},
      {kOptList, kRepAck, {}},
      {kOptAbort, kRepAck, {}}};
  EXPECT_EQ(ParseReplies(run.out), expected);
}

TEST_F(HandshakeTest, ListWithDataIsErrInvalidAndTheServerStaysUsable) {
  Session run = Client({Option(kOptList, {0, 0, 0, 0}), Option(kOptGo, InfoData("vm1"))});
  EXPECT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepErrInvalid);
}

TEST_F(HandshakeTest, StructuredReplyIsAckedAndNegotiated) {
  Session run = Client({Option(kOptStructuredReply), Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(ParseReplies(run.out).front(), (OptionReply{kOptStructuredReply, kRepAck, {}}));
  EXPECT_TRUE(run.last.negotiated.structured_replies);
  EXPECT_TRUE(run.last.negotiated.transmission_flags & kFlagSendDf);
}

TEST_F(HandshakeTest, StructuredReplyWithDataIsErrInvalid) {
  Session run = Client({Option(kOptStructuredReply, {1}), Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepErrInvalid);
  EXPECT_FALSE(run.last.negotiated.structured_replies);
}

TEST_F(HandshakeTest, StartTlsIsPolicyAndExtendedHeadersUnsupported) {
  Session run = Client({Option(kOptStartTls), Option(kOptExtendedHeaders), Option(kOptPeekExport)});
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].type, kRepErrPolicy);
  EXPECT_EQ(replies[1].type, kRepErrUnsup);
  EXPECT_EQ(replies[2].type, kRepErrUnsup);
  EXPECT_EQ(run.last.state, State::kNeedMore);
}

TEST_F(HandshakeTest, UnknownOptionSkipsExactlyItsLength) {
  // The payload of the unknown option looks like an option header: it must not be parsed.
  const auto decoy = Option(kOptAbort);
  Session run =
      Client({Option(0x1234, decoy), Option(0xffffffff), Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].option, 0x1234u);
  EXPECT_EQ(replies[0].type, kRepErrUnsup);
  EXPECT_EQ(replies[1].option, 0xffffffffu);
  EXPECT_EQ(replies[1].type, kRepErrUnsup);
  EXPECT_EQ(replies[2].option, kOptGo);
}

TEST_F(HandshakeTest, ErrorRepliesCarryShortMessages) {
  Session run = Client({Option(0x99)});
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_GT(replies[0].data.size(), 0u);
  EXPECT_LE(replies[0].data.size(), kMaxStringBytes);
}

// Streams `length` bytes of an option in 4 KiB pieces and returns what came back.
struct Oversize {
  std::vector<uint8_t> out;
  HandshakeStep step;
};
Oversize StreamOversized(const ExportCatalog& catalog, uint32_t option, uint32_t length) {
  Handshake handshake(catalog);
  Oversize result;
  auto head = Concat({ClientFlags(), Wire().U64(kOptionMagic).U32(option).U32(length).bytes});
  result.step = handshake.Feed(head, result.out);
  EXPECT_EQ(result.step.consumed, head.size());
  const std::vector<uint8_t> piece(4096, 0xab);
  uint64_t left = length;
  while (left > 0) {
    const size_t n = size_t(std::min<uint64_t>(left, piece.size()));
    result.step = handshake.Feed(std::span(piece).first(n), result.out);
    EXPECT_EQ(result.step.consumed, n);  // streamed past, never held back
    left -= n;
    if (left > 0) {
      EXPECT_TRUE(result.out.empty());  // no reply before the last byte
    }
  }
  return result;
}

TEST_F(HandshakeTest, OversizedKnownOptionIsSkippedThenErrTooBig) {
  for (uint32_t option : {kOptInfo, kOptGo, kOptSetMetaContext, kOptList}) {
    Oversize run = StreamOversized(catalog_, option, kMaxOptionBytes + 1);
    EXPECT_EQ(run.step.state, State::kNeedMore);
    const auto replies = ParseReplies(run.out);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].option, option);
    EXPECT_EQ(replies[0].type, kRepErrTooBig);
  }
}

TEST_F(HandshakeTest, OversizedUnknownOptionIsSkippedThenErrUnsup) {
  Oversize run = StreamOversized(catalog_, 77, 1 << 20);
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrUnsup);
}

TEST_F(HandshakeTest, OptionOfExactlyTheLimitIsProcessed) {
  std::vector<uint8_t> data(kMaxOptionBytes, 0);
  Session run = Client({Option(kOptList, data)});
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepErrInvalid);  // parsed, not "too big"
}

TEST_F(HandshakeTest, BadOptionMagicCloses) {
  auto option = Option(kOptList);
  option[0] ^= 0xff;
  Session run = Client({option});
  EXPECT_EQ(run.last.state, State::kClose);
}

TEST_F(HandshakeTest, TooManyOptionsClose) {
  std::vector<uint8_t> input = ClientFlags();
  const auto option = Option(kOptStructuredReply);
  for (size_t i = 0; i < kMaxOptionsPerHandshake + 1; ++i) {
    input.insert(input.end(), option.begin(), option.end());
  }
  Session run = Drive(catalog_, input);
  EXPECT_EQ(run.last.state, State::kClose);
  EXPECT_EQ(ParseReplies(run.out).size(), kMaxOptionsPerHandshake);
}

// ---- Meta contexts ------------------------------------------------------------------------

std::vector<uint8_t> MetaContext(uint32_t id) { return Wire().U32(id).Text(kBaseAllocation).bytes; }

TEST_F(HandshakeTest, ListMetaContextWithNoQueryListsBaseAllocation) {
  Session run = Client({Option(kOptListMetaContext, MetaData("vm1", {}))});
  const std::vector<OptionReply> expected = {{kOptListMetaContext, kRepMetaContext, MetaContext(0)},
                                             {kOptListMetaContext, kRepAck, {}}};
  EXPECT_EQ(ParseReplies(run.out), expected);
}

TEST_F(HandshakeTest, ListMetaContextMatchesNamespaceAndIgnoresUnknown) {
  Session run =
      Client({Option(kOptListMetaContext, MetaData("vm1", {"base:"})),
              Option(kOptListMetaContext, MetaData("vm1", {"qemu:dirty-bitmap:a", "base:nope"}))});
  const auto replies = ParseReplies(run.out);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].type, kRepMetaContext);
  EXPECT_EQ(replies[0].data, MetaContext(0));
  EXPECT_EQ(replies[1].type, kRepAck);
  EXPECT_EQ(replies[2].type, kRepAck);
}

TEST_F(HandshakeTest, ListMetaContextDoesNotNeedStructuredReplies) {
  Session run = Client({Option(kOptListMetaContext, MetaData("", {"base:allocation"}))});
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepMetaContext);
}

TEST_F(HandshakeTest, SetMetaContextNeedsStructuredRepliesFirst) {
  Session run = Client({Option(kOptSetMetaContext, MetaData("vm1", {"base:allocation"})),
                        Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepErrInvalid);
  EXPECT_FALSE(run.last.negotiated.base_allocation_id.has_value());
}

TEST_F(HandshakeTest, SetMetaContextSelectsBaseAllocationWithTheFixedId) {
  Session run =
      Client({Option(kOptStructuredReply),
              Option(kOptSetMetaContext,
                     MetaData("vm1", {"x-firebreak:foo", "base:allocation", "base:allocation"})),
              Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  const auto replies = ParseReplies(run.out);
  ASSERT_GE(replies.size(), 3u);
  EXPECT_EQ(replies[1], (OptionReply{kOptSetMetaContext, kRepMetaContext, MetaContext(1)}));
  EXPECT_EQ(replies[2], (OptionReply{kOptSetMetaContext, kRepAck, {}}));
  EXPECT_EQ(run.last.negotiated.base_allocation_id, std::optional<uint32_t>(kBaseAllocationId));
}

TEST_F(HandshakeTest, SetMetaContextIdIsTheSameOnEveryConnection) {
  for (int connection = 0; connection < 3; ++connection) {
    Session run = Client({Option(kOptStructuredReply),
                          Option(kOptSetMetaContext, MetaData("ro", {"base:allocation"})),
                          Option(kOptGo, InfoData("ro"))});
    EXPECT_EQ(run.last.negotiated.base_allocation_id, std::optional<uint32_t>(1));
  }
}

TEST_F(HandshakeTest, SetMetaContextReplacesThePreviousSelection) {
  const auto set_base = Option(kOptSetMetaContext, MetaData("vm1", {"base:allocation"}));
  const std::vector<std::vector<uint8_t>> replacements = {
      Option(kOptSetMetaContext, MetaData("vm1", {})),                     // selects none
      Option(kOptSetMetaContext, MetaData("vm1", {"base:"})),              // SET wants full names
      Option(kOptSetMetaContext, MetaData("nope", {"base:allocation"})),   // fails: ERR_UNKNOWN
      Option(kOptSetMetaContext, Wire().U32(3).Text("vm1").U32(2).bytes),  // fails: malformed
  };
  for (const auto& replacement : replacements) {
    Session run = Client(
        {Option(kOptStructuredReply), set_base, replacement, Option(kOptGo, InfoData("vm1"))});
    ASSERT_EQ(run.last.state, State::kDone);
    EXPECT_FALSE(run.last.negotiated.base_allocation_id.has_value());
  }
}

TEST_F(HandshakeTest, SetMetaContextForAnotherExportDoesNotApply) {
  Session run = Client({Option(kOptStructuredReply),
                        Option(kOptSetMetaContext, MetaData("ro", {"base:allocation"})),
                        Option(kOptGo, InfoData("vm1"))});
  ASSERT_EQ(run.last.state, State::kDone);
  EXPECT_FALSE(run.last.negotiated.base_allocation_id.has_value());
  // "" and "vm1" name the same export, so a context set on one applies to the other.
  run = Client({Option(kOptStructuredReply),
                Option(kOptSetMetaContext, MetaData("", {"base:allocation"})),
                Option(kOptGo, InfoData("vm1"))});
  EXPECT_TRUE(run.last.negotiated.base_allocation_id.has_value());
}

TEST_F(HandshakeTest, MetaContextForUnknownExportIsErrUnknown) {
  Session run = Client({Option(kOptListMetaContext, MetaData("nope", {}))});
  EXPECT_EQ(ParseReplies(run.out).front().type, kRepErrUnknown);
}

TEST_F(HandshakeTest, HostileMetaContextLengthsAreErrInvalid) {
  const std::vector<std::vector<uint8_t>> bad = {
      {},
      Wire().U32(100).Text("vm1").U32(0).bytes,                // namelen > optlen - 8
      Wire().U32(0xfffffffc).U32(0).bytes,                     // namelen near 2^32
      Wire().U32(3).Text("vm1").U32(0xffffffff).bytes,         // nq that overflows nq * 4
      Wire().U32(3).Text("vm1").U32(0x40000001).U32(0).bytes,  // nq * 4 wraps to 4
      Wire().U32(3).Text("vm1").U32(1).U32(0xffffffff).Text("base:").bytes,  // query too long
      Wire().U32(3).Text("vm1").U32(1).U32(5).Text("base:").U16(0).bytes,    // trailing bytes
      Wire().U32(3).Text("vm1").U32(2).U32(5).Text("base:").bytes,  // fewer queries than nq
  };
  for (uint32_t option : {kOptListMetaContext, kOptSetMetaContext}) {
    for (const auto& data : bad) {
      Session run = Client({Option(kOptStructuredReply), Option(option, data)});
      const auto replies = ParseReplies(run.out);
      ASSERT_EQ(replies.size(), 2u);
      EXPECT_EQ(replies[1].type, kRepErrInvalid) << option << " " << data.size();
    }
  }
}

// ---- Framing under arbitrary splits --------------------------------------------------------

std::vector<uint8_t> BusyClient() {
  return Concat({ClientFlags(), Option(kOptList), Option(0x4242, {1, 2, 3, 4, 5}),
                 Option(kOptInfo, InfoData("ro", {kInfoName, kInfoDescription})),
                 Option(kOptStructuredReply), Option(kOptListMetaContext, MetaData("vm1", {})),
                 Option(kOptSetMetaContext, MetaData("vm1", {"base:allocation"})),
                 Option(kOptGo, InfoData("vm1", {kInfoBlockSize})),
                 std::vector<uint8_t>(28, 0x25)});  // first request, pipelined
}

TEST_F(HandshakeTest, ByteAtATimeGivesTheSameResultAsOneBuffer) {
  const auto input = BusyClient();
  Session whole = Drive(catalog_, input);
  ASSERT_EQ(whole.last.state, State::kDone);
  EXPECT_EQ(whole.consumed, input.size() - 28);
  for (size_t chunk : {1, 2, 3, 7, 16, 17, 100}) {
    Session split = Drive(catalog_, input, chunk);
    EXPECT_EQ(split.out, whole.out) << chunk;
    EXPECT_EQ(split.consumed, whole.consumed) << chunk;
    ASSERT_EQ(split.last.state, State::kDone) << chunk;
    EXPECT_EQ(split.last.negotiated.transmission_flags, whole.last.negotiated.transmission_flags);
    EXPECT_EQ(split.last.negotiated.base_allocation_id, std::optional<uint32_t>(1));
    EXPECT_TRUE(split.last.negotiated.structured_replies);
  }
}

TEST_F(HandshakeTest, FeedConsumesEverythingItCanInOneCall) {
  // After a Feed returns kNeedMore, feeding the same leftover again makes no progress.
  const auto input = BusyClient();
  for (size_t cut = 0; cut < input.size() - 28; cut += 5) {
    Handshake handshake(catalog_);
    std::vector<uint8_t> out;
    const auto first = handshake.Feed(std::span(input).first(cut), out);
    ASSERT_EQ(first.state, State::kNeedMore);
    const size_t out_size = out.size();
    const auto again =
        handshake.Feed(std::span(input).subspan(first.consumed, cut - first.consumed), out);
    EXPECT_EQ(again.consumed, 0u) << cut;
    EXPECT_EQ(out.size(), out_size);
  }
}

}  // namespace
}  // namespace fb::nbd
