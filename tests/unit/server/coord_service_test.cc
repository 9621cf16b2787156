// CoordService and CoordClient together, in process: a real witness on a unix socket or
// 127.0.0.1:0 with its io_context on a thread, nodes as CoordClients on the same loop. Leases,
// a promotion pushed to the new primary, a restart from the state file that keeps the epoch,
// and the durability rule (nothing is sent while the state file cannot be written).
// Every wait is bounded; a stuck io thread aborts the test instead of hanging it.
#include "server/coord_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "../store/temp_dir.h"
#include "server/coord_client.h"

namespace fb::server {
namespace {

using namespace std::chrono_literals;
using coord::NodeId;

constexpr auto kWait = 5s;  // generous bound for anything that should take milliseconds

config::ClusterConfig TwoNodes(const std::string& coordinator) {
  config::ClusterConfig c;
  c.coordinator = *net::ParseAddress(coordinator);
  c.timing = config::Timing{10, 100, 20};  // heartbeat, lease, margin (ms)
  for (int i = 0; i < 2; ++i) {
    config::NodeConfig n;
    n.id = "n" + std::to_string(i + 1);
    n.nbd = *net::ParseAddress("127.0.0.1:" + std::to_string(21000 + i));
    n.repl = *net::ParseAddress("127.0.0.1:" + std::to_string(22000 + i));
    n.dir = "/nonexistent/" + n.id;
    c.nodes.push_back(n);
  }
  c.volumes.push_back(
      config::VolumeConfig{"vm1", 1 << 20, 2, config::DegradedPolicy::kAllowWrites});
  return c;
}

// Replies one client received, readable from the test thread.
class Inbox {
 public:
  void Push(coord::Reply reply) {
    std::lock_guard lock(mu_);
    replies_.push_back(std::move(reply));
    cv_.notify_all();
  }
  // The first reply (not yet taken) that matches, waiting at most `timeout`.
  template <typename Pred>
  std::optional<coord::Reply> Take(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    std::optional<coord::Reply> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = replies_.begin(); it != replies_.end(); ++it) {
        if (!pred(*it)) continue;
        found = *it;
        replies_.erase(it);
        return true;
      }
      return false;
    });
    return found;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return replies_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<coord::Reply> replies_;
};

bool IsLease(const coord::Reply& r, uint64_t request_id) {
  auto* lease = std::get_if<coord::LeaseReply>(&r);
  return lease && lease->request_id == request_id;
}

bool IsRecord(const coord::Reply& r, coord::Epoch epoch, NodeId primary) {
  auto* record = std::get_if<coord::RecordReply>(&r);
  return record && record->record.epoch == epoch && record->record.primary == primary;
}

