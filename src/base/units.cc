// Size parsing and formatting.
#include "base/units.h"

#include <cctype>

namespace fb {

Result<uint64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = uint64_t(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return Status::InvalidArgument("size overflows", text);
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return Status::InvalidArgument("size must start with a number", text);
  std::string unit;
  for (; i < text.size(); ++i) unit.push_back(char(std::toupper(static_cast<unsigned char>(text[i]))));
  uint64_t mult;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KB" || unit == "KIB") mult = kKiB;
  else if (unit == "M" || unit == "MB" || unit == "MIB") mult = kMiB;
  else if (unit == "G" || unit == "GB" || unit == "GIB") mult = kGiB;
  else if (unit == "T" || unit == "TB" || unit == "TIB") mult = kTiB;
  else return Status::InvalidArgument("unknown size unit", text);
  if (value != 0 && mult > UINT64_MAX / value) return Status::InvalidArgument("size overflows", text);
  return value * mult;
}

std::string FormatSize(uint64_t bytes) {
  static constexpr struct { uint64_t mult; const char* name; } kUnits[] = {
      {kTiB, "TiB"}, {kGiB, "GiB"}, {kMiB, "MiB"}, {kKiB, "KiB"}};
  for (const auto& u : kUnits) {
    if (bytes >= u.mult && bytes % u.mult == 0) return std::to_string(bytes / u.mult) + " " + u.name;
  }
  return std::to_string(bytes) + " B";
}

}  // namespace fb
