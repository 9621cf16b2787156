// Forwarder tests, written as runbooks: a fake clock, a fake cluster of node ids, and the
// actions the core asks for. Each test drives one rule of forwarder.h: forwarding and handle
// mapping, resend in order after a loss, the stall probe (same node: wait; other node: switch),
// give-up and zombies, the bounded queue and window, export mismatch, broken streams, hints.
#include "attach/forwarder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "proto/nbd/wire.h"

namespace fb::attach {
namespace {

constexpr int64_t kMs = 1'000'000;

nbd::Negotiated Export(uint64_t size = 1 << 30) {
  nbd::Negotiated n;
  n.export_info.name = "vm1";
  n.export_info.size_bytes = size;
  n.export_info.can_fast_zero = false;
  n.structured_replies = true;
  n.base_allocation_id = nbd::kBaseAllocationId;
  n.transmission_flags = nbd::TransmissionFlags(n.export_info, true);
  return n;
}

nbd::Request Req(uint16_t type, uint64_t offset = 0, uint32_t length = 4096) {
  nbd::Request r;
  r.type = type;
  r.offset = type == nbd::kCmdFlush ? 0 : offset;
  r.length = type == nbd::kCmdFlush ? 0 : length;
  return r;
}

Knobs SmallKnobs() {
  Knobs k;
  k.stall_timeout_ns = 700 * kMs;
  k.stall_timeout_max_ns = 8000 * kMs;
  k.connect_timeout_ns = 500 * kMs;
  k.retry_min_ns = 10 * kMs;
  k.retry_max_ns = 100 * kMs;
  k.retry_max_given_up_ns = 1000 * kMs;
  k.give_up_ns = 5000 * kMs;
  k.max_pending = 8;
  k.max_upstream_inflight = 4;
  return k;
}

class ForwarderTest : public ::testing::Test {
 protected:
  explicit ForwarderTest(Knobs knobs = SmallKnobs()) : f_(knobs, {"n1", "n2", "n3"}) {}

  // ---- inputs (each clears and keeps the actions it produced in out_) ----
  void Tick() {
    Run([&] { f_.Tick(now_, out_); });
  }
  void Advance(int64_t ms) {
    now_.ns += ms * kMs;
    Tick();
  }
  uint32_t Submit(nbd::Request r) {
    uint32_t slot = 0;
    Run([&] { slot = f_.Submit(now_, r, out_); });
    return slot;
  }
  void Connected(ConnId conn, nbd::Negotiated n = Export()) {
    attempts_.erase(conn);
    Run([&] { f_.OnConnected(now_, conn, n, out_); });
  }
  void Closed(ConnId conn, std::string_view message = {}) {
    attempts_.erase(conn);
    Run([&] { f_.OnClosed(now_, conn, "test", message, out_); });
  }
  // Every attempt still open fails (except to `spare`, a hung node), with `message`.
  void RefuseAll(std::string_view message, int spare = -1) {
    std::map<ConnId, int> open = attempts_;
    for (const auto& [conn, node] : open) {
      if (node != spare) Closed(conn, message);
    }
  }
  void Reply(uint64_t cookie, Status status = Status::Ok()) {
    Run([&] { f_.OnReply(now_, f_.upstream(), cookie, std::move(status), out_); });
  }
  template <typename F>
  void Run(F f) {
    out_.clear();
    f();
    for (const Action& a : out_) {
      if (const auto* c = std::get_if<Connect>(&a)) attempts_[c->conn] = c->node;
      if (const auto* c = std::get_if<Close>(&a)) attempts_.erase(c->conn);
      if (const auto* c = std::get_if<Complete>(&a)) completed_.push_back({c->slot, c->status});
    }
  }

  // ---- what the core asked for ----
  template <typename T>
  std::vector<T> All() const {
    std::vector<T> found;
    for (const Action& a : out_) {
      if (const T* t = std::get_if<T>(&a)) found.push_back(*t);
    }
    return found;
  }
  std::map<int, ConnId> Connects() const {  // node -> conn
    std::map<int, ConnId> m;
    for (const Connect& c : All<Connect>()) m[c.node] = c.conn;
    return m;
  }
  std::vector<uint32_t> SentSlots() const {
    std::vector<uint32_t> slots;
    for (const Send& s : All<Send>()) slots.push_back(s.slot);
    return slots;
  }
  std::vector<uint32_t> CompletedSlots() const {
    std::vector<uint32_t> slots;
    for (const Action& a : out_) {
      if (const auto* c = std::get_if<Complete>(&a)) slots.push_back(c->slot);
    }
    return slots;
  }
  bool Closes(ConnId conn) const {
    for (const Close& c : All<Close>()) {
      if (c.conn == conn) return true;
    }
    return false;
  }
  uint64_t CookieOf(uint32_t slot) const {
    for (const Send& s : All<Send>()) {
      if (s.slot == slot) return s.cookie;
    }
    ADD_FAILURE() << "slot " << slot << " not sent";
    return 0;
  }

