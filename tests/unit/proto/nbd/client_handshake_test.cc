// Client handshake tests: the client codec against our own server codec (both sans-IO, wired
// back to back, at every input split), plus the server behaviours a client must survive:
// refusals carrying a hint, no structured replies, and malformed or oversized replies.
#include "proto/nbd/client_handshake.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "nbd_test_util.h"
#include "proto/nbd/handshake.h"
#include "proto/nbd/options.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using testing::FakeCatalog;
using testing::MakeExport;
using testing::Wire;
using State = ClientHandshakeStep::State;

struct Outcome {
  ClientHandshakeStep client;
  HandshakeStep server;
  std::vector<uint8_t> leftover;  // server bytes the client did not consume
};

// Runs both sides until the client finishes. Bytes travel in pieces of `chunk` (0: whole).
Outcome Connect(const ExportCatalog& catalog, ClientOptions options, size_t chunk = 0) {
  Handshake server(catalog);
  ClientHandshake client(std::move(options));
  std::vector<uint8_t> to_client;
  Handshake::Greeting(to_client);
  std::vector<uint8_t> to_server;
  std::vector<uint8_t> client_in;
  std::vector<uint8_t> server_in;
  Outcome out;
  for (int rounds = 0; rounds < 10000; ++rounds) {
    // Deliver up to `chunk` bytes each way.
    const size_t c = chunk == 0 ? to_client.size() : std::min(chunk, to_client.size());
    client_in.insert(client_in.end(), to_client.begin(), to_client.begin() + long(c));
    to_client.erase(to_client.begin(), to_client.begin() + long(c));
    out.client = client.Feed(client_in, to_server);
    client_in.erase(client_in.begin(), client_in.begin() + long(out.client.consumed));
    if (out.client.state != State::kNeedMore) break;
    const size_t s = chunk == 0 ? to_server.size() : std::min(chunk, to_server.size());
    server_in.insert(server_in.end(), to_server.begin(), to_server.begin() + long(s));
    to_server.erase(to_server.begin(), to_server.begin() + long(s));
    if (out.server.state == HandshakeStep::State::kNeedMore) {
      out.server = server.Feed(server_in, to_client);
      server_in.erase(server_in.begin(), server_in.begin() + long(out.server.consumed));
    }
  }
  out.leftover = client_in;
  out.leftover.insert(out.leftover.end(), to_client.begin(), to_client.end());
  return out;
}

ClientOptions For(std::string name) {
  ClientOptions options;
  options.export_name = std::move(name);
  return options;
}

class ClientHandshakeTest : public ::testing::Test {
 protected:
  ClientHandshakeTest()
      : catalog_({MakeExport("vm1", 1ull << 30), MakeExport("ro", 64 << 20, true)}) {}
  FakeCatalog catalog_;
};

TEST_F(ClientHandshakeTest, AgreesWithOurServerAtEverySplit) {
  for (size_t chunk : {0, 1, 2, 3, 7, 19, 64}) {
    SCOPED_TRACE(chunk);
    Outcome o = Connect(catalog_, For("vm1"), chunk);
    ASSERT_EQ(o.client.state, State::kDone) << o.client.error.ToString();
    ASSERT_EQ(o.server.state, HandshakeStep::State::kDone);
    const Negotiated& c = o.client.negotiated;
    const Negotiated& s = o.server.negotiated;
    EXPECT_EQ(c.transmission_flags, s.transmission_flags);
    EXPECT_TRUE(c.structured_replies);
    EXPECT_EQ(c.base_allocation_id, s.base_allocation_id);
    EXPECT_EQ(c.base_allocation_id, kBaseAllocationId);
    EXPECT_EQ(c.export_info.size_bytes, uint64_t{1} << 30);
    EXPECT_EQ(c.export_info.description, "test export vm1");
    EXPECT_EQ(c.export_info.block_min, s.export_info.block_min);
    EXPECT_EQ(c.export_info.block_preferred, s.export_info.block_preferred);
    EXPECT_EQ(c.export_info.block_max, s.export_info.block_max);
    // The export read back from the flags gives the same flags again.
    EXPECT_EQ(TransmissionFlags(c.export_info, true), c.transmission_flags);
    EXPECT_TRUE(o.leftover.empty());
  }
}

