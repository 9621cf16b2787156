// EndOfTurn: runs an action once at the end of the current turn of an event loop, however
// often it is asked for before then. Everything the handlers already ready queue meanwhile
// (client writes for io_uring, NBD replies, replication frames, upstream requests) then
// leaves in one system call, instead of the first alone and the rest after it.
// The action must keep the object holding this EndOfTurn alive (capture its shared_ptr), or
// that object must outlive the loop's handlers.
#pragma once

#include <utility>

#include <asio.hpp>

namespace fb::server {

class EndOfTurn {
 public:
  template <class Executor, class Fn>
  void Post(Executor executor, Fn fn) {
    if (posted_) return;
    posted_ = true;
    asio::post(executor, [this, fn = std::move(fn)]() mutable {
      posted_ = false;
      fn();
    });
  }

 private:
  bool posted_ = false;
};

}  // namespace fb::server
