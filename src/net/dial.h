// Dial: one outgoing stream connection to an Address (a TCP host:port, resolved here, or a
// unix socket path) on an asio io_context, with TCP_NODELAY (NBD.md 1.5). Used by every client
// the runtime runs: a node's coordinator client and firebreak attach's upstream links.
// Threading: everything runs on the io_context's thread.
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>

#include "net/address.h"
#include "net/listener.h"

namespace fb::net {

// One resolve + connect attempt. Cancel() makes its callback run soon with an error.
struct Dial {
  using DoneFn = std::function<void(const asio::error_code& ec)>;

  explicit Dial(asio::io_context& io) : resolver(io), socket(io) {}
  void Cancel() {
    resolver.cancel();
    asio::error_code ignored;
    socket.close(ignored);
  }

  asio::ip::tcp::resolver resolver;
  Socket socket;
};

// Resolves (TCP names) and connects dial->socket; `done` runs exactly once, never inside
// StartDial itself.
void StartDial(const std::shared_ptr<Dial>& dial, const Address& address, Dial::DoneFn done);

}  // namespace fb::net
