// Reply decoder tests: streams built with our server's own encoders (reply.h) are decoded at
// every input split into the same events; then the rules a client enforces, one violation each.
#include "proto/nbd/client_reply.h"

#include <gtest/gtest.h>

#include <map>

#include "nbd_test_util.h"
#include "proto/nbd/reply.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::Wire;
using Kind = ReplyEvent::Kind;

class Table final : public PendingReplies {
 public:
  PendingReply* Find(uint64_t cookie) override {
    auto it = entries.find(cookie);
    return it == entries.end() ? nullptr : &it->second;
  }
  void Add(uint64_t cookie, uint16_t type, uint64_t offset, uint32_t length) {
    PendingReply reply;
    reply.type = type;
    reply.offset = offset;
    reply.length = length;
    entries[cookie] = reply;
  }
  std::map<uint64_t, PendingReply> entries;
};

// What a caller assembles from the events.
struct Seen {
  std::map<uint64_t, std::vector<uint8_t>> reads;  // cookie -> bytes in offset order
  std::map<uint64_t, uint32_t> errors;
  std::map<uint64_t, std::vector<ExtentDescriptor>> extents;
  std::vector<uint64_t> done;
  Status status;
};

Seen Decode(bool structured, Table table, std::span<const uint8_t> stream, size_t chunk = 0) {
  ReplyDecoder decoder(structured);
  Seen seen;
  std::vector<uint8_t> in;
  size_t position = 0;
  while (true) {
    const size_t n =
        chunk == 0 ? stream.size() - position : std::min(chunk, stream.size() - position);
    in.insert(in.end(), stream.begin() + long(position), stream.begin() + long(position + n));
    position += n;
    while (true) {
      ReplyStep step = decoder.Next(in, table);
      EXPECT_LE(step.consumed, in.size());
      if (!step.status.ok()) {
        seen.status = step.status;
        return seen;
      }
      if (step.event) {
        const ReplyEvent& e = *step.event;
        switch (e.kind) {
          case Kind::kData:
            seen.reads[e.cookie].insert(seen.reads[e.cookie].end(), e.bytes.begin(), e.bytes.end());
            break;
          case Kind::kHole:
            seen.reads[e.cookie].resize(seen.reads[e.cookie].size() + e.length, 0);
            break;
          case Kind::kBlockStatus:
            for (size_t i = 0; i < e.bytes.size() / 8; ++i) {
              seen.extents[e.cookie].push_back(DescriptorAt(e.bytes, i));
            }
            break;
          case Kind::kError:
            seen.errors[e.cookie] = e.error;
            break;
          case Kind::kDone:
            seen.done.push_back(e.cookie);
            table.entries.erase(e.cookie);
            break;
        }
      }
      in.erase(in.begin(), in.begin() + long(step.consumed));
      if (!step.event && step.consumed == 0) break;
    }
    if (position == stream.size()) break;
  }
  EXPECT_TRUE(in.empty()) << in.size() << " bytes left undecoded";
  return seen;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

Negotiated Sr(bool structured) {
  Negotiated n =
      testing::NegotiatedFor(testing::MakeExport("vm1", 1 << 30), structured, structured);
  return n;
}

TEST(ClientReply, StructuredStreamAtEverySplit) {
  const std::vector<uint8_t> a = Pattern(4096, 1);
  const std::vector<uint8_t> b = Pattern(1000, 9);
  std::vector<uint8_t> stream;
  const Negotiated n = Sr(true);
  // 1: READ 4096 at 8192 in one chunk. 2: WRITE ok. 3: READ 3000 = data 1000 + hole 2000.
  // 4: BLOCK_STATUS with two extents. 5: FLUSH failing with EIO and a message.
  EncodeReadDataHeader(stream, n, 1, 8192, 4096, true);
  stream.insert(stream.end(), a.begin(), a.end());
  EncodeStatusReply(stream, n, 2, 0);
  EncodeReadDataHeader(stream, n, 3, 0, 1000, false);
  stream.insert(stream.end(), b.begin(), b.end());
  EncodeReadHole(stream, 3, 1000, 2000, false);
  EncodeDone(stream, 3);
  const Extent extents[] = {{4096, kStateHole}, {8192, 0}};
  EncodeBlockStatus(stream, 4, kBaseAllocationId, extents);
  EncodeStatusReply(stream, n, 5, kEio, "disk on fire");
  Table table;
  table.Add(1, kCmdRead, 8192, 4096);
  table.Add(2, kCmdWrite, 0, 4096);
  table.Add(3, kCmdRead, 0, 3000);
  table.Add(4, kCmdBlockStatus, 0, 12288);
  table.Add(5, kCmdFlush, 0, 0);
  for (size_t chunk : {0, 1, 3, 20, 27, 28, 100, 4095}) {
    SCOPED_TRACE(chunk);
    Seen seen = Decode(true, table, stream, chunk);
    ASSERT_TRUE(seen.status.ok()) << seen.status.ToString();
    EXPECT_EQ(seen.done, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(seen.reads[1], a);
    std::vector<uint8_t> want3 = b;
    want3.resize(3000, 0);
    EXPECT_EQ(seen.reads[3], want3);
    ASSERT_EQ(seen.extents[4].size(), 2u);
    EXPECT_EQ(seen.extents[4][0].length, 4096u);
    EXPECT_EQ(seen.extents[4][0].flags, kStateHole);
    EXPECT_EQ(seen.extents[4][1].length, 8192u);
    EXPECT_EQ(seen.errors[5], kEio);
    EXPECT_EQ(seen.errors.size(), 1u);
  }
}

TEST(ClientReply, SimpleRepliesStreamReadData) {
  const std::vector<uint8_t> a = Pattern(5000, 3);
  std::vector<uint8_t> stream;
  const Negotiated n = Sr(false);
  EncodeStatusReply(stream, n, 7, kEnospc);
  EncodeReadDataHeader(stream, n, 8, 100, 5000, true);
  stream.insert(stream.end(), a.begin(), a.end());
  EncodeStatusReply(stream, n, 9, 0);
  Table table;
  table.Add(7, kCmdWrite, 0, 512);
  table.Add(8, kCmdRead, 100, 5000);
  table.Add(9, kCmdTrim, 0, 512);
  for (size_t chunk : {0, 1, 15, 16, 17, 999}) {
    Seen seen = Decode(false, table, stream, chunk);
    ASSERT_TRUE(seen.status.ok()) << seen.status.ToString();
    EXPECT_EQ(seen.done, (std::vector<uint64_t>{7, 8, 9}));
    EXPECT_EQ(seen.errors[7], kEnospc);
    EXPECT_EQ(seen.reads[8], a);
  }
}

TEST(ClientReply, ErrorOffsetEndsARead) {
  std::vector<uint8_t> stream;
  EncodeErrorAt(stream, 1, kEio, 4096 + 512, "bad sector");
  Table table;
  table.Add(1, kCmdRead, 4096, 4096);
  Seen seen = Decode(true, table, stream);
  ASSERT_TRUE(seen.status.ok());
  EXPECT_EQ(seen.errors[1], kEio);
  EXPECT_EQ(seen.done, std::vector<uint64_t>{1});
}

// One violation per stream: each must be reported, never crash or loop.
struct Violation {
  const char* name;
  bool structured;
  std::vector<uint8_t> stream;
  const char* why;  // part of the reported reason
};

std::vector<uint8_t> Chunk(uint16_t flags, uint16_t type, uint64_t cookie,
                           std::vector<uint8_t> payload) {
  return Wire()
      .U32(kStructuredReplyMagic)
      .U16(flags)
      .U16(type)
      .U64(cookie)
      .U32(uint32_t(payload.size()))
      .Raw(payload)
      .bytes;
}

TEST(ClientReply, ViolationsAreReported) {
  const std::vector<Violation> cases = {
      {"bad magic", true, Wire().U32(0x12345678).U32(0).U64(1).bytes, "bad reply magic"},
      {"unknown cookie", false, Wire().U32(kSimpleReplyMagic).U32(0).U64(99).bytes, "not awaited"},
      {"chunk without SR", false, Chunk(kReplyFlagDone, kChunkNone, 2, {}),
       "without structured replies"},
      {"simple READ success under SR", true, Wire().U32(kSimpleReplyMagic).U32(0).U64(1).bytes,
       "simple reply to a READ"},
      {"unknown flags", true, Chunk(2, kChunkNone, 2, {}), "unknown reply flags"},
      {"NONE not final", true, Chunk(0, kChunkNone, 2, {}), "NONE chunk"},
      {"NONE with payload", true, Chunk(kReplyFlagDone, kChunkNone, 2, {1}), "NONE chunk"},
      {"data for a WRITE", true,
       Chunk(kReplyFlagDone, kChunkOffsetData, 2, Wire().U64(0).U32(1).bytes), "not a READ"},
      {"data out of order", true,
       Chunk(kReplyFlagDone, kChunkOffsetData, 1, Wire().U64(4096 + 512).U32(7).bytes), "tile"},
      {"data beyond the read", true,
       Chunk(kReplyFlagDone, kChunkOffsetData, 1,
             Wire().U64(4096).Raw(std::vector<uint8_t>(4097)).bytes),
       "beyond the READ"},
      {"empty data", true, Chunk(kReplyFlagDone, kChunkOffsetData, 1, Wire().U64(4096).bytes),
       "without data"},
      {"read ends short", true,
       Chunk(kReplyFlagDone, kChunkOffsetData, 1,
             Wire().U64(4096).Raw(std::vector<uint8_t>(100)).bytes),
       "before covering"},
      {"hole of 0", true, Chunk(kReplyFlagDone, kChunkOffsetHole, 1, Wire().U64(4096).U32(0).bytes),
       "size 0"},
      {"block status for a read", true,
       Chunk(kReplyFlagDone, kChunkBlockStatus, 1, Wire().U32(1).U32(512).U32(0).bytes),
       "another command"},
      {"extent of 0", true,
       Chunk(kReplyFlagDone, kChunkBlockStatus, 3, Wire().U32(1).U32(0).U32(0).bytes), "length 0"},
      {"block status ends without extents", true, Chunk(kReplyFlagDone, kChunkNone, 3, {}),
       "without extents"},
      {"error 0", true, Chunk(kReplyFlagDone, kChunkError, 2, Wire().U32(0).U16(0).bytes),
       "error 0"},
      {"error message overruns", true,
       Chunk(kReplyFlagDone, kChunkError, 2, Wire().U32(5).U16(9).Text("ab").bytes),
       "does not match"},
      {"error offset outside", true,
       Chunk(kReplyFlagDone, kChunkErrorOffset, 1, Wire().U32(5).U16(0).U64(0).bytes),
       "outside the request"},
      {"unknown chunk type", true, Chunk(kReplyFlagDone, 77, 2, {}), "unknown reply chunk type"},
      {"oversized chunk", true,
       Wire()
           .U32(kStructuredReplyMagic)
           .U16(1)
           .U16(kChunkBlockStatus)
           .U64(3)
           .U32(kMaxReplyChunkBytes + 1)
           .bytes,
       "larger than"},
      {"two replies to one cookie", true,
       Wire()
           .Raw(Chunk(0, kChunkError, 2, Wire().U32(5).U16(0).bytes))
           .U32(kSimpleReplyMagic)
           .U32(0)
           .U64(2)
           .bytes,
       "after chunks"},
  };
  for (const Violation& v : cases) {
    SCOPED_TRACE(v.name);
    Table table;
    table.Add(1, kCmdRead, 4096, 4096);
    table.Add(2, kCmdWrite, 0, 4096);
    table.Add(3, kCmdBlockStatus, 0, 4096);
    Seen seen = Decode(v.structured, table, v.stream);
    EXPECT_FALSE(seen.status.ok());
    EXPECT_NE(seen.status.ToString().find(v.why), std::string::npos) << seen.status.ToString();
  }
}

TEST(ClientReply, UnknownErrorChunkTypeIsAnError) {
  Table table;
  table.Add(2, kCmdWrite, 0, 4096);
  Seen seen =
      Decode(true, table, Chunk(kReplyFlagDone, kChunkErrorBit + 9, 2, Wire().U32(28).bytes));
  ASSERT_TRUE(seen.status.ok()) << seen.status.ToString();
  EXPECT_EQ(seen.errors[2], kEnospc);
  EXPECT_EQ(seen.done, std::vector<uint64_t>{2});
}

}  // namespace
}  // namespace fb::nbd
