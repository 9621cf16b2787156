// errno -> Status, in exactly one place (LevelDB's PosixError).
#pragma once

#include <string_view>

#include "base/status.h"

namespace fb::env {
Status PosixError(std::string_view context, int error_number);
}
