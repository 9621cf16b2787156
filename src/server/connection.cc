// Connection: the per-client pump. Reading stops whenever a limit is reached (requests or
// bytes in flight, memory budget) and resumes as replies leave, so a client can never make
// us buffer more than the limits in server/limits.h.
#include "server/connection.h"

#include <cstring>

#include "base/assert.h"
#include "net/send_file.h"
#include "net/whole_transfers.h"
#include "proto/nbd/errno_map.h"
#include "proto/nbd/wire.h"
#include "server/dispatch.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/repl_node.h"
#include "server/server.h"

namespace fb::server {

Connection::Connection(ConnectionContext context, net::Socket socket)
    : ctx_(context),
      socket_(std::move(socket)),
      retry_timer_(socket_.get_executor()),
      in_(kReadBufferBytes) {
  ctx_.live_connections.fetch_add(1, std::memory_order_relaxed);
}

Connection::~Connection() {
  // At shutdown a stopped loop destroys pending handlers, so a connection may die with a
  // socket write still outstanding; nothing else can run on it by then.
  ctx_.live_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.loop.CountRequests(-int64_t(inflight_));  // ops that died with us
}

void Connection::Start() {
  handshake_.emplace(ctx_.catalog);
  nbd::Handshake::Greeting(handshake_out_);
  WriteHandshakeOutput();
  ReadHandshake();
}

void Connection::Close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  if (!why.empty()) Log(LogLevel::kDebug, "connection closed: {}", why);
  asio::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  socket_.close(ec);
  retry_timer_.cancel();
}

// ---- Handshake -------------------------------------------------------------------------

void Connection::WriteHandshakeOutput() {
  if (handshake_writing_ || handshake_out_.empty() || closed_) return;
  handshake_writing_ = true;
  auto bytes = std::make_shared<std::vector<uint8_t>>(std::move(handshake_out_));
  handshake_out_.clear();
  asio::async_write(socket_, asio::buffer(*bytes),
                    [self = shared_from_this(), bytes](const asio::error_code& ec, size_t) {
                      self->handshake_writing_ = false;
                      if (ec) return self->Close("handshake write failed");
                      self->WriteHandshakeOutput();
                      self->StartWrite();  // replies wait for the handshake bytes
                    });
}

void Connection::ReadHandshake() {
  if (closed_) return;
  if (end_ == in_.size()) {  // an option can never need the whole buffer: compact
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  socket_.async_read_some(asio::buffer(in_.data() + end_, in_.size() - end_),
                          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                            if (ec) return self->Close("client left during handshake");
                            self->end_ += n;
                            self->FeedHandshake();
                          });
}

void Connection::FeedHandshake() {
  auto step = handshake_->Feed({in_.data() + begin_, end_ - begin_}, handshake_out_);
  FB_ASSERT(step.consumed <= end_ - begin_);
  begin_ += step.consumed;
  if (begin_ == end_) begin_ = end_ = 0;
  switch (step.state) {
    case nbd::HandshakeStep::State::kNeedMore:
      WriteHandshakeOutput();
      return ReadHandshake();
    case nbd::HandshakeStep::State::kClose: {
      // Send what was answered (e.g. ABORT's ACK) before closing.
      handshake_writing_ = true;
      auto bytes = std::make_shared<std::vector<uint8_t>>(std::move(handshake_out_));
      asio::async_write(socket_, asio::buffer(*bytes),
                        [self = shared_from_this(), bytes, why = step.close_reason](
                            const asio::error_code&, size_t) {
                          self->handshake_writing_ = false;
                          self->Close(why);
                        });
      return;
    }
    case nbd::HandshakeStep::State::kDone:
      WriteHandshakeOutput();
      return EnterTransmission(std::move(step.negotiated));
  }
}

