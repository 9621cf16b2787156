// WholeWrites: the completion condition for asio::async_write of large buffers.
// asio's default (transfer_all) hands the kernel at most 64 KiB per write_some, so a 1 MiB
// NBD reply cost 16 sendmsg calls and 16 trips through the event loop; this one lets every
// call take as much as the socket accepts, and stops only on an error.
#pragma once

#include <cstddef>

#include <asio.hpp>

namespace fb::net {

struct WholeWrites {
  size_t operator()(const asio::error_code& ec, size_t /*transferred*/) const {
    return ec ? 0 : size_t(1) << 30;
  }
};

}  // namespace fb::net
