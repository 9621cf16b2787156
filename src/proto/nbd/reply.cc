// Simple replies and structured reply chunks (layouts in wire.h). The shape follows what the
// connection negotiated; the asserts encode the chunk rules of NBD.md 1.7 and 1.8, which a
// client would otherwise answer with a hard disconnect.
#include "proto/nbd/reply.h"

#include "base/assert.h"
#include "proto/nbd/bytes.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

void AppendSimpleReply(std::vector<uint8_t>& out, uint64_t cookie, uint32_t error) {
  AppendBe32(out, kSimpleReplyMagic);
  AppendBe32(out, error);
  AppendBe64(out, cookie);
}

void AppendChunkHeader(std::vector<uint8_t>& out, uint16_t flags, uint16_t type, uint64_t cookie,
                       uint64_t length) {
  FB_ASSERT(length <= UINT32_MAX);
  FB_ASSERT((flags & ~kReplyFlagDone) == 0);
  AppendBe32(out, kStructuredReplyMagic);
  AppendBe16(out, flags);
  AppendBe16(out, type);
  AppendBe64(out, cookie);
  AppendBe32(out, uint32_t(length));
}

// ERROR or ERROR_OFFSET chunk, always the last one of its reply.
void AppendErrorChunk(std::vector<uint8_t>& out, uint16_t type, uint64_t cookie, uint32_t error,
                      std::string_view message, const uint64_t* offset) {
  FB_ASSERT(error != 0);  // an error chunk with error 0 is a protocol violation
  FB_ASSERT(type & kChunkErrorBit);
  const std::string_view text = TruncateMessage(message);
  const size_t length = kErrorPrefixBytes + text.size() + (offset ? 8 : 0);
  AppendChunkHeader(out, kReplyFlagDone, type, cookie, length);
  AppendBe32(out, error);
  AppendBe16(out, uint16_t(text.size()));
  AppendText(out, text);
  if (offset) AppendBe64(out, *offset);
}

}  // namespace

std::string_view TruncateMessage(std::string_view message) {
  if (message.size() <= kMaxStringBytes) return message;
  size_t cut = kMaxStringBytes;
  // message[cut] is the first byte left out; if it continues a character, drop that character.
  while (cut > 0 && (uint8_t(message[cut]) & 0xC0) == 0x80) --cut;
  FB_ASSERT(cut <= kMaxStringBytes);
  return message.substr(0, cut);
}

void EncodeStatusReply(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                       uint32_t error, std::string_view message) {
  const size_t start = out.size();
  if (!negotiated.structured_replies) {
    AppendSimpleReply(out, cookie, error);  // the message has nowhere to go
    FB_ASSERT(out.size() == start + kSimpleReplyBytes);
    return;
  }
  if (error == 0) {
    AppendChunkHeader(out, kReplyFlagDone, kChunkNone, cookie, 0);
  } else {
    AppendErrorChunk(out, kChunkError, cookie, error, message, nullptr);
  }
  FB_ASSERT(out.size() >= start + kChunkHeaderBytes);
}

void EncodeSuccessReply(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                        uint16_t command) {
  if (negotiated.structured_replies && command == kCmdRead) {
    return EncodeStatusReply(out, negotiated, cookie, 0);  // SR: never a simple reply to READ
  }
  AppendSimpleReply(out, cookie, 0);
}

void EncodeReadDataHeader(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                          uint64_t offset, uint32_t length, bool done) {
  if (!negotiated.structured_replies) {
    FB_ASSERT(done);  // a simple reply is the whole answer
    AppendSimpleReply(out, cookie, 0);
    return;
  }
  // OFFSET_DATA needs at least one data byte; an empty READ is answered by EncodeStatusReply.
  FB_ASSERT(length > 0);
  AppendChunkHeader(out, done ? kReplyFlagDone : 0, kChunkOffsetData, cookie,
                    kOffsetDataPrefixBytes + uint64_t{length});
  AppendBe64(out, offset);
}

void EncodeReadHole(std::vector<uint8_t>& out, uint64_t cookie, uint64_t offset, uint32_t length,
                    bool done) {
  FB_ASSERT(length > 0);  // a hole of size 0 is a protocol violation
  const size_t start = out.size();
  AppendChunkHeader(out, done ? kReplyFlagDone : 0, kChunkOffsetHole, cookie,
                    kOffsetHolePayloadBytes);
  AppendBe64(out, offset);
  AppendBe32(out, length);
  FB_ASSERT(out.size() == start + kChunkHeaderBytes + kOffsetHolePayloadBytes);
}

void EncodeDone(std::vector<uint8_t>& out, uint64_t cookie) {
  const size_t start = out.size();
  AppendChunkHeader(out, kReplyFlagDone, kChunkNone, cookie, 0);
  FB_ASSERT(out.size() == start + kChunkHeaderBytes);
}

void EncodeErrorAt(std::vector<uint8_t>& out, uint64_t cookie, uint32_t error, uint64_t offset,
                   std::string_view message) {
  const size_t start = out.size();
  AppendErrorChunk(out, kChunkErrorOffset, cookie, error, message, &offset);
  FB_ASSERT(out.size() >= start + kChunkHeaderBytes + kErrorPrefixBytes + 8);
}

void EncodeBlockStatus(std::vector<uint8_t>& out, uint64_t cookie, uint32_t context_id,
                       std::span<const Extent> extents) {
  FB_ASSERT(!extents.empty());  // at least one descriptor
  const uint64_t length =
      kBlockStatusPrefixBytes + uint64_t{kBlockStatusDescriptorBytes} * extents.size();
  AppendChunkHeader(out, kReplyFlagDone, kChunkBlockStatus, cookie, length);
  AppendBe32(out, context_id);
  for (const Extent& extent : extents) {
    FB_ASSERT(extent.length != 0);  // every descriptor length is nonzero
    AppendBe32(out, extent.length);
    AppendBe32(out, extent.flags);
  }
}

}  // namespace fb::nbd
