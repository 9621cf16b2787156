// Coordinator wire codec: every frame kind round-trips to the same bytes; every corruption,
// truncation or out-of-range field (even under a valid checksum) is an error, never a crash.
#include "coord/wire.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <functional>

#include "base/endian.h"

namespace fb::coord {
namespace {

VolumeRecord SampleRecord(VolumeId volume) {
  VolumeRecord r;
  r.volume = volume;
  r.epoch = 7;
  r.primary = 2;
  r.in_sync = 0b0101 | Bit(2);
  r.members = 0b1111 | Bit(63);
  r.prev_in_sync = 0b0011;
  r.tenure = 5;
  r.min_in_sync = 2;
  r.primary_incarnation = 0xfeedfacecafebeefull;
  return r;
}

StatusReply SampleStatus() {
  StatusReply s;
  s.request_id = 99;
  s.volumes = {SampleRecord(1), SampleRecord(2), SampleRecord(40)};
  s.nodes.push_back(NodeStatus{0, true, true, false, 12, 3, 4});
  s.nodes.push_back(NodeStatus{1, true, false, true, 90'000, 5, 6});
  s.nodes.push_back(NodeStatus{2, false, false, false, 0, 0, 0});
  return s;
}

// One of every kind, with extreme values where a field allows them.
std::vector<Frame> AllKinds() {
  ConfigChange grow{1, 9, 2, 3, 0b111, 2, 0xaaaa, 77};
  ConfigChange shrink{1, 9, 2, 3, 0b011, kNoNode, 0, 78};
  return {
      Hello{3, false},
      Hello{kNoNode, true},
      Heartbeat{63, UINT64_MAX, 2, 1, 6, true},
      Heartbeat{0, 1, 1, 0, 0, false},
      LeaseRequest{1, 2, 3, 4, UINT64_MAX},
      grow,
      shrink,
      RecordReply{SampleRecord(3), 77, true},
      RecordReply{SampleRecord(UINT64_MAX), 0, false},
      LeaseReply{1, 2, 3, true, 500'000'000},
      LeaseReply{1, 2, 3, false, 0},
      StatusRequest{UINT64_MAX},
      SampleStatus(),
      StatusReply{},
  };
}

// Re-stamps the checksum so a tampered body is judged on its content, not its checksum.
std::vector<uint8_t> Reseal(std::vector<uint8_t> frame) {
  const size_t covered = frame.size() - kFrameTrailerBytes;
  StoreBe64(&frame[covered], XXH3_64bits(frame.data(), covered));
  return frame;
}

// The body of an encoded frame starts here.
constexpr size_t kBody = kFrameHeaderBytes;

TEST(CoordWire, EveryKindRoundTripsToTheSameBytes) {
  for (const Frame& f : AllKinds()) {
    const std::vector<uint8_t> bytes = EncodeFrame(f);
    ASSERT_EQ(*FrameBytes(bytes), bytes.size());
    Result<Frame> back = DecodeFrame(bytes);
    ASSERT_TRUE(back.ok()) << FrameTypeName(TypeOf(f)) << ": " << back.status().ToString();
    EXPECT_EQ(TypeOf(*back), TypeOf(f));
    // Every field is encoded, so equal bytes mean equal fields.
    EXPECT_EQ(EncodeFrame(*back), bytes) << FrameTypeName(TypeOf(f));
  }
}

TEST(CoordWire, FieldsSurviveTheTrip) {
  auto back = DecodeFrame(EncodeFrame(ConfigChange{1, 9, 2, 3, 0b111, 2, 0xaaaa, 77}));
  ASSERT_TRUE(back.ok());
  const auto& cc = std::get<ConfigChange>(*back);
  EXPECT_EQ(cc.node, 1u);
  EXPECT_EQ(cc.incarnation, 9u);
  EXPECT_EQ(cc.volume, 2u);
  EXPECT_EQ(cc.expected_epoch, 3u);
  EXPECT_EQ(cc.new_in_sync, 7u);
  EXPECT_EQ(cc.joining, 2u);
  EXPECT_EQ(cc.joining_boot_id, 0xaaaau);
  EXPECT_EQ(cc.request_id, 77u);

  auto status = DecodeFrame(EncodeFrame(SampleStatus()));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(std::get<StatusReply>(*status), SampleStatus());

  auto record = DecodeFrame(EncodeFrame(RecordReply{SampleRecord(3), 77, true}));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(std::get<RecordReply>(*record).record, SampleRecord(3));
  EXPECT_TRUE(std::get<RecordReply>(*record).committed);

  auto lease = DecodeFrame(EncodeFrame(LeaseReply{1, 2, 3, true, 500'000'000}));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(std::get<LeaseReply>(*lease).lease_ns, 500'000'000);
  EXPECT_TRUE(std::get<LeaseReply>(*lease).granted);

  auto hb = DecodeFrame(EncodeFrame(Heartbeat{63, UINT64_MAX, 2, 1, 6, true}));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(std::get<Heartbeat>(*hb).node, 63u);
  EXPECT_EQ(std::get<Heartbeat>(*hb).boot_id, UINT64_MAX);
  EXPECT_TRUE(std::get<Heartbeat>(*hb).blank);
}

TEST(CoordWire, RequestsAndRepliesConvert) {
  const Request lease = LeaseRequest{1, 2, 3, 4, 5};
  EXPECT_EQ(TypeOf(ToFrame(lease)), FrameType::kLeaseRequest);
  ASSERT_TRUE(AsRequest(ToFrame(lease)).has_value());
  EXPECT_EQ(std::get<LeaseRequest>(*AsRequest(ToFrame(lease))).request_id, 5u);
  EXPECT_FALSE(AsReply(ToFrame(lease)).has_value());
  const Reply reply = LeaseReply{1, 2, 3, false, 0};
  EXPECT_EQ(TypeOf(ToFrame(reply)), FrameType::kLeaseReply);
  EXPECT_TRUE(AsReply(ToFrame(reply)).has_value());
  EXPECT_FALSE(AsRequest(ToFrame(reply)).has_value());
  EXPECT_FALSE(AsRequest(Hello{1, false}).has_value());
  EXPECT_FALSE(AsReply(StatusReply{}).has_value());
}

TEST(CoordWire, EveryBitFlipIsAnError) {
  for (const Frame& f : AllKinds()) {
    const std::vector<uint8_t> bytes = EncodeFrame(f);
    for (size_t at = 0; at < bytes.size(); ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        std::vector<uint8_t> bad = bytes;
        bad[at] ^= uint8_t(1 << bit);
        EXPECT_FALSE(DecodeFrame(bad).ok()) << FrameTypeName(TypeOf(f)) << " byte " << at;
      }
    }
  }
}

TEST(CoordWire, EveryTruncationAndExtensionIsAnError) {
  for (const Frame& f : AllKinds()) {
    const std::vector<uint8_t> bytes = EncodeFrame(f);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(DecodeFrame(std::span(bytes).first(n)).ok()) << n;
    }
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(DecodeFrame(longer).ok());
    // Announcing one more body byte, with the checksum moved along: still rejected, as the
    // body no longer has its type's length.
    std::vector<uint8_t> grown = bytes;
    grown.insert(grown.end() - kFrameTrailerBytes, 0);
    StoreBe32(&grown[8], LoadBe32(&grown[8]) + 1);
    EXPECT_FALSE(DecodeFrame(Reseal(grown)).ok()) << FrameTypeName(TypeOf(f));
  }
}

TEST(CoordWire, HeaderIsCheckedBeforeTheBody) {
  std::vector<uint8_t> bytes = EncodeFrame(StatusRequest{1});
  EXPECT_EQ(FrameBytes(std::span(bytes).first(kFrameHeaderBytes - 1)).status().code(),
            Code::kUnavailable);
  auto with = [&](size_t at, uint32_t value, bool wide) {
    std::vector<uint8_t> copy = bytes;
    if (wide) StoreBe32(&copy[at], value);
    if (!wide) StoreBe16(&copy[at], uint16_t(value));
    return FrameBytes(copy).status().code();
  };
  EXPECT_EQ(with(0, 0x46425250, true), Code::kInvalidArgument);  // another protocol's magic
  EXPECT_EQ(with(4, 0, false), Code::kInvalidArgument);          // type 0
  EXPECT_EQ(with(4, 9, false), Code::kInvalidArgument);          // unknown type
  EXPECT_EQ(with(6, 1, false), Code::kInvalidArgument);          // header flags
  EXPECT_EQ(with(8, kFrameBodyBytesMax + 1, true), Code::kInvalidArgument);
  EXPECT_EQ(with(8, UINT32_MAX, true), Code::kInvalidArgument);
  EXPECT_TRUE(FrameBytes(bytes).ok());
  EXPECT_EQ(DecodeFrame(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1)).status().code(),
            Code::kInvalidArgument);
  bytes.back() ^= 1;
  EXPECT_EQ(DecodeFrame(bytes).status().code(), Code::kDataLoss);
}

struct Tamper {
  const char* what;
  Frame frame;
  size_t at;  // body offset
  std::function<void(uint8_t*)> edit;
};

// Well-checksummed frames whose content no honest peer sends.
std::vector<Tamper> Tampers() {
  auto u32 = [](uint32_t v) { return [v](uint8_t* p) { StoreBe32(p, v); }; };
  auto u64 = [](uint64_t v) { return [v](uint8_t* p) { StoreBe64(p, v); }; };
  const Frame record = RecordReply{SampleRecord(3), 1, false};
  const Frame status = SampleStatus();
  const size_t node0 = kStatusFixedBytes + 3 * kRecordBytes;  // first node entry
  return {
      {"hello version", Hello{1, false}, 0, u32(kWireVersion + 1)},
      {"hello flags", Hello{1, false}, 4, u32(2)},
      {"hello padding", Hello{1, false}, 12, u32(1)},
      {"admin with a node", Hello{kNoNode, true}, 8, u32(1)},
      {"node without an id", Hello{1, false}, 8, u32(kNoNode)},
      {"node id too big", Hello{1, false}, 8, u32(kMaxNodes)},
      {"heartbeat node", Heartbeat{1, 1, 1, 1, 1, false}, 0, u32(kMaxNodes)},
      {"heartbeat flags", Heartbeat{1, 1, 1, 1, 1, false}, 4, u32(2)},
      {"lease request node", LeaseRequest{1, 1, 1, 1, 1}, 0, u32(kNoNode)},
      {"lease request padding", LeaseRequest{1, 1, 1, 1, 1}, 4, u32(1)},
      {"change node", ConfigChange{1, 1, 1, 1, 1, kNoNode, 0, 1}, 0, u32(64)},
      {"change joiner", ConfigChange{1, 1, 1, 1, 1, kNoNode, 0, 1}, 4, u32(64)},
      {"record epoch 0", record, 8, u64(0)},
      {"record tenure 0", record, 48, u64(0)},
      {"record tenure after epoch", record, 48, u64(8)},
      {"record primary out of S", record, 16, u32(1)},
      {"record primary no node", record, 16, u32(kNoNode)},
      {"record S outside members", record, 24, u64(Bit(2) | Bit(40))},
      {"record min_in_sync", record, 20, u32(kMaxNodes + 1)},
      {"record reply flags", record, kRecordBytes + 8, u32(2)},
      {"record reply padding", record, kRecordBytes + 12, u32(1)},
      {"lease granted without length", LeaseReply{1, 1, 1, true, 5}, 24, u64(0)},
      {"lease refused with length", LeaseReply{1, 1, 1, false, 0}, 24, u64(5)},
      {"lease negative", LeaseReply{1, 1, 1, true, 5}, 24, u64(uint64_t(INT64_MIN))},
      {"lease flags", LeaseReply{1, 1, 1, false, 0}, 32, u32(2)},
      {"lease padding", LeaseReply{1, 1, 1, false, 0}, 36, u32(1)},
      {"status volume count", status, 8, u32(2)},
      {"status node count", status, 12, u32(4)},
      {"status too many volumes", status, 8, u32(kStatusVolumesMax + 1)},
      {"status too many nodes", status, 12, u32(kMaxNodes + 1)},
      {"status volumes out of order", status, kStatusFixedBytes + kRecordBytes, u64(1)},
      {"status bad record", status, kStatusFixedBytes + 8, u64(0)},
      {"status node index", status, node0, u32(1)},
      {"status node flags", status, node0 + 4, u32(8)},
      {"status live but unseen", status, node0 + 2 * kNodeStatusBytes + 4, u32(2)},
      {"status unseen with age", status, node0 + 2 * kNodeStatusBytes + 8, u64(1)},
      {"status unseen with boot", status, node0 + 2 * kNodeStatusBytes + 24, u64(1)},
  };
}

TEST(CoordWire, OutOfRangeFieldsAreErrorsEvenWithAGoodChecksum) {
  for (const Tamper& t : Tampers()) {
    std::vector<uint8_t> bytes = EncodeFrame(t.frame);
    ASSERT_TRUE(DecodeFrame(bytes).ok()) << t.what;
    ASSERT_LE(kBody + t.at + 4, bytes.size() - kFrameTrailerBytes) << t.what;
    t.edit(&bytes[kBody + t.at]);
    Result<Frame> decoded = DecodeFrame(Reseal(bytes));
    EXPECT_FALSE(decoded.ok()) << t.what;
    EXPECT_EQ(decoded.status().code(), Code::kInvalidArgument) << t.what;
  }
}

TEST(CoordWire, RecordInvariants) {
  EXPECT_TRUE(ValidRecord(SampleRecord(1)));
  VolumeRecord r = SampleRecord(1);
  r.in_sync = 0;
  EXPECT_FALSE(ValidRecord(r));
  r = SampleRecord(1);
  r.primary = kNoNode;
  EXPECT_FALSE(ValidRecord(r));
  uint8_t bytes[kRecordBytes];
  EncodeRecord(SampleRecord(9), bytes);
  EXPECT_EQ(*DecodeRecord(bytes), SampleRecord(9));
}

TEST(CoordWireDeathTest, EncodingAnInvalidFrameIsABug) {
  VolumeRecord r = SampleRecord(1);
  r.epoch = 0;
  EXPECT_DEATH(EncodeFrame(RecordReply{r, 0, false}), "Valid");
  EXPECT_DEATH(EncodeFrame(LeaseReply{1, 1, 1, true, 0}), "Valid");
  EXPECT_DEATH(EncodeFrame(Hello{kNoNode, false}), "Valid");
}

}  // namespace
}  // namespace fb::coord
