// The process-wide log level.
#include "server/log.h"

namespace fb::server {
LogLevel& MinLogLevel() {
  static LogLevel level = LogLevel::kInfo;
  return level;
}

LogLevel ParseLogLevel(std::string_view word) {
  if (word == "debug") return LogLevel::kDebug;
  if (word == "warn") return LogLevel::kWarn;
  if (word == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}
}  // namespace fb::server
