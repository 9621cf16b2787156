// SendFile: part of a file sent on a stream socket without passing through user space
// (sendfile(2)). From the page cache to TCP the kernel hands the socket references to the
// cached pages, so a large NBD read reply costs the server no copy at all (a pread into a
// buffer and a send from it cost two). Unix sockets still copy once, in the kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include <asio.hpp>

#include "net/listener.h"

namespace fb::net {

// Sends up to `length` bytes of file_fd from `offset` without blocking. Returns how many were
// sent (> 0), or 0 with ec set: asio::error::would_block when the socket is full (wait until
// it is writable, then call again), any other error when the connection is unusable.
size_t SendFile(Socket& socket, int file_fd, uint64_t offset, size_t length,
                asio::error_code& ec);

}  // namespace fb::net
