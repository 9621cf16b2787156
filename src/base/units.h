// Byte-size units and parsing of human sizes ("4GiB", "512M", "1048576").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace fb {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;
inline constexpr uint64_t kTiB = 1024 * kGiB;

// Accepts a decimal integer with an optional unit: B, K/KiB/KB, M/MiB/MB, G/GiB/GB, T/TiB/TB.
// Units are binary (storage sizes are always powers of two here); "KB" is taken as KiB too,
// as qemu-img and nbdkit do. Overflow and unknown units are errors.
Result<uint64_t> ParseSize(std::string_view text);

// "4 GiB", "512 MiB", "1000 B": exact when possible, for messages.
std::string FormatSize(uint64_t bytes);

}  // namespace fb
