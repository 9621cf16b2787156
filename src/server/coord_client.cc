// CoordClient: connect, Hello, forward replies, reconnect with backoff; and the one-shot
// status query the CLI uses.
#include "server/coord_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <string>

#include "base/assert.h"
#include "net/dial.h"
#include "server/coord_limits.h"
#include "server/log.h"

namespace fb::server {

namespace {

constexpr int64_t kNsPerMs = 1'000'000;

env::Instant Now() { return env::SystemClock().Now(); }

}  // namespace

CoordClient::CoordClient(asio::io_context& io, net::Address coordinator, coord::NodeId self,
                         ReplyFn on_reply)
    : io_(io),
      coordinator_(std::move(coordinator)),
      self_(self),
      on_reply_(std::move(on_reply)),
      timer_(io),
      backoff_ms_(kCoordReconnectMinMs) {
  FB_ASSERT(self_ < coord::kMaxNodes);
  FB_ASSERT(on_reply_ != nullptr);
}

CoordClient::~CoordClient() { Stop(); }

void CoordClient::Start() {
  FB_ASSERT(state_ == State::kIdle);
  Connect();
}

void CoordClient::Stop() {
  *stopped_ = true;
  state_ = State::kStopped;
  timer_.cancel();
  if (dial_) dial_->Cancel();
  dial_.reset();
  if (stream_) stream_->Close();
  stream_.reset();
}

void CoordClient::Connect() {
  FB_ASSERT(state_ == State::kIdle || state_ == State::kWaiting);
  FB_ASSERT(stream_ == nullptr);
  state_ = State::kConnecting;
  const uint64_t attempt = ++attempt_;
  dial_ = std::make_shared<net::Dial>(io_);
  net::StartDial(dial_, coordinator_,
                 [this, stopped = stopped_, attempt](const asio::error_code& ec) {
                   if (*stopped || attempt != attempt_ || state_ != State::kConnecting) return;
                   if (ec) return RetryLater("connect: " + ec.message());
                   OnConnected(std::move(dial_->socket));
                 });
  timer_.expires_after(std::chrono::milliseconds(kCoordConnectTimeoutMs));
  timer_.async_wait([this, stopped = stopped_, attempt](const asio::error_code& ec) {
    if (ec || *stopped || attempt != attempt_ || state_ != State::kConnecting) return;
    RetryLater("connect timed out");
  });
}

void CoordClient::OnConnected(net::Socket socket) {
  FB_ASSERT(state_ == State::kConnecting);
  dial_.reset();
  timer_.cancel();
  state_ = State::kConnected;
  ++connects_;
  const uint64_t attempt = attempt_;
  stream_ = std::make_shared<CoordStream>(std::move(socket), kCoordSendQueueBytesMax);
  stream_->Start(
      [this, stopped = stopped_, attempt](coord::Frame frame) {
        if (*stopped || attempt != attempt_) return;
        OnFrame(std::move(frame));
      },
      [this, stopped = stopped_, attempt](const Status& why) {
        if (*stopped || attempt != attempt_) return;
        stream_.reset();
        RetryLater(why.ToString());
      });
  const bool sent = stream_->Send(coord::Hello{self_, false});
  FB_ASSERT(sent);  // the first frame always fits
  awaiting_reply_ = false;
  Log(LogLevel::kDebug, "coordinator {}: connected as node {}", coordinator_.ToString(), self_);
  ArmWatchdog();
}

void CoordClient::OnFrame(coord::Frame frame) {
  FB_ASSERT(state_ == State::kConnected);
  std::optional<coord::Reply> reply = coord::AsReply(frame);
  if (!reply) {
    return Disconnect(std::string("unexpected ") +
                      std::string(coord::FrameTypeName(coord::TypeOf(frame))));
  }
  backoff_ms_ = kCoordReconnectMinMs;  // the witness answers: this connection works
  awaiting_reply_ = false;
  on_reply_(std::move(*reply));  // may Stop()
}

void CoordClient::Send(const coord::Request& request) {
  if (state_ != State::kConnected) {
    ++dropped_requests_;
    return;
  }
  FB_ASSERT(stream_ != nullptr);
  if (!stream_->Send(coord::ToFrame(request))) {
    ++dropped_requests_;  // the witness is not reading; the watchdog ends this connection
    return;
  }
  if (!awaiting_reply_) {
    awaiting_reply_ = true;
    awaiting_since_ = Now();
  }
}

void CoordClient::Disconnect(std::string_view why) {
  FB_ASSERT(state_ == State::kConnected);
  stream_->Close();
  stream_.reset();
  RetryLater(why);
}

void CoordClient::RetryLater(std::string_view why) {
  FB_ASSERT(state_ == State::kConnecting || state_ == State::kConnected);
  if (state_ == State::kConnected) {
    Log(LogLevel::kWarn, "coordinator {}: connection lost: {}", coordinator_.ToString(), why);
  } else {
    Log(LogLevel::kDebug, "coordinator {}: {}", coordinator_.ToString(), why);
  }
  if (dial_) dial_->Cancel();
  dial_.reset();
  FB_ASSERT(stream_ == nullptr || !stream_->open());
  stream_.reset();
  state_ = State::kWaiting;
  const uint64_t attempt = ++attempt_;
  timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
  backoff_ms_ = std::min(2 * backoff_ms_, kCoordReconnectMaxMs);
  timer_.async_wait([this, stopped = stopped_, attempt](const asio::error_code& ec) {
    if (ec || *stopped || attempt != attempt_ || state_ != State::kWaiting) return;
    Connect();
  });
}

// While connected the timer checks that requests get answers: a witness that is gone
// without a FIN (host down, cable pulled) would otherwise hold the node forever.
void CoordClient::ArmWatchdog() {
  FB_ASSERT(state_ == State::kConnected);
  const uint64_t attempt = attempt_;
  timer_.expires_after(std::chrono::milliseconds(kCoordReplyTimeoutMs / 4));
  timer_.async_wait([this, stopped = stopped_, attempt](const asio::error_code& ec) {
    if (ec || *stopped || attempt != attempt_ || state_ != State::kConnected) return;
    const int64_t waited_ms = (Now().ns - awaiting_since_.ns) / kNsPerMs;
    if (awaiting_reply_ && waited_ms > kCoordReplyTimeoutMs) {
      return Disconnect("no reply for " + std::to_string(waited_ms) + " ms");
    }
    ArmWatchdog();
  });
}

Result<coord::StatusReply> QueryCoordinatorStatus(const net::Address& coordinator, int timeout_ms) {
  FB_ASSERT(timeout_ms > 0);
  constexpr uint64_t kRequestId = 1;
  asio::io_context io;
  Result<coord::StatusReply> result =
      Status::Unavailable("coordinator " + coordinator.ToString(),
                          "no answer within " + std::to_string(timeout_ms) + " ms");
  std::shared_ptr<CoordStream> stream;
  auto finish = [&](Result<coord::StatusReply> outcome) {
    result = std::move(outcome);
    if (stream) stream->Close();
    io.stop();
  };
  auto on_frame = [&](coord::Frame frame) {
    auto* reply = std::get_if<coord::StatusReply>(&frame);
    if (reply == nullptr || reply->request_id != kRequestId) {
      return finish(Status::InvalidArgument("coordinator sent an unexpected frame"));
    }
    finish(std::move(*reply));
  };
  auto dial = std::make_shared<net::Dial>(io);
  net::StartDial(dial, coordinator, [&](const asio::error_code& ec) {
    if (ec) {
      return finish(Status::Unavailable("coordinator " + coordinator.ToString(), ec.message()));
    }
    stream = std::make_shared<CoordStream>(std::move(dial->socket), kCoordSendQueueBytesMax);
    stream->Start(on_frame, [&](const Status& why) { finish(why); });
    const bool sent = stream->Send(coord::Hello{coord::kNoNode, true}) &&
                      stream->Send(coord::StatusRequest{kRequestId});
    FB_ASSERT(sent);
  });
  io.run_for(std::chrono::milliseconds(timeout_ms));
  // Whatever is still pending is cancelled; its handlers are destroyed with `io`.
  dial->Cancel();
  if (stream) stream->Close();
  return result;
}

}  // namespace fb::server
