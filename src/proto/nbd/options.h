// Handshake option helpers, pure and stateless: strict parsers for the INFO/GO and
// *_META_CONTEXT request data (hostile input: every length is checked against what is left)
// and encoders that append one complete option reply to `out`. handshake.cc holds the state.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/nbd/export.h"

namespace fb::nbd {

// NBD_OPT_INFO / NBD_OPT_GO data: u32 name length, name, u16 n, n x u16 info type. The name
// views the option data. Unknown info types are ignored, as the spec requires.
struct InfoRequest {
  std::string_view name;
  bool want_name = false;
  bool want_description = false;
  bool want_block_size = false;
};
Result<InfoRequest> ParseInfoRequest(std::span<const uint8_t> data);

// NBD_OPT_{LIST,SET}_META_CONTEXT data: u32 name length, name, u32 n, n x (u32 length, query).
// Views the option data; at most data.size() / 4 queries, so memory stays bounded.
struct MetaContextRequest {
  std::string_view name;
  std::vector<std::string_view> queries;
};
Result<MetaContextRequest> ParseMetaContextRequest(std::span<const uint8_t> data);

// Reply header (magic, option, type, length) followed by `data`.
void EncodeOptionReply(std::vector<uint8_t>& out, uint32_t option, uint32_t type,
                       std::span<const uint8_t> data = {});
void EncodeAck(std::vector<uint8_t>& out, uint32_t option);
// An NBD_REP_ERR_* reply; the message is cut to 4096 bytes at a UTF-8 boundary.
void EncodeOptionError(std::vector<uint8_t>& out, uint32_t option, uint32_t error_type,
                       std::string_view message);
// NBD_REP_SERVER for NBD_OPT_LIST: u32 name length, name.
void EncodeServerReply(std::vector<uint8_t>& out, std::string_view name);
// The NBD_REP_INFO replies for INFO/GO, in a fixed order so INFO and GO are byte-identical:
// EXPORT always, NAME and DESCRIPTION when asked for, BLOCK_SIZE always.
void EncodeInfoReplies(std::vector<uint8_t>& out, uint32_t option, const ExportInfo& info,
                       uint16_t transmission_flags, const InfoRequest& request);
// NBD_REP_META_CONTEXT: u32 context id, context name.
void EncodeMetaContextReply(std::vector<uint8_t>& out, uint32_t option, uint32_t context_id,
                            std::string_view name);
// The raw NBD_OPT_EXPORT_NAME success reply: size, flags, and 124 zeros unless NO_ZEROES.
void EncodeExportNameReply(std::vector<uint8_t>& out, const ExportInfo& info,
                           uint16_t transmission_flags, bool no_zeroes);

}  // namespace fb::nbd
