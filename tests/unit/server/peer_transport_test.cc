// PeerTransport tests: three nodes in one process on unix sockets in a temp dir (plus a TCP pair
// and a two-thread run), driven by the test thread with bounded waits, so none can hang.
#include "server/peer_transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "../store/temp_dir.h"
#include "base/endian.h"

namespace fb::server {
namespace {

using repl::Message;
using repl::MsgType;
using repl::NodeId;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// No single wait below needs more than a fraction of this; it only keeps a failure from hanging.
constexpr Clock::duration kWaitMax = std::chrono::seconds(4);

// Runs `io` on this thread until done() holds or `limit` passes.
bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
              Clock::duration limit = kWaitMax) {
  Clock::time_point deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(milliseconds(5));
  }
  return true;
}

void RunFor(asio::io_context& io, Clock::duration span) {
  auto never = [] { return false; };
  RunUntil(io, never, span);
}

Message Make(MsgType type, uint64_t seq, repl::Body body, uint64_t tag = 0) {
  Message m;
  m.header.type = type;
  m.header.epoch = 7;
  m.header.seq = seq;
  m.header.volume = tag;  // tests put the sender's id here to check `from`
  m.header.tenure = 3;
  m.header.session = 1;
  m.body = std::move(body);
  return m;
}

repl::Payload Data(size_t bytes, uint8_t seed) {
  auto data = std::make_shared<repl::Bytes>(bytes);
  for (size_t i = 0; i < bytes; ++i) (*data)[i] = uint8_t(seed + i * 131);
  return data;
}

repl::WriteBody WriteOf(repl::WriteOp op, uint32_t length, uint8_t seed) {
  repl::WriteBody w;
  w.op = op;
  w.fua = op == repl::WriteOp::kWrite;
  w.op_seq = seed;
  w.offset = 4096 * uint64_t(seed);
  w.length = length;
  if (op == repl::WriteOp::kWrite) w.data = Data(length, seed);
  return w;
}

// One message of every type (and every write op), tagged with the sender.
std::vector<Message> EveryType(NodeId sender) {
  std::vector<Message> all;
  all.push_back(Make(MsgType::kResyncBegin, 1, std::monostate{}, sender));
  all.push_back(Make(MsgType::kWrite, 2, WriteOf(repl::WriteOp::kWrite, 4096, 1), sender));
  all.push_back(Make(MsgType::kWrite, 3, WriteOf(repl::WriteOp::kTrim, 8192, 2), sender));
  all.push_back(Make(MsgType::kWrite, 4, WriteOf(repl::WriteOp::kZero, 512, 3), sender));
  all.push_back(Make(MsgType::kCopy, 5, WriteOf(repl::WriteOp::kWrite, 65536, 4), sender));
  all.push_back(Make(MsgType::kFlush, 6, repl::FlushBody{true, false, 99}, sender));
  all.push_back(Make(MsgType::kHello, 7, repl::HelloBody{42, true, {1, 5, 9}}, sender));
  all.push_back(Make(MsgType::kAck, 8, repl::AckBody{Code::kIOError}, sender));
  all.push_back(
      Make(MsgType::kReject, 9, repl::RejectBody{repl::RejectReason::kFenced, 11}, sender));
  return all;
}

Message Ack(uint64_t seq, NodeId sender = 0) {
  return Make(MsgType::kAck, seq, repl::AckBody{Code::kOk}, sender);
}

bool Same(const Message& a, const Message& b) { return repl::Encode(a) == repl::Encode(b); }

struct Received {
  NodeId from;
  Message message;
};

