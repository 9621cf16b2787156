// Minimal leveled logging to stderr (fmt). One line per event, prefixed "firebreak:" and the
// UTC wall-clock time to the millisecond (so a failover can be read across nodes' logs).
// The level is process-wide and set once at startup from the command line.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace fb::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

LogLevel& MinLogLevel();
// "2026-11-26T00:52:10.123Z": wall-clock time for log lines only (never for leases).
std::string LogTimestamp();
// "debug", "info", "warn" or "error" (the CLI validates the word); anything else is info.
LogLevel ParseLogLevel(std::string_view word);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < MinLogLevel()) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::string line = fmt::format("firebreak: {} {}: ", LogTimestamp(), kNames[int(level)]);
  line += fmt::format(format, std::forward<Args>(args)...);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace fb::server
