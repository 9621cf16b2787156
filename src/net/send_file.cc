// SendFile over sendfile(2), on the socket's descriptor in non-blocking mode.
#include "net/send_file.h"

#include <sys/sendfile.h>

#include <cerrno>

#include "base/assert.h"

namespace fb::net {

size_t SendFile(Socket& socket, int file_fd, uint64_t offset, size_t length,
                asio::error_code& ec) {
  FB_ASSERT(length > 0);  // 0 sent is never a success (see the header)
  ec.clear();
  // asio makes its descriptors non-blocking only internally; say so for our own call too.
  if (!socket.native_non_blocking()) {
    socket.native_non_blocking(true, ec);
    if (ec) return 0;
  }
  for (;;) {
    off_t pos = off_t(offset);
    ssize_t n = ::sendfile(socket.native_handle(), file_fd, &pos, length);
    if (n > 0) return size_t(n);
    if (n == 0) {  // the file ends before the range: the caller's range was wrong
      ec = asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    ec = (errno == EAGAIN || errno == EWOULDBLOCK)
             ? asio::error_code(asio::error::would_block)
             : asio::error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

}  // namespace fb::net
