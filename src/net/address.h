// Address: where to listen or connect. "127.0.0.1:10809", "[::1]:10809", "localhost:10809" or
// "unix:/run/firebreak.sock". Parsing is pure (no name resolution here) so it is unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace fb::net {

struct Address {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // kTcp: an IP literal or a name
  uint16_t port = 0;  // kTcp
  std::string path;   // kUnix

  std::string ToString() const;
  // The NBD URI a client uses to reach export `name` at this address.
  std::string NbdUri(std::string_view name) const;
};

Result<Address> ParseAddress(std::string_view text);

}  // namespace fb::net
