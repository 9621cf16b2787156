// CoordStream: one socket carrying coordinator frames (coord/wire.h) both ways, shared by the
// witness (coord_service) and its clients (coord_client). Reads whole frames, decodes them as
// hostile input and hands them up; writes from a bounded queue, one write at a time.
// Threading: every method and callback runs on the socket's io_context thread. Lifetime:
// owned by shared_ptr (pending handlers hold one); once closed, no callback ever runs again,
// so the owner may be gone by the time a cancelled handler finally completes.
#pragma once

#include <asio.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "base/status.h"
#include "coord/wire.h"
#include "net/listener.h"

namespace fb::server {

class CoordStream : public std::enable_shared_from_this<CoordStream> {
 public:
  using FrameFn = std::function<void(coord::Frame frame)>;
  // Why the stream closed by itself: the peer went away, a read or write failed, or a frame
  // was malformed. Not called for Close().
  using ClosedFn = std::function<void(const Status& why)>;

  CoordStream(net::Socket socket, size_t send_queue_bytes_max);
  ~CoordStream();

  // Starts reading; callbacks run until the stream closes.
  void Start(FrameFn on_frame, ClosedFn on_closed);
  // Queues one frame. false (nothing queued) if it would exceed the queue limit or the
  // stream is closed; the caller decides whether that ends the connection.
  bool Send(const coord::Frame& frame);
  // Closes the socket; no callback runs afterwards. Idempotent.
  void Close();
  bool open() const { return !closed_; }
  size_t queued_bytes() const { return queued_bytes_; }

 private:
  void ReadHeader();
  void ReadBody(size_t total_bytes);
  void WriteNext();
  void Fail(const Status& why);

  net::Socket socket_;
  const size_t send_queue_bytes_max_;
  FrameFn on_frame_;
  ClosedFn on_closed_;
  std::vector<uint8_t> input_;              // the frame being read: header, then the rest
  std::deque<std::vector<uint8_t>> queue_;  // front is being written while writing_
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace fb::server
