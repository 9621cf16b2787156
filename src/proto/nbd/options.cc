// Handshake option parsing and option reply encoding (layouts in wire.h). Parsers never read
// past `data` and reject trailing bytes; encoders build each reply header first and patch its
// length once the payload is in place.
#include "proto/nbd/options.h"

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/bytes.h"
#include "proto/nbd/reply.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Starts a reply whose length is patched by EndReply; returns where the header begins.
size_t BeginReply(std::vector<uint8_t>& out, uint32_t option, uint32_t type) {
  const size_t start = out.size();
  AppendBe64(out, kOptionReplyMagic);
  AppendBe32(out, option);
  AppendBe32(out, type);
  AppendBe32(out, 0);  // length, patched by EndReply
  FB_ASSERT(out.size() == start + kOptionReplyHeaderBytes);
  return start;
}

void EndReply(std::vector<uint8_t>& out, size_t start) {
  FB_ASSERT(out.size() >= start + kOptionReplyHeaderBytes);
  const size_t length = out.size() - start - kOptionReplyHeaderBytes;
  FB_ASSERT(length <= UINT32_MAX);
  StoreBe32(out.data() + start + 16, uint32_t(length));
}

// Reads "u32 length, bytes" from the front of `rest`, advancing it; false if it does not fit.
bool TakeString(std::span<const uint8_t>& rest, std::string_view& text) {
  if (rest.size() < 4) return false;
  const uint32_t length = LoadBe32(rest.data());
  if (length > rest.size() - 4) return false;
  text = AsText(rest.subspan(4, length));
  rest = rest.subspan(4 + size_t{length});
  return true;
}

}  // namespace

Result<InfoRequest> ParseInfoRequest(std::span<const uint8_t> data) {
  InfoRequest request;
  std::span<const uint8_t> rest = data;
  // The name must leave room for the u16 count: namelen > optlen - 6 is malformed.
  if (!TakeString(rest, request.name) || rest.size() < 2) {
    return Status::InvalidArgument("export name length exceeds the option length");
  }
  const uint16_t count = LoadBe16(rest.data());
  rest = rest.subspan(2);
  if (rest.size() != size_t{count} * 2) {
    return Status::InvalidArgument("info request count does not match the option length");
  }
  for (size_t i = 0; i < count; ++i) {
    const uint16_t type = LoadBe16(rest.data() + 2 * i);
    if (type == kInfoName) request.want_name = true;
    if (type == kInfoDescription) request.want_description = true;
    if (type == kInfoBlockSize) request.want_block_size = true;
  }
  FB_ASSERT(request.name.size() + kInfoRequestFixedBytes + 2 * size_t{count} == data.size());
  return request;
}

Result<MetaContextRequest> ParseMetaContextRequest(std::span<const uint8_t> data) {
  MetaContextRequest request;
  std::span<const uint8_t> rest = data;
  if (!TakeString(rest, request.name) || rest.size() < 4) {
    return Status::InvalidArgument("export name length exceeds the option length");
  }
  const uint32_t count = LoadBe32(rest.data());
  rest = rest.subspan(4);
  // Each query needs at least its u32 length: checked before reserving, so a hostile count
  // cannot make us allocate.
  if (count > rest.size() / 4) {
    return Status::InvalidArgument("query count exceeds the option length");
  }
  request.queries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view query;
    if (!TakeString(rest, query)) {
      return Status::InvalidArgument("query length exceeds the option length");
    }
    request.queries.push_back(query);
  }
  if (!rest.empty()) return Status::InvalidArgument("trailing bytes after the last query");
  FB_ASSERT(request.queries.size() == count);
  return request;
}

void EncodeOptionReply(std::vector<uint8_t>& out, uint32_t option, uint32_t type,
                       std::span<const uint8_t> data) {
  const size_t start = BeginReply(out, option, type);
  AppendBytes(out, data);
  EndReply(out, start);
}

void EncodeAck(std::vector<uint8_t>& out, uint32_t option) {
  EncodeOptionReply(out, option, kRepAck);
}

void EncodeOptionError(std::vector<uint8_t>& out, uint32_t option, uint32_t error_type,
                       std::string_view message) {
  FB_ASSERT(error_type & kRepFlagError);
  const size_t start = BeginReply(out, option, error_type);
  AppendText(out, TruncateMessage(message));
  EndReply(out, start);
}

void EncodeServerReply(std::vector<uint8_t>& out, std::string_view name) {
  FB_ASSERT(name.size() <= kMaxStringBytes);
  const size_t start = BeginReply(out, kOptList, kRepServer);
  AppendBe32(out, uint32_t(name.size()));
  AppendText(out, name);
  EndReply(out, start);
}

void EncodeInfoReplies(std::vector<uint8_t>& out, uint32_t option, const ExportInfo& info,
                       uint16_t transmission_flags, const InfoRequest& request) {
  FB_ASSERT(option == kOptInfo || option == kOptGo);
  FB_ASSERT(transmission_flags & kFlagHasFlags);
  size_t start = BeginReply(out, option, kRepInfo);
  AppendBe16(out, kInfoExport);
  AppendBe64(out, info.size_bytes);
  AppendBe16(out, transmission_flags);
  EndReply(out, start);
  if (request.want_name) {
    start = BeginReply(out, option, kRepInfo);
    AppendBe16(out, kInfoName);
    AppendText(out, info.name);
    EndReply(out, start);
  }
  if (request.want_description) {
    start = BeginReply(out, option, kRepInfo);
    AppendBe16(out, kInfoDescription);
    AppendText(out, info.description);
    EndReply(out, start);
  }
  // Always sent, asked for or not: a client that does not ask still learns our limits.
  start = BeginReply(out, option, kRepInfo);
  AppendBe16(out, kInfoBlockSize);
  AppendBe32(out, info.block_min);
  AppendBe32(out, info.block_preferred);
  AppendBe32(out, info.block_max);
  EndReply(out, start);
}

void EncodeMetaContextReply(std::vector<uint8_t>& out, uint32_t option, uint32_t context_id,
                            std::string_view name) {
  FB_ASSERT(option == kOptListMetaContext || option == kOptSetMetaContext);
  FB_ASSERT(name.size() <= kMaxStringBytes);
  const size_t start = BeginReply(out, option, kRepMetaContext);
  AppendBe32(out, context_id);
  AppendText(out, name);
  EndReply(out, start);
}

void EncodeExportNameReply(std::vector<uint8_t>& out, const ExportInfo& info,
                           uint16_t transmission_flags, bool no_zeroes) {
  FB_ASSERT(transmission_flags & kFlagHasFlags);
  const size_t start = out.size();
  AppendBe64(out, info.size_bytes);
  AppendBe16(out, transmission_flags);
  if (!no_zeroes) out.resize(out.size() + kExportNameZeroPadBytes, 0);
  FB_ASSERT(out.size() - start ==
            kExportNameReplyBytes + (no_zeroes ? 0 : kExportNameZeroPadBytes));
}

}  // namespace fb::nbd
