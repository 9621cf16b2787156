// Appending big-endian integers and raw bytes to an output buffer: the encoders' only way of
// writing, so every reply is built the same way (header first, length patched at the end).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/endian.h"

namespace fb::nbd {

inline void AppendBe16(std::vector<uint8_t>& out, uint16_t value) {
  out.resize(out.size() + 2);
  StoreBe16(out.data() + out.size() - 2, value);
}

inline void AppendBe32(std::vector<uint8_t>& out, uint32_t value) {
  out.resize(out.size() + 4);
  StoreBe32(out.data() + out.size() - 4, value);
}

inline void AppendBe64(std::vector<uint8_t>& out, uint64_t value) {
  out.resize(out.size() + 8);
  StoreBe64(out.data() + out.size() - 8, value);
}

inline void AppendBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline void AppendText(std::vector<uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace fb::nbd
