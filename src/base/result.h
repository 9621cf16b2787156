// Result<T>: a value or an error Status (absl's StatusOr). std::expected is C++23, so we keep
// our own. Accessing the value of an error Result is a bug and asserts.
#pragma once

#include <optional>
#include <utility>

#include "base/assert.h"
#include "base/status.h"

namespace fb {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    FB_ASSERT(!status_.ok());  // an OK Result must carry a value
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    FB_ASSERT(ok());
    return *value_;
  }
  const T& value() const& {
    FB_ASSERT(ok());
    return *value_;
  }
  T&& value() && {
    FB_ASSERT(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace fb

#define FB_CONCAT_INNER_(a, b) a##b
#define FB_CONCAT_(a, b) FB_CONCAT_INNER_(a, b)
#define FB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
// FB_ASSIGN_OR_RETURN(auto x, MaybeX()); returns the error Status upward.
#define FB_ASSIGN_OR_RETURN(lhs, expr) \
  FB_ASSIGN_OR_RETURN_IMPL_(FB_CONCAT_(fb_result_, __LINE__), lhs, expr)