// Nodes on unix sockets in one temp dir, all on io_ (declared first, so destroyed last).
class PeerTransportTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<PeerTransport> transport;
    std::vector<Received> inbox;
  };

  net::Address AddressOf(NodeId id) const {
    net::Address a;
    a.kind = net::Address::Kind::kUnix;
    a.path = dir_.File("n" + std::to_string(id) + ".sock");
    return a;
  }

  // Starts node `id` whose peers are `peers` (each at AddressOf).
  PeerTransport& StartNode(NodeId id, const std::vector<NodeId>& peers) {
    std::map<NodeId, net::Address> addresses;
    for (NodeId p : peers) addresses[p] = AddressOf(p);
    Node& node = nodes_[id];
    node.inbox.clear();
    node.transport = std::make_unique<PeerTransport>(io_, id, std::move(addresses),
                                                     [&node](NodeId from, Message m) {
                                                       node.inbox.push_back({from, std::move(m)});
                                                     });
    Status listening = node.transport->Listen(AddressOf(id));
    EXPECT_TRUE(listening.ok()) << listening.ToString();
    node.transport->Start();
    return *node.transport;
  }

  void StartThree() {
    StartNode(1, {2, 3});
    StartNode(2, {1, 3});
    StartNode(3, {1, 2});
    ASSERT_TRUE(RunUntil(io_, [&] { return AllConnected(); }));
  }

  bool AllConnected() {
    for (auto& [id, node] : nodes_) {
      for (auto& [other, unused] : nodes_) {
        if (other != id && !node.transport->Stats(other).connected) return false;
      }
    }
    return true;
  }

  PeerTransport& T(NodeId id) { return *nodes_.at(id).transport; }
  std::vector<Received>& Inbox(NodeId id) { return nodes_.at(id).inbox; }

  asio::io_context io_;
  store::testing::TempDir dir_;
  std::map<NodeId, Node> nodes_;
};

TEST(PeerHello, RoundTripsAndRejectsMalformedBytes) {
  auto hello = EncodePeerHello(5);
  EXPECT_EQ(std::string(hello.begin(), hello.begin() + 8), "FBPEER01");
  Result<NodeId> id = DecodePeerHello(hello);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 5u);

  auto bad_magic = hello;
  bad_magic[7] = '2';
  EXPECT_FALSE(DecodePeerHello(bad_magic).ok());
  auto reserved = hello;
  reserved[15] = 1;
  EXPECT_FALSE(DecodePeerHello(reserved).ok());
  auto no_node = hello;
  StoreBe32(&no_node[8], repl::kNoNode);
  EXPECT_FALSE(DecodePeerHello(no_node).ok());
  EXPECT_FALSE(DecodePeerHello(std::span(hello).first(15)).ok());
}

