// Address parsing and printing.
#include "net/address.h"

#include <charconv>

namespace fb::net {

Result<Address> ParseAddress(std::string_view text) {
  Address a;
  if (text.starts_with("unix:")) {
    a.kind = Address::Kind::kUnix;
    a.path = std::string(text.substr(5));
    if (a.path.empty()) return Status::InvalidArgument("empty unix socket path", text);
    if (a.path.size() >= 108) return Status::InvalidArgument("unix socket path too long", text);
    return a;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("address must be HOST:PORT or unix:PATH", text);
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return Status::InvalidArgument("unbalanced [ in address", text);
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Status::InvalidArgument("bad port", text);
  }
  a.host = std::string(host);
  a.port = uint16_t(value);
  return a;
}

std::string Address::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Address::NbdUri(std::string_view name) const {
  if (kind == Kind::kUnix) return "nbd+unix:///" + std::string(name) + "?socket=" + path;
  bool v6 = host.find(':') != std::string::npos;
  return "nbd://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::string(name);
}

}  // namespace fb::net
