// Replication messages between a primary and its replicas, and their binary encoding.
// Every message carries the sender's epoch (the fencing token) and the link it belongs to.
// Decode treats its input as hostile: any malformed frame is a Status, never an assertion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "repl/types.h"

namespace fb::repl {

// Frame = header (kHeaderBytes) + body (length bytes). All integers big-endian.
//   offset size field
//        0    4 magic "FBRP"
//        4    2 type (MsgType)
//        6    2 flags, zero
//        8    8 epoch: the sender's current epoch (replicas refuse < promised)
//       16    8 seq: position on the link, 1, 2, 3... (acks name the seq they answer)
//       24    8 volume id
//       32    8 tenure: epoch at which the sending primary was promoted (link identity)
//       40    4 session: resync attempt within the tenure (link identity)
//       44    4 body length
//       48    8 XXH3-64 (seed 0) of header bytes [0, 48) followed by the body
inline constexpr uint32_t kMagic = 0x46425250;  // "FBRP"
inline constexpr size_t kHeaderBytes = 56;
inline constexpr size_t kChecksumOffset = 48;
inline constexpr uint32_t kBodyBytesMax = 4 * 1024 * 1024 + 64;
inline constexpr uint32_t kWriteBytesMax = 4 * 1024 * 1024;
inline constexpr uint32_t kHelloRegionsMax = (kBodyBytesMax - 16) / 8;
static_assert(kChecksumOffset + 8 == kHeaderBytes);

enum class MsgType : uint16_t {
  kResyncBegin = 1,  // P->R: opens a link (seq 1); R answers kHello
  kWrite = 2,        // P->R: a mirrored client mutation
  kCopy = 3,         // P->R: a resync copy of one region
  kFlush = 4,        // P->R: sync everything received before it on this link
  kHello = 5,        // R->P: boot id, blank flag, activity-log regions
  kAck = 6,          // R->P: seq done, with a status
  kReject = 7,       // R->P: refused (fenced: epoch too old; no link; I/O error)
  kPing = 8,         // P->R: keepalive on an idle link, acked; a restarted replica answers
                     // kReject(kNoLink), so the primary notices it without any write
};

enum class WriteOp : uint8_t { kWrite = 0, kTrim = 1, kZero = 2 };
enum class RejectReason : uint32_t { kFenced = 1, kNoLink = 2, kIOError = 3 };

struct Header {
  MsgType type = MsgType::kAck;
  Epoch epoch = 0;
  uint64_t seq = 0;
  VolumeId volume = 0;
  Epoch tenure = 0;
  uint32_t session = 0;
};

// kWrite and kCopy body: op u8, flags u8 (bit 0 FUA), zero u16, length u32, op_seq u64,
// offset u64, then `length` data bytes for kWrite ops (none for trim/zero).
struct WriteBody {
  WriteOp op = WriteOp::kWrite;
  bool fua = false;
  uint64_t op_seq = 0;  // the primary's op number (copies: the newest op issued when read)
  uint64_t offset = 0;
  uint32_t length = 0;
  Payload data;
};
// kFlush body: flags u32 (bit 0 in_sync, bit 1 resync_complete), zero u32, acked_through u64.
struct FlushBody {
  bool in_sync = false;          // the target is in S: it may trim its activity log
  bool resync_complete = false;  // the target now holds an identical image
  uint64_t acked_through = 0;    // every op_seq <= this was finished before the flush
};
// kHello body: boot_id u64, flags u32 (bit 0 blank), count u32, count x region u64.
struct HelloBody {
  uint64_t boot_id = 0;
  bool blank = false;  // holds no data yet (new or wiped): needs a full copy
  std::vector<uint64_t> al_regions;
};
// kAck body: code u32 (fb::Code), zero u32.
struct AckBody {
  Code code = Code::kOk;
};
// kReject body: reason u32, zero u32, promised epoch u64.
struct RejectBody {
  RejectReason reason = RejectReason::kFenced;
  Epoch promised = 0;
};

using Body = std::variant<std::monostate, WriteBody, FlushBody, HelloBody, AckBody, RejectBody>;

struct Message {
  Header header;
  Body body;
};

// The whole frame. Asserts the message is well formed (encoding garbage is a bug).
std::vector<uint8_t> Encode(const Message& message);
// Total frame size announced by a header prefix, for stream framing: kInvalidArgument/
// kDataLoss on bad magic or length, kUnavailable when fewer than kHeaderBytes are given.
Result<size_t> FrameBytes(std::span<const uint8_t> prefix);
// Exactly one frame. kDataLoss on checksum mismatch, kInvalidArgument on anything malformed.
Result<Message> Decode(std::span<const uint8_t> frame);

std::string_view TypeName(MsgType type);

// Messages only a primary sends (a replica answers with kHello, kAck, kReject).
inline bool IsPrimaryToReplica(MsgType type) {
  return type == MsgType::kResyncBegin || type == MsgType::kWrite || type == MsgType::kCopy ||
         type == MsgType::kFlush || type == MsgType::kPing;
}

}  // namespace fb::repl