TEST_F(PeerTransportTest, EveryMessageTypeFlowsBothWaysWithTheSender) {
  StartThree();
  for (NodeId from : {1u, 2u, 3u}) {
    for (NodeId to : {1u, 2u, 3u}) {
      if (from == to) continue;
      for (const Message& m : EveryType(from)) T(from).Send(to, m);
    }
  }
  const size_t expected = 2 * EveryType(0).size();
  auto all_sent = [&] {
    for (NodeId at : {1u, 2u, 3u}) {
      for (NodeId other : {1u, 2u, 3u}) {
        if (other != at && T(at).Stats(other).queued_bytes != 0) return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(RunUntil(io_, [&] {
    return Inbox(1).size() == expected && Inbox(2).size() == expected &&
           Inbox(3).size() == expected && all_sent();
  }));
  for (NodeId at : {1u, 2u, 3u}) {
    std::map<NodeId, size_t> next;  // per sender: index into EveryType, so order is checked too
    for (const Received& r : Inbox(at)) {
      ASSERT_NE(r.from, at);
      EXPECT_EQ(r.message.header.volume, r.from) << "delivered with the wrong sender";
      std::vector<Message> sent = EveryType(r.from);
      size_t i = next[r.from]++;
      ASSERT_LT(i, sent.size());
      EXPECT_TRUE(Same(r.message, sent[i])) << "node " << at << " message " << i;
    }
    for (NodeId other : {1u, 2u, 3u}) {
      if (other == at) continue;
      PeerTransport::PeerStats stats = T(at).Stats(other);
      EXPECT_EQ(stats.sent_frames, EveryType(0).size());
      EXPECT_EQ(stats.received_frames, EveryType(0).size());
      EXPECT_EQ(stats.dropped_frames, 0u);
      EXPECT_EQ(stats.reconnects, 0u);
      EXPECT_EQ(stats.queued_bytes, 0u);
    }
  }
}

TEST_F(PeerTransportTest, BurstOfTenThousandArrivesInOrder) {
  StartThree();
  constexpr uint64_t kCount = 10000;
  for (uint64_t seq = 1; seq <= kCount; ++seq) {
    if (seq % 10 == 0) {
      T(1).Send(2, Make(MsgType::kWrite, seq, WriteOf(repl::WriteOp::kWrite, 4096, 5), 1));
    } else {
      T(1).Send(2, Ack(seq, 1));
    }
    T(3).Send(2, Ack(seq, 3));
  }
  // The sender counts a frame once its write completes, which may be after the receiver has it.
  ASSERT_TRUE(RunUntil(io_, [&] {
    return Inbox(2).size() == 2 * kCount && T(1).Stats(2).sent_frames == kCount &&
           T(1).Stats(2).queued_bytes == 0;
  }));
  std::map<NodeId, uint64_t> last;
  for (const Received& r : Inbox(2)) {
    EXPECT_EQ(r.message.header.volume, r.from);
    ASSERT_EQ(r.message.header.seq, last[r.from] + 1) << "from node " << r.from;
    last[r.from] = r.message.header.seq;
  }
  EXPECT_EQ(T(1).Stats(2).sent_frames, kCount);
  EXPECT_EQ(T(1).Stats(2).dropped_frames, 0u);
  EXPECT_EQ(T(2).Stats(1).received_frames, kCount);
  EXPECT_EQ(T(2).Stats(3).received_frames, kCount);
}

TEST_F(PeerTransportTest, LargeWritesArriveIntactAndQueueOverflowIsDropped) {
  StartThree();
  const uint32_t kBytes = repl::kWriteBytesMax;
  const size_t frame_bytes =
      repl::Encode(Make(MsgType::kWrite, 1, WriteOf(repl::WriteOp::kWrite, kBytes, 0))).size();
  const size_t fit = kPeerSendQueueBytesMax / frame_bytes;
  const size_t sent = fit + 5;
  // The loop does not run between these sends, so the queue holds all of them until it is full.
  for (uint64_t seq = 1; seq <= sent; ++seq) {
    T(1).Send(2, Make(MsgType::kWrite, seq, WriteOf(repl::WriteOp::kWrite, kBytes, uint8_t(seq))));
  }
  EXPECT_EQ(T(1).Stats(2).dropped_frames, sent - fit);
  EXPECT_LE(T(1).Stats(2).queued_bytes, kPeerSendQueueBytesMax);
  ASSERT_TRUE(
      RunUntil(io_, [&] { return Inbox(2).size() == fit && T(1).Stats(2).queued_bytes == 0; }));
  for (size_t i = 0; i < fit; ++i) {
    const Message& m = Inbox(2)[i].message;
    ASSERT_EQ(m.header.seq, i + 1);
    const auto& w = std::get<repl::WriteBody>(m.body);
    ASSERT_EQ(w.length, kBytes);
    EXPECT_TRUE(*w.data == *Data(kBytes, uint8_t(i + 1))) << "payload " << i << " differs";
  }
  EXPECT_EQ(T(1).Stats(2).sent_frames, fit);
  // The link still works after the flood.
  T(1).Send(2, Ack(100));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(2).size() == fit + 1; }));
}

TEST_F(PeerTransportTest, RestartedPeerIsReconnectedAndTrafficResumes) {
  StartThree();
  T(1).Send(2, Ack(1));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(2).size() == 1; }));

  nodes_.at(2).transport->Close();
  nodes_.at(2).transport.reset();  // destroyed while io_ keeps running
  ASSERT_TRUE(RunUntil(io_, [&] { return !T(1).Stats(2).connected && !T(3).Stats(2).connected; }));
  uint64_t dropped = T(1).Stats(2).dropped_frames;
  T(1).Send(2, Ack(2));  // the link is down: dropped, not queued
  EXPECT_EQ(T(1).Stats(2).dropped_frames, dropped + 1);
  RunFor(io_, milliseconds(300));  // let the dialers back off to their longest delay

  Clock::time_point restarted = Clock::now();
  StartNode(2, {1, 3});
  ASSERT_TRUE(RunUntil(io_, [&] { return AllConnected(); }));
  auto reconnect_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - restarted).count();
  EXPECT_LT(reconnect_ms, 1000) << "reconnect took " << reconnect_ms << " ms";
  EXPECT_GE(T(1).Stats(2).reconnects, 1u);
  EXPECT_GE(T(3).Stats(2).reconnects, 1u);

  T(1).Send(2, Ack(3, 1));
  T(3).Send(2, Ack(4, 3));
  T(2).Send(1, Ack(5, 2));
  T(2).Send(3, Ack(6, 2));
  ASSERT_TRUE(RunUntil(
      io_, [&] { return Inbox(2).size() == 2 && Inbox(1).size() == 1 && Inbox(3).size() == 1; }));
  for (const Received& r : Inbox(2)) EXPECT_EQ(r.message.header.volume, r.from);
  EXPECT_EQ(Inbox(1)[0].from, 2u);
  EXPECT_EQ(Inbox(3)[0].from, 2u);
}

