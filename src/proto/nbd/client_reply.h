// The client side of transmission replies as a sans-IO decoder: a server's byte stream in,
// one event at a time out (read data, holes, block-status extents, errors, "this reply is
// complete"). Simple replies and structured chunks (NBD.md 1.5, 1.7) are both understood; the
// stream is hostile input, so every rule a client can check is checked, and any violation is
// an error Status after which the connection cannot be trusted (close it).
//
// The decoder frames replies with what the caller knows about each cookie (PendingReply, kept
// by the caller and updated here): a simple READ reply's data length comes from the request.
// Rules beyond the spec's, which every known server keeps (FireBreak nodes send one chunk):
// a READ's data and hole chunks must tile its range in order, so the caller can prove that a
// successful READ filled every byte of its buffer without an interval set.
//
// Memory: read data is handed out as views of the input, never buffered; any other chunk is
// parsed once it is whole in `in`, and larger than kMaxReplyChunkBytes is a violation, so the
// caller's buffer must hold kChunkHeaderBytes + kMaxReplyChunkBytes of unconsumed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/status.h"

namespace fb::nbd {

// Largest non-data chunk payload accepted (a BLOCK_STATUS chunk of 16383 extents).
inline constexpr size_t kMaxReplyChunkBytes = 128 * 1024;

// What the caller sent under a cookie, and how far its reply has come.
struct PendingReply {
  uint16_t type = 0;  // NBD_CMD_*
  uint64_t offset = 0;
  uint32_t length = 0;
  // Updated by the decoder:
  uint64_t data_bytes = 0;    // READ: bytes covered by data and holes so far (in order)
  bool error = false;         // an error was reported (simple error or error chunk)
  bool block_status = false;  // a BLOCK_STATUS chunk arrived
};

// The caller's table of requests awaiting replies. Find returns nullptr for a cookie that is
// not awaited (a protocol violation). The decoder finds a cookie again on every call, so the
// caller may move its entries between calls, but must keep each until its kDone.
class PendingReplies {
 public:
  virtual PendingReply* Find(uint64_t cookie) = 0;

 protected:
  ~PendingReplies() = default;
};

struct ReplyEvent {
  enum class Kind {
    kData,         // READ bytes at `offset` (a piece of a chunk or of a simple reply's data)
    kHole,         // READ: `length` bytes at `offset` read as zeros
    kBlockStatus,  // one BLOCK_STATUS chunk: `context_id`, `bytes` = {u32 length, u32 flags}+
    kError,        // the request failed with NBD error `error` (`message` may be empty)
    kDone,         // the reply to `cookie` is complete: stop awaiting it
  };
  Kind kind = Kind::kDone;
  uint64_t cookie = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t context_id = 0;
  uint32_t error = 0;
  std::span<const uint8_t> bytes;  // views `in` (or nothing): valid until the next call
  std::string_view message;        // views `in`: valid until the next call
};

struct ReplyStep {
  size_t consumed = 0;              // bytes of `in` used; the caller drops them
  std::optional<ReplyEvent> event;  // at most one event per call
  Status status;                    // not OK: the stream broke a rule; close the connection
};

class ReplyDecoder {
 public:
  // structured_replies: what the handshake agreed (chunks are a violation without it).
  explicit ReplyDecoder(bool structured_replies);

  // Decodes from the front of `in` (unconsumed bytes: the caller keeps and re-offers them).
  // Returns after one event, when more input is needed (no event, consumed may be > 0), or
  // on a violation. After a violation it must not be called again.
  ReplyStep Next(std::span<const uint8_t> in, PendingReplies& pending);

 private:
  enum class Phase { kHeader, kSimpleData, kChunkData, kBroken };

  ReplyStep OnHeader(std::span<const uint8_t> in, PendingReplies& pending);
  ReplyStep OnSimpleReply(std::span<const uint8_t> in, PendingReplies& pending);
  ReplyStep OnChunk(std::span<const uint8_t> in, PendingReplies& pending);
  ReplyStep OnChunkPayload(uint16_t flags, uint16_t type, uint64_t cookie,
                           std::span<const uint8_t> payload, PendingReply& reply, size_t consumed);
  ReplyStep OnErrorChunk(uint16_t type, uint64_t cookie, std::span<const uint8_t> payload,
                         PendingReply& reply, size_t consumed);
  ReplyStep OnData(std::span<const uint8_t> in, PendingReply& reply);
  ReplyStep Done(uint64_t cookie, PendingReply& reply, size_t consumed);
  ReplyStep Broken(std::string_view why, size_t consumed = 0);

  const bool structured_replies_;
  Phase phase_ = Phase::kHeader;
  // The reply being streamed (kSimpleData, kChunkData) and what is left of its data.
  uint64_t cookie_ = 0;
  uint64_t data_offset_ = 0;
  uint32_t data_remaining_ = 0;
  bool done_after_data_ = false;  // the data ends the reply (simple reply, or DONE chunk)
  bool done_pending_ = false;     // an error chunk with DONE: report kDone on the next call
};

// Descriptor `index` of a kBlockStatus event's bytes: (length, flags).
struct ExtentDescriptor {
  uint32_t length = 0;
  uint32_t flags = 0;
};
ExtentDescriptor DescriptorAt(std::span<const uint8_t> bytes, size_t index);

}  // namespace fb::nbd
