// Request decoding and validation tests: one test per rule of NBD.md 1.6 and 1.12, each
// checking the verdict and the exact NBD error a client would see.
#include "proto/nbd/request.h"

#include <gtest/gtest.h>

#include <array>

#include "nbd_test_util.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::MakeExport;
using testing::NegotiatedFor;
using testing::Wire;
using Verdict = Check::Verdict;

constexpr uint64_t kSize = 1 << 20;  // 1 MiB export
constexpr uint32_t kMax = 64 * 1024;

ExportInfo Writable() {
  ExportInfo info = MakeExport("vm1", kSize);
  info.block_max = kMax;
  return info;
}

ExportInfo ReadOnly() {
  ExportInfo info = Writable();
  info.read_only = true;
  return info;
}

Request Make(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0) {
  Request request;
  request.type = type;
  request.offset = offset;
  request.length = length;
  request.flags = flags;
  request.cookie = 0x1122334455667788;
  return request;
}

// The error Validate gives, or 0 for kOk, or UINT32_MAX for kDisconnect.
uint32_t ErrorOf(const Request& request, const Negotiated& negotiated) {
  const Check check = Validate(request, negotiated);
  if (check.verdict == Verdict::kDisconnect) return UINT32_MAX;
  if (check.verdict == Verdict::kError) {
    EXPECT_NE(check.error, 0u);
    EXPECT_FALSE(check.why.empty());
    return check.error;
  }
  EXPECT_EQ(check.error, 0u);
  return 0;
}

const Negotiated kPlain = NegotiatedFor(Writable());
const Negotiated kSr = NegotiatedFor(Writable(), true, true);
const Negotiated kRo = NegotiatedFor(ReadOnly(), true, true);

TEST(DecodeRequest, ReadsEveryFieldBigEndian) {
  const auto bytes = Wire()
                         .U32(kRequestMagic)
                         .U16(kCmdFlagFua)
                         .U16(kCmdWrite)
                         .U64(0x0102030405060708)
                         .U64(0x1000)
                         .U32(512)
                         .bytes;
  ASSERT_EQ(bytes.size(), kRequestHeaderBytes);
  const auto request = DecodeRequest(std::span<const uint8_t, kRequestHeaderBytes>(bytes));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->flags, kCmdFlagFua);
  EXPECT_EQ(request->type, kCmdWrite);
  EXPECT_EQ(request->cookie, 0x0102030405060708u);
  EXPECT_EQ(request->offset, 0x1000u);
  EXPECT_EQ(request->length, 512u);
}

TEST(EncodeRequest, DecodeReadsBackEveryField) {
  Request r;
  r.flags = kCmdFlagFua | kCmdFlagNoHole;
  r.type = kCmdWriteZeroes;
  r.cookie = 0x0102030405060708;
  r.offset = 0xfedcba9876543210;
  r.length = 0x89abcdef;
  std::array<uint8_t, kRequestHeaderBytes> header{};
  EncodeRequest(header, r);
  const std::optional<Request> back = DecodeRequest(header);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->flags, r.flags);
  EXPECT_EQ(back->type, r.type);
  EXPECT_EQ(back->cookie, r.cookie);
  EXPECT_EQ(back->offset, r.offset);
  EXPECT_EQ(back->length, r.length);
}

TEST(DecodeRequest, BadMagicMeansDisconnect) {
  for (uint32_t magic : {0u, kExtendedRequestMagic, 0x25609514u, kSimpleReplyMagic}) {
    const auto bytes = Wire().U32(magic).U16(0).U16(0).U64(0).U64(0).U32(0).bytes;
    EXPECT_FALSE(DecodeRequest(std::span<const uint8_t, kRequestHeaderBytes>(bytes)));
  }
}

TEST(PayloadLength, OnlyWriteCarriesAPayload) {
  EXPECT_EQ(PayloadLength(Make(kCmdWrite, 0, 4096)), 4096u);
  for (uint16_t type : {kCmdRead, kCmdDisc, kCmdFlush, kCmdTrim, kCmdCache, kCmdWriteZeroes,
                        kCmdBlockStatus, kCmdResize, uint16_t(9), uint16_t(0xffff)}) {
    EXPECT_EQ(PayloadLength(Make(type, 0, 4096)), 0u) << type;
  }
}

