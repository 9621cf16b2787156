// PeerTransport: dial links (bounded send queue, gather writes, redial with backoff) and accepted
// connections (hello, framing, decode, delivery). Every handler holds its connection object and
// checks a generation or closed flag first, so none acts on a closed or destroyed transport.
#include "server/peer_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "base/assert.h"
#include "base/endian.h"
#include "net/whole_transfers.h"
#include "server/end_of_turn.h"
#include "server/log.h"

namespace fb::server {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using Endpoint = asio::generic::stream_protocol::endpoint;

// Replication frames are latency-bound (acks, heartbeats): never wait for Nagle. Data the peer
// does not acknowledge within the stall limit breaks the connection even while the socket buffer
// still has room (a partitioned or dead host), so the link redials instead of filling the void.
void TuneTcp(net::Socket& socket) {
  int one = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  unsigned int user_timeout_ms = kPeerWriteStallMs;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
               sizeof user_timeout_ms);
}

void CloseSocket(net::Socket& socket) {
  asio::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace

std::array<uint8_t, kPeerHelloBytes> EncodePeerHello(repl::NodeId self) {
  FB_ASSERT(self != repl::kNoNode);
  std::array<uint8_t, kPeerHelloBytes> hello{};
  StoreBe64(&hello[0], kPeerHelloMagic);
  StoreBe32(&hello[8], self);
  StoreBe32(&hello[12], 0);
  return hello;
}

Result<repl::NodeId> DecodePeerHello(std::span<const uint8_t> bytes) {
  if (bytes.size() != kPeerHelloBytes) return Status::InvalidArgument("peer hello: bad length");
  if (LoadBe64(&bytes[0]) != kPeerHelloMagic) {
    return Status::InvalidArgument("peer hello: bad magic");
  }
  if (LoadBe32(&bytes[12]) != 0) return Status::InvalidArgument("peer hello: reserved not zero");
  repl::NodeId id = LoadBe32(&bytes[8]);
  if (id == repl::kNoNode) return Status::InvalidArgument("peer hello: no node id");
  return id;
}

// ---- Link: the dial connection to one peer ------------------------------------------------

class PeerTransport::Link : public std::enable_shared_from_this<Link> {
 public:
  Link(PeerTransport& owner, repl::NodeId peer, net::Address address)
      : owner_(&owner),
        peer_(peer),
        address_(std::move(address)),
        socket_(owner.io_),
        timer_(owner.io_),
        resolver_(owner.io_),
        hello_(EncodePeerHello(owner.self_)) {
    iov_.reserve(kPeerFramesPerWriteMax);
  }

  void Dial();
  void Send(const repl::Message& message);
  void Shutdown();
  PeerStats Stats() const;

  // Shared with the transport and the link's accepted connection (all on the one thread).
  bool blocked_out_ = false;
  bool blocked_in_ = false;
  PeerStats counters_;                // connected and queued_bytes are filled in by Stats()
  std::weak_ptr<Inbound> receiving_;  // the accepted connection this peer sends to us on

 private:
  enum class State { kIdle, kConnecting, kUp, kBackoff, kClosed };

  bool Current(uint64_t gen) const { return owner_ != nullptr && gen == gen_; }
  void Connect(uint64_t gen, const Endpoint& endpoint);
  void Up();
  void WatchForClose();
  void ScheduleWrite();
  void WriteMore();
  void Wrote(size_t bytes);
  void Fail(const std::string& why);
  void DropQueued();
  void ArmTimer(Clock::duration after);
  void OnTimer();

  PeerTransport* owner_;  // null once the transport closed
  const repl::NodeId peer_;
  const net::Address address_;
  net::Socket socket_;
  asio::steady_timer timer_;  // connect timeout, backoff or write-stall check, by state_
  asio::ip::tcp::resolver resolver_;
  const std::array<uint8_t, kPeerHelloBytes> hello_;
  std::array<uint8_t, 64> sink_{};  // the peer never sends on this link; reads only see close

  State state_ = State::kIdle;
  // Bumped whenever a connection attempt starts or ends: handlers of older ones do nothing.
  uint64_t gen_ = 0;
  int backoff_ms_ = kPeerBackoffMsMin;
  bool ever_up_ = false;
  bool failure_logged_ = false;
  EndOfTurn write_turn_;  // a WriteMore at the end of this loop turn
  Clock::time_point up_since_{};
  Clock::time_point last_progress_{};

  // Frames wait in queued_ while batch_ is on the socket; batch_[batch_index_] is written
  // from batch_offset_. Both vectors keep their capacity, so steady sending does not allocate.
  std::vector<std::vector<uint8_t>> queued_;
  std::vector<std::vector<uint8_t>> batch_;
  size_t batch_index_ = 0;
  size_t batch_offset_ = 0;
  uint64_t queued_bytes_ = 0;  // every unwritten byte of queued_ and batch_
  std::vector<asio::const_buffer> iov_;
  bool writing_ = false;
};

void PeerTransport::Link::Dial() {
  FB_ASSERT(owner_ != nullptr);
  FB_ASSERT(state_ == State::kIdle || state_ == State::kBackoff);
  state_ = State::kConnecting;
  uint64_t gen = ++gen_;
  ArmTimer(milliseconds(kPeerConnectTimeoutMs));
  if (address_.kind == net::Address::Kind::kUnix) {
    if (address_.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Fail("unix socket path too long");
    }
    return Connect(gen, Endpoint(asio::local::stream_protocol::endpoint(address_.path)));
  }
  resolver_.async_resolve(
      address_.host, std::to_string(address_.port),
      [self = shared_from_this(), gen](const asio::error_code& ec,
                                       asio::ip::tcp::resolver::results_type results) {
        if (!self->Current(gen)) return;
        if (ec || results.empty()) return self->Fail("cannot resolve: " + ec.message());
        self->Connect(gen, Endpoint(results.begin()->endpoint()));
      });
}

void PeerTransport::Link::Connect(uint64_t gen, const Endpoint& endpoint) {
  FB_ASSERT(Current(gen));
  FB_ASSERT(state_ == State::kConnecting);
  asio::error_code ec;
  socket_.open(endpoint.protocol(), ec);
  if (ec) return Fail("socket: " + ec.message());
  socket_.async_connect(endpoint, [self = shared_from_this(), gen](const asio::error_code& ec) {
    if (!self->Current(gen)) return;
    if (ec) return self->Fail("connect: " + ec.message());
    self->Up();
  });
}

// Connected: the hello goes first, then whatever Send queues from now on.
void PeerTransport::Link::Up() {
  FB_ASSERT(state_ == State::kConnecting);
  FB_ASSERT(queued_.empty() && batch_.empty() && !writing_);
  if (address_.kind == net::Address::Kind::kTcp) TuneTcp(socket_);
  state_ = State::kUp;
  if (ever_up_) ++counters_.reconnects;
  ever_up_ = true;
  failure_logged_ = false;
  up_since_ = last_progress_ = Clock::now();
  Log(LogLevel::kInfo, "repl: link to node {} at {} is up", peer_, address_.ToString());
  ArmTimer(milliseconds(kPeerWriteStallMs));
  WatchForClose();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(hello_),
                    [self = shared_from_this(), gen = gen_](const asio::error_code& ec, size_t) {
                      if (!self->Current(gen)) return;
                      self->writing_ = false;
                      if (ec) return self->Fail("hello: " + ec.message());
                      self->WriteMore();
                    });
}