TEST_F(PeerTransportTest, SetBlockedDropsOneWayOnly) {
  StartThree();
  // 1 -> 2 cut at the sender; 2 -> 1 still flows.
  T(1).SetBlocked(2, /*outbound=*/true, /*inbound=*/false);
  T(1).Send(2, Ack(1, 1));
  EXPECT_EQ(T(1).Stats(2).dropped_frames, 1u);
  T(2).Send(1, Ack(2, 2));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(1).size() == 1; }));
  EXPECT_EQ(Inbox(1)[0].message.header.seq, 2u);
  // The other links are untouched.
  T(1).Send(3, Ack(3, 1));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(3).size() == 1; }));

  // 2 -> 1 cut at the receiver; 1 -> 2 flows again.
  T(1).SetBlocked(2, /*outbound=*/false, /*inbound=*/true);
  T(2).Send(1, Ack(4, 2));
  T(1).Send(2, Ack(5, 1));
  ASSERT_TRUE(
      RunUntil(io_, [&] { return Inbox(2).size() == 1 && T(1).Stats(2).dropped_frames == 2; }));
  EXPECT_EQ(Inbox(2)[0].message.header.seq, 5u);
  EXPECT_EQ(Inbox(1).size(), 1u);
  EXPECT_EQ(T(1).Stats(2).received_frames, 1u);

  // Healed: both ways again, on the same connections.
  T(1).SetBlocked(2, false, false);
  T(2).Send(1, Ack(6, 2));
  T(1).Send(2, Ack(7, 1));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(1).size() == 2 && Inbox(2).size() == 2; }));
  EXPECT_EQ(Inbox(1)[1].message.header.seq, 6u);
  EXPECT_EQ(Inbox(2)[1].message.header.seq, 7u);
  EXPECT_EQ(T(1).Stats(2).reconnects, 0u);
  EXPECT_EQ(T(2).Stats(1).reconnects, 0u);
}

// A raw client of node 1's listening socket: what it sends, and whether node 1 hung up.
class RawClient {
 public:
  RawClient(asio::io_context& io, const net::Address& at) : socket_(io) {
    asio::local::stream_protocol::endpoint endpoint(at.path);
    socket_.connect(asio::generic::stream_protocol::endpoint(endpoint));
    socket_.async_read_some(asio::buffer(sink_), [this](const asio::error_code& ec, size_t) {
      hung_up_ = static_cast<bool>(ec);
    });
  }
  void Write(std::span<const uint8_t> bytes) {
    asio::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    // A write after the peer hung up may fail (EPIPE); the test asserts on hung_up() instead.
  }
  bool hung_up() const { return hung_up_; }

 private:
  net::Socket socket_;
  std::array<uint8_t, 16> sink_{};
  bool hung_up_ = false;
};

std::vector<uint8_t> HelloBytes(NodeId id, uint32_t reserved = 0) {
  auto hello = EncodePeerHello(id);
  StoreBe32(&hello[12], reserved);
  return {hello.begin(), hello.end()};
}