  // Startup: every node tried at once; `node` accepts GO.
  ConnId Up(int node = 0) {
    Tick();
    std::map<int, ConnId> c = Connects();
    EXPECT_EQ(c.size(), 3u);
    Connected(c[node]);
    EXPECT_EQ(f_.upstream(), c[node]);
    for (const auto& [n, conn] : c) {
      if (n != node) {
        EXPECT_TRUE(Closes(conn)) << "other attempts are dropped";
      }
    }
    return c[node];
  }

  Forwarder f_;
  Actions out_;
  std::map<ConnId, int> attempts_;   // attempts the core started and did not close
  std::vector<Complete> completed_;  // every Complete so far
  Instant now_{1'000 * kMs};
};

TEST_F(ForwarderTest, ForwardsAndMapsCookiesBackToSlots) {
  const ConnId up = Up();
  const uint32_t a = Submit(Req(nbd::kCmdRead));
  ASSERT_EQ(SentSlots(), std::vector<uint32_t>{a});
  const uint64_t ca = CookieOf(a);
  EXPECT_EQ(All<Send>()[0].conn, up);
  const uint32_t b = Submit(Req(nbd::kCmdWrite, 4096));
  const uint64_t cb = CookieOf(b);
  EXPECT_NE(ca, cb);
  EXPECT_EQ(f_.SlotOfCookie(ca), a);
  EXPECT_EQ(f_.SlotOfCookie(cb), b);
  EXPECT_EQ(f_.RequestOf(b).offset, 4096u);
  // Out of order: b first, with an error that passes through; then a.
  Reply(cb, Status::IOError("disk"));
  ASSERT_EQ(All<Complete>().size(), 1u);
  EXPECT_EQ(All<Complete>()[0].slot, b);
  EXPECT_EQ(All<Complete>()[0].status.code(), Code::kIOError);
  EXPECT_FALSE(f_.SlotOfCookie(cb).has_value());
  Reply(ca);
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
  EXPECT_TRUE(All<Complete>()[0].status.ok());
  EXPECT_EQ(f_.stats().forwarded, 2u);
  EXPECT_EQ(f_.stats().pending, 0u);
}

TEST_F(ForwarderTest, LostUpstreamResendsEverythingUnansweredInOrder) {
  const ConnId up = Up();
  const uint32_t a = Submit(Req(nbd::kCmdWrite, 0));
  const uint64_t ca = CookieOf(a);
  const uint32_t b = Submit(Req(nbd::kCmdWrite, 4096));
  const uint32_t c = Submit(Req(nbd::kCmdFlush));
  const uint64_t cc = CookieOf(c);
  Reply(ca);  // a answered; b and c are not
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
  Closed(up);  // kill -9: the node's socket is gone
  EXPECT_TRUE(All<Complete>().empty()) << "held, not failed";
  EXPECT_FALSE(f_.SlotOfCookie(cc).has_value()) << "old cookies die with the connection";
  std::map<int, ConnId> c1 = Connects();
  ASSERT_EQ(c1.size(), 3u) << "every node is tried at once";
  // A new request while searching waits behind the held ones.
  const uint32_t d = Submit(Req(nbd::kCmdRead, 8192));
  EXPECT_TRUE(All<Send>().empty());
  Closed(c1[0]);  // connection refused
  Closed(c1[2], "not primary for vm1; primary is unknown");
  Connected(c1[1]);  // n2 was promoted
  EXPECT_EQ(SentSlots(), (std::vector<uint32_t>{b, c, d}));
  EXPECT_NE(CookieOf(c), cc);
  EXPECT_EQ(f_.stats().resent, 2u);
  EXPECT_EQ(f_.stats().upstreams, 2u);
}

// A node that accepts GO and closes at once (a new primary still claiming its lease, or one
// handing over): retried after a growing pause, and give-up still counts, since accepting GO
// answers nothing.
TEST_F(ForwarderTest, NodeThatClosesWithoutAnsweringBacksOffAndGivesUp) {
  ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdRead));
  std::vector<int64_t> pauses;
  while (completed_.empty() && pauses.size() < 1000) {
    const Instant lost_at = now_;
    Closed(up);  // closed by the node before any reply
    while (completed_.empty()) {
      RefuseAll("not primary for vm1; primary is n1 at 127.0.0.1:1", /*spare=*/0);
      if (!attempts_.empty()) break;  // only n1 is left open
      Advance(5);
    }
    if (!completed_.empty()) break;
    pauses.push_back((now_.ns - lost_at.ns) / kMs);
    up = attempts_.begin()->first;
    Connected(up);  // n1 accepts GO again and the request goes out again
    ASSERT_EQ(f_.upstream(), up);
    EXPECT_EQ(All<Send>().size(), 1u) << "round " << pauses.size();
  }
  ASSERT_GE(pauses.size(), 4u);
  EXPECT_LT(pauses[0], pauses[3]) << "the pause grows";
  for (int64_t p : pauses) EXPECT_LE(p, 105) << "bounded by retry_max";
  ASSERT_EQ(completed_.size(), 1u);
  EXPECT_EQ(completed_[0].slot, a);
  EXPECT_EQ(completed_[0].status.code(), Code::kIOError) << "give-up after 5 s without a reply";
}

TEST_F(ForwarderTest, LateRepliesOnALeftConnectionAreIgnored) {
  const ConnId up = Up();
  const uint32_t a = Submit(Req(nbd::kCmdRead));
  const uint64_t ca = CookieOf(a);
  Closed(up);
  Run([&] { f_.OnReply(now_, up, ca, Status::Ok(), out_); });
  EXPECT_TRUE(All<Complete>().empty());
}

TEST_F(ForwarderTest, WindowAndQueueAreBounded) {
  Up();
  std::vector<uint32_t> slots;
  std::vector<uint64_t> cookies;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(f_.HasRoom());
    slots.push_back(Submit(Req(nbd::kCmdRead, uint64_t(i) * 4096)));
    if (i < 4) {
      cookies.push_back(CookieOf(slots.back()));
    } else {
      EXPECT_TRUE(All<Send>().empty()) << "max_upstream_inflight 4: request " << i << " waits";
    }
  }
  EXPECT_FALSE(f_.HasRoom()) << "max_pending 8: the runtime stops reading its clients";
  EXPECT_EQ(f_.stats().inflight, 4u);
  EXPECT_EQ(f_.stats().pending, 8u);
  // An answer frees a slot and lets the next request out, in order.
  Reply(cookies[0]);
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{slots[4]});
  EXPECT_TRUE(f_.HasRoom());
}