void Connection::EnterTransmission(nbd::Negotiated negotiated) {
  negotiated_ = std::move(negotiated);
  if (ctx_.router == nullptr) {  // routed connections have no local volume
    volume_ = ctx_.volumes.FindVolume(negotiated_.export_info.name);
    FB_ASSERT(volume_ != nullptr);  // the catalog only offers volumes we serve
    FB_ASSERT(volume_->size_bytes() == negotiated_.export_info.size_bytes);
    if (ctx_.repl != nullptr) {
      auto handle = ctx_.repl->FindVolume(volume_->name());
      FB_ASSERT(handle.has_value());  // the catalog offers only this node's volumes
      repl_volume_ = *handle;
    }
  }
  handshake_.reset();
  handshake_done_ = true;
  ProcessInput();  // a client may pipeline its first requests behind the option
  ReadMore();
}

// ---- Transmission: input -----------------------------------------------------------------

bool Connection::Paused() const {
  return inflight_ >= kMaxInflightPerConnection ||
         inflight_bytes_ >= kMaxInflightBytesPerConnection;
}

void Connection::ReadMore() {
  if (reading_ || retry_pending_ || closed_ || disconnecting_ || Paused()) return;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (in_.size() - end_ < nbd::kRequestHeaderBytes + kDirectReadThresholdBytes) {
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Full of unparsed requests (we wait for memory): reading more would spin on a 0-byte read.
  if (end_ == in_.size()) return;
  size_t want = in_.size() - end_;
  if (header_only_ && end_ - begin_ < nbd::kRequestHeaderBytes) {
    want = nbd::kRequestHeaderBytes - (end_ - begin_);
  }
  header_only_ = false;
  reading_ = true;
  socket_.async_read_some(asio::buffer(in_.data() + end_, want),
                          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                            self->reading_ = false;
                            if (ec) return self->Close("client closed the connection");
                            self->end_ += n;
                            self->ProcessInput();
                            self->ReadMore();
                          });
}

void Connection::ProcessInput() {
  while (!closed_ && !disconnecting_ && !reading_ && !Paused()) {
    if (!AdmitOne()) break;
  }
}

// Parses and starts one request if it is complete (or large enough to stream), else false.
bool Connection::AdmitOne() {
  size_t avail = end_ - begin_;
  if (avail < nbd::kRequestHeaderBytes) return false;
  std::span<const uint8_t, nbd::kRequestHeaderBytes> header(in_.data() + begin_,
                                                            nbd::kRequestHeaderBytes);
  std::optional<nbd::Request> request = nbd::DecodeRequest(header);
  if (!request) {
    Close("bad request magic");
    return false;
  }
  nbd::Check check = nbd::Validate(*request, negotiated_);
  if (check.verdict == nbd::Check::Verdict::kDisconnect) {
    Close(check.why);
    return false;
  }
  const uint32_t payload = nbd::PayloadLength(*request);
  if (payload > 0 && payload <= kDirectReadThresholdBytes &&
      avail < nbd::kRequestHeaderBytes + payload) {
    return false;  // small payload still arriving: wait for the rest in the read buffer
  }
  if (request->type == nbd::kCmdDisc) {
    begin_ += nbd::kRequestHeaderBytes;
    disconnecting_ = true;
    MaybeFinishDisconnect();
    return false;
  }
  if (ctx_.router != nullptr && !ctx_.router->HasRoom()) {
    RetryLater();  // the router holds all it may: hold the client back, don't grow
    return false;
  }
  const bool ok = check.verdict == nbd::Check::Verdict::kOk;
  size_t data_bytes = payload;
  if (ok && request->type == nbd::kCmdRead) data_bytes = request->length;
  Buffer data;
  if (data_bytes > 0) {
    data = ctx_.buffers.TryGet(data_bytes);
    if (!data) {
      RetryLater();  // the shared memory budget is spent: wait, don't grow
      return false;
    }
  }
  Op* op = AllocOp();
  op->request = *request;
  op->check = check;
  op->data = std::move(data);
  op->charged_bytes = data_bytes;
  inflight_bytes_ += data_bytes;
  begin_ += nbd::kRequestHeaderBytes;
  if (payload > 0) {
    size_t have = std::min<size_t>(payload, end_ - begin_);
    std::memcpy(op->data.data(), in_.data() + begin_, have);
    begin_ += have;
    if (have < payload) {
      ReadPayloadDirect(op, have);
      return false;
    }
  }
  Submit(op);
  return true;
}

