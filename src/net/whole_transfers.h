// WholeTransfers: the completion condition for asio::async_write and async_read of large
// buffers. asio's default (transfer_all) hands the kernel at most 64 KiB per call, so a
// 1 MiB NBD reply cost 16 sendmsg calls and a 1 MiB WRITE payload 16 recvfrom calls, each a
// trip through the event loop; this one lets every call move as much as the socket has or
// takes, and stops only on an error (the operation still ends when the buffer is full).
#pragma once

#include <cstddef>

#include <asio.hpp>

namespace fb::net {

struct WholeTransfers {
  size_t operator()(const asio::error_code& ec, size_t /*transferred*/) const {
    return ec ? 0 : size_t(1) << 30;
  }
};

}  // namespace fb::net
