// Decoding and validation of compact transmission requests (NBD.md 1.5, 1.6, 1.12). The
// checks run in a fixed order (command, payload size, flags, read-only, gate, range) so a
// request breaking several rules always gets the same, most useful error.
#include "proto/nbd/request.h"

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

Check Ok() { return {}; }

Check Error(uint32_t error, std::string_view why) {
  FB_ASSERT(error != 0);
  return {Check::Verdict::kError, error, why};
}

Check Disconnect(std::string_view why) { return {Check::Verdict::kDisconnect, 0, why}; }

bool IsKnownCommand(uint16_t type) {
  return type == kCmdRead || type == kCmdWrite || type == kCmdDisc || type == kCmdFlush ||
         type == kCmdTrim || type == kCmdCache || type == kCmdWriteZeroes ||
         type == kCmdBlockStatus;
}

bool ChangesData(uint16_t type) {
  return type == kCmdWrite || type == kCmdTrim || type == kCmdWriteZeroes;
}

// Flags this command may carry on this connection: FUA anywhere once advertised (clients set it
// on reads too), the rest only on their own command and only when negotiated.
uint16_t AllowedFlags(uint16_t type, const Negotiated& negotiated) {
  const uint16_t tflags = negotiated.transmission_flags;
  uint16_t allowed = (tflags & kFlagSendFua) ? kCmdFlagFua : 0;
  if (type == kCmdWriteZeroes) {
    allowed |= kCmdFlagNoHole;
    if (tflags & kFlagSendFastZero) allowed |= kCmdFlagFastZero;
  }
  if (type == kCmdRead && negotiated.structured_replies && (tflags & kFlagSendDf)) {
    allowed |= kCmdFlagDf;
  }
  if (type == kCmdBlockStatus) allowed |= kCmdFlagReqOne;
  return allowed;
}

// Whether the connection allows the command at all. CACHE is accepted even unadvertised, as
// the spec lets clients send it anyway.
bool IsAdvertised(uint16_t type, const Negotiated& negotiated) {
  const uint16_t tflags = negotiated.transmission_flags;
  switch (type) {
    case kCmdFlush:
      return tflags & kFlagSendFlush;
    case kCmdTrim:
      return tflags & kFlagSendTrim;
    case kCmdWriteZeroes:
      return tflags & kFlagSendWriteZeroes;
    case kCmdBlockStatus:
      return negotiated.structured_replies && negotiated.base_allocation_id.has_value();
    default:
      return true;
  }
}

// Range, length and alignment for commands that address the export.
Check CheckRange(const Request& request, const ExportInfo& info) {
  const bool df = request.flags & kCmdFlagDf;
  if (request.type == kCmdRead && request.length > info.block_max) {
    return Error(df ? kEoverflow : kEinval, "read longer than the maximum block size");
  }
  if (request.type == kCmdBlockStatus && request.length == 0) {
    return Error(kEinval, "block status of zero length has no extent to report");
  }
  const uint64_t end = request.offset + request.length;
  if (end < request.offset || end > info.size_bytes) {
    const bool writes = request.type == kCmdWrite || request.type == kCmdWriteZeroes;
    return Error(writes ? kEnospc : kEinval, "request extends beyond the end of the export");
  }
  // block_min 1 means any alignment. Otherwise both ends must be aligned, except a request
  // ending exactly at an unaligned export size, which could not be reached any other way.
  if (info.block_min > 1) {
    const bool offset_aligned = request.offset % info.block_min == 0;
    const bool end_aligned = end % info.block_min == 0 || end == info.size_bytes;
    if (!offset_aligned || !end_aligned) {
      return Error(kEinval, "request not aligned to the minimum block size");
    }
  }
  FB_ASSERT(end <= info.size_bytes);
  return Ok();
}

}  // namespace

std::optional<Request> DecodeRequest(std::span<const uint8_t, kRequestHeaderBytes> header) {
  if (LoadBe32(header.data()) != kRequestMagic) return std::nullopt;
  Request request;
  request.flags = LoadBe16(header.data() + 4);
  request.type = LoadBe16(header.data() + 6);
  request.cookie = LoadBe64(header.data() + 8);
  request.offset = LoadBe64(header.data() + 16);
  request.length = LoadBe32(header.data() + 24);
  return request;
}

void EncodeRequest(std::span<uint8_t, kRequestHeaderBytes> header, const Request& request) {
  StoreBe32(header.data(), kRequestMagic);
  StoreBe16(header.data() + 4, request.flags);
  StoreBe16(header.data() + 6, request.type);
  StoreBe64(header.data() + 8, request.cookie);
  StoreBe64(header.data() + 16, request.offset);
  StoreBe32(header.data() + 24, request.length);
}

uint32_t PayloadLength(const Request& request) {
  return request.type == kCmdWrite ? request.length : 0;
}

Check Validate(const Request& request, const Negotiated& negotiated) {
  const ExportInfo& info = negotiated.export_info;
  FB_ASSERT(info.block_min >= 1);
  FB_ASSERT(negotiated.transmission_flags & kFlagHasFlags);
  // Unknown commands carry no payload (compact headers), so the stream stays in sync.
  if (!IsKnownCommand(request.type)) return Error(kEinval, "unknown command");
  // We would have to buffer the payload to drain it: a hostile length is a DoS, so hang up.
  if (request.type == kCmdWrite && request.length > info.block_max) {
    return Disconnect("write payload larger than the maximum block size");
  }
  if (request.flags & ~AllowedFlags(request.type, negotiated)) {
    return Error(kEinval, "command flag unknown or not valid for this command");
  }
  const bool read_only = info.read_only || (negotiated.transmission_flags & kFlagReadOnly);
  if (ChangesData(request.type) && read_only) {
    return Error(kEperm, "export is read-only");
  }
  if (!IsAdvertised(request.type, negotiated)) {
    return Error(kEinval, "command not negotiated on this connection");
  }
  if (request.type == kCmdFlush || request.type == kCmdDisc) {
    if (request.offset != 0 || request.length != 0) {
      return Error(kEinval, "flush and disconnect take no offset or length");
    }
    return Ok();
  }
  return CheckRange(request, info);
}

}  // namespace fb::nbd