// Streams the rest of a large WRITE payload straight into its buffer.
void Connection::ReadPayloadDirect(Op* op, size_t have) {
  FB_ASSERT(begin_ == end_);
  FB_ASSERT(have < op->data.size());
  begin_ = end_ = 0;
  reading_ = true;
  asio::async_read(socket_, asio::buffer(op->data.data() + have, op->data.size() - have),
                   net::WholeTransfers(),
                   [self = shared_from_this(), op](const asio::error_code& ec, size_t) {
                     self->reading_ = false;
                     if (ec) {
                       self->FreeOp(op);
                       return self->Close("client left mid-payload");
                     }
                     self->header_only_ = true;
                     self->Submit(op);
                     self->ProcessInput();
                     self->ReadMore();
                   });
}

// Parsing stopped with whole requests still buffered (no memory, or the router is full). No
// socket read may start meanwhile: ProcessInput does not parse while one is pending, and a
// client that has sent everything would wait on that read forever.
void Connection::RetryLater() {
  retry_pending_ = true;
  retry_timer_.expires_after(std::chrono::milliseconds(1));
  retry_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec) return;
    self->retry_pending_ = false;
    self->ProcessInput();
    self->ReadMore();
  });
}

// ---- Transmission: execution ---------------------------------------------------------------

void Connection::Submit(Op* op) {
  const nbd::Request& r = op->request;
  if (op->check.verdict != nbd::Check::Verdict::kOk) {
    op->data.Reset();  // a rejected WRITE's payload was read only to stay in sync
    return Finish(op);
  }
  if (r.type == nbd::kCmdCache || (r.type == nbd::kCmdRead && r.length == 0)) return Finish(op);
  op->lease_read = false;
  if (ctx_.router != nullptr) return SubmitRouted(op);
  if (ctx_.repl != nullptr && r.type != nbd::kCmdBlockStatus) {
    // The leased primary answers reads from its own copy (every acknowledged write is in it);
    // Finish checks the lease again, so the whole read happened inside it.
    if (r.type != nbd::kCmdRead || !ctx_.repl->MayReadLocally(repl_volume_)) {
      return SubmitReplicated(op);
    }
    op->lease_read = true;
  }
  if (r.type == nbd::kCmdRead) {
    // Answer cached reads on this thread: a worker hop costs more than the copy. A large one
    // whose bytes sit in a file is sent from the page cache when all of it is cached, and
    // otherwise goes to a worker at once: a nowait read would copy the cached part, then fail.
    env::File* file =
        r.length >= kZeroCopyReadMinBytes ? volume_->FileForRead(r.offset, r.length) : nullptr;
    if (file != nullptr) {
      if (TryZeroCopyRead(op, *file)) return Finish(op);
    } else if (r.length <= kInlineReadMaxBytes) {
      op->status = volume_->Read(r.offset, op->data.span(), env::ReadOptions{.nowait = true});
      if (op->status.code() != Code::kWouldBlock) return Finish(op);
    }
  }
  op->keep_alive = shared_from_this();
  if (r.type == nbd::kCmdWrite && TryAsyncWrite(op)) return;
  ctx_.workers.Submit(op);
}

