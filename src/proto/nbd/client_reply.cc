// Reply decoding for the client side (layouts in wire.h). One header, chunk or data piece per
// call; the checks follow NBD.md 1.5-1.8, and a reply is only reported complete (kDone) when
// what it promised arrived: a successful READ covered its whole range, a successful
// BLOCK_STATUS carried extents.
#include "proto/nbd/client_reply.h"

#include <algorithm>

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using Kind = ReplyEvent::Kind;

ReplyStep Event(size_t consumed, ReplyEvent event) {
  ReplyStep step;
  step.consumed = consumed;
  step.event = event;
  return step;
}

// Bytes used, no event yet.
ReplyStep Consumed(size_t consumed) {
  ReplyStep step;
  step.consumed = consumed;
  return step;
}

ReplyEvent Make(Kind kind, uint64_t cookie) {
  ReplyEvent event;
  event.kind = kind;
  event.cookie = cookie;
  return event;
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

ReplyDecoder::ReplyDecoder(bool structured_replies) : structured_replies_(structured_replies) {}

ReplyStep ReplyDecoder::Next(std::span<const uint8_t> in, PendingReplies& pending) {
  FB_ASSERT(phase_ != Phase::kBroken);
  if (done_pending_) {
    FB_ASSERT(phase_ == Phase::kHeader);
    done_pending_ = false;
    PendingReply* reply = pending.Find(cookie_);
    if (reply == nullptr) return Broken("a reply's request was dropped before its end");
    return Done(cookie_, *reply, 0);
  }
  switch (phase_) {
    case Phase::kHeader:
      return OnHeader(in, pending);
    case Phase::kSimpleData:
    case Phase::kChunkData: {
      PendingReply* reply = pending.Find(cookie_);
      if (reply == nullptr) return Broken("a reply's request was dropped mid-data");
      return OnData(in, *reply);
    }
    case Phase::kBroken:
      break;
  }
  FB_UNREACHABLE();
}

ReplyStep ReplyDecoder::OnHeader(std::span<const uint8_t> in, PendingReplies& pending) {
  if (in.size() < 4) return {};
  const uint32_t magic = LoadBe32(in.data());
  if (magic == kSimpleReplyMagic) return OnSimpleReply(in, pending);
  if (magic == kStructuredReplyMagic) return OnChunk(in, pending);
  return Broken("bad reply magic; the stream cannot be resynchronised");
}

// Simple reply: magic, error, cookie; a successful READ's data follows.
ReplyStep ReplyDecoder::OnSimpleReply(std::span<const uint8_t> in, PendingReplies& pending) {
  if (in.size() < kSimpleReplyBytes) return {};
  const uint32_t error = LoadBe32(in.data() + 4);
  const uint64_t cookie = LoadBe64(in.data() + 8);
  PendingReply* reply = pending.Find(cookie);
  if (reply == nullptr) return Broken("simple reply for a cookie not awaited");
  if (reply->data_bytes != 0 || reply->error || reply->block_status) {
    return Broken("simple reply after chunks for the same cookie");
  }
  cookie_ = cookie;
  if (error != 0) {
    reply->error = true;
    done_pending_ = true;
    ReplyEvent event = Make(Kind::kError, cookie);
    event.error = error;
    return Event(kSimpleReplyBytes, event);
  }
  if (reply->type != kCmdRead || reply->length == 0) {
    return Done(cookie, *reply, kSimpleReplyBytes);
  }
  if (structured_replies_) return Broken("simple reply to a READ after structured replies");
  phase_ = Phase::kSimpleData;
  data_offset_ = reply->offset;
  data_remaining_ = reply->length;
  done_after_data_ = true;
  return Consumed(kSimpleReplyBytes);
}

// Structured chunk: magic, flags, type, cookie, length, then the payload.
ReplyStep ReplyDecoder::OnChunk(std::span<const uint8_t> in, PendingReplies& pending) {
  if (!structured_replies_) return Broken("structured chunk without structured replies");
  if (in.size() < kChunkHeaderBytes) return {};
  const uint16_t flags = LoadBe16(in.data() + 4);
  const uint16_t type = LoadBe16(in.data() + 6);
  const uint64_t cookie = LoadBe64(in.data() + 8);
  const uint32_t length = LoadBe32(in.data() + 16);
  if (flags & ~kReplyFlagDone) return Broken("unknown reply flags");
  PendingReply* reply = pending.Find(cookie);
  if (reply == nullptr) return Broken("chunk for a cookie not awaited");
  if (type == kChunkOffsetData) {
    // Streamed: only the 8-byte offset has to be here; the data follows in pieces.
    if (reply->type != kCmdRead) return Broken("OFFSET_DATA for a request that is not a READ");
    if (length <= kOffsetDataPrefixBytes) return Broken("OFFSET_DATA without data");
    if (in.size() < kChunkHeaderBytes + kOffsetDataPrefixBytes) return {};
    const uint64_t offset = LoadBe64(in.data() + kChunkHeaderBytes);
    const uint64_t data = length - kOffsetDataPrefixBytes;
    if (offset != reply->offset + reply->data_bytes) {
      return Broken("READ chunks do not tile the range in order");
    }
    if (data > reply->length - reply->data_bytes) return Broken("OFFSET_DATA beyond the READ");
    cookie_ = cookie;
    phase_ = Phase::kChunkData;
    data_offset_ = offset;
    data_remaining_ = uint32_t(data);
    done_after_data_ = (flags & kReplyFlagDone) != 0;
    return Consumed(kChunkHeaderBytes + kOffsetDataPrefixBytes);
  }
  if (length > kMaxReplyChunkBytes) return Broken("reply chunk larger than we accept");
  if (in.size() - kChunkHeaderBytes < length) return {};  // wait for the whole chunk
  return OnChunkPayload(flags, type, cookie, in.subspan(kChunkHeaderBytes, length), *reply,
                        kChunkHeaderBytes + length);
}

ReplyStep ReplyDecoder::OnChunkPayload(uint16_t flags, uint16_t type, uint64_t cookie,
                                       std::span<const uint8_t> payload, PendingReply& reply,
                                       size_t consumed) {
  const bool done = (flags & kReplyFlagDone) != 0;
  if (type & kChunkErrorBit) {
    ReplyStep step = OnErrorChunk(type, cookie, payload, reply, consumed);
    if (step.status.ok()) done_pending_ = done;
    return step;
  }
  cookie_ = cookie;
  switch (type) {
    case kChunkNone:
      if (!payload.empty() || !done) return Broken("NONE chunk must be empty and final");
      return Done(cookie, reply, consumed);
    case kChunkOffsetHole: {
      if (reply.type != kCmdRead) return Broken("OFFSET_HOLE for a request that is not a READ");
      if (payload.size() != kOffsetHolePayloadBytes) return Broken("bad OFFSET_HOLE length");
      const uint64_t offset = LoadBe64(payload.data());
      const uint32_t size = LoadBe32(payload.data() + 8);
      if (size == 0) return Broken("OFFSET_HOLE of size 0");
      if (offset != reply.offset + reply.data_bytes) {
        return Broken("READ chunks do not tile the range in order");
      }
      if (size > reply.length - reply.data_bytes) return Broken("OFFSET_HOLE beyond the READ");
      reply.data_bytes += size;
      done_pending_ = done;
      ReplyEvent event = Make(Kind::kHole, cookie);
      event.offset = offset;
      event.length = size;
      return Event(consumed, event);
    }
    case kChunkBlockStatus: {
      if (reply.type != kCmdBlockStatus) return Broken("BLOCK_STATUS for another command");
      if (payload.size() < kBlockStatusPrefixBytes + kBlockStatusDescriptorBytes ||
          (payload.size() - kBlockStatusPrefixBytes) % kBlockStatusDescriptorBytes != 0) {
        return Broken("bad BLOCK_STATUS length");
      }
      const std::span<const uint8_t> descriptors = payload.subspan(kBlockStatusPrefixBytes);
      for (size_t at = 0; at < descriptors.size(); at += kBlockStatusDescriptorBytes) {
        if (LoadBe32(descriptors.data() + at) == 0) return Broken("extent of length 0");
      }
      reply.block_status = true;
      done_pending_ = done;
      ReplyEvent event = Make(Kind::kBlockStatus, cookie);
      event.context_id = LoadBe32(payload.data());
      event.bytes = descriptors;
      return Event(consumed, event);
    }
    default:
      return Broken("unknown reply chunk type");  // the spec: hard disconnect
  }
}

// ERROR (error, message length, message), ERROR_OFFSET (the same, then an offset), or an
// unknown error type, which a client must treat as an error.
ReplyStep ReplyDecoder::OnErrorChunk(uint16_t type, uint64_t cookie,
                                     std::span<const uint8_t> payload, PendingReply& reply,
                                     size_t consumed) {
  FB_ASSERT(type & kChunkErrorBit);
  uint32_t error = kEio;
  std::string_view message;
  if (type == kChunkError || type == kChunkErrorOffset) {
    const size_t tail = type == kChunkErrorOffset ? 8 : 0;
    if (payload.size() < kErrorPrefixBytes + tail) return Broken("error chunk too short");
    error = LoadBe32(payload.data());
    const uint16_t message_bytes = LoadBe16(payload.data() + 4);
    if (kErrorPrefixBytes + message_bytes + tail != payload.size()) {
      return Broken("error chunk message length does not match its chunk");
    }
    if (error == 0) return Broken("error chunk with error 0");
    message = AsText(payload.subspan(kErrorPrefixBytes, message_bytes));
    if (tail != 0) {
      const uint64_t offset = LoadBe64(payload.data() + kErrorPrefixBytes + message_bytes);
      if (offset < reply.offset || offset - reply.offset >= std::max<uint64_t>(reply.length, 1)) {
        return Broken("ERROR_OFFSET outside the request");
      }
    }
  } else if (payload.size() >= 4 && LoadBe32(payload.data()) != 0) {
    error = LoadBe32(payload.data());
  }
  reply.error = true;
  cookie_ = cookie;
  ReplyEvent event = Make(Kind::kError, cookie);
  event.error = error;
  event.message = message;
  return Event(consumed, event);
}

ReplyStep ReplyDecoder::OnData(std::span<const uint8_t> in, PendingReply& reply) {
  FB_ASSERT(phase_ == Phase::kSimpleData || phase_ == Phase::kChunkData);
  FB_ASSERT(data_remaining_ > 0);
  const uint32_t n = uint32_t(std::min<size_t>(in.size(), data_remaining_));
  if (n == 0) return {};
  ReplyEvent event = Make(Kind::kData, cookie_);
  event.offset = data_offset_;
  event.bytes = in.first(n);
  FB_ASSERT(data_offset_ == reply.offset + reply.data_bytes);
  data_offset_ += n;
  data_remaining_ -= n;
  reply.data_bytes += n;
  FB_ASSERT(reply.data_bytes <= reply.length);
  if (data_remaining_ == 0) {
    phase_ = Phase::kHeader;
    done_pending_ = done_after_data_;
  }
  return Event(n, event);
}

// The end of a reply: it must have delivered what it promised unless it reported an error.
ReplyStep ReplyDecoder::Done(uint64_t cookie, PendingReply& reply, size_t consumed) {
  if (!reply.error) {
    if (reply.type == kCmdRead && reply.data_bytes != reply.length) {
      return Broken("READ reply ended before covering its range");
    }
    if (reply.type == kCmdBlockStatus && !reply.block_status) {
      return Broken("BLOCK_STATUS reply ended without extents");
    }
  }
  return Event(consumed, Make(Kind::kDone, cookie));
}

ReplyStep ReplyDecoder::Broken(std::string_view why, size_t consumed) {
  phase_ = Phase::kBroken;
  ReplyStep step;
  step.consumed = consumed;
  step.status = Status::InvalidArgument("NBD reply stream", why);
  return step;
}

ExtentDescriptor DescriptorAt(std::span<const uint8_t> bytes, size_t index) {
  const size_t at = index * kBlockStatusDescriptorBytes;
  FB_ASSERT(at + kBlockStatusDescriptorBytes <= bytes.size());
  return {LoadBe32(bytes.data() + at), LoadBe32(bytes.data() + at + 4)};
}

}  // namespace fb::nbd