TEST_F(ClientHandshakeTest, ReadOnlyExportIsReadBackFromTheFlags) {
  Outcome o = Connect(catalog_, For("ro"));
  ASSERT_EQ(o.client.state, State::kDone);
  EXPECT_TRUE(o.client.negotiated.export_info.read_only);
  EXPECT_TRUE(o.client.negotiated.transmission_flags & kFlagReadOnly);
}

TEST_F(ClientHandshakeTest, WithoutStructuredRepliesNoContextIsAsked) {
  ClientOptions options = For("vm1");
  options.structured_replies = false;
  options.base_allocation = false;
  Outcome o = Connect(catalog_, options);
  ASSERT_EQ(o.client.state, State::kDone);
  EXPECT_FALSE(o.client.negotiated.structured_replies);
  EXPECT_FALSE(o.client.negotiated.base_allocation_id.has_value());
  EXPECT_FALSE(o.client.negotiated.transmission_flags & kFlagSendDf);
}

TEST_F(ClientHandshakeTest, RefusalCarriesTheServersText) {
  catalog_.refused = "vm1";
  Outcome o = Connect(catalog_, For("vm1"), 5);
  ASSERT_EQ(o.client.state, State::kFailed);
  EXPECT_TRUE(o.client.refused);
  EXPECT_EQ(o.client.refusal_type, kRepErrPolicy);
  EXPECT_EQ(o.client.server_message, "not primary; primary is n2");
  EXPECT_EQ(o.client.error.code(), Code::kFailedPrecondition);
}

TEST_F(ClientHandshakeTest, UnknownExportIsRefused) {
  Outcome o = Connect(catalog_, For("nope"));
  ASSERT_EQ(o.client.state, State::kFailed);
  EXPECT_TRUE(o.client.refused);
  EXPECT_EQ(o.client.refusal_type, kRepErrUnknown);
}

// A scripted server: each reply is handed over whole, the client's output checked by option.
struct Script {
  ClientHandshake client{For("vm1")};
  std::vector<uint8_t> sent;
  ClientHandshakeStep Feed(const std::vector<uint8_t>& bytes) { return client.Feed(bytes, sent); }
};

std::vector<uint8_t> Greeting(uint16_t flags = kFlagFixedNewstyle | kFlagNoZeroes) {
  return Wire().U64(kNbdMagic).U64(kOptionMagic).U16(flags).bytes;
}

std::vector<uint8_t> Reply(uint32_t option, uint32_t type, std::vector<uint8_t> data = {}) {
  std::vector<uint8_t> out;
  EncodeOptionReply(out, option, type, data);
  return out;
}

TEST(ClientHandshakeScripted, ServerWithoutStructuredRepliesStillGoes) {
  Script s;
  EXPECT_EQ(s.Feed(Greeting()).state, State::kNeedMore);
  // Client flags echo NO_ZEROES; then STRUCTURED_REPLY.
  EXPECT_EQ(s.sent[3], kClientFlagFixedNewstyle | kClientFlagNoZeroes);
  EXPECT_EQ(s.Feed(Reply(kOptStructuredReply, kRepErrUnsup)).state, State::kNeedMore);
  // No meta context without SR: straight to GO.
  // GO data for "vm1": name length (4), name (3), count (2), two info types (4).
  const size_t go = s.sent.size() - (kOptionHeaderBytes + 13);
  EXPECT_EQ(LoadBe64(&s.sent[go]), kOptionMagic);
  EXPECT_EQ(LoadBe32(&s.sent[go + 8]), kOptGo);
  std::vector<uint8_t> info =
      Wire().U16(kInfoExport).U64(4096 * 10).U16(kFlagHasFlags | kFlagSendFlush).bytes;
  EXPECT_EQ(s.Feed(Reply(kOptGo, kRepInfo, info)).state, State::kNeedMore);
  ClientHandshakeStep done = s.Feed(Reply(kOptGo, kRepAck));
  ASSERT_EQ(done.state, State::kDone) << done.error.ToString();
  EXPECT_FALSE(done.negotiated.structured_replies);
  EXPECT_EQ(done.negotiated.export_info.size_bytes, 40960u);
  // No BLOCK_SIZE: the spec's defaults.
  EXPECT_EQ(done.negotiated.export_info.block_min, 1u);
  EXPECT_EQ(done.negotiated.export_info.block_preferred, 4096u);
}

