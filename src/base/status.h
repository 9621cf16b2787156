// Status: the result of an operation that returns no value. OK is cheap (no allocation);
// an error carries a code (absl's meanings, plus storage's kFenced/kDataLoss) and a message.
// Errors cross every boundary as values; nothing on an I/O path throws.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace fb {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; do not retry as is
  kOutOfRange,          // offset/length beyond the object
  kNotFound,            // no such volume, file, node
  kAlreadyExists,       // create of something that exists
  kUnavailable,         // transient: retry this call
  kAborted,             // retry at a higher level
  kFailedPrecondition,  // state forbids it (e.g. not primary); fix state first
  kFenced,              // stale epoch: step down now
  kResourceExhausted,   // a bounded limit was hit (queue, memory, ENOSPC)
  kDataLoss,            // checksum mismatch, torn record
  kIOError,             // the disk said no
  kUnimplemented,       // not supported here (e.g. fast zero not possible)
  kPermissionDenied,    // read-only volume
  kWouldBlock,          // a non-blocking attempt could not complete now
  kInternal,            // a bug we detected
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string_view msg, std::string_view msg2 = {});
  Status(const Status& other) { *this = other; }
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view m, std::string_view m2 = {}) {
    return {Code::kInvalidArgument, m, m2};
  }
  static Status OutOfRange(std::string_view m, std::string_view m2 = {}) {
    return {Code::kOutOfRange, m, m2};
  }
  static Status NotFound(std::string_view m, std::string_view m2 = {}) {
    return {Code::kNotFound, m, m2};
  }
  static Status AlreadyExists(std::string_view m, std::string_view m2 = {}) {
    return {Code::kAlreadyExists, m, m2};
  }
  static Status Unavailable(std::string_view m, std::string_view m2 = {}) {
    return {Code::kUnavailable, m, m2};
  }
  static Status FailedPrecondition(std::string_view m, std::string_view m2 = {}) {
    return {Code::kFailedPrecondition, m, m2};
  }
  static Status Fenced(std::string_view m, std::string_view m2 = {}) {
    return {Code::kFenced, m, m2};
  }
  static Status ResourceExhausted(std::string_view m, std::string_view m2 = {}) {
    return {Code::kResourceExhausted, m, m2};
  }
  static Status DataLoss(std::string_view m, std::string_view m2 = {}) {
    return {Code::kDataLoss, m, m2};
  }
  static Status IOError(std::string_view m, std::string_view m2 = {}) {
    return {Code::kIOError, m, m2};
  }
  static Status Unimplemented(std::string_view m, std::string_view m2 = {}) {
    return {Code::kUnimplemented, m, m2};
  }
  static Status PermissionDenied(std::string_view m, std::string_view m2 = {}) {
    return {Code::kPermissionDenied, m, m2};
  }
  static Status WouldBlock(std::string_view m = "would block") { return {Code::kWouldBlock, m}; }
  static Status Internal(std::string_view m, std::string_view m2 = {}) {
    return {Code::kInternal, m, m2};
  }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  std::string_view message() const { return state_ ? std::string_view(state_->msg) : ""; }
  // "CODE: message" or "OK".
  std::string ToString() const;

 private:
  struct State {
    Code code;
    std::string msg;
  };
  std::unique_ptr<State> state_;  // null means OK
};

}  // namespace fb

// Propagation macros: the only two ways errors travel upward.
#define FB_TRY(expr)                        \
  do {                                      \
    ::fb::Status fb_try_status_ = (expr);   \
    if (!fb_try_status_.ok()) return fb_try_status_; \
  } while (0)
