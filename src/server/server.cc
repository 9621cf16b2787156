// Server: event-loop threads, listeners, the disk worker pool and shutdown order.
#include "server/server.h"

#include "base/assert.h"
#include "server/connection.h"
#include "server/log.h"

namespace fb::server {

Server::Server(ServerOptions options, const nbd::ExportCatalog& catalog, VolumeLookup& volumes)
    : options_(std::move(options)),
      catalog_(catalog),
      volumes_(volumes),
      buffers_(options_.memory_budget_bytes),
      // Every admitted request may sit in the queue at once; nothing else is ever queued.
      workers_(options_.disk_workers, kMaxConnections * kMaxInflightPerConnection) {
  FB_ASSERT(options_.io_threads > 0);
  FB_ASSERT(!options_.listen.empty());
  for (int i = 0; i < options_.io_threads; ++i) {
    loops_.push_back(std::make_unique<Loop>(kIoQueueEntries));
  }
}

Server::~Server() {
  Stop();
  // Order matters: no loop runs now; let workers finish (their completions are queued on
  // the stopped loops), then destroy the loops, which releases every connection and buffer.
  workers_.Shutdown();
  for (auto& loop : loops_) loop->Drain();
  listeners_.clear();
  loops_.clear();
}

Status Server::Start() {
  for (const net::Address& address : options_.listen) {
    auto listener = net::Listener::Open(loops_[0]->io(), address,
                                        [this](net::Socket s) { Accept(std::move(s)); });
    if (!listener.ok()) {
      listeners_.clear();
      return listener.status();
    }
    listeners_.push_back(std::move(listener).value());
  }
  for (auto& l : listeners_) l->Start();
  return Status::Ok();
}

std::vector<net::Address> Server::BoundAddresses() const {
  std::vector<net::Address> out;
  for (const auto& l : listeners_) out.push_back(l->address());
  return out;
}

void Server::Accept(net::Socket socket) {
  if (live_connections_.load(std::memory_order_relaxed) >= kMaxConnections) {
    Log(LogLevel::kWarn, "refusing connection: {} already open", kMaxConnections);
    return;  // the socket closes as it goes out of scope
  }
  // Spread connections over the loops; the socket moves to the chosen loop.
  Loop& loop = *loops_[next_loop_.fetch_add(1) % loops_.size()];
  asio::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return;
  net::Socket moved(loop.io());
  moved.assign(protocol, socket.release(ec), ec);
  if (ec) return;
  ConnectionContext context{catalog_,          volumes_, buffers_,     workers_,
                            live_connections_, loop,     options_.repl, router_};
  asio::post(loop.io(), [context, s = std::move(moved)]() mutable {
    std::make_shared<Connection>(context, std::move(s))->Start();
  });
}

void Server::Run(bool handle_signals) {
  std::optional<asio::signal_set> signals;
  if (handle_signals) {
    signals.emplace(loops_[0]->io(), SIGINT, SIGTERM);
    signals->async_wait([this](const asio::error_code& ec, int signo) {
      if (ec) return;
      Log(LogLevel::kInfo, "signal {}: shutting down", signo);
      Stop();
    });
  }
  for (auto& loop : loops_) loop->Start();
  std::vector<std::thread> threads;
  for (auto& loop : loops_) loop->SetPoll(options_.poll);
  for (size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->Run(); });
  loops_[0]->Run();
  for (auto& t : threads) t.join();
}

void Server::SetRouter(Router* router) {
  FB_ASSERT(listeners_.empty());  // before Start: connections copy it when they are made
  FB_ASSERT(loops_.size() == 1);
  router_ = router;
}

asio::io_context& Server::LoopIo(size_t index) {
  FB_ASSERT(index < loops_.size());
  return loops_[index]->io();
}

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  for (auto& loop : loops_) loop->io().stop();
}

}  // namespace fb::server
