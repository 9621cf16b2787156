// UpstreamLink: dial, handshake, batched writes, streamed reply decoding.
#include "server/upstream_link.h"

#include <cstring>

#include "base/assert.h"
#include "net/whole_transfers.h"
#include "proto/nbd/wire.h"
#include "server/limits.h"
#include "server/log.h"

namespace fb::server {
namespace {

// Holds one whole option reply or non-data reply chunk plus its header, as the codecs need.
static_assert(kReadBufferBytes >= nbd::kChunkHeaderBytes + nbd::kMaxReplyChunkBytes);
static_assert(kReadBufferBytes >= nbd::kOptionReplyHeaderBytes + nbd::kMaxClientOptionReplyBytes);

}  // namespace

UpstreamLink::UpstreamLink(asio::io_context& io, attach::ConnId id, net::Address address,
                           std::string export_name, Owner* owner)
    : io_(io),
      id_(id),
      address_(std::move(address)),
      owner_(owner),
      socket_(io),
      in_(kReadBufferBytes) {
  FB_ASSERT(owner_ != nullptr);
  FB_ASSERT(id_ != 0);
  nbd::ClientOptions options;
  options.export_name = std::move(export_name);
  handshake_.emplace(std::move(options));
}

UpstreamLink::~UpstreamLink() = default;

void UpstreamLink::Start() {
  dial_ = std::make_shared<net::Dial>(io_);
  net::StartDial(dial_, address_,
                 [self = shared_from_this()](const asio::error_code& ec) { self->OnDialed(ec); });
}

void UpstreamLink::OnDialed(const asio::error_code& ec) {
  if (closed_) return;
  if (ec) return Fail("connect to " + address_.ToString() + ": " + ec.message());
  socket_ = std::move(dial_->socket);
  dial_.reset();
  ReadMore();
}

void UpstreamLink::Close() {
  if (closed_) return;
  closed_ = true;
  if (dial_) dial_->Cancel();
  asio::error_code ignored;
  if (socket_.is_open()) {
    // Abortive: the node sees a reset at once instead of a half-closed connection.
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }
}

void UpstreamLink::Fail(const std::string& why, const std::string& server_message) {
  if (closed_) return;
  Close();
  owner_->OnLinkClosed(id_, why, server_message);
}

// ---- Input ---------------------------------------------------------------------------------

void UpstreamLink::Compact() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && end_ == in_.size()) {
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // A full buffer of undecodable bytes cannot happen: every whole reply fits (static_asserts).
  FB_ASSERT(end_ < in_.size());
}

void UpstreamLink::ReadMore() {
  if (closed_) return;
  Compact();
  socket_.async_read_some(asio::buffer(in_.data() + end_, in_.size() - end_),
                          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                            if (self->closed_) return;
                            if (ec == asio::error::eof)
                              return self->Fail("the node closed the connection");
                            if (ec) return self->Fail("read: " + ec.message());
                            self->OnRead(n);
                          });
}

void UpstreamLink::OnRead(size_t n) {
  end_ += n;
  FB_ASSERT(end_ <= in_.size());
  if (!up_) {
    FeedHandshake();
  } else {
    owner_->OnLinkProgress(id_);
    if (!closed_) DecodeReplies();
  }
  ReadMore();
}

void UpstreamLink::FeedHandshake() {
  std::vector<uint8_t> out;
  const nbd::ClientHandshakeStep step = handshake_->Feed({in_.data() + begin_, end_ - begin_}, out);
  begin_ += step.consumed;
  if (!out.empty()) {
    // Handshake bytes are few and strictly alternate with the node's: queue them as a write.
    pending_.insert(pending_.end(), out.begin(), out.end());
    ScheduleFlush();
  }
  switch (step.state) {
    case nbd::ClientHandshakeStep::State::kNeedMore:
      return;
    case nbd::ClientHandshakeStep::State::kFailed:
      return Fail(step.error.ToString(), step.server_message);
    case nbd::ClientHandshakeStep::State::kDone:
      break;
  }
  up_ = true;
  decoder_.emplace(step.negotiated.structured_replies);
  handshake_.reset();
  owner_->OnLinkUp(id_, step.negotiated);
  // Bytes after the GO reply would be replies to requests we have not sent: none yet.
  if (!closed_ && begin_ != end_) DecodeReplies();
}

// One event at a time; the owner may close us (or be told we broke) at any event.
void UpstreamLink::DecodeReplies() {
  while (!closed_) {
    const nbd::ReplyStep step = decoder_->Next({in_.data() + begin_, end_ - begin_}, *owner_);
    FB_ASSERT(step.consumed <= end_ - begin_);
    if (!step.status.ok()) {
      const Status why = step.status;
      Close();
      owner_->OnLinkBroken(id_, why);
      return;
    }
    if (step.event) owner_->OnLinkEvent(id_, *step.event);
    begin_ += step.consumed;
    if (!step.event && step.consumed == 0) break;
  }
}

// ---- Output --------------------------------------------------------------------------------

void UpstreamLink::Queue(const nbd::Request& request, std::span<const uint8_t> payload) {
  FB_ASSERT(up_);
  FB_ASSERT(payload.size() == nbd::PayloadLength(request));
  if (closed_) return;
  const size_t at = pending_.size();
  pending_.resize(at + nbd::kRequestHeaderBytes + payload.size());
  nbd::EncodeRequest(
      std::span<uint8_t, nbd::kRequestHeaderBytes>(pending_.data() + at, nbd::kRequestHeaderBytes),
      request);
  if (!payload.empty()) {
    std::memcpy(pending_.data() + at + nbd::kRequestHeaderBytes, payload.data(), payload.size());
  }
  ScheduleFlush();
}

// Everything queued in this turn of the loop leaves in one write.
void UpstreamLink::ScheduleFlush() {
  if (write_active_) return;  // the write in progress flushes the rest when it completes
  flush_turn_.Post(io_.get_executor(), [self = shared_from_this()] { self->Flush(); });
}

void UpstreamLink::Flush() {
  if (closed_ || write_active_ || pending_.empty() || !socket_.is_open()) return;
  std::swap(pending_, writing_);
  pending_.clear();
  write_active_ = true;
  asio::async_write(socket_, asio::buffer(writing_), net::WholeTransfers(),
                    [self = shared_from_this()](const asio::error_code& ec, size_t) {
                      self->write_active_ = false;
                      if (self->closed_) return;
                      if (ec) return self->Fail("write: " + ec.message());
                      // Keep a modest buffer for the next batch; give big ones back.
                      if (self->writing_.capacity() > (4u << 20)) {
                        std::vector<uint8_t>().swap(self->writing_);
                      }
                      self->writing_.clear();
                      self->Flush();
                    });
}

}  // namespace fb::server
