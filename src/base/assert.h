// FB_ASSERT: invariants that are always checked, release builds included. A failed assertion
// is a bug, never an operating error: it prints file:line and aborts (TigerBeetle's rule).
#pragma once

namespace fb::detail {
[[noreturn]] void AssertFail(const char* expr, const char* file, int line);
}

#define FB_ASSERT(cond)                                                   \
  do {                                                                    \
    if (__builtin_expect(!(cond), 0)) ::fb::detail::AssertFail(#cond, __FILE__, __LINE__); \
  } while (0)

#define FB_UNREACHABLE() ::fb::detail::AssertFail("unreachable", __FILE__, __LINE__)