TEST(Validate, UnknownCommandIsEinval) {
  for (uint16_t type : {kCmdResize, uint16_t(9), uint16_t(0x8000), uint16_t(0xffff)}) {
    EXPECT_EQ(ErrorOf(Make(type, 0, 0), kPlain), kEinval) << type;
    // A huge length on an unknown command is not a payload: no disconnect.
    EXPECT_EQ(ErrorOf(Make(type, 0, 0xffffffff), kPlain), kEinval) << type;
  }
}

TEST(Validate, ValidRequestsPass) {
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 4096), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, kSize - kMax, kMax), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdFlush, 0, 0), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdDisc, 0, 0), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 0, kSize), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdCache, 1, 17), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, kSize), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, kSize), kSr), 0u);
}

TEST(Validate, LengthZeroIsAccepted) {
  for (uint16_t type : {kCmdRead, kCmdWrite, kCmdTrim, kCmdCache, kCmdWriteZeroes}) {
    EXPECT_EQ(ErrorOf(Make(type, 4096, 0), kPlain), 0u) << type;
    EXPECT_EQ(ErrorOf(Make(type, kSize, 0), kPlain), 0u) << type;  // empty range at the end
  }
}

TEST(Validate, FuaIsAcceptedOnEveryCommandWhenAdvertised) {
  for (uint16_t type : {kCmdRead, kCmdWrite, kCmdTrim, kCmdCache, kCmdWriteZeroes}) {
    EXPECT_EQ(ErrorOf(Make(type, 0, 512, kCmdFlagFua), kPlain), 0u) << type;
  }
  EXPECT_EQ(ErrorOf(Make(kCmdFlush, 0, 0, kCmdFlagFua), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdDisc, 0, 0, kCmdFlagFua), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512, kCmdFlagFua), kSr), 0u);
}

TEST(Validate, FuaWithoutSendFuaIsEinval) {
  Negotiated negotiated = kPlain;
  negotiated.transmission_flags &= ~kFlagSendFua;
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 512, kCmdFlagFua), negotiated), kEinval);
}

TEST(Validate, UnknownFlagsAreEinval) {
  for (uint16_t flag : {kCmdFlagPayloadLen, uint16_t(1 << 6), uint16_t(1 << 15)}) {
    EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 512, flag), kSr), kEinval) << flag;
    EXPECT_EQ(ErrorOf(Make(kCmdFlush, 0, 0, flag), kSr), kEinval) << flag;
  }
}

TEST(Validate, NoHoleOnlyOnWriteZeroes) {
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 512, kCmdFlagNoHole), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 512, kCmdFlagNoHole), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 0, 512, kCmdFlagNoHole), kPlain), kEinval);
}

TEST(Validate, FastZeroOnlyOnWriteZeroesAndOnlyIfAdvertised) {
  const uint16_t both = kCmdFlagFastZero | kCmdFlagNoHole;
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 512, both), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 512, kCmdFlagFastZero), kPlain), kEinval);
  ExportInfo slow = Writable();
  slow.can_fast_zero = false;
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 512, kCmdFlagFastZero), NegotiatedFor(slow)), kEinval);
}

TEST(Validate, DfOnlyOnReadAndOnlyWithStructuredReplies) {
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 512, kCmdFlagDf), kSr), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 512, kCmdFlagDf), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 512, kCmdFlagDf), kSr), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512, kCmdFlagDf), kSr), kEinval);
}

TEST(Validate, ReqOneOnlyOnBlockStatus) {
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512, kCmdFlagReqOne), kSr), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 512, kCmdFlagReqOne), kSr), kEinval);
}

TEST(Validate, OversizedWriteDisconnectsWhateverElseIsWrong) {
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, kMax), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, kMax + 1), kPlain), UINT32_MAX);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 0xffffffff), kPlain), UINT32_MAX);
  // Read-only or bad flags would be EPERM/EINVAL, but the payload cannot be drained.
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, kMax + 1), kRo), UINT32_MAX);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, kMax + 1, 0x8000), kPlain), UINT32_MAX);
}

TEST(Validate, OversizedReadIsEinvalOrEoverflowWithDf) {
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, kMax), kSr), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, kMax + 1), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, kMax + 1), kSr), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, kMax + 1, kCmdFlagDf), kSr), kEoverflow);
}