// A large READ whose bytes are all cached is answered by reference: the reply sends them from
// the page cache (SendFileData), so neither a pread into a buffer nor a send from one copies.
// A lease read checks its lease again right before each piece leaves (SendFileData), as the
// bytes are only taken then.
bool Connection::TryZeroCopyRead(Op* op, env::File& file) {
  const nbd::Request& r = op->request;
  int fd = file.CachedReadHandle(r.offset, r.length);
  if (fd < 0) return false;
  op->file_fd = fd;
  op->file_left = r.length;
  op->data.Reset();  // its bytes stay charged in inflight_bytes_ until the reply has left
  op->status = Status::Ok();
  return true;
}

// A replicated volume: the replication core decides (mirrors, waits for every in-sync copy,
// checks the lease) and answers; the reply comes back to this connection's loop.
void Connection::SubmitReplicated(Op* op) {
  const nbd::Request& r = op->request;
  repl::ClientRequest request;
  request.offset = r.offset;
  request.length = r.length;
  request.fua = (r.flags & nbd::kCmdFlagFua) != 0;
  switch (r.type) {
    case nbd::kCmdRead: request.kind = repl::OpKind::kRead; break;
    case nbd::kCmdWrite:
      request.kind = repl::OpKind::kWrite;
      request.data = std::make_shared<const repl::Bytes>(
          op->data.data(), op->data.data() + op->data.size());
      break;
    case nbd::kCmdTrim: request.kind = repl::OpKind::kTrim; break;
    case nbd::kCmdWriteZeroes:
      if (r.flags & nbd::kCmdFlagFastZero) {
        // Zeroing every replica is never faster than writing: say so at once (NBD.md 1.6).
        op->status = Status::Unimplemented("fast zero is not available on replicated volumes");
        return Finish(op);
      }
      request.kind = repl::OpKind::kWriteZeroes;
      break;
    case nbd::kCmdFlush: request.kind = repl::OpKind::kFlush; break;
    default: FB_UNREACHABLE();
  }
  if (r.type == nbd::kCmdWrite) op->data.Reset();  // the copy travels; free the buffer now
  op->keep_alive = shared_from_this();
  ctx_.repl->Submit(repl_volume_, std::move(request), [op](repl::ReplyToClient reply) {
    auto keep = std::move(op->keep_alive);
    auto executor = keep->socket_.get_executor();
    // Inline when the replication core runs on this connection's loop (the usual case): it
    // answers from its own handlers, never from inside this connection's Submit.
    asio::dispatch(executor, [op, keep = std::move(keep), reply = std::move(reply)]() mutable {
      if (reply.status.ok() && op->request.type == nbd::kCmdRead) {
        FB_ASSERT(reply.data && reply.data->size() == op->data.size());
        std::memcpy(op->data.data(), reply.data->data(), op->data.size());
      }
      op->status = std::move(reply.status);
      keep->OnWorkerDone(op);
    });
  });
}

// firebreak attach: the router forwards the request (to the cluster's primary) and answers on
// this loop; READ data and BLOCK_STATUS runs land in the op before OnRouted.
void Connection::SubmitRouted(Op* op) {
  RoutedRequest routed;
  routed.request = op->request;
  if (op->request.type == nbd::kCmdWrite) routed.payload = op->data.span();
  if (op->request.type == nbd::kCmdRead) routed.target = op->data.span();
  routed.runs = &op->runs;
  op->keep_alive = shared_from_this();
  ctx_.router->Submit(routed, op);
}

void Connection::Op::OnRouted(Status routed) {
  status = std::move(routed);
  auto keep = std::move(keep_alive);
  keep->OnWorkerDone(this);
}

// Aligned writes go to the loop's io_uring: no worker hand-off, one submission per burst.
bool Connection::TryAsyncWrite(Op* op) {
  const nbd::Request& r = op->request;
  const bool fua = (r.flags & nbd::kCmdFlagFua) != 0;
  return ctx_.loop.TryVolumeWrite(*volume_, r.offset, {op->data.data(), op->data.size()}, fua,
                                  op);
}

