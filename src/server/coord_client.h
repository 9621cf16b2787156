// CoordClient: a node's connection to the witness (coord_service). Best effort by design:
// the replication state machines retry every request, so a request made while disconnected
// is dropped, and the client only keeps one connection alive: TCP_NODELAY, a bounded send
// queue, reconnects with a bounded exponential backoff, and a dead connection (requests out,
// nothing back) is detected by a timeout. QueryCoordinatorStatus is the CLI's one-shot query.
// Threading: everything runs on the io_context's thread; construct, Start, Send and Stop
// there (or before it runs). Callbacks never run after Stop() or destruction.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "base/result.h"
#include "coord/coordinator.h"
#include "coord/wire.h"
#include "env/clock.h"
#include "net/address.h"
#include "server/coord_stream.h"

namespace fb::net {
struct Dial;  // one resolve + connect attempt (net/dial.h)
}  // namespace fb::net

namespace fb::server {

class CoordClient {
 public:
  using ReplyFn = std::function<void(coord::Reply reply)>;

  CoordClient(asio::io_context& io, net::Address coordinator, coord::NodeId self, ReplyFn on_reply);
  ~CoordClient();
  CoordClient(const CoordClient&) = delete;
  CoordClient& operator=(const CoordClient&) = delete;

  // Connects, and keeps reconnecting until Stop().
  void Start();
  // Best effort: dropped (and counted) unless connected with room in the send queue.
  void Send(const coord::Request& request);
  // Closes the connection and cancels every timer; no callback runs afterwards.
  void Stop();

  bool connected() const { return state_ == State::kConnected; }
  uint64_t dropped_requests() const { return dropped_requests_; }
  uint64_t connects() const { return connects_; }

 private:
  enum class State { kIdle, kConnecting, kConnected, kWaiting, kStopped };

  void Connect();
  void OnConnected(net::Socket socket);
  void OnFrame(coord::Frame frame);
  void Disconnect(std::string_view why);
  void RetryLater(std::string_view why);
  void ArmWatchdog();

  asio::io_context& io_;
  const net::Address coordinator_;
  const coord::NodeId self_;
  ReplyFn on_reply_;
  State state_ = State::kIdle;
  std::shared_ptr<net::Dial> dial_;      // while kConnecting
  std::shared_ptr<CoordStream> stream_;  // while kConnected
  asio::steady_timer timer_;             // connect timeout, backoff, or reply watchdog, by state
  // Handlers check it first: they may complete after Stop() or destruction.
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  uint64_t attempt_ = 0;  // handlers of an abandoned attempt do nothing
  int64_t backoff_ms_;
  bool awaiting_reply_ = false;  // requests sent since the last frame received
  env::Instant awaiting_since_;
  uint64_t dropped_requests_ = 0;
  uint64_t connects_ = 0;
};

// Connects as an admin tool, asks for the witness's status and waits for it: kUnavailable
// when the witness cannot be reached or does not answer within timeout_ms; decode errors
// as DecodeFrame reports them. Blocks; runs its own io_context.
Result<coord::StatusReply> QueryCoordinatorStatus(const net::Address& coordinator, int timeout_ms);

}  // namespace fb::server
