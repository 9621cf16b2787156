// StartDial: resolve, connect, TCP_NODELAY.
#include "net/dial.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

namespace fb::net {
namespace {

void ConnectTo(const std::shared_ptr<Dial>& dial,
               const asio::generic::stream_protocol::endpoint& endpoint, Dial::DoneFn done) {
  const bool tcp = endpoint.protocol().family() != AF_UNIX;
  dial->socket.async_connect(
      endpoint, [dial, tcp, done = std::move(done)](const asio::error_code& ec) {
        if (!ec && tcp) {
          asio::error_code ignored;  // latency matters more than packet count here
          dial->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        }
        done(ec);
      });
}

}  // namespace

void StartDial(const std::shared_ptr<Dial>& dial, const Address& address, Dial::DoneFn done) {
  if (address.kind == Address::Kind::kUnix) {
    if (address.path.empty() || address.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      // asio would throw; and `done` must not run inside StartDial.
      return asio::post(dial->socket.get_executor(),
                        [done = std::move(done)] { done(asio::error::name_too_long); });
    }
    asio::local::stream_protocol::endpoint local(address.path);
    return ConnectTo(dial, asio::generic::stream_protocol::endpoint(local), std::move(done));
  }
  dial->resolver.async_resolve(
      address.host, std::to_string(address.port),
      [dial, done = std::move(done)](const asio::error_code& ec,
                                     asio::ip::tcp::resolver::results_type results) mutable {
        if (ec) return done(ec);
        if (results.empty()) return done(asio::error::host_not_found);
        ConnectTo(dial, asio::generic::stream_protocol::endpoint(results.begin()->endpoint()),
                  std::move(done));
      });
}

}  // namespace fb::net
