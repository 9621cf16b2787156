// PeerTransport: the replication transport between nodes. Each node dials every peer once (that
// connection only sends) and accepts the peers' dials (those only receive); a 16-byte hello names
// the dialer, because replication messages carry no sender id. Best effort by design.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "base/result.h"
#include "base/status.h"
#include "net/address.h"
#include "net/listener.h"
#include "repl/messages.h"
#include "repl/types.h"

namespace fb::server {

// Peer hello, the first bytes on every dialed connection, big-endian:
//   offset size field
//        0    8 magic "FBPEER01"
//        8    4 node id of the dialer
//       12    4 zero (reserved)
// The acceptor closes the connection on a bad magic, a nonzero reserved word, its own id or an
// id that is not one of its peers.
inline constexpr size_t kPeerHelloBytes = 16;
inline constexpr uint64_t kPeerHelloMagic = 0x4642504545523031;  // "FBPEER01"

// Limits of the transport. Messages over a queue limit are dropped (the protocol retransmits).
// Encoded frames waiting for one peer's socket, in bytes; a whole maximal frame always fits.
inline constexpr uint64_t kPeerSendQueueBytesMax = 64u << 20;
// Frames handed to the kernel by one gather write (one writev).
inline constexpr size_t kPeerFramesPerWriteMax = 64;
// Socket read buffer per accepted connection: small frames are decoded straight from it.
inline constexpr size_t kPeerReadBufferBytes = 256u << 10;
// Frames larger than this are read into a frame-sized buffer of their own (no extra copy).
inline constexpr size_t kPeerDirectReadThresholdBytes = 64u << 10;
// The largest frame a peer may send; anything announcing more closes the connection.
inline constexpr size_t kPeerFrameBytesMax = repl::kHeaderBytes + repl::kBodyBytesMax;
// Redial backoff: doubles from min to max, so a restarted peer is reached within about max.
inline constexpr int kPeerBackoffMsMin = 10;
inline constexpr int kPeerBackoffMsMax = 200;
// A dial (resolve + connect) that takes longer than this fails and backs off.
inline constexpr int kPeerConnectTimeoutMs = 1000;
// An accepted connection must deliver its hello within this, or it is closed.
inline constexpr int kPeerHelloTimeoutMs = 1000;
// A send link whose socket accepts no byte for this long is closed (a stopped or wedged peer);
// on TCP it is also the TCP_USER_TIMEOUT for unacknowledged data (a partitioned or dead host).
inline constexpr int kPeerWriteStallMs = 5000;
// Accepted connections open at once (hello pending or not); more are closed at accept.
inline constexpr size_t kPeerInboundMax = 2 * repl::kMaxNodes;

static_assert(kPeerSendQueueBytesMax >= 2 * kPeerFrameBytesMax);
static_assert(kPeerDirectReadThresholdBytes < kPeerReadBufferBytes);
static_assert(kPeerHelloBytes + repl::kHeaderBytes <= kPeerDirectReadThresholdBytes);
static_assert(kPeerBackoffMsMin > 0 && kPeerBackoffMsMin <= kPeerBackoffMsMax);

std::array<uint8_t, kPeerHelloBytes> EncodePeerHello(repl::NodeId self);
// The dialer's node id, or kInvalidArgument when the bytes are not a well-formed hello. Whether
// the id is acceptable (a known peer, not ourselves) is the transport's decision.
Result<repl::NodeId> DecodePeerHello(std::span<const uint8_t> bytes);

// Threading: every call and callback runs on `io`'s one thread, or while `io` is not running.
// Destroy the transport before `io`; destroying it while `io` keeps running is safe. on_message
// may Send, SetBlocked or Close, but must not destroy the transport.
class PeerTransport {
 public:
  using OnMessage = std::function<void(repl::NodeId from, repl::Message message)>;

  // peers: the repl address of every OTHER node. Runs entirely on `io` (one thread).
  PeerTransport(asio::io_context& io, repl::NodeId self, std::map<repl::NodeId, net::Address> peers,
                OnMessage on_message);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Accepts peers' connections. At most once.
  [[nodiscard]] Status Listen(const net::Address& own_address);
  // Where Listen is listening (the real port when asked for port 0). Only after Listen.
  const net::Address& ListenAddress() const;
  // Begins connecting out to every peer, and keeps reconnecting while not closed. At most once.
  void Start();
  // Best effort: queued for `to`, dropped (counted) when the peer is unreachable, blocked or its
  // send queue is over kPeerSendQueueBytesMax. The replication protocol retransmits.
  void Send(repl::NodeId to, const repl::Message& message);
  // Closes every connection and the listener; nothing is delivered afterwards. Idempotent.
  void Close();

  // Fault seam for drills and tests: drop everything to and/or from a peer while set (one-way
  // partitions). Frames already queued for the socket still leave.
  void SetBlocked(repl::NodeId peer, bool outbound, bool inbound);

  struct PeerStats {
    bool connected = false;        // the dial (send) connection is up
    uint64_t sent_frames = 0;      // frames the kernel took
    uint64_t received_frames = 0;  // frames delivered to on_message
    uint64_t dropped_frames = 0;   // sends dropped or lost with a link, inbound frames blocked
    uint64_t reconnects = 0;       // dial connections established after the first
    uint64_t queued_bytes = 0;     // encoded bytes waiting for the socket
  };
  PeerStats Stats(repl::NodeId peer) const;

 private:
  class Link;     // the dial connection to one peer, its send queue and its counters
  class Inbound;  // one accepted connection: hello, then frames from one peer

  void Accept(net::Socket socket);
  void Adopt(const std::shared_ptr<Inbound>& inbound, repl::NodeId peer);
  void Forget(const Inbound* inbound);
  Link& LinkTo(repl::NodeId peer) const;

  asio::io_context& io_;
  const repl::NodeId self_;
  OnMessage on_message_;
  std::map<repl::NodeId, std::shared_ptr<Link>> links_;
  std::vector<std::shared_ptr<Inbound>> inbound_;
  std::unique_ptr<net::Listener> listener_;
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace fb::server