TEST_F(PeerTransportTest, GarbageClosesOnlyThatConnection) {
  // Node 1 also knows node 7, which never runs: raw clients below speak as node 7.
  std::map<NodeId, net::Address> peers = {{2, AddressOf(2)}, {7, AddressOf(7)}};
  Node& one = nodes_[1];
  one.transport = std::make_unique<PeerTransport>(io_, 1, peers, [&one](NodeId from, Message m) {
    one.inbox.push_back({from, std::move(m)});
  });
  ASSERT_TRUE(one.transport->Listen(AddressOf(1)).ok());
  one.transport->Start();
  StartNode(2, {1});
  ASSERT_TRUE(RunUntil(io_, [&] { return T(1).Stats(2).connected && T(2).Stats(1).connected; }));

  std::vector<uint8_t> good = repl::Encode(Ack(1, 7));
  std::vector<uint8_t> bad_checksum = good;
  bad_checksum.back() ^= 1;
  std::vector<uint8_t> too_long = good;
  StoreBe32(&too_long[44], repl::kBodyBytesMax + 1);
  std::vector<uint8_t> bad_magic = good;
  bad_magic[0] = 'X';
  std::vector<uint8_t> seven = HelloBytes(7);
  auto then = [](std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  std::vector<std::pair<std::string, std::vector<uint8_t>>> cases = {
      {"bad hello magic", std::vector<uint8_t>(16, 'x')},
      {"hello with our own id", HelloBytes(1)},
      {"hello from an unknown id", HelloBytes(9)},
      {"hello with reserved bits", HelloBytes(7, 1)},
      {"frame with a bad magic", then(seven, bad_magic)},
      {"frame over the maximum", then(seven, too_long)},
      {"frame with a bad checksum", then(seven, bad_checksum)},
      {"good frame, then garbage", then(then(seven, good), bad_magic)},
      {"no hello at all", {}},
  };
  std::vector<std::unique_ptr<RawClient>> clients;
  for (auto& [name, bytes] : cases) {
    clients.push_back(std::make_unique<RawClient>(io_, AddressOf(1)));
    clients.back()->Write(bytes);
  }
  // Every one is hung up on (the silent one by the hello timeout), and only those.
  ASSERT_TRUE(RunUntil(io_, [&] {
    for (auto& c : clients) {
      if (!c->hung_up()) return false;
    }
    return true;
  }));
  ASSERT_EQ(Inbox(1).size(), 1u);  // the one good frame, from node 7
  EXPECT_EQ(Inbox(1)[0].from, 7u);
  EXPECT_TRUE(Same(Inbox(1)[0].message, Ack(1, 7)));

  // The real peers never noticed.
  T(1).Send(2, Ack(2, 1));
  T(2).Send(1, Ack(3, 2));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(1).size() == 2 && Inbox(2).size() == 1; }));
  EXPECT_EQ(Inbox(1)[1].from, 2u);
  EXPECT_EQ(T(1).Stats(2).reconnects, 0u);
  EXPECT_EQ(T(2).Stats(1).reconnects, 0u);
  EXPECT_EQ(T(1).Stats(2).dropped_frames, 0u);
}

TEST_F(PeerTransportTest, NewerConnectionFromAPeerReplacesTheOlder) {
  StartNode(1, {2});
  // A stand-in for node 2's dead predecessor: its connection is superseded by the real one.
  RawClient stale(io_, AddressOf(1));
  std::vector<uint8_t> hello = HelloBytes(2);
  stale.Write(hello);
  RunFor(io_, milliseconds(20));
  EXPECT_FALSE(stale.hung_up());
  StartNode(2, {1});
  ASSERT_TRUE(RunUntil(io_, [&] { return stale.hung_up() && T(2).Stats(1).connected; }));
  T(2).Send(1, Ack(1, 2));
  ASSERT_TRUE(RunUntil(io_, [&] { return Inbox(1).size() == 1; }));
}

TEST_F(PeerTransportTest, CloseIsIdempotentAndDestroyingWithIoRunningIsSafe) {
  StartThree();
  T(1).Send(2, Make(MsgType::kWrite, 1, WriteOf(repl::WriteOp::kWrite, 1 << 20, 9), 1));
  T(1).Close();
  T(1).Close();
  uint64_t dropped = T(1).Stats(2).dropped_frames;
  T(1).Send(2, Ack(2, 1));
  EXPECT_EQ(T(1).Stats(2).dropped_frames, dropped + 1);
  EXPECT_FALSE(T(1).Stats(2).connected);
  nodes_.at(1).transport.reset();
  nodes_.at(3).transport.reset();  // without Close(): the destructor closes
  RunFor(io_, milliseconds(100));  // pending handlers of the dead transports run harmlessly
  EXPECT_FALSE(T(2).Stats(1).connected);
  EXPECT_TRUE(Inbox(2).empty() || Inbox(2).size() == 1);
}

