// libFuzzer target for transmission requests: every 28-byte slice of the input is decoded (as
// is, and with the magic forced valid so validation is always reached), validated against
// several negotiated connections, and answered; the verdicts must respect NBD.md 1.12 and
// every encoded reply must parse as a well-formed simple reply or chunk sequence.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "base/endian.h"
#include "base/status.h"
#include "proto/nbd/errno_map.h"
#include "proto/nbd/reply.h"
#include "proto/nbd/request.h"
#include "proto/nbd/wire.h"

namespace {

using fb::LoadBe16;
using fb::LoadBe32;
using fb::LoadBe64;
using namespace fb::nbd;
using Verdict = Check::Verdict;

Negotiated Connection(ExportInfo info, bool structured_replies, bool base_allocation) {
  Negotiated negotiated;
  negotiated.export_info = info;
  negotiated.structured_replies = structured_replies;
  negotiated.transmission_flags = TransmissionFlags(info, structured_replies);
  if (base_allocation) negotiated.base_allocation_id = kBaseAllocationId;
  FB_ASSERT(CheckExportInfo(info).ok());
  return negotiated;
}

std::vector<Negotiated> Connections() {
  ExportInfo plain;  // defaults: block sizes 1 / 4096 / 32 MiB
  plain.name = "vm1";
  plain.size_bytes = 1ull << 30;
  ExportInfo ro = plain;
  ro.read_only = true;
  ro.rotational = true;
  ro.size_bytes = (64 << 20) + 100;  // unaligned tail
  ro.block_min = 512;
  ro.block_max = 64 * 1024;
  ExportInfo empty = plain;
  empty.size_bytes = 0;
  empty.can_fast_zero = false;
  ExportInfo huge = plain;
  huge.size_bytes = UINT64_MAX;
  huge.block_min = huge.block_preferred = huge.block_max = 4096;
  Negotiated masked = Connection(plain, true, false);
  masked.transmission_flags &= ~(kFlagSendFua | kFlagSendFlush | kFlagSendTrim);
  return {Connection(plain, false, false), Connection(ro, true, true),
          Connection(empty, true, false), Connection(huge, true, true), masked};
}

bool ChangesData(uint16_t type) {
  return type == kCmdWrite || type == kCmdTrim || type == kCmdWriteZeroes;
}

void CheckAccepted(const Request& r, const Negotiated& n) {
  const ExportInfo& info = n.export_info;
  const uint16_t tflags = n.transmission_flags;
  FB_ASSERT(r.type <= kCmdBlockStatus);
  FB_ASSERT(!(r.flags &
              ~(kCmdFlagFua | kCmdFlagNoHole | kCmdFlagDf | kCmdFlagReqOne | kCmdFlagFastZero)));
  if (r.flags & kCmdFlagFua) FB_ASSERT(tflags & kFlagSendFua);
  if (r.flags & kCmdFlagDf) FB_ASSERT(r.type == kCmdRead && n.structured_replies);
  if (r.flags & (kCmdFlagNoHole | kCmdFlagFastZero)) FB_ASSERT(r.type == kCmdWriteZeroes);
  if (r.flags & kCmdFlagFastZero) FB_ASSERT(tflags & kFlagSendFastZero);
  if (r.flags & kCmdFlagReqOne) FB_ASSERT(r.type == kCmdBlockStatus);
  if (ChangesData(r.type)) FB_ASSERT(!info.read_only);
  if (r.type == kCmdFlush) FB_ASSERT(tflags & kFlagSendFlush);
  if (r.type == kCmdTrim) FB_ASSERT(tflags & kFlagSendTrim);
  if (r.type == kCmdBlockStatus) FB_ASSERT(n.base_allocation_id && r.length > 0);
  if (r.type == kCmdFlush || r.type == kCmdDisc) {
    FB_ASSERT(r.offset == 0 && r.length == 0);
    return;
  }
  FB_ASSERT(r.offset <= info.size_bytes && r.length <= info.size_bytes - r.offset);
  if (r.type == kCmdRead || r.type == kCmdWrite) FB_ASSERT(r.length <= info.block_max);
  if (info.block_min > 1) FB_ASSERT(r.offset % info.block_min == 0);
}

void CheckVerdict(const Request& r, const Negotiated& n, const Check& check) {
  if (check.verdict != Verdict::kOk) FB_ASSERT(!check.why.empty());
  switch (check.verdict) {
    case Verdict::kOk:
      CheckAccepted(r, n);
      break;
    case Verdict::kDisconnect:
      FB_ASSERT(r.type == kCmdWrite && r.length > n.export_info.block_max);
      break;
    case Verdict::kError:
      FB_ASSERT(check.error == kEperm || check.error == kEinval || check.error == kEnospc ||
                check.error == kEoverflow);
      if (check.error == kEnospc) FB_ASSERT(r.type == kCmdWrite || r.type == kCmdWriteZeroes);
      if (check.error == kEperm) FB_ASSERT(ChangesData(r.type) && n.export_info.read_only);
      if (check.error == kEoverflow) FB_ASSERT(r.type == kCmdRead && (r.flags & kCmdFlagDf));
      break;
  }
}

// A sequence of chunks for one request, ending in exactly one DONE. OFFSET_DATA payloads are
// sent separately by the server (scatter-gather), so only their 8-byte offset is here.
void CheckChunks(std::span<const uint8_t> out, uint64_t cookie) {
  bool done = false;
  while (!out.empty()) {
    FB_ASSERT(!done);
    FB_ASSERT(out.size() >= kChunkHeaderBytes);
    FB_ASSERT(LoadBe32(out.data()) == kStructuredReplyMagic);
    const uint16_t flags = LoadBe16(out.data() + 4);
    const uint16_t type = LoadBe16(out.data() + 6);
    FB_ASSERT(LoadBe64(out.data() + 8) == cookie);
    const uint32_t length = LoadBe32(out.data() + 16);
    FB_ASSERT((flags & ~kReplyFlagDone) == 0);
    const uint8_t* p = out.data() + kChunkHeaderBytes;
    size_t present = length;
    if (type == kChunkNone) {
      FB_ASSERT(length == 0 && (flags & kReplyFlagDone));
    } else if (type == kChunkOffsetData) {
      FB_ASSERT(length > kOffsetDataPrefixBytes);
      present = kOffsetDataPrefixBytes;
    } else if (type == kChunkOffsetHole) {
      FB_ASSERT(length == kOffsetHolePayloadBytes && LoadBe32(p + 8) != 0);
    } else if (type == kChunkBlockStatus) {
      FB_ASSERT(length >= 12 && (length - 4) % 8 == 0);
      for (uint32_t i = 4; i < length; i += 8) FB_ASSERT(LoadBe32(p + i) != 0);
    } else {
      FB_ASSERT(type == kChunkError || type == kChunkErrorOffset);
      const size_t tail = type == kChunkErrorOffset ? 8 : 0;
      FB_ASSERT(length >= kErrorPrefixBytes + tail && LoadBe32(p) != 0);
      FB_ASSERT(LoadBe16(p + 4) <= kMaxStringBytes);
      FB_ASSERT(kErrorPrefixBytes + LoadBe16(p + 4) + tail == length);
    }
    FB_ASSERT(out.size() >= kChunkHeaderBytes + present);
    done = flags & kReplyFlagDone;
    out = out.subspan(kChunkHeaderBytes + present);
  }
  FB_ASSERT(done);
}

void CheckReply(const std::vector<uint8_t>& out, const Negotiated& n, uint64_t cookie,
                uint32_t error) {
  if (!n.structured_replies) {
    FB_ASSERT(out.size() == kSimpleReplyBytes);
    FB_ASSERT(LoadBe32(out.data()) == kSimpleReplyMagic);
    FB_ASSERT(LoadBe32(out.data() + 4) == error);
    FB_ASSERT(LoadBe64(out.data() + 8) == cookie);
    return;
  }
  CheckChunks(out, cookie);
}

// What a server would send for this request on this connection.
void Answer(const Request& r, const Negotiated& n, const Check& check, std::string_view text) {
  std::vector<uint8_t> out;
  const uint32_t error = check.verdict == Verdict::kError ? check.error : 0;
  EncodeStatusReply(out, n, r.cookie, error, text);
  CheckReply(out, n, r.cookie, error);
  if (check.verdict != Verdict::kOk) return;
  out.clear();
  if (r.type == kCmdRead && !n.structured_replies) {
    EncodeReadDataHeader(out, n, r.cookie, r.offset, r.length, true);
    CheckReply(out, n, r.cookie, 0);
  } else if (r.type == kCmdRead && r.length > 0) {
    // Data, then a hole, then success or a failure at an offset.
    const uint32_t data = r.length / 2 + 1;
    EncodeReadDataHeader(out, n, r.cookie, r.offset, data, false);
    if (r.length > data) EncodeReadHole(out, r.cookie, r.offset + data, r.length - data, false);
    if (r.cookie & 1) {
      EncodeErrorAt(out, r.cookie, NbdError(fb::Status::IOError("fuzz"), r.type, r.flags), r.offset,
                    text);
    } else {
      EncodeDone(out, r.cookie);
    }
    CheckChunks(out, r.cookie);
  } else if (r.type == kCmdBlockStatus) {
    const Extent extents[] = {{r.length, kStateHole}, {uint32_t(r.offset) | 1, kStateZero}};
    const size_t count = (r.flags & kCmdFlagReqOne) ? 1 : 2;
    EncodeBlockStatus(out, r.cookie, *n.base_allocation_id, std::span(extents, count));
    CheckChunks(out, r.cookie);
  }
}

void CheckErrno(const Request& r, uint8_t selector) {
  const auto code = fb::Code(1 + selector % int(fb::Code::kInternal));
  const uint32_t error = NbdError(fb::Status(code, "fuzz"), r.type, r.flags);
  FB_ASSERT(error != 0 && error != kEshutdown);
}

void Exercise(const Request& r, const std::vector<Negotiated>& connections, std::string_view text) {
  FB_ASSERT(PayloadLength(r) == (r.type == kCmdWrite ? r.length : 0));
  for (const Negotiated& n : connections) {
    const Check check = Validate(r, n);
    const Check again = Validate(r, n);
    FB_ASSERT(check.verdict == again.verdict && check.error == again.error);
    CheckVerdict(r, n, check);
    Answer(r, n, check, text);
  }
  CheckErrno(r, uint8_t(r.cookie));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Negotiated> connections = Connections();
  // Error messages come from the input too; repeated past 4096 bytes so truncation (at a UTF-8
  // boundary) gets exercised.
  std::string text(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & 1)) {
    while (text.size() <= kMaxStringBytes) text.append(reinterpret_cast<const char*>(data), size);
  }
  for (size_t at = 0; at + kRequestHeaderBytes <= size && at < 64 * kRequestHeaderBytes;
       at += kRequestHeaderBytes) {
    std::array<uint8_t, kRequestHeaderBytes> header;
    std::copy(data + at, data + at + kRequestHeaderBytes, header.begin());
    const auto decoded = DecodeRequest(header);
    FB_ASSERT(decoded.has_value() == (LoadBe32(header.data()) == kRequestMagic));
    if (decoded) Exercise(*decoded, connections, text);
    fb::StoreBe32(header.data(), kRequestMagic);
    const auto forced = DecodeRequest(header);
    FB_ASSERT(forced.has_value());
    Exercise(*forced, connections, text);
  }
  return 0;
}