void PeerTransport::Link::WatchForClose() {
  socket_.async_read_some(asio::buffer(sink_), [self = shared_from_this(), gen = gen_](
                                                   const asio::error_code& ec, size_t) {
    if (!self->Current(gen)) return;
    self->Fail(ec ? "peer closed the connection: " + ec.message()
                  : std::string("peer sent bytes on a send-only connection"));
  });
}

void PeerTransport::Link::Send(const repl::Message& message) {
  if (state_ != State::kUp || blocked_out_) {
    ++counters_.dropped_frames;
    return;
  }
  std::vector<uint8_t> frame = repl::Encode(message);
  FB_ASSERT(frame.size() >= repl::kHeaderBytes);
  FB_ASSERT(frame.size() <= kPeerFrameBytesMax);
  if (queued_bytes_ + frame.size() > kPeerSendQueueBytesMax) {
    ++counters_.dropped_frames;
    return;
  }
  queued_bytes_ += frame.size();
  queued_.push_back(std::move(frame));
  ScheduleWrite();
}

// Frames queued while the handlers ready in this loop turn run (a burst of client writes,
// or of replica acks for one batch of disk completions) leave in one gather write: writing
// the first at once would cost a system call, and a wake-up of the peer, for it alone.
void PeerTransport::Link::ScheduleWrite() {
  if (writing_) return;  // the write in progress sends the rest when it completes
  write_turn_.Post(socket_.get_executor(), [self = shared_from_this(), gen = gen_] {
    if (self->Current(gen)) self->WriteMore();
  });
}