TEST(PeerTransportTcp, TcpAndUnixLinksCarryTrafficBothWays) {
  asio::io_context io;
  store::testing::TempDir dir;
  net::Address b_address;
  b_address.kind = net::Address::Kind::kUnix;
  b_address.path = dir.File("b.sock");
  std::vector<Received> a_inbox, b_inbox;
  // A listens on TCP port 0; B, created once A's port is known, dials A over TCP.
  PeerTransport a(io, 1, {{2, b_address}}, [&](NodeId from, Message m) {
    a_inbox.push_back({from, std::move(m)});
  });
  net::Address any_port;
  any_port.host = "127.0.0.1";
  ASSERT_TRUE(a.Listen(any_port).ok());
  ASSERT_NE(a.ListenAddress().port, 0);
  PeerTransport b(io, 2, {{1, a.ListenAddress()}}, [&](NodeId from, Message m) {
    b_inbox.push_back({from, std::move(m)});
  });
  ASSERT_TRUE(b.Listen(b_address).ok());
  a.Start();
  b.Start();
  ASSERT_TRUE(RunUntil(io, [&] { return a.Stats(2).connected && b.Stats(1).connected; }));
  for (const Message& m : EveryType(1)) a.Send(2, m);
  for (const Message& m : EveryType(2)) b.Send(1, m);
  const size_t n = EveryType(0).size();
  ASSERT_TRUE(RunUntil(io, [&] { return a_inbox.size() == n && b_inbox.size() == n; }));
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(a_inbox[i].from, 2u);
    EXPECT_TRUE(Same(a_inbox[i].message, EveryType(2)[i]));
    EXPECT_EQ(b_inbox[i].from, 1u);
    EXPECT_TRUE(Same(b_inbox[i].message, EveryType(1)[i]));
  }
}

// Each transport on its own io_context and thread, as in a real node: only the sockets between.
TEST(PeerTransportThreads, BurstAcrossThreadsArrivesInOrder) {
  constexpr uint64_t kCount = 10000;
  store::testing::TempDir dir;
  auto address = [&](NodeId id) {
    net::Address a;
    a.kind = net::Address::Kind::kUnix;
    a.path = dir.File("t" + std::to_string(id) + ".sock");
    return a;
  };
  asio::io_context io1, io2;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> seqs;  // guarded by mu
  PeerTransport one(io1, 1, {{2, address(2)}}, [](NodeId, Message) {});
  PeerTransport two(io2, 2, {{1, address(1)}}, [&](NodeId from, Message m) {
    std::lock_guard lock(mu);
    if (from == 1) seqs.push_back(m.header.seq);
    cv.notify_all();
  });
  ASSERT_TRUE(one.Listen(address(1)).ok());
  ASSERT_TRUE(two.Listen(address(2)).ok());
  one.Start();
  two.Start();
  std::thread t1([&] { io1.run(); });
  std::thread t2([&] { io2.run(); });

  // Sends happen on node 1's thread once its link is up, re-checking every few milliseconds.
  std::promise<bool> sent;
  Clock::time_point deadline = Clock::now() + kWaitMax;
  std::function<void()> send_when_up = [&] {
    if (!one.Stats(2).connected) {
      if (Clock::now() >= deadline) return sent.set_value(false);
      std::this_thread::sleep_for(milliseconds(2));
      return asio::post(io1, send_when_up);
    }
    for (uint64_t seq = 1; seq <= kCount; ++seq) one.Send(2, Ack(seq, 1));
    sent.set_value(true);
  };
  asio::post(io1, send_when_up);
  bool ok = sent.get_future().get();
  {
    std::unique_lock lock(mu);
    cv.wait_until(lock, Clock::now() + kWaitMax, [&] { return seqs.size() >= kCount; });
  }
  asio::post(io1, [&] { one.Close(); });
  asio::post(io2, [&] { two.Close(); });
  std::this_thread::sleep_for(milliseconds(20));
  io1.stop();
  io2.stop();
  t1.join();
  t2.join();
  ASSERT_TRUE(ok) << "node 1 never connected";
  std::lock_guard lock(mu);
  ASSERT_EQ(seqs.size(), kCount);
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(seqs[i], i + 1);
}

}  // namespace
}  // namespace fb::server
