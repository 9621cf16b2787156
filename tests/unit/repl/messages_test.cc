// Replication message codec: every type round-trips; hostile bytes are errors, never crashes.
#include "repl/messages.h"

#include <gtest/gtest.h>

namespace fb::repl {
namespace {

Message Make(MsgType type, Body body) {
  Message m;
  m.header = Header{type, 9, 42, 7, 5, 3};
  m.body = std::move(body);
  return m;
}

std::vector<Message> AllKinds() {
  auto data = std::make_shared<const Bytes>(4096, 0xab);
  return {
      Make(MsgType::kResyncBegin, std::monostate{}),
      Make(MsgType::kWrite, WriteBody{WriteOp::kWrite, true, 77, 8192, 4096, data}),
      Make(MsgType::kWrite, WriteBody{WriteOp::kTrim, false, 78, 0, 65536, nullptr}),
      Make(MsgType::kCopy, WriteBody{WriteOp::kWrite, false, 79, 4096, 4096, data}),
      Make(MsgType::kFlush, FlushBody{true, true, 1234}),
      Make(MsgType::kHello, HelloBody{99, true, {1, 5, 9}}),
      Make(MsgType::kAck, AckBody{Code::kIOError}),
      Make(MsgType::kReject, RejectBody{RejectReason::kFenced, 12}),
  };
}

TEST(Messages, EveryTypeRoundTrips) {
  for (const Message& m : AllKinds()) {
    std::vector<uint8_t> frame = Encode(m);
    ASSERT_EQ(*FrameBytes(frame), frame.size());
    Result<Message> back = Decode(frame);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->header.type, m.header.type);
    EXPECT_EQ(back->header.epoch, 9u);
    EXPECT_EQ(back->header.seq, 42u);
    EXPECT_EQ(back->header.tenure, 5u);
    EXPECT_EQ(back->header.session, 3u);
    EXPECT_EQ(Encode(*back), frame);  // canonical: re-encoding gives the same bytes
  }
}

TEST(Messages, EveryBitFlipIsDetected) {
  Message m = Make(MsgType::kFlush, FlushBody{true, false, 5});
  std::vector<uint8_t> frame = Encode(m);
  for (size_t bit = 0; bit < frame.size() * 8; ++bit) {
    std::vector<uint8_t> bad = frame;
    bad[bit / 8] ^= uint8_t(1u << (bit % 8));
    EXPECT_FALSE(Decode(bad).ok()) << "bit " << bit;
  }
}

TEST(Messages, TruncatedAndPaddedFramesAreErrors) {
  for (const Message& m : AllKinds()) {
    std::vector<uint8_t> frame = Encode(m);
    for (size_t len = 0; len < frame.size(); len += 7) {
      EXPECT_FALSE(Decode(std::span(frame).first(len)).ok());
    }
    frame.push_back(0);
    EXPECT_FALSE(Decode(frame).ok());
  }
}

TEST(Messages, LengthFieldBeyondTheLimitIsRefusedBeforeReading) {
  std::vector<uint8_t> frame = Encode(AllKinds()[0]);
  frame[44] = 0xff;
  EXPECT_EQ(FrameBytes(frame).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FrameBytes(std::span(frame).first(10)).status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace fb::repl