class ForwarderBytesTest : public ForwarderTest {
 protected:
  ForwarderBytesTest()
      : ForwarderTest([] {
          Knobs k = SmallKnobs();
          k.max_upstream_bytes = 8192;
          return k;
        }()) {}
};

TEST_F(ForwarderBytesTest, PayloadBytesOnTheUpstreamAreBounded) {
  Up();
  const uint32_t a = Submit(Req(nbd::kCmdWrite, 0, 8192));
  const uint64_t ca = CookieOf(a);
  const uint32_t r = Submit(Req(nbd::kCmdRead, 0, 1 << 20));  // reads carry no payload out
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{r});
  const uint32_t b = Submit(Req(nbd::kCmdWrite, 8192, 4096));
  EXPECT_TRUE(All<Send>().empty()) << "8 KiB of payload already out";
  Reply(ca);
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{b});
  // A single request larger than the bound still goes out alone.
  Reply(CookieOf(b));
  Reply((uint64_t{1} << kSlotBits) | r);
  const uint32_t big = Submit(Req(nbd::kCmdWrite, 0, 1 << 20));
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{big});
}

TEST_F(ForwarderTest, GiveUpFailsWithEioAndNewRequestsFailUntilAPrimaryAnswers) {
  const ConnId up = Up();
  Closed(up);
  const uint32_t a = Submit(Req(nbd::kCmdWrite));
  for (int i = 0; i < 49; ++i) {
    Advance(100);
    EXPECT_TRUE(All<Complete>().empty());
    RefuseAll("connection refused");
  }
  Advance(100);  // 5 s without progress
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
  EXPECT_EQ(All<Complete>()[0].status.code(), Code::kIOError);
  // New requests fail at once.
  const uint32_t b = Submit(Req(nbd::kCmdRead));
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{b});
  EXPECT_EQ(f_.stats().failed_eio, 2u);
  // Retries slow down to retry_max_given_up but go on; a primary comes back.
  RefuseAll("connection refused");
  for (int i = 0; i < 20 && attempts_.empty(); ++i) Advance(100);
  ASSERT_FALSE(attempts_.empty());
  Connected(attempts_.begin()->first);
  const uint32_t d = Submit(Req(nbd::kCmdRead));
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{d});
}