// One gather write of up to kPeerFramesPerWriteMax frames; the next starts when it completes.
void PeerTransport::Link::WriteMore() {
  if (writing_ || state_ != State::kUp) return;
  if (batch_index_ == batch_.size()) {
    if (queued_.empty()) return;
    batch_.clear();
    batch_.swap(queued_);
    batch_index_ = 0;
    batch_offset_ = 0;
  }
  FB_ASSERT(batch_offset_ < batch_[batch_index_].size());
  iov_.clear();
  size_t offset = batch_offset_;
  for (size_t i = batch_index_; i < batch_.size() && iov_.size() < kPeerFramesPerWriteMax; ++i) {
    iov_.push_back(asio::buffer(batch_[i].data() + offset, batch_[i].size() - offset));
    offset = 0;
  }
  writing_ = true;
  last_progress_ = Clock::now();
  socket_.async_write_some(
      iov_, [self = shared_from_this(), gen = gen_](const asio::error_code& ec, size_t bytes) {
        if (!self->Current(gen)) return;
        self->writing_ = false;
        if (ec) return self->Fail("send: " + ec.message());
        self->Wrote(bytes);
        self->WriteMore();
      });
}

void PeerTransport::Link::Wrote(size_t bytes) {
  FB_ASSERT(bytes > 0);
  FB_ASSERT(bytes <= queued_bytes_);
  last_progress_ = Clock::now();
  while (bytes > 0) {
    FB_ASSERT(batch_index_ < batch_.size());
    std::vector<uint8_t>& frame = batch_[batch_index_];
    size_t left = frame.size() - batch_offset_;
    if (bytes < left) {
      batch_offset_ += bytes;
      queued_bytes_ -= bytes;
      return;
    }
    bytes -= left;
    queued_bytes_ -= left;
    std::vector<uint8_t>().swap(frame);  // a 4 MiB payload is released as soon as it left
    ++counters_.sent_frames;
    ++batch_index_;
    batch_offset_ = 0;
  }
}

// The connection attempt or the connection failed: drop what was queued, redial after backoff.
void PeerTransport::Link::Fail(const std::string& why) {
  FB_ASSERT(owner_ != nullptr);
  FB_ASSERT(state_ == State::kConnecting || state_ == State::kUp);
  if (state_ == State::kUp) {
    Log(LogLevel::kWarn, "repl: link to node {} lost: {}", peer_, why);
    // A link that was up for a while earns a quick first redial; a flapping one keeps backing off.
    if (Clock::now() - up_since_ >= milliseconds(kPeerBackoffMsMax)) {
      backoff_ms_ = kPeerBackoffMsMin;
    }
  } else if (!failure_logged_) {
    failure_logged_ = true;
    Log(LogLevel::kInfo, "repl: cannot reach node {} at {}: {} (retrying)", peer_,
        address_.ToString(), why);
  }
  DropQueued();
  CloseSocket(socket_);
  resolver_.cancel();
  ++gen_;
  state_ = State::kBackoff;
  ArmTimer(milliseconds(backoff_ms_));
  backoff_ms_ = std::min(2 * backoff_ms_, kPeerBackoffMsMax);
}

