// The Env seam: every clock read, file and disk call goes through these interfaces, so the
// simulator (src/sim) can run the real cores against a fake world. Only src/env, src/net and
// src/server may call the OS directly (tests/unit/env/no_os_calls_test enforces it).
// Implementations are safe for concurrent use from many threads unless they say otherwise.
#pragma once

#include "env/clock.h"
#include "env/file.h"

namespace fb::env {

// What a node needs from the world. Passed in explicitly, never global.
struct Env {
  Clock& clock;
  FileSystem& fs;
};

}  // namespace fb::env
