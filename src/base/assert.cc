// The single place an assertion failure ends the process.
#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace fb::detail {
void AssertFail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "firebreak: assertion failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace fb::detail
