// The server part: the runtime that binds the sans-IO NBD codec (src/proto/nbd) to sockets
// (src/net, asio) and volumes (src/store). The only place where threads, sockets and the
// codec meet. A request flows: net/listener -> connection (handshake, decode, validate) ->
// dispatch (on the loop thread for cached reads, else a worker) -> reply queue -> socket.
//
// Threads: `io_threads` event loops, each owning the connections assigned to it (no locks in
// a connection), plus a pool of disk workers for calls that may block. Limits: every
// connection has a bounded number of requests and bytes in flight; all connections share a
// bounded memory budget. Over a limit a connection stops reading its socket (TCP backpressure)
// rather than growing.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "base/status.h"
#include "net/address.h"
#include "net/listener.h"
#include "proto/nbd/export.h"
#include "server/buffer_pool.h"
#include "server/limits.h"
#include "server/loop.h"
#include "server/worker_pool.h"
#include "store/volume.h"

namespace fb::server {

// Finds the Volume behind an export name the handshake agreed on.
class VolumeLookup {
 public:
  virtual ~VolumeLookup() = default;
  virtual store::Volume* FindVolume(std::string_view name) = 0;
};

class ReplNode;
class Router;

struct ServerOptions {
  std::vector<net::Address> listen;
  int io_threads = 2;
  int disk_workers = kDefaultDiskWorkers;
  uint64_t memory_budget_bytes = kDefaultMemoryBudgetBytes;
  // Busy polling window of each loop (Loop::SetPoll); 0 sleeps at once.
  std::chrono::nanoseconds poll{0};
  ReplNode* repl = nullptr;  // set when serving a cluster node's replicated volumes
};

class Server {
 public:
  Server(ServerOptions options, const nbd::ExportCatalog& catalog, VolumeLookup& volumes);
  ~Server();

  // Binds every listen address; fails without side effects left running.
  Status Start();
  // Addresses actually bound (port 0 resolved).
  std::vector<net::Address> BoundAddresses() const;
  // Serves until Stop() (or SIGINT/SIGTERM when handle_signals) and returns.
  void Run(bool handle_signals);
  // Thread-safe; Run() returns soon after.
  void Stop();
  // firebreak attach: every connection routes its requests through `router`, which runs on
  // LoopIo(0). Only with one io thread (a router serves one loop); call before Start().
  void SetRouter(Router* router);
  asio::io_context& LoopIo(size_t index);
  // A cluster node runs its replication core (ReplNode) on the first loop, so connections
  // there reach it without a thread hop.
  Loop& FirstLoop() { return *loops_[0]; }

 private:
  void Accept(net::Socket socket);

  const ServerOptions options_;
  const nbd::ExportCatalog& catalog_;
  VolumeLookup& volumes_;
  BufferPool buffers_;
  WorkerPool workers_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::atomic<size_t> next_loop_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> live_connections_{0};
  Router* router_ = nullptr;  // set once before Start
};

}  // namespace fb::server
