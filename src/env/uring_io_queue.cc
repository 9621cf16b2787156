// IoQueue over io_uring: O_DIRECT writes submitted in batches, completions signalled through
// an eventfd the event loop watches.
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "base/assert.h"
#include "env/io_queue.h"
#include "env/posix_error.h"

namespace fb::env {
namespace {

class UringIoQueue final : public IoQueue {
 public:
  UringIoQueue(io_uring ring, int event_fd, unsigned entries)
      : ring_(ring), event_fd_(event_fd), entries_(entries) {}
  ~UringIoQueue() override {
    std::vector<Completion> ignored;
    Drain(ignored);  // the kernel may still be writing from caller buffers
    io_uring_queue_exit(&ring_);
    close(event_fd_);
  }

  bool Write(File& file, uint64_t offset, std::span<const uint8_t> source, bool fua,
             uint64_t token) override {
    int fd = file.AsyncWriteHandle(offset, source);
    if (fd < 0 || inflight_ + queued_ >= entries_) return false;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
    io_uring_prep_write(sqe, fd, source.data(), unsigned(source.size()), offset);
    sqe->rw_flags = fua ? RWF_DSYNC : 0;
    io_uring_sqe_set_data64(sqe, token);
    ++queued_;
    return true;
  }

  void Submit() override {
    if (queued_ == 0) return;
    int n = io_uring_submit(&ring_);
    FB_ASSERT(n >= 0 || n == -EINTR);  // -EBUSY cannot happen: entries bound in-flight work
    inflight_ += queued_;
    queued_ = 0;
  }

  int event_fd() const override { return event_fd_; }

  void Reap(std::vector<Completion>& out) override {
    uint64_t value;
    (void)!read(event_fd_, &value, sizeof value);  // nonblocking; clears the signal
    Collect(out);
  }

  void Drain(std::vector<Completion>& out) override {
    Submit();
    while (inflight_ > 0) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR) continue;
      FB_ASSERT(rc == 0);
      Collect(out);
    }
  }

  size_t inflight() const override { return inflight_ + queued_; }

 private:
  void Collect(std::vector<Completion>& out) {
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      Completion c;
      c.token = io_uring_cqe_get_data64(cqe);
      if (cqe->res < 0) {
        c.status = PosixError("async write", -cqe->res);
      } else {
        c.bytes = size_t(cqe->res);
      }
      out.push_back(std::move(c));
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    FB_ASSERT(seen <= inflight_);
    inflight_ -= seen;
  }

  io_uring ring_;
  const int event_fd_;
  const unsigned entries_;
  size_t queued_ = 0;
  size_t inflight_ = 0;
};

}  // namespace

Result<std::unique_ptr<IoQueue>> NewUringIoQueue(unsigned entries) {
  io_uring ring;
  int rc = io_uring_queue_init(entries, &ring, 0);
  if (rc < 0) return PosixError("io_uring_queue_init", -rc);
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    io_uring_queue_exit(&ring);
    return PosixError("eventfd", errno);
  }
  rc = io_uring_register_eventfd(&ring, efd);
  if (rc < 0) {
    close(efd);
    io_uring_queue_exit(&ring);
    return PosixError("io_uring_register_eventfd", -rc);
  }
  return std::unique_ptr<IoQueue>(new UringIoQueue(ring, efd, entries));
}

}  // namespace fb::env