TEST_F(ForwarderTest, StallProbeFindingTheSameNodeKeepsWaiting) {
  const ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdFlush));
  const uint64_t ca = CookieOf(a);
  Advance(690);
  EXPECT_TRUE(Connects().empty());
  Advance(20);  // 710 ms without a reply: probe every node
  std::map<int, ConnId> probe = Connects();
  ASSERT_EQ(probe.size(), 3u);
  Closed(probe[1], "not primary for vm1; primary is n1 at 127.0.0.1:1");
  Connected(probe[0]);  // n1 itself accepts GO: alive and primary
  EXPECT_TRUE(Closes(probe[0]));
  EXPECT_TRUE(Closes(probe[2])) << "the probe is over";
  EXPECT_FALSE(Closes(up));
  EXPECT_TRUE(All<Send>().empty()) << "nothing re-sent to a live primary";
  EXPECT_EQ(f_.upstream(), up);
  // The stall timeout doubled: no new probe before 1400 ms more.
  Advance(1390);
  EXPECT_TRUE(Connects().empty());
  Advance(20);
  EXPECT_EQ(Connects().size(), 3u);
  // The slow flush finally answers: completed once, search over.
  Reply(ca);
  EXPECT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
}

TEST_F(ForwarderTest, StallProbeFindingAnotherPrimarySwitchesAndResends) {
  const ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdWrite));
  const uint32_t b = Submit(Req(nbd::kCmdWrite, 4096));
  Advance(710);  // n1 stopped (SIGSTOP): no progress
  std::map<int, ConnId> probe = Connects();
  Connected(probe[2]);  // n3 was promoted
  EXPECT_TRUE(Closes(up)) << "the stalled connection is left";
  EXPECT_TRUE(Closes(probe[0])) << "the hung probe to n1 too";
  EXPECT_EQ(SentSlots(), (std::vector<uint32_t>{a, b}));
  EXPECT_EQ(All<Send>()[0].conn, probe[2]);
  EXPECT_EQ(f_.stats().upstream_node, 2);
}

TEST_F(ForwarderTest, ReplyDuringAStallProbeEndsIt) {
  Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdRead));
  const uint64_t ca = CookieOf(a);
  Advance(710);
  std::map<int, ConnId> probe = Connects();
  Reply(ca);
  for (const auto& [node, conn] : probe) EXPECT_TRUE(Closes(conn));
  Advance(10);
  EXPECT_TRUE(Connects().empty());
}

TEST_F(ForwarderTest, GiveUpOnAStalledPrimaryLeavesZombiesThatAreNeverResent) {
  const ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdWrite));
  const uint64_t ca = CookieOf(a);
  // n1 hangs (its probes never answer) and the others keep naming it: nobody is promoted.
  for (int i = 0; i < 49; ++i) {
    Advance(100);
    EXPECT_TRUE(All<Complete>().empty());
    RefuseAll("not primary for vm1; primary is n1 at 127.0.0.1:1", /*spare=*/0);
  }
  Advance(100);
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{a}) << "EIO after give_up";
  EXPECT_EQ(All<Complete>()[0].status.code(), Code::kIOError);
  EXPECT_TRUE(f_.Answered(a));
  EXPECT_EQ(f_.stats().inflight, 1u) << "the zombie keeps its cookie";
  EXPECT_EQ(f_.stats().pending, 0u);
  // n1 resumes and answers the zombie: swallowed, no second Complete; requests flow again.
  Run([&] { f_.OnReply(now_, up, ca, Status::Ok(), out_); });
  EXPECT_TRUE(All<Complete>().empty());
  const uint32_t b = Submit(Req(nbd::kCmdRead));
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{b});
}

TEST_F(ForwarderTest, ZombiesDieWithTheirConnection) {
  const ConnId up = Up(0);
  Submit(Req(nbd::kCmdWrite));
  Advance(5100);  // give up while still connected (the probe starts in the same tick)
  ASSERT_EQ(All<Complete>().size(), 1u);
  std::map<int, ConnId> probe = Connects();
  ASSERT_EQ(probe.size(), 3u);
  Closed(up);
  EXPECT_TRUE(All<Send>().empty());
  EXPECT_EQ(f_.stats().inflight, 0u);
  Connected(probe[1]);
  EXPECT_TRUE(All<Send>().empty()) << "a zombie is never re-sent";
}