void PeerTransport::Link::DropQueued() {
  FB_ASSERT(batch_index_ <= batch_.size());
  counters_.dropped_frames += (batch_.size() - batch_index_) + queued_.size();
  batch_.clear();
  queued_.clear();
  batch_index_ = 0;
  batch_offset_ = 0;
  queued_bytes_ = 0;
  writing_ = false;
}

void PeerTransport::Link::ArmTimer(Clock::duration after) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), gen = gen_](const asio::error_code& ec) {
    if (ec || !self->Current(gen)) return;
    self->OnTimer();
  });
}

void PeerTransport::Link::OnTimer() {
  switch (state_) {
    case State::kConnecting:
      return Fail("connect timed out");
    case State::kBackoff:
      return Dial();
    case State::kUp: {
      Clock::time_point now = Clock::now();
      Clock::time_point deadline = last_progress_ + milliseconds(kPeerWriteStallMs);
      if (writing_ && now >= deadline) return Fail("send stalled: the peer reads nothing");
      return ArmTimer(writing_ ? deadline - now : milliseconds(kPeerWriteStallMs));
    }
    case State::kIdle:
    case State::kClosed:
      break;
  }
  FB_UNREACHABLE();  // no timer runs before Dial or after Shutdown
}

void PeerTransport::Link::Shutdown() {
  FB_ASSERT(owner_ != nullptr);
  owner_ = nullptr;
  DropQueued();
  state_ = State::kClosed;
  ++gen_;
  CloseSocket(socket_);
  resolver_.cancel();
  timer_.cancel();
}

PeerTransport::PeerStats PeerTransport::Link::Stats() const {
  PeerStats stats = counters_;
  stats.connected = state_ == State::kUp;
  stats.queued_bytes = queued_bytes_;
  return stats;
}

// ---- Inbound: one accepted connection ---------------------------------------------------

class PeerTransport::Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(PeerTransport& owner, net::Socket socket)
      : owner_(&owner),
        socket_(std::move(socket)),
        hello_timer_(owner.io_),
        buffer_(kPeerReadBufferBytes) {}

  void Start();
  void Close(const std::string& why);
  void Shutdown();

 private:
  void Read();
  void Pump();
  bool TakeHello(std::span<const uint8_t> bytes);
  void ReadLarge(size_t frame_bytes);
  bool Deliver(std::span<const uint8_t> frame);

  PeerTransport* owner_;  // null once closed
  net::Socket socket_;
  asio::steady_timer hello_timer_;
  repl::NodeId peer_ = repl::kNoNode;  // known once the hello arrived
  bool closed_ = false;
  // Unconsumed input is [begin_, end_). Frames over kPeerDirectReadThresholdBytes that are not
  // already buffered whole are read into large_ (allocated at the first one, kept after).
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  std::unique_ptr<uint8_t[]> large_;
};

void PeerTransport::Inbound::Start() {
  hello_timer_.expires_after(milliseconds(kPeerHelloTimeoutMs));
  hello_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->closed_ || self->peer_ != repl::kNoNode) return;
    self->Close("no hello within " + std::to_string(kPeerHelloTimeoutMs) + " ms");
  });
  Read();
}

void PeerTransport::Inbound::Close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  if (peer_ != repl::kNoNode) {
    Log(LogLevel::kInfo, "repl: connection from node {} closed: {}", peer_, why);
  } else {
    Log(LogLevel::kWarn, "repl: refused a peer connection: {}", why);
  }
  CloseSocket(socket_);
  hello_timer_.cancel();
  if (owner_ != nullptr) owner_->Forget(this);
  owner_ = nullptr;
}

void PeerTransport::Inbound::Shutdown() {
  owner_ = nullptr;  // the transport is closing: no Forget
  if (closed_) return;
  closed_ = true;
  CloseSocket(socket_);
  hello_timer_.cancel();
}

