// AdminEndpoint: a node's admin socket (unix, DIR/admin.sock). Reads one command line at a
// time (src/admin/command.h), hands it to the owner's handler on the owner's loop, writes
// back one line. Lines are bounded; a client that sends garbage gets an error line, and one
// that sends an over-long line is disconnected. Runs entirely on the given io_context.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "admin/command.h"
#include "base/status.h"

namespace fb::server {

class AdminEndpoint {
 public:
  // Returns the reply line (without newline): "ok" or "error: ...".
  using Handler = std::function<std::string(const admin::Command& command)>;

  AdminEndpoint(asio::io_context& io, std::string path, Handler handler);
  ~AdminEndpoint();
  Status Start();
  void Close();

 private:
  void AcceptNext();

  asio::io_context& io_;
  const std::string path_;
  Handler handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::shared_ptr<bool> closed_ = std::make_shared<bool>(false);
};

}  // namespace fb::server