TEST(ClientHandshakeScripted, GreetingChecks) {
  {
    Script s;
    std::vector<uint8_t> g = Greeting();
    g[0] ^= 1;
    EXPECT_EQ(s.Feed(g).state, State::kFailed);
  }
  {
    Script s;
    EXPECT_EQ(s.Feed(Greeting(0)).state, State::kFailed);  // plain newstyle only
  }
}

TEST(ClientHandshakeScripted, BrokenRepliesFail) {
  auto after_sr = [] {
    auto s = std::make_unique<Script>();
    EXPECT_EQ(s->Feed(Greeting()).state, State::kNeedMore);
    EXPECT_EQ(s->Feed(Reply(kOptStructuredReply, kRepAck)).state, State::kNeedMore);
    return s;
  };
  {  // a reply for an option we did not send
    auto s = after_sr();
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepAck)).state, State::kFailed);
  }
  {  // too large to hold: fails at the header, without waiting for the data
    auto s = after_sr();
    std::vector<uint8_t> header = Wire()
                                      .U64(kOptionReplyMagic)
                                      .U32(kOptSetMetaContext)
                                      .U32(kRepMetaContext)
                                      .U32(kMaxClientOptionReplyBytes + 1)
                                      .bytes;
    EXPECT_EQ(s->Feed(header).state, State::kFailed);
  }
  {  // GO ends without NBD_INFO_EXPORT
    auto s = after_sr();
    EXPECT_EQ(s->Feed(Reply(kOptSetMetaContext, kRepAck)).state, State::kNeedMore);
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepAck)).state, State::kFailed);
  }
  {  // impossible block sizes
    auto s = after_sr();
    EXPECT_EQ(s->Feed(Reply(kOptSetMetaContext, kRepAck)).state, State::kNeedMore);
    std::vector<uint8_t> info = Wire().U16(kInfoExport).U64(1 << 20).U16(kFlagHasFlags).bytes;
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepInfo, info)).state, State::kNeedMore);
    std::vector<uint8_t> sizes = Wire().U16(kInfoBlockSize).U32(3).U32(4096).U32(1 << 20).bytes;
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepInfo, sizes)).state, State::kNeedMore);
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepAck)).state, State::kFailed);
  }
  {  // flags without HAS_FLAGS
    auto s = after_sr();
    EXPECT_EQ(s->Feed(Reply(kOptSetMetaContext, kRepAck)).state, State::kNeedMore);
    std::vector<uint8_t> info = Wire().U16(kInfoExport).U64(1 << 20).U16(0).bytes;
    EXPECT_EQ(s->Feed(Reply(kOptGo, kRepInfo, info)).state, State::kFailed);
  }
}

TEST(ClientHandshakeScripted, MetaContextErrorMeansNoContext) {
  Script s;
  EXPECT_EQ(s.Feed(Greeting()).state, State::kNeedMore);
  EXPECT_EQ(s.Feed(Reply(kOptStructuredReply, kRepAck)).state, State::kNeedMore);
  std::vector<uint8_t> ctx = Wire().U32(7).Text(kBaseAllocation).bytes;
  EXPECT_EQ(s.Feed(Reply(kOptSetMetaContext, kRepMetaContext, ctx)).state, State::kNeedMore);
  EXPECT_EQ(s.Feed(Reply(kOptSetMetaContext, kRepErrTooBig)).state, State::kNeedMore);
  std::vector<uint8_t> info = Wire().U16(kInfoExport).U64(1 << 20).U16(kFlagHasFlags).bytes;
  EXPECT_EQ(s.Feed(Reply(kOptGo, kRepInfo, info)).state, State::kNeedMore);
  ClientHandshakeStep done = s.Feed(Reply(kOptGo, kRepAck));
  ASSERT_EQ(done.state, State::kDone);
  EXPECT_FALSE(done.negotiated.base_allocation_id.has_value());
}

}  // namespace
}  // namespace fb::nbd