void Connection::Op::OnIoDone(Status io_status, size_t bytes) {
  if (io_status.ok() && bytes != request.length) {
    // A short write: rewrite the whole range on a worker (writes are idempotent).
    conn->ctx_.workers.Submit(this);
    return;
  }
  status = std::move(io_status);
  auto keep = std::move(keep_alive);
  keep->OnWorkerDone(this);
}

void Connection::Op::Run() {
  status = Execute(*conn->volume_, request, data.span(), runs);
  // Completion goes back to the connection's own thread. The handler owns the connection
  // reference, so a handler dropped at shutdown still releases it.
  asio::post(conn->socket_.get_executor(),
             [keep = std::move(keep_alive), op = this] { keep->OnWorkerDone(op); });
}

void Connection::OnWorkerDone(Op* op) {
  if (closed_) return FreeOp(op);
  Finish(op);
}

void Connection::Finish(Op* op) {
  const nbd::Request& r = op->request;
  if (op->lease_read && op->status.ok() && !ctx_.repl->MayReadLocally(repl_volume_)) {
    op->status = repl::NotServedHere("the primary lease ended during a local read");
  }
  if (ctx_.repl != nullptr && op->status.code() == Code::kUnavailable) {
    // This node no longer serves the volume: drop the connection without answering, so the
    // client re-sends to the new primary (repl::NotServedHere says why not an error reply).
    Log(LogLevel::kInfo, "closing a connection to {}: {}", volume_->name(),
        op->status.ToString());
    FreeOp(op);
    return Close("volume not served here");
  }
  op->head.clear();
  op->send_data = false;
  uint32_t error = op->check.verdict == nbd::Check::Verdict::kOk
                       ? (op->status.ok() ? 0 : nbd::NbdError(op->status, r.type, r.flags))
                       : op->check.error;
  if (error != 0) {
    std::string_view why = op->status.ok() ? op->check.why : op->status.message();
    if (!op->status.ok()) Log(LogLevel::kWarn, "request failed: {}", op->status.ToString());
    nbd::EncodeStatusReply(op->head, negotiated_, r.cookie, error, why);
  } else if (r.type == nbd::kCmdRead && r.length > 0) {
    nbd::EncodeReadDataHeader(op->head, negotiated_, r.cookie, r.offset, r.length, true);
    op->send_data = true;
  } else if (r.type == nbd::kCmdBlockStatus) {
    op->extents.clear();
    for (const store::Allocation& run : op->runs) {
      FB_ASSERT(run.length > 0 && run.length <= UINT32_MAX);
      uint32_t flags = (run.hole ? nbd::kStateHole : 0) | (run.zero ? nbd::kStateZero : 0);
      op->extents.push_back({uint32_t(run.length), flags});
    }
    nbd::EncodeBlockStatus(op->head, r.cookie, *negotiated_.base_allocation_id, op->extents);
  } else {
    nbd::EncodeSuccessReply(op->head, negotiated_, r.cookie, r.type);
  }
  if (!op->send_data) op->data.Reset();
  out_queue_.push_back(op);
  // Replies finished by the handlers ready in this loop turn (a batch of disk completions,
  // of replica acks, of routed answers) leave in one gather write, not the first alone.
  ScheduleWrite();
}

// StartWrite once, at the end of this turn of the loop, for every reply finished by then.
void Connection::ScheduleWrite() {
  write_turn_.Post(socket_.get_executor(), [self = shared_from_this()] { self->StartWrite(); });
}

// ---- Transmission: output ------------------------------------------------------------------

