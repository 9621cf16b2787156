// CoordStream: frame reads (header, then exactly the announced rest) and queued writes.
#include "server/coord_stream.h"

#include "base/assert.h"

namespace fb::server {

CoordStream::CoordStream(net::Socket socket, size_t send_queue_bytes_max)
    : socket_(std::move(socket)), send_queue_bytes_max_(send_queue_bytes_max) {
  FB_ASSERT(send_queue_bytes_max_ >= coord::kFrameBytesMax);
}

CoordStream::~CoordStream() { Close(); }

void CoordStream::Start(FrameFn on_frame, ClosedFn on_closed) {
  FB_ASSERT(on_frame && on_closed);
  FB_ASSERT(!on_frame_);  // started once
  on_frame_ = std::move(on_frame);
  on_closed_ = std::move(on_closed);
  ReadHeader();
}

void CoordStream::ReadHeader() {
  if (closed_) return;
  input_.resize(coord::kFrameHeaderBytes);
  asio::async_read(
      socket_, asio::buffer(input_),
      [self = shared_from_this()](const asio::error_code& ec, size_t) {
        if (self->closed_) return;
        if (ec) return self->Fail(Status::Unavailable("coordinator connection", ec.message()));
        Result<size_t> total = coord::FrameBytes(self->input_);
        if (!total.ok()) return self->Fail(total.status());
        self->ReadBody(*total);
      });
}

void CoordStream::ReadBody(size_t total_bytes) {
  FB_ASSERT(total_bytes > coord::kFrameHeaderBytes);
  FB_ASSERT(total_bytes <= coord::kFrameBytesMax);
  input_.resize(total_bytes);
  auto rest = asio::buffer(input_.data() + coord::kFrameHeaderBytes,
                           total_bytes - coord::kFrameHeaderBytes);
  asio::async_read(socket_, rest, [self = shared_from_this()](const asio::error_code& ec, size_t) {
    if (self->closed_) return;
    if (ec) return self->Fail(Status::Unavailable("coordinator connection", ec.message()));
    Result<coord::Frame> frame = coord::DecodeFrame(self->input_);
    if (!frame.ok()) return self->Fail(frame.status());
    self->on_frame_(std::move(frame).value());  // may Close()
    self->ReadHeader();
  });
}

bool CoordStream::Send(const coord::Frame& frame) {
  if (closed_) return false;
  std::vector<uint8_t> bytes = coord::EncodeFrame(frame);
  if (queued_bytes_ + bytes.size() > send_queue_bytes_max_) return false;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  FB_ASSERT(queued_bytes_ <= send_queue_bytes_max_);
  if (!writing_) WriteNext();
  return true;
}

void CoordStream::WriteNext() {
  FB_ASSERT(!writing_);
  if (closed_ || queue_.empty()) return;
  writing_ = true;
  asio::async_write(
      socket_, asio::buffer(queue_.front()),
      [self = shared_from_this()](const asio::error_code& ec, size_t) {
        if (self->closed_) return;
        self->writing_ = false;
        if (ec) return self->Fail(Status::Unavailable("coordinator connection", ec.message()));
        FB_ASSERT(self->queued_bytes_ >= self->queue_.front().size());
        self->queued_bytes_ -= self->queue_.front().size();
        self->queue_.pop_front();
        self->WriteNext();
      });
}

void CoordStream::Fail(const Status& why) {
  FB_ASSERT(!why.ok());
  if (closed_) return;
  Close();
  on_closed_(why);
}

void CoordStream::Close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  // queue_ is kept: a cancelled write may still name its front until its handler runs.
}

}  // namespace fb::server