class CoordServiceTest : public ::testing::Test {
 protected:
  CoordServiceTest() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    state_path_ = dir_.File("coordinator.state");
  }
  ~CoordServiceTest() override {
    OnIo([&] {
      for (auto& c : clients_) c->Stop();
      if (service_) service_->Shutdown();
    });
    OnIo([&] {  // a separate turn: handlers cancelled above have run
      clients_.clear();
      service_.reset();
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Runs f on the io thread and returns its result; aborts if the loop is stuck.
  template <typename F>
  auto OnIo(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    if (done.wait_for(kWait) != std::future_status::ready) {
      std::fprintf(stderr, "io thread stuck\n");
      std::abort();
    }
    return done.get();
  }

  Status StartService(const config::ClusterConfig& config) {
    return OnIo([&]() -> Status {
      auto created = CoordService::Create(io_, config, state_path_);
      if (!created.ok()) return created.status();
      service_ = std::move(created).value();
      return service_->Start();
    });
  }

  void StopService() {
    OnIo([&] { service_->Shutdown(); });
    OnIo([&] { service_.reset(); });
  }

  // A node's client; its replies land in the returned inbox.
  std::pair<CoordClient*, Inbox*> Connect(NodeId node) {
    inboxes_.push_back(std::make_unique<Inbox>());
    Inbox* inbox = inboxes_.back().get();
    net::Address address = OnIo([&] { return service_->address(); });
    CoordClient* client = OnIo([&] {
      clients_.push_back(std::make_unique<CoordClient>(
          io_, address, node, [inbox](coord::Reply r) { inbox->Push(std::move(r)); }));
      clients_.back()->Start();
      return clients_.back().get();
    });
    EXPECT_TRUE(WaitConnected(client));
    return {client, inbox};
  }

  bool WaitConnected(CoordClient* client) {
    for (auto until = std::chrono::steady_clock::now() + kWait;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(2ms)) {
      if (OnIo([&] { return client->connected(); })) return true;
    }
    return false;
  }

  void Send(CoordClient* client, coord::Request request) {
    OnIo([&] { client->Send(request); });
  }

  static coord::Heartbeat Beat(NodeId node, coord::Epoch promised = 1) {
    return coord::Heartbeat{node, /*boot_id=*/100 + node, /*incarnation=*/1, /*volume=*/1, promised,
                            false};
  }

  // Heartbeats from `node` every 5 ms until a reply matches (or kWait passes).
  template <typename Pred>
  std::optional<coord::Reply> BeatUntil(CoordClient* client, Inbox* inbox, NodeId node, Pred pred) {
    for (auto until = std::chrono::steady_clock::now() + kWait;
         std::chrono::steady_clock::now() < until;) {
      Send(client, Beat(node));
      if (auto reply = inbox->Take(pred, 5ms)) return reply;
    }
    return std::nullopt;
  }

  store::testing::TempDir dir_;
  std::string state_path_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<CoordService> service_;
  std::vector<std::unique_ptr<CoordClient>> clients_;
  std::vector<std::unique_ptr<Inbox>> inboxes_;
};

TEST_F(CoordServiceTest, GrantsTheLeaseOverTcpAndAnswersStatus) {
  ASSERT_TRUE(StartService(TwoNodes("127.0.0.1:0")).ok());
  const net::Address address = OnIo([&] { return service_->address(); });
  ASSERT_NE(address.port, 0);
  auto [node0, inbox0] = Connect(0);
  Send(node0, Beat(0));
  ASSERT_TRUE(inbox0->Take([](auto& r) { return IsRecord(r, 1, 0); }, kWait));
  Send(node0, coord::LeaseRequest{0, 1, 1, 1, 7});
  auto lease = inbox0->Take([](auto& r) { return IsLease(r, 7); }, kWait);
  ASSERT_TRUE(lease.has_value());
  EXPECT_TRUE(std::get<coord::LeaseReply>(*lease).granted);
  EXPECT_EQ(std::get<coord::LeaseReply>(*lease).lease_ns, 100'000'000);

  Result<coord::StatusReply> status = QueryCoordinatorStatus(address, 2000);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->volumes.size(), 1u);
  EXPECT_EQ(status->volumes[0].epoch, 1u);
  EXPECT_EQ(status->volumes[0].members, 0b11u);
  EXPECT_EQ(status->volumes[0].min_in_sync, 1u);  // allow-writes
  ASSERT_EQ(status->nodes.size(), 2u);
  EXPECT_TRUE(status->nodes[0].seen);
  EXPECT_EQ(status->nodes[0].boot_id, 100u);
  EXPECT_FALSE(status->nodes[1].seen);
}

TEST_F(CoordServiceTest, PromotesAndKeepsTheEpochAcrossARestart) {
  const config::ClusterConfig config = TwoNodes("unix:" + dir_.File("coord.sock"));
  ASSERT_TRUE(StartService(config).ok());
  auto [node0, inbox0] = Connect(0);
  auto [node1, inbox1] = Connect(1);
  Send(node0, Beat(0));
  Send(node1, Beat(1));
  Send(node0, coord::LeaseRequest{0, 1, 1, 1, 7});
  auto lease = inbox0->Take([](auto& r) { return IsLease(r, 7); }, kWait);
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(std::get<coord::LeaseReply>(*lease).granted);

  // Node 0 falls silent; node 1 keeps beating and is pushed its promotion once the lease
  // (100 ms) and the margin (20 ms) have run out.
  auto promoted = BeatUntil(node1, inbox1, 1, [](auto& r) { return IsRecord(r, 2, 1); });
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ(std::get<coord::RecordReply>(*promoted).record.in_sync, 0b10u);

  // The witness restarts; the nodes' clients reconnect to the same socket on their own.
  StopService();
  ASSERT_TRUE(StartService(config).ok());
  EXPECT_EQ(OnIo([&] { return service_->coordinator().Find(1)->epoch; }), 2u);
  EXPECT_EQ(OnIo([&] { return service_->coordinator().Find(1)->primary; }), 1u);
  ASSERT_TRUE(WaitConnected(node1));
  ASSERT_TRUE(BeatUntil(node1, inbox1, 1, [](auto& r) { return IsRecord(r, 2, 1); }));
  // The boot node 1 had when promoted was kept too: it may claim its lease at once.
  Send(node1, coord::LeaseRequest{1, 1, 1, 2, 8});
  auto renewed = inbox1->Take([](auto& r) { return IsLease(r, 8); }, kWait);
  ASSERT_TRUE(renewed.has_value());
  EXPECT_TRUE(std::get<coord::LeaseReply>(*renewed).granted);
  // And the old primary, back, learns it was replaced.
  ASSERT_TRUE(WaitConnected(node0));
  ASSERT_TRUE(BeatUntil(node0, inbox0, 0, [](auto& r) { return IsRecord(r, 2, 1); }));
}

TEST_F(CoordServiceTest, SendsNothingWhileTheStateFileCannotBeWritten) {
  ASSERT_TRUE(StartService(TwoNodes("unix:" + dir_.File("coord.sock"))).ok());
  auto [node0, inbox0] = Connect(0);
  // WriteSmallFileDurably writes PATH.tmp first; a directory there makes every write fail.
  std::filesystem::create_directory(state_path_ + ".tmp");
  // A first heartbeat records node 0's boot and incarnation: a durable change.
  for (int i = 0; i < 20; ++i) {
    Send(node0, Beat(0));
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(inbox0->size(), 0u);
  std::filesystem::remove(state_path_ + ".tmp");
  // (Unleased, node 0's tenure was meanwhile renewed by self-promotions: any epoch will do.)
  EXPECT_TRUE(BeatUntil(node0, inbox0, 0,
                        [](auto& r) { return std::holds_alternative<coord::RecordReply>(r); }));
  EXPECT_EQ(OnIo([&] { return service_->coordinator().Find(1)->primary_incarnation; }), 1u);
}

TEST_F(CoordServiceTest, ClosesConnectionsThatSpeakForAnotherNode) {
  ASSERT_TRUE(StartService(TwoNodes("127.0.0.1:0")).ok());
  auto [impostor, inbox] = Connect(1);
  Send(impostor, Beat(0));  // node 1's connection speaking as node 0
  for (auto until = std::chrono::steady_clock::now() + kWait;
       OnIo([&] { return impostor->connects(); }) < 2 &&
       std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_GE(OnIo([&] { return impostor->connects(); }), 2u);  // closed, then reconnected
  EXPECT_EQ(inbox->size(), 0u);
  EXPECT_FALSE(
      OnIo([&] { return service_->coordinator().Node(env::SystemClock().Now(), 0).seen; }));
}

TEST_F(CoordServiceTest, RefusesAStateFileForOtherVolumes) {
  config::ClusterConfig config = TwoNodes("127.0.0.1:0");
  ASSERT_TRUE(StartService(config).ok());
  StopService();
  config.volumes[0].name = "renamed";
  Status s = StartService(config);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  config.volumes[0].name = "vm1";
  config.volumes.push_back(config::VolumeConfig{"vm2", 1 << 20, 1});  // added at the end: fine
  ASSERT_TRUE(StartService(config).ok());
  EXPECT_EQ(OnIo([&] { return service_->coordinator().Find(2)->members; }), 0b1u);
  EXPECT_EQ(OnIo([&] { return service_->coordinator().Find(2)->min_in_sync; }), 1u);
}

TEST(CoordStatusQuery, TimesOutOrFailsWhenNobodyAnswers) {
  store::testing::TempDir dir;
  // Nobody listens: refused at once.
  auto refused = QueryCoordinatorStatus(*net::ParseAddress("unix:" + dir.File("none")), 1000);
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  // Someone listens but never answers: the timeout bounds the wait.
  asio::io_context io;
  auto listener =
      net::Listener::Open(io, *net::ParseAddress("unix:" + dir.File("mute")), [](net::Socket) {});
  ASSERT_TRUE(listener.ok());
  const auto start = std::chrono::steady_clock::now();
  auto mute = QueryCoordinatorStatus((*listener)->address(), 100);
  EXPECT_EQ(mute.status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, kWait);
}

}  // namespace
}  // namespace fb::server