void PeerTransport::Inbound::Read() {
  FB_ASSERT(!closed_);
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (buffer_.size() - end_ < kPeerDirectReadThresholdBytes) {
    // What is left is part of a hello, a header or a small frame: room for all of it at the front.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  FB_ASSERT(buffer_.size() - end_ >= kPeerDirectReadThresholdBytes);
  socket_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->Close(ec.message());
                            self->end_ += n;
                            self->Pump();
                          });
}

// Consumes every whole hello and frame in the buffer, then reads more.
void PeerTransport::Inbound::Pump() {
  while (!closed_) {
    std::span<const uint8_t> input(buffer_.data() + begin_, end_ - begin_);
    if (peer_ == repl::kNoNode) {
      if (input.size() < kPeerHelloBytes) break;
      begin_ += kPeerHelloBytes;
      if (!TakeHello(input.first(kPeerHelloBytes))) return;
      continue;
    }
    if (input.size() < repl::kHeaderBytes) break;
    Result<size_t> frame_bytes = repl::FrameBytes(input);
    if (!frame_bytes.ok()) return Close("bad frame: " + frame_bytes.status().ToString());
    FB_ASSERT(*frame_bytes >= repl::kHeaderBytes && *frame_bytes <= kPeerFrameBytesMax);
    if (input.size() < *frame_bytes) {
      if (*frame_bytes > kPeerDirectReadThresholdBytes) return ReadLarge(*frame_bytes);
      break;
    }
    begin_ += *frame_bytes;  // before delivery: the callback may close us
    if (!Deliver(input.first(*frame_bytes))) return;
  }
  if (!closed_) Read();
}

bool PeerTransport::Inbound::TakeHello(std::span<const uint8_t> bytes) {
  FB_ASSERT(owner_ != nullptr);
  FB_ASSERT(peer_ == repl::kNoNode);
  Result<repl::NodeId> peer = DecodePeerHello(bytes);
  if (!peer.ok()) {
    Close(peer.status().ToString());
    return false;
  }
  if (*peer == owner_->self_) {
    Close("hello claims our own node id " + std::to_string(*peer));
    return false;
  }
  if (!owner_->links_.contains(*peer)) {
    Close("hello from unknown node " + std::to_string(*peer));
    return false;
  }
  peer_ = *peer;
  hello_timer_.cancel();
  owner_->Adopt(shared_from_this(), peer_);
  return true;
}

// The rest of a large frame goes straight into its own buffer; only the buffered prefix moves.
void PeerTransport::Inbound::ReadLarge(size_t frame_bytes) {
  FB_ASSERT(frame_bytes > kPeerDirectReadThresholdBytes && frame_bytes <= kPeerFrameBytesMax);
  FB_ASSERT(end_ - begin_ < frame_bytes);
  if (!large_) large_ = std::make_unique_for_overwrite<uint8_t[]>(kPeerFrameBytesMax);
  size_t have = end_ - begin_;
  std::memcpy(large_.get(), buffer_.data() + begin_, have);
  begin_ = end_ = 0;
  asio::async_read(socket_, asio::buffer(large_.get() + have, frame_bytes - have),
                   net::WholeTransfers(),
                   [self = shared_from_this(), frame_bytes](const asio::error_code& ec, size_t) {
                     if (self->closed_) return;
                     if (ec) return self->Close(ec.message());
                     if (!self->Deliver({self->large_.get(), frame_bytes})) return;
                     self->Pump();
                   });
}

// False when the connection closed (a bad frame, or the callback closed the transport).
bool PeerTransport::Inbound::Deliver(std::span<const uint8_t> frame) {
  FB_ASSERT(owner_ != nullptr);
  FB_ASSERT(peer_ != repl::kNoNode);
  Result<repl::Message> message = repl::Decode(frame);
  if (!message.ok()) {
    Close("undecodable frame: " + message.status().ToString());
    return false;
  }
  Link& link = owner_->LinkTo(peer_);
  if (link.blocked_in_) {
    ++link.counters_.dropped_frames;
    return true;
  }
  ++link.counters_.received_frames;
  owner_->on_message_(peer_, std::move(message).value());
  return !closed_;
}

