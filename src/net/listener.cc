// Listener: asio acceptors for TCP and unix sockets behind one generic socket type.
#include "net/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

namespace fb::net {
namespace {

Result<asio::generic::stream_protocol::endpoint> Endpoint(asio::io_context& io,
                                                           const Address& a) {
  if (a.kind == Address::Kind::kUnix) {
    asio::local::stream_protocol::endpoint ep(a.path);
    return asio::generic::stream_protocol::endpoint(ep);
  }
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(a.host, std::to_string(a.port),
                                  asio::ip::tcp::resolver::passive, ec);
  if (ec || results.empty()) return Status::InvalidArgument("cannot resolve", a.ToString());
  return asio::generic::stream_protocol::endpoint(results.begin()->endpoint());
}

}  // namespace

Listener::Listener(asio::io_context& io, Address address, AcceptFn on_accept)
    : io_(io),
      address_(std::move(address)),
      on_accept_(std::move(on_accept)),
      acceptor_(io),
      retry_timer_(io) {}

Listener::~Listener() { Close(); }

Result<std::unique_ptr<Listener>> Listener::Open(asio::io_context& io, const Address& address,
                                                 AcceptFn on_accept) {
  FB_ASSIGN_OR_RETURN(auto endpoint, Endpoint(io, address));
  std::unique_ptr<Listener> l(new Listener(io, address, std::move(on_accept)));
  asio::error_code ec;
  l->acceptor_.open(endpoint.protocol(), ec);
  if (!ec && address.kind == Address::Kind::kTcp) {
    l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && address.kind == Address::Kind::kUnix) ::unlink(address.path.c_str());
  if (!ec) l->acceptor_.bind(endpoint, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + address.ToString(), ec.message());
  // Port 0 asks the kernel for a free port; report the real one.
  if (address.kind == Address::Kind::kTcp && address.port == 0) {
    auto local = l->acceptor_.local_endpoint();
    const sockaddr* sa = reinterpret_cast<const sockaddr*>(local.data());
    if (sa->sa_family == AF_INET) {
      l->address_.port = ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
    } else if (sa->sa_family == AF_INET6) {
      l->address_.port = ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
    }
  }
  return l;
}

void Listener::Start() { AcceptNext(); }

void Listener::AcceptNext() {
  acceptor_.async_accept([this, closed = closed_](const asio::error_code& ec, Socket socket) {
    if (*closed) return;
    if (!ec) {
      if (address_.kind == Address::Kind::kTcp) {
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      on_accept_(std::move(socket));
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // EMFILE and friends: keep the listener alive, but back off instead of spinning.
      std::fprintf(stderr, "firebreak: accept on %s: %s\n", address_.ToString().c_str(),
                   ec.message().c_str());
      retry_timer_.expires_after(std::chrono::milliseconds(kAcceptRetryMs));
      retry_timer_.async_wait([this, closed](const asio::error_code& wait_ec) {
        if (!wait_ec && !*closed) AcceptNext();
      });
      return;
    }
    AcceptNext();
  });
}

void Listener::Close() {
  if (*closed_) return;
  *closed_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  if (address_.kind == Address::Kind::kUnix) ::unlink(address_.path.c_str());
}

}  // namespace fb::net
