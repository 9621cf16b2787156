// AdminEndpoint: accept, read a line, answer, repeat.
#include "server/admin_endpoint.h"

#include <unistd.h>

namespace fb::server {
namespace {

struct Session : std::enable_shared_from_this<Session> {
  explicit Session(asio::local::stream_protocol::socket s, AdminEndpoint::Handler* h,
                   std::shared_ptr<bool> closed)
      : socket(std::move(s)), buffer(admin::kMaxCommandBytes + 1), handler(h),
        closed(std::move(closed)) {}

  void ReadLine() {
    asio::async_read_until(socket, buffer, '\n',
                           [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                             if (ec || *self->closed) return;  // EOF, error or too long: drop
                             std::string line(asio::buffers_begin(self->buffer.data()),
                                              asio::buffers_begin(self->buffer.data()) + n);
                             self->buffer.consume(n);
                             auto command = admin::ParseCommand(line);
                             self->reply = command.ok()
                                               ? (*self->handler)(*command)
                                               : "error: " + std::string(command.status().message());
                             self->reply += '\n';
                             self->Write();
                           });
  }
  void Write() {
    asio::async_write(socket, asio::buffer(reply),
                      [self = shared_from_this()](const asio::error_code& ec, size_t) {
                        if (!ec) self->ReadLine();
                      });
  }

  asio::local::stream_protocol::socket socket;
  asio::streambuf buffer;  // max_size bounds a line
  AdminEndpoint::Handler* handler;
  std::shared_ptr<bool> closed;
  std::string reply;
};

}  // namespace

AdminEndpoint::AdminEndpoint(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {}

AdminEndpoint::~AdminEndpoint() { Close(); }

Status AdminEndpoint::Start() {
  ::unlink(path_.c_str());  // left by a dead process
  asio::error_code ec;
  asio::local::stream_protocol::endpoint ep(path_);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) return Status::Unavailable("admin socket " + path_, ec.message());
  AcceptNext();
  return Status::Ok();
}

void AdminEndpoint::AcceptNext() {
  acceptor_.async_accept([this, closed = closed_](const asio::error_code& ec,
                                                  asio::local::stream_protocol::socket s) {
    if (*closed) return;
    if (!ec) std::make_shared<Session>(std::move(s), &handler_, closed)->ReadLine();
    AcceptNext();
  });
}

void AdminEndpoint::Close() {
  if (*closed_) return;
  *closed_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

}  // namespace fb::server
