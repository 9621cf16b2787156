// Shared helpers for the NBD codec tests: a fake ExportCatalog, a byte builder that speaks the
// client's side of the wire, and a strict parser for the server's option replies.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/endian.h"
#include "proto/nbd/export.h"
#include "proto/nbd/wire.h"

namespace fb::nbd::testing {

// Exports in a fixed order; "" finds the first one, like the real catalog.
class FakeCatalog : public ExportCatalog {
 public:
  explicit FakeCatalog(std::vector<ExportInfo> exports) : exports_(std::move(exports)) {}
  std::vector<ExportInfo> List() const override { return exports_; }
  std::optional<ExportInfo> Find(std::string_view name) const override {
    if (name.empty() && !exports_.empty()) return exports_.front();
    for (const ExportInfo& info : exports_) {
      if (info.name == name) return info;
    }
    return std::nullopt;
  }
  std::string Refusal(std::string_view name) const override {
    return name == refused ? "not primary; primary is n2" : "";
  }
  std::string refused;  // an export this fake "standby" will not serve

 private:
  std::vector<ExportInfo> exports_;
};

inline ExportInfo MakeExport(std::string name, uint64_t size_bytes, bool read_only = false) {
  ExportInfo info;
  info.name = std::move(name);
  info.description = "test export " + info.name;
  info.size_bytes = size_bytes;
  info.read_only = read_only;
  return info;
}

// Builds big-endian byte strings: Wire().U32(1).Text("vm1").bytes.
struct Wire {
  std::vector<uint8_t> bytes;
  Wire& U16(uint16_t v) {
    bytes.push_back(uint8_t(v >> 8));
    bytes.push_back(uint8_t(v));
    return *this;
  }
  Wire& U32(uint32_t v) { return U16(uint16_t(v >> 16)).U16(uint16_t(v)); }
  Wire& U64(uint64_t v) { return U32(uint32_t(v >> 32)).U32(uint32_t(v)); }
  Wire& Text(std::string_view text) {
    bytes.insert(bytes.end(), text.begin(), text.end());
    return *this;
  }
  Wire& Raw(std::span<const uint8_t> raw) {
    bytes.insert(bytes.end(), raw.begin(), raw.end());
    return *this;
  }
};

inline std::vector<uint8_t> Option(uint32_t option, const std::vector<uint8_t>& data = {}) {
  return Wire().U64(kOptionMagic).U32(option).U32(uint32_t(data.size())).Raw(data).bytes;
}

inline std::vector<uint8_t> InfoData(std::string_view name, std::vector<uint16_t> infos = {}) {
  Wire w;
  w.U32(uint32_t(name.size())).Text(name).U16(uint16_t(infos.size()));
  for (uint16_t info : infos) w.U16(info);
  return w.bytes;
}

inline std::vector<uint8_t> MetaData(std::string_view name, std::vector<std::string_view> queries) {
  Wire w;
  w.U32(uint32_t(name.size())).Text(name).U32(uint32_t(queries.size()));
  for (std::string_view query : queries) w.U32(uint32_t(query.size())).Text(query);
  return w.bytes;
}

inline std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

struct OptionReply {
  uint32_t option = 0;
  uint32_t type = 0;
  std::vector<uint8_t> data;
  std::string Text() const { return std::string(data.begin(), data.end()); }
  bool operator==(const OptionReply&) const = default;
};

// Parses a run of option replies, failing the test on any malformed header. Bytes after the
// last complete reply (an EXPORT_NAME answer) are left in *rest when given.
inline std::vector<OptionReply> ParseReplies(std::span<const uint8_t> bytes,
                                             std::vector<uint8_t>* rest = nullptr) {
  std::vector<OptionReply> replies;
  while (bytes.size() >= kOptionReplyHeaderBytes && LoadBe64(bytes.data()) == kOptionReplyMagic) {
    OptionReply reply;
    reply.option = LoadBe32(bytes.data() + 8);
    reply.type = LoadBe32(bytes.data() + 12);
    const uint32_t length = LoadBe32(bytes.data() + 16);
    EXPECT_LE(length, bytes.size() - kOptionReplyHeaderBytes);
    if (length > bytes.size() - kOptionReplyHeaderBytes) break;
    reply.data.assign(bytes.begin() + kOptionReplyHeaderBytes,
                      bytes.begin() + kOptionReplyHeaderBytes + length);
    replies.push_back(std::move(reply));
    bytes = bytes.subspan(kOptionReplyHeaderBytes + length);
  }
  if (rest) {
    rest->assign(bytes.begin(), bytes.end());
  } else {
    EXPECT_TRUE(bytes.empty()) << bytes.size() << " trailing bytes";
  }
  return replies;
}

// The client flags a modern client sends.
inline std::vector<uint8_t> ClientFlags(uint32_t flags = kClientFlagFixedNewstyle |
                                                         kClientFlagNoZeroes) {
  return Wire().U32(flags).bytes;
}

inline Negotiated NegotiatedFor(const ExportInfo& info, bool structured_replies = false,
                                bool base_allocation = false) {
  Negotiated negotiated;
  negotiated.export_info = info;
  negotiated.structured_replies = structured_replies;
  negotiated.transmission_flags = TransmissionFlags(info, structured_replies);
  if (base_allocation) negotiated.base_allocation_id = kBaseAllocationId;
  return negotiated;
}

}  // namespace fb::nbd::testing
