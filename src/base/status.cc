// Status formatting and copying.
#include "base/status.h"

namespace fb {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kOutOfRange: return "OutOfRange";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kUnavailable: return "Unavailable";
    case Code::kAborted: return "Aborted";
    case Code::kFailedPrecondition: return "FailedPrecondition";
    case Code::kFenced: return "Fenced";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kDataLoss: return "DataLoss";
    case Code::kIOError: return "IOError";
    case Code::kUnimplemented: return "Unimplemented";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kWouldBlock: return "WouldBlock";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status::Status(Code code, std::string_view msg, std::string_view msg2) {
  if (code == Code::kOk) return;
  state_ = std::make_unique<State>(State{code, std::string(msg)});
  if (!msg2.empty()) {
    state_->msg.append(": ");
    state_->msg.append(msg2);
  }
}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code()));
  s.append(": ");
  s.append(message());
  return s;
}

}  // namespace fb
