// The process-wide log level and the log lines' timestamps.
#include "server/log.h"

#include <ctime>

namespace fb::server {
LogLevel& MinLogLevel() {
  static LogLevel level = LogLevel::kInfo;
  return level;
}

std::string LogTimestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return std::string(buf, n) + fmt::format(".{:03d}Z", int(ts.tv_nsec / 1'000'000));
}

LogLevel ParseLogLevel(std::string_view word) {
  if (word == "debug") return LogLevel::kDebug;
  if (word == "warn") return LogLevel::kWarn;
  if (word == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}
}  // namespace fb::server