TEST_F(ForwarderTest, HungAttemptTimesOutAndIsRetried) {
  Tick();
  std::map<int, ConnId> c = Connects();
  Closed(c[1], "not primary for vm1; primary is n1 at 127.0.0.1:1");
  Closed(c[2], "not primary for vm1; primary is n1 at 127.0.0.1:1");
  Advance(499);
  EXPECT_FALSE(Closes(c[0]));
  Advance(1);
  EXPECT_TRUE(Closes(c[0])) << "no handshake within connect_timeout";
  Advance(10);
  EXPECT_EQ(Connects().count(0), 1u) << "n1 tried again after its backoff";
}

TEST_F(ForwarderTest, HintBringsTheNamedNodeForward) {
  Tick();
  std::map<int, ConnId> first = Connects();
  // n1 refuses four times: its backoff grows 10, 20, 40, then 80 ms (next try at +150).
  Closed(first[0], "refused");
  for (int64_t wait : {10, 20, 40}) {
    Advance(wait);
    ASSERT_EQ(Connects().count(0), 1u);
    Closed(Connects()[0], "refused");
  }
  Advance(5);  // +75 ms: n3 (still in its first attempt) names n1 as the primary
  Closed(first[2], "not primary for vm1; primary is n1 at 127.0.0.1:1");
  Advance(14);
  EXPECT_EQ(Connects().count(0), 0u) << "never sooner than 2 x retry_min after its last try";
  Advance(1);  // +90 ms instead of +150
  EXPECT_EQ(Connects().count(0), 1u);
}

TEST_F(ForwarderTest, ExportMismatchRefusesThePrimaryAndFailsWithEio) {
  const ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdWrite));
  Closed(up);
  std::map<int, ConnId> c = Connects();
  Connected(c[1], Export(2 << 20));  // another size
  EXPECT_TRUE(Closes(c[1]));
  ASSERT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
  EXPECT_EQ(All<Complete>()[0].status.code(), Code::kIOError);
  bool loud = false;
  for (const Notice& n : All<Notice>()) loud |= n.loud && n.text.find("REFUSING n2") == 0;
  EXPECT_TRUE(loud);
  const uint32_t b = Submit(Req(nbd::kCmdRead));
  EXPECT_EQ(CompletedSlots(), std::vector<uint32_t>{b}) << "new requests fail too";
  // The right export comes back (n3): forwarding resumes.
  Connected(c[2]);
  const uint32_t d = Submit(Req(nbd::kCmdRead));
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{d});
}

TEST_F(ForwarderTest, BrokenStreamFailsWhatWasSentAndResendsNothingOfIt) {
  const ConnId up = Up(0);
  Run([] {});
  const uint32_t a = Submit(Req(nbd::kCmdWrite));
  const uint32_t b = Submit(Req(nbd::kCmdWrite, 4096));
  const uint32_t c = Submit(Req(nbd::kCmdWrite, 8192));
  const uint32_t d = Submit(Req(nbd::kCmdWrite, 12288));
  const uint32_t e = Submit(Req(nbd::kCmdWrite, 16384));  // window 4: e is queued
  EXPECT_TRUE(All<Send>().empty());
  Run([&] { f_.OnBroken(now_, up, Status::InvalidArgument("bad magic"), out_); });
  EXPECT_TRUE(Closes(up));
  EXPECT_EQ(CompletedSlots(), (std::vector<uint32_t>{a, b, c, d}));
  for (const Complete& x : All<Complete>()) EXPECT_EQ(x.status.code(), Code::kIOError);
  std::map<int, ConnId> conns = Connects();
  Connected(conns[1]);
  EXPECT_EQ(SentSlots(), std::vector<uint32_t>{e});
}

TEST_F(ForwarderTest, ShutdownFailsEverythingAndClosesEveryConnection) {
  const ConnId up = Up(0);
  const uint32_t a = Submit(Req(nbd::kCmdRead));
  Run([&] { f_.Shutdown(out_); });
  EXPECT_EQ(CompletedSlots(), std::vector<uint32_t>{a});
  EXPECT_TRUE(Closes(up));
  const uint32_t b = Submit(Req(nbd::kCmdRead));
  EXPECT_EQ(CompletedSlots(), std::vector<uint32_t>{b});
}

}  // namespace
}  // namespace fb::attach
