// Minimal leveled logging to stderr (fmt). One line per event, prefixed "firebreak:".
// The level is process-wide and set once at startup from the command line.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace fb::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

LogLevel& MinLogLevel();
// "debug", "info", "warn" or "error" (the CLI validates the word); anything else is info.
LogLevel ParseLogLevel(std::string_view word);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < MinLogLevel()) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::string line = fmt::format("firebreak: {}: ", kNames[int(level)]);
  line += fmt::format(format, std::forward<Args>(args)...);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace fb::server