// ---- PeerTransport ------------------------------------------------------------------------

PeerTransport::PeerTransport(asio::io_context& io, repl::NodeId self,
                             std::map<repl::NodeId, net::Address> peers, OnMessage on_message)
    : io_(io), self_(self), on_message_(std::move(on_message)) {
  FB_ASSERT(self_ != repl::kNoNode);
  FB_ASSERT(on_message_ != nullptr);
  for (auto& [id, address] : peers) {
    FB_ASSERT(id != self_);
    FB_ASSERT(id != repl::kNoNode);
    links_.emplace(id, std::make_shared<Link>(*this, id, std::move(address)));
  }
}

PeerTransport::~PeerTransport() { Close(); }

Status PeerTransport::Listen(const net::Address& own_address) {
  FB_ASSERT(!closed_);
  FB_ASSERT(listener_ == nullptr);
  auto listener = net::Listener::Open(io_, own_address,
                                      [this](net::Socket socket) { Accept(std::move(socket)); });
  if (!listener.ok()) return listener.status();
  listener_ = std::move(listener).value();
  listener_->Start();
  return Status::Ok();
}

const net::Address& PeerTransport::ListenAddress() const {
  FB_ASSERT(listener_ != nullptr);
  return listener_->address();
}

void PeerTransport::Start() {
  FB_ASSERT(!closed_);
  FB_ASSERT(!started_);
  started_ = true;
  for (auto& [id, link] : links_) link->Dial();
}

void PeerTransport::Send(repl::NodeId to, const repl::Message& message) {
  LinkTo(to).Send(message);
}

void PeerTransport::Close() {
  if (closed_) return;
  closed_ = true;
  if (listener_ != nullptr) listener_->Close();
  for (auto& [id, link] : links_) link->Shutdown();
  std::vector<std::shared_ptr<Inbound>> inbound = std::move(inbound_);
  inbound_.clear();
  for (auto& connection : inbound) connection->Shutdown();
}

void PeerTransport::SetBlocked(repl::NodeId peer, bool outbound, bool inbound) {
  Link& link = LinkTo(peer);
  link.blocked_out_ = outbound;
  link.blocked_in_ = inbound;
}

PeerTransport::PeerStats PeerTransport::Stats(repl::NodeId peer) const {
  return LinkTo(peer).Stats();
}

void PeerTransport::Accept(net::Socket socket) {
  if (closed_) return;
  if (inbound_.size() >= kPeerInboundMax) {
    Log(LogLevel::kWarn, "repl: refusing a peer connection: {} already open", kPeerInboundMax);
    CloseSocket(socket);
    return;
  }
  auto connection = std::make_shared<Inbound>(*this, std::move(socket));
  inbound_.push_back(connection);
  connection->Start();
  FB_ASSERT(inbound_.size() <= kPeerInboundMax);
}

// A peer receives on its newest connection only: an older one from the same peer is a dead or
// half-open predecessor, and reading both could reorder that peer's messages.
void PeerTransport::Adopt(const std::shared_ptr<Inbound>& inbound, repl::NodeId peer) {
  Link& link = LinkTo(peer);
  std::shared_ptr<Inbound> previous = link.receiving_.lock();
  link.receiving_ = inbound;
  if (previous != nullptr && previous != inbound) previous->Close("replaced by a new connection");
  Log(LogLevel::kInfo, "repl: node {} connected to us", peer);
}

void PeerTransport::Forget(const Inbound* inbound) {
  auto it = std::find_if(inbound_.begin(), inbound_.end(),
                         [inbound](const auto& held) { return held.get() == inbound; });
  FB_ASSERT(it != inbound_.end());
  inbound_.erase(it);
}

PeerTransport::Link& PeerTransport::LinkTo(repl::NodeId peer) const {
  auto it = links_.find(peer);
  FB_ASSERT(it != links_.end());  // sending to or asking about a node not configured is a bug
  return *it->second;
}

}  // namespace fb::server