void Connection::StartWrite() {
  if (writing_ || handshake_writing_ || out_queue_.empty() || closed_) return;
  // One gather write for up to kMaxRepliesPerWrite replies; a reply sent from a file ends
  // the batch (its header goes in the gather, its bytes follow by sendfile).
  size_t count = 0;
  gather_.clear();
  bool file_last = false;
  while (count < out_queue_.size() && count < kMaxRepliesPerWrite && !file_last) {
    Op* op = out_queue_[count++];
    gather_.push_back(asio::buffer(op->head));
    if (!op->send_data) continue;
    if (op->file_fd >= 0) {
      file_last = true;
    } else {
      gather_.push_back(asio::buffer(op->data.data(), op->data.size()));
    }
  }
  out_writing_.assign(out_queue_.begin(), out_queue_.begin() + long(count));
  out_queue_.erase(out_queue_.begin(), out_queue_.begin() + long(count));
  writing_ = true;
  asio::async_write(socket_, gather_, net::WholeTransfers(),
                    [self = shared_from_this(), count, file_last](const asio::error_code& ec,
                                                                  size_t) {
                      if (ec) return self->WriteFailed("reply write failed");
                      if (file_last) return self->SendFileData(count);
                      self->writing_ = false;
                      self->OnWritten(count);
                    });
}

void Connection::SendFileData(size_t count) {
  FB_ASSERT(writing_ && count == out_writing_.size());
  Op* op = out_writing_.back();
  FB_ASSERT(op->file_fd >= 0);
  while (op->file_left > 0) {
    // The bytes are taken from the page cache only now: a lease read must still hold it.
    if (op->lease_read && !ctx_.repl->MayReadLocally(repl_volume_)) {
      return WriteFailed("the primary lease ended during a local read");
    }
    asio::error_code ec;
    const uint64_t sent = op->request.length - op->file_left;
    size_t n = net::SendFile(socket_, op->file_fd, op->request.offset + sent, op->file_left, ec);
    if (ec == asio::error::would_block) {
      socket_.async_wait(asio::socket_base::wait_write,
                         [self = shared_from_this(), count](const asio::error_code& wait_ec) {
                           if (wait_ec) return self->WriteFailed("reply write failed");
                           self->SendFileData(count);
                         });
      return;
    }
    if (ec) return WriteFailed("reply write failed");
    FB_ASSERT(n > 0 && n <= op->file_left);
    op->file_left -= n;
  }
  writing_ = false;
  OnWritten(count);
}

// The connection is unusable mid-reply: the client cannot tell where the next reply starts.
void Connection::WriteFailed(std::string_view why) {
  writing_ = false;
  for (Op* op : out_writing_) FreeOp(op);
  out_writing_.clear();
  Close(why);
}

void Connection::OnWritten(size_t count) {
  FB_ASSERT(count == out_writing_.size());
  bool was_paused = Paused();
  for (Op* op : out_writing_) FreeOp(op);
  out_writing_.clear();
  StartWrite();
  if (disconnecting_) return MaybeFinishDisconnect();
  if (was_paused && !Paused()) {
    ProcessInput();
    ReadMore();
  }
}

void Connection::MaybeFinishDisconnect() {
  if (inflight_ > 0 || closed_) return;
  Close("client disconnected (NBD_CMD_DISC)");
}

// ---- Op pool -------------------------------------------------------------------------------

Connection::Op* Connection::AllocOp() {
  FB_ASSERT(inflight_ < kMaxInflightPerConnection);
  Op* op;
  if (free_ops_.empty()) {
    all_ops_.push_back(std::make_unique<Op>());
    op = all_ops_.back().get();
    op->conn = this;
    op->head.reserve(64);
  } else {
    op = free_ops_.back();
    free_ops_.pop_back();
  }
  ++inflight_;
  ctx_.loop.CountRequests(1);
  return op;
}

void Connection::FreeOp(Op* op) {
  FB_ASSERT(inflight_ > 0);
  FB_ASSERT(inflight_bytes_ >= op->charged_bytes);
  --inflight_;
  ctx_.loop.CountRequests(-1);
  inflight_bytes_ -= op->charged_bytes;
  op->charged_bytes = 0;
  op->data.Reset();
  op->file_fd = -1;
  op->file_left = 0;
  op->status = Status::Ok();
  free_ops_.push_back(op);
}

}  // namespace fb::server