TEST(Validate, EffectLengthsMayExceedTheMaximumPayload) {
  for (uint16_t type : {kCmdTrim, kCmdWriteZeroes, kCmdCache}) {
    EXPECT_EQ(ErrorOf(Make(type, 0, kMax * 4), kPlain), 0u) << type;
  }
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, kMax * 4), kSr), 0u);
}

TEST(Validate, PastTheEndIsEnospcForWritesAndEinvalOtherwise) {
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, kSize - 511, 512), kPlain), kEnospc);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, kSize, 1), kPlain), kEnospc);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, kSize - 511, 512), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, kSize, 1), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdCache, kSize + 1, 0), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, kSize, 1), kSr), kEinval);
}

TEST(Validate, OffsetPlusLengthOverflowIsOutOfRange) {
  const uint64_t near_end = UINT64_MAX - 10;
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, near_end, 512), kPlain), kEnospc);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, near_end, 512), kPlain), kEnospc);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, near_end, 512), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, UINT64_MAX, 1), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdCache, UINT64_MAX, 0xffffffff), kPlain), kEinval);
}

TEST(Validate, FlushAndDiscTakeNoRange) {
  for (uint16_t type : {kCmdFlush, kCmdDisc}) {
    EXPECT_EQ(ErrorOf(Make(type, 1, 0), kPlain), kEinval) << type;
    EXPECT_EQ(ErrorOf(Make(type, 0, 1), kPlain), kEinval) << type;
  }
}

TEST(Validate, ReadOnlyRejectsChangesWithEperm) {
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 512), kRo), kEperm);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 0, 512), kRo), kEperm);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 512), kRo), kEperm);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, kSize, 512), kRo), kEperm);  // before the range check
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 512), kRo), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdFlush, 0, 0), kRo), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdCache, 0, 512), kRo), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512), kRo), 0u);
}

TEST(Validate, UnadvertisedCommandsAreEinval) {
  Negotiated negotiated = kPlain;
  negotiated.transmission_flags &=
      ~(kFlagSendFlush | kFlagSendTrim | kFlagSendWriteZeroes | kFlagSendCache | kFlagSendFastZero);
  EXPECT_EQ(ErrorOf(Make(kCmdFlush, 0, 0), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 0, 512), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 512), negotiated), kEinval);
  // Clients may send CACHE without SEND_CACHE.
  EXPECT_EQ(ErrorOf(Make(kCmdCache, 0, 512), negotiated), 0u);
}

TEST(Validate, BlockStatusNeedsAMetaContext) {
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512), kPlain), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512), NegotiatedFor(Writable(), true)), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 512), kSr), 0u);
}

TEST(Validate, BlockStatusOfLengthZeroIsEinval) {
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 0, 0), kSr), kEinval);
}

TEST(Validate, AlignmentIsNotEnforcedWithBlockMinOne) {
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 1, 3), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 511, 7), kPlain), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 3, 5), kPlain), 0u);
}

TEST(Validate, AlignmentIsEnforcedWithLargerBlockMin) {
  ExportInfo info = Writable();
  info.block_min = 512;
  const Negotiated negotiated = NegotiatedFor(info, true, true);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 512, 1024), negotiated), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 1, 512), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 512, 100), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdTrim, 100, 512), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdWriteZeroes, 0, 513), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdBlockStatus, 256, 512), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdCache, 0, 0), negotiated), 0u);
}

TEST(Validate, UnalignedExportTailIsReachable) {
  ExportInfo info = Writable();
  info.block_min = 512;
  info.size_bytes = 4096 + 100;  // not a multiple of block_min
  const Negotiated negotiated = NegotiatedFor(info);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 4096, 100), negotiated), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 3584, 612), negotiated), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 4096, 50), negotiated), kEinval);
}

TEST(Validate, EmptyExportAcceptsOnlyEmptyRanges) {
  const Negotiated negotiated = NegotiatedFor(MakeExport("empty", 0));
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 0), negotiated), 0u);
  EXPECT_EQ(ErrorOf(Make(kCmdRead, 0, 1), negotiated), kEinval);
  EXPECT_EQ(ErrorOf(Make(kCmdWrite, 0, 1), negotiated), kEnospc);
}

}  // namespace
}  // namespace fb::nbd
