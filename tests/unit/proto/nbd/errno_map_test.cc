// Status -> NBD errno tests: the per-command meanings of NBD.md 1.6 and the rule that
// ESHUTDOWN and raw host errno values never reach the wire.
#include "proto/nbd/errno_map.h"

#include <gtest/gtest.h>

#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

constexpr uint16_t kAllCommands[] = {kCmdRead, kCmdWrite, kCmdDisc,        kCmdFlush,
                                     kCmdTrim, kCmdCache, kCmdWriteZeroes, kCmdBlockStatus};

TEST(NbdError, OkIsZero) {
  for (uint16_t command : kAllCommands) EXPECT_EQ(NbdError(Status::Ok(), command, 0), 0u);
}

TEST(NbdError, OutOfSpaceIsEnospcForCommandsThatAllocate) {
  const Status full = Status::ResourceExhausted("volume full");
  for (uint16_t command : {kCmdWrite, kCmdWriteZeroes, kCmdTrim, kCmdFlush}) {
    EXPECT_EQ(NbdError(full, command, 0), kEnospc) << command;
  }
  for (uint16_t command : {kCmdRead, kCmdCache, kCmdBlockStatus}) {
    EXPECT_EQ(NbdError(full, command, 0), kEio) << command;
  }
}

TEST(NbdError, PermissionDeniedIsEperm) {
  EXPECT_EQ(NbdError(Status::PermissionDenied("read-only"), kCmdWrite, 0), kEperm);
  EXPECT_EQ(NbdError(Status::PermissionDenied("read-only"), kCmdTrim, 0), kEperm);
}

TEST(NbdError, InvalidArgumentIsEinval) {
  for (uint16_t command : kAllCommands) {
    EXPECT_EQ(NbdError(Status::InvalidArgument("bad"), command, 0), kEinval) << command;
  }
}

TEST(NbdError, OutOfRangeMatchesWhatValidateAnswers) {
  const Status past_end = Status::OutOfRange("past the end");
  EXPECT_EQ(NbdError(past_end, kCmdWrite, 0), kEnospc);
  EXPECT_EQ(NbdError(past_end, kCmdWriteZeroes, 0), kEnospc);
  for (uint16_t command : {kCmdRead, kCmdTrim, kCmdCache, kCmdBlockStatus}) {
    EXPECT_EQ(NbdError(past_end, command, 0), kEinval) << command;
  }
}

TEST(NbdError, EnotsupOnlyForFastZero) {
  const Status slow = Status::Unimplemented("cannot zero fast");
  EXPECT_EQ(NbdError(slow, kCmdWriteZeroes, kCmdFlagFastZero), kEnotsup);
  EXPECT_EQ(NbdError(slow, kCmdWriteZeroes, kCmdFlagFastZero | kCmdFlagFua), kEnotsup);
  EXPECT_EQ(NbdError(slow, kCmdWriteZeroes, 0), kEinval);
  EXPECT_EQ(NbdError(slow, kCmdWriteZeroes, kCmdFlagNoHole), kEinval);
  EXPECT_EQ(NbdError(slow, kCmdWrite, kCmdFlagFastZero), kEinval);
  EXPECT_EQ(NbdError(slow, kCmdTrim, 0), kEinval);
}

TEST(NbdError, EverythingElseIsEio) {
  for (Code code : {Code::kNotFound, Code::kAlreadyExists, Code::kUnavailable, Code::kAborted,
                    Code::kFailedPrecondition, Code::kFenced, Code::kDataLoss, Code::kIOError,
                    Code::kWouldBlock, Code::kInternal}) {
    for (uint16_t command : kAllCommands) {
      EXPECT_EQ(NbdError(Status(code, "x"), command, 0), kEio) << CodeName(code);
    }
  }
}

TEST(NbdError, NeverShutdownAndAlwaysAKnownValue) {
  const uint32_t known[] = {kEperm, kEio, kEinval, kEnospc, kEnotsup};
  for (int raw = int(Code::kInvalidArgument); raw <= int(Code::kInternal); ++raw) {
    for (uint16_t command : kAllCommands) {
      for (uint16_t flags : {uint16_t(0), uint16_t(0xffff)}) {
        const uint32_t error = NbdError(Status(Code(raw), "x"), command, flags);
        EXPECT_NE(error, kEshutdown);
        EXPECT_NE(std::find(std::begin(known), std::end(known), error), std::end(known));
      }
    }
  }
}

// A client relaying a server's error (firebreak attach) must hand its own client the same
// number: StatusFromNbdError then NbdError is the identity for the errors a command can carry.
TEST(StatusFromNbdError, RoundTripsTheErrorsACommandCanCarry) {
  for (uint16_t command : kAllCommands) {
    for (uint32_t error : {kEperm, kEio, kEinval}) {
      EXPECT_EQ(NbdError(StatusFromNbdError(error, "m"), command, 0), error) << command;
    }
  }
  for (uint16_t command : {kCmdWrite, kCmdWriteZeroes, kCmdTrim, kCmdFlush}) {
    EXPECT_EQ(NbdError(StatusFromNbdError(kEnospc, ""), command, 0), kEnospc) << command;
  }
  EXPECT_EQ(NbdError(StatusFromNbdError(kEnotsup, ""), kCmdWriteZeroes, kCmdFlagFastZero),
            kEnotsup);
}

TEST(StatusFromNbdError, OthersBecomeEioOrEinvalAndKeepTheMessage) {
  EXPECT_EQ(NbdError(StatusFromNbdError(kEshutdown, ""), kCmdWrite, 0), kEio);
  EXPECT_EQ(NbdError(StatusFromNbdError(kEoverflow, ""), kCmdRead, kCmdFlagDf), kEio);
  EXPECT_EQ(NbdError(StatusFromNbdError(12345, ""), kCmdRead, 0), kEinval);
  EXPECT_NE(StatusFromNbdError(kEio, "disk on fire").ToString().find("disk on fire"),
            std::string::npos);
}

}  // namespace
}  // namespace fb::nbd
