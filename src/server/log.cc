// The process-wide log level.
#include "server/log.h"

namespace fb::server {
LogLevel& MinLogLevel() {
  static LogLevel level = LogLevel::kInfo;
  return level;
}
}  // namespace fb::server
