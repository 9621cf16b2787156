// UpstreamRouter and UpstreamLink against a real FireBreak server in this process (a plain,
// unreplicated `serve` on a unix socket): the client handshake, forwarding of WRITE, READ,
// FLUSH and BLOCK_STATUS with real sockets and the real reply decoder, errors passing through,
// and a held request re-sent after the server is stopped and started again on the same address.
#include "server/upstream_router.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

#include "../store/temp_dir.h"
#include "env/file.h"
#include "proto/nbd/wire.h"
#include "server/server.h"
#include "server/volume_catalog.h"
#include "store/volume_set.h"

namespace fb::server {
namespace {

constexpr uint64_t kVolumeBytes = 1 << 20;

// A `firebreak serve` of one volume on a unix socket, on its own thread.
class TestServer {
 public:
  TestServer(store::VolumeSet& volumes, const std::string& socket) : catalog_(volumes) {
    ServerOptions options;
    options.listen = {*net::ParseAddress("unix:" + socket)};
    options.io_threads = 1;
    options.disk_workers = 2;
    server_ = std::make_unique<Server>(options, catalog_, catalog_);
    EXPECT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { server_->Run(false); });
  }
  ~TestServer() {
    server_->Stop();
    thread_.join();
    server_.reset();
  }

 private:
  VolumeCatalog catalog_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

struct Waiter final : RouteWaiter {
  std::optional<Status> status;
  void OnRouted(Status s) override { status = std::move(s); }
};

class UpstreamRouterTest : public ::testing::Test {
 protected:
  UpstreamRouterTest() {
    auto volumes = store::VolumeSet::Open(env::PosixFileSystem(), dir_.path(),
                                          {{"vm1", kVolumeBytes, false}}, [] {
                                            return store::Uuid{1, 2, 3};
                                          });
    EXPECT_TRUE(volumes.ok()) << volumes.status().ToString();
    volumes_ = std::move(volumes).value();
    socket_ = dir_.File("n1.sock");
    server_ = std::make_unique<TestServer>(*volumes_, socket_);
    UpstreamOptions options;
    options.nodes = {{"n1", *net::ParseAddress("unix:" + socket_)}};
    options.volume = "vm1";
    options.knobs.stall_timeout_ns = 200'000'000;
    options.knobs.give_up_ns = 20'000'000'000;
    options.tick_ns = 2'000'000;
    router_ = std::make_unique<UpstreamRouter>(io_, options);
    router_->Start();
    RunUntil([&] { return router_->reference().has_value(); });
  }
  ~UpstreamRouterTest() override {
    router_->Stop();
    io_.poll();
    router_.reset();
    server_.reset();
  }

  // Runs the router's loop until `done` (bounded: 10 s).
  template <typename F>
  bool RunUntil(F done) {
    for (int i = 0; i < 1000 && !done(); ++i) io_.run_for(std::chrono::milliseconds(10));
    return done();
  }
  // Submits from the loop's thread, as a Connection would.
  void Submit(const RoutedRequest& request, Waiter& waiter) {
    asio::post(io_, [&, request] { router_->Submit(request, &waiter); });
  }
  Status Run(nbd::Request r, std::span<const uint8_t> payload = {}, std::span<uint8_t> target = {},
             std::vector<store::Allocation>* runs = nullptr) {
    Waiter waiter;
    Submit({r, payload, target, runs}, waiter);
    EXPECT_TRUE(RunUntil([&] { return waiter.status.has_value(); }));
    return waiter.status.value_or(Status::Internal("no answer"));
  }
  static nbd::Request Req(uint16_t type, uint64_t offset, uint32_t length) {
    nbd::Request r;
    r.type = type;
    r.offset = offset;
    r.length = length;
    return r;
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::VolumeSet> volumes_;
  std::string socket_;
  std::unique_ptr<TestServer> server_;
  asio::io_context io_{1};
  std::unique_ptr<UpstreamRouter> router_;
};

TEST_F(UpstreamRouterTest, PresentsTheServersExport) {
  const nbd::Negotiated& n = *router_->reference();
  EXPECT_EQ(n.export_info.size_bytes, kVolumeBytes);
  EXPECT_TRUE(n.structured_replies);
  EXPECT_TRUE(n.base_allocation_id.has_value());
  EXPECT_TRUE(n.transmission_flags & nbd::kFlagCanMultiConn);
}

TEST_F(UpstreamRouterTest, ForwardsWritesReadsFlushAndBlockStatus) {
  std::vector<uint8_t> data(8192);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13 + 7);
  ASSERT_TRUE(Run(Req(nbd::kCmdWrite, 4096, 8192), data).ok());
  ASSERT_TRUE(Run(Req(nbd::kCmdFlush, 0, 0)).ok());
  std::vector<uint8_t> back(8192);
  ASSERT_TRUE(Run(Req(nbd::kCmdRead, 4096, 8192), {}, back).ok());
  EXPECT_EQ(back, data);
  std::vector<store::Allocation> runs;
  ASSERT_TRUE(Run(Req(nbd::kCmdBlockStatus, 0, kVolumeBytes), {}, {}, &runs).ok());
  ASSERT_FALSE(runs.empty());
  uint64_t covered = 0;
  for (const store::Allocation& run : runs) covered += run.length;
  EXPECT_GE(covered, 4096u);
  EXPECT_GT(router_->stats().forwarded, 3u);
}

TEST_F(UpstreamRouterTest, TheServersErrorsPassThrough) {
  // Past the end: the server answers ENOSPC for a write (the client side would have caught
  // it; here the request goes straight to the router).
  std::vector<uint8_t> data(4096, 1);
  const Status s = Run(Req(nbd::kCmdWrite, kVolumeBytes, 4096), data);
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
}

TEST_F(UpstreamRouterTest, HeldRequestIsResentWhenTheServerComesBack) {
  std::vector<uint8_t> data(4096, 0x5a);
  ASSERT_TRUE(Run(Req(nbd::kCmdWrite, 0, 4096), data).ok());
  server_.reset();  // the node goes away: the link sees EOF
  std::vector<uint8_t> back(4096);
  Waiter waiter;
  Submit({Req(nbd::kCmdRead, 0, 4096), {}, back, nullptr}, waiter);
  io_.run_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(waiter.status.has_value()) << "held while no node accepts GO";
  server_ = std::make_unique<TestServer>(*volumes_, socket_);
  ASSERT_TRUE(RunUntil([&] { return waiter.status.has_value(); }));
  EXPECT_TRUE(waiter.status->ok()) << waiter.status->ToString();
  EXPECT_EQ(back, data);
  EXPECT_EQ(router_->stats().upstreams, 2u);
}

}  // namespace
}  // namespace fb::server
