// Listener: accepts TCP or unix-socket connections on an asio io_context and hands each one,
// as a protocol-neutral stream socket, to a callback. TCP sockets get TCP_NODELAY (NBD.md 1.5).
// Threading: all methods and callbacks run on the io_context's thread.
#pragma once

#include <functional>
#include <memory>

#include <asio.hpp>

#include "base/result.h"
#include "net/address.h"

namespace fb::net {

using Socket = asio::generic::stream_protocol::socket;

class Listener {
 public:
  using AcceptFn = std::function<void(Socket socket)>;

  // Binds and listens; a unix socket path left by a dead process is replaced.
  static Result<std::unique_ptr<Listener>> Open(asio::io_context& io, const Address& address,
                                                AcceptFn on_accept);
  ~Listener();

  void Start();  // begins accepting
  void Close();  // stops accepting; removes the unix socket file
  const Address& address() const { return address_; }

 private:
  Listener(asio::io_context& io, Address address, AcceptFn on_accept);
  void AcceptNext();

  asio::io_context& io_;
  Address address_;
  AcceptFn on_accept_;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  asio::steady_timer retry_timer_;
  static constexpr int kAcceptRetryMs = 100;
  // Shared with pending handlers: they may run after the listener is destroyed, and must then
  // touch nothing else.
  std::shared_ptr<bool> closed_ = std::make_shared<bool>(false);
};

}  // namespace fb::net
