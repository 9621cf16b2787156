// The coordinator's wire protocol: how nodes and admin tools talk to the witness process
// (src/server/coord_service). Every coord::Request and coord::Reply, a per-connection Hello
// and a status query travel as checksummed big-endian frames. Decode treats input as hostile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "coord/coordinator.h"

namespace fb::coord {

// Frame = header (kFrameHeaderBytes) + body (length bytes) + trailer (kFrameTrailerBytes).
// All integers big-endian.
//   offset size field
//        0    4 magic "FBCO"
//        4    2 type (FrameType)
//        6    2 flags, zero
//        8    4 body length, at most kFrameBodyBytesMax
//       12    n body, laid out per type (below)
//     12+n    8 XXH3-64 (seed 0) of bytes [0, 12+n): header and body
//
// Bodies. Flag bits not named are zero; "zero" fields are zero; a decoder refuses otherwise,
// so every frame has exactly one encoding.
//   kHello          version u32 (kWireVersion), flags u32 (bit 0 admin), node u32 (kNoNode
//                   for admin), zero u32
//   kHeartbeat      node u32, flags u32 (bit 0 blank), boot_id u64, incarnation u64,
//                   volume u64, promised_epoch u64
//   kLeaseRequest   node u32, zero u32, incarnation u64, volume u64, epoch u64, request_id u64
//   kConfigChange   node u32, joining u32 (kNoNode: a shrink), incarnation u64, volume u64,
//                   expected_epoch u64, new_in_sync u64, joining_boot_id u64, request_id u64,
//                   handover_to u32 (kNoNode: not a switchover), zero u32
//   kRecordReply    record, request_id u64, flags u32 (bit 0 committed), zero u32
//   kLeaseReply     volume u64, epoch u64, request_id u64, lease_ns u64, flags u32 (bit 0
//                   granted), zero u32. lease_ns > 0 exactly when granted.
//   kStatusRequest  request_id u64
//   kStatusReply    request_id u64, volume count u32, node count u32, then that many records
//                   (strictly ascending volume ids), then that many node entries (node i at i)
// A record (kRecordBytes): volume u64, epoch u64, primary u32, min_in_sync u32, in_sync u64,
//   members u64, prev_in_sync u64, tenure u64, primary_incarnation u64.
// A node entry (kNodeStatusBytes): node u32, flags u32 (bit 0 seen, bit 1 live, bit 2
//   blank), heartbeat_age_ms u64, incarnation u64, boot_id u64; all zero but node if unseen.
inline constexpr uint32_t kWireMagic = 0x4642434f;  // "FBCO"
inline constexpr uint32_t kWireVersion = 2;  // 2: ConfigChange.handover_to
inline constexpr size_t kFrameHeaderBytes = 12;
inline constexpr size_t kFrameTrailerBytes = 8;
inline constexpr size_t kRecordBytes = 64;
inline constexpr size_t kNodeStatusBytes = 32;
inline constexpr size_t kStatusVolumesMax = 1024;  // volumes one witness serves
inline constexpr size_t kStatusFixedBytes = 16;
inline constexpr uint32_t kFrameBodyBytesMax =
    kStatusFixedBytes + kStatusVolumesMax * kRecordBytes + kMaxNodes * kNodeStatusBytes;
inline constexpr size_t kFrameBytesMax =
    kFrameHeaderBytes + kFrameBodyBytesMax + kFrameTrailerBytes;
static_assert(kFrameBodyBytesMax == 16 + 65536 + 2048);

enum class FrameType : uint16_t {
  kHello = 1,          // client -> witness, first frame on every connection
  kHeartbeat = 2,      // node -> witness
  kLeaseRequest = 3,   // node -> witness
  kConfigChange = 4,   // node -> witness
  kRecordReply = 5,    // witness -> node
  kLeaseReply = 6,     // witness -> node
  kStatusRequest = 7,  // admin -> witness
  kStatusReply = 8,    // witness -> admin
};

// Who is on this connection: a node (replies for it are sent here) or an admin tool.
struct Hello {
  NodeId node = kNoNode;  // kNoNode exactly when admin
  bool admin = false;
};

struct StatusRequest {
  uint64_t request_id = 0;
};

// One node as the witness sees it.
struct NodeStatus {
  NodeId node = kNoNode;
  bool seen = false;              // has sent a heartbeat since the witness started
  bool live = false;              // within the node timeout
  bool blank = false;             // reported holding no data
  uint64_t heartbeat_age_ms = 0;  // since its last heartbeat
  uint64_t incarnation = 0;
  uint64_t boot_id = 0;
  friend bool operator==(const NodeStatus&, const NodeStatus&) = default;
};

struct StatusReply {
  uint64_t request_id = 0;
  std::vector<VolumeRecord> volumes;  // ascending volume ids
  std::vector<NodeStatus> nodes;      // nodes[i].node == i
  friend bool operator==(const StatusReply&, const StatusReply&) = default;
};

// Variant index i is FrameType i + 1.
using Frame = std::variant<Hello, Heartbeat, LeaseRequest, ConfigChange, RecordReply, LeaseReply,
                           StatusRequest, StatusReply>;

FrameType TypeOf(const Frame& frame);
std::string_view FrameTypeName(FrameType type);

// The whole frame. Asserts the frame is well formed: encoding garbage is a bug.
std::vector<uint8_t> EncodeFrame(const Frame& frame);
// The size of the whole frame a header announces, for stream framing: kUnavailable when
// fewer than kFrameHeaderBytes are given; kInvalidArgument on a bad magic, type, flags or
// length (checked before the body is read, so a hostile peer cannot make us buffer more).
Result<size_t> FrameBytes(std::span<const uint8_t> header);
// Exactly one whole frame: kDataLoss on a checksum mismatch, kInvalidArgument on anything
// else malformed (including values the coordinator could never send, see ValidRecord).
Result<Frame> DecodeFrame(std::span<const uint8_t> frame);

Frame ToFrame(const Request& request);
Frame ToFrame(const Reply& reply);
// nullopt if the frame is of another kind.
std::optional<Request> AsRequest(const Frame& frame);
std::optional<Reply> AsReply(const Frame& frame);

// What every committed record satisfies: epoch >= 1, 1 <= tenure <= epoch, a primary that
// is a member of S, S a subset of the members, min_in_sync <= kMaxNodes.
bool ValidRecord(const VolumeRecord& record);
// One record in kRecordBytes (also the witness's state file, src/server/coord_state_file).
void EncodeRecord(const VolumeRecord& record, std::span<uint8_t, kRecordBytes> out);
Result<VolumeRecord> DecodeRecord(std::span<const uint8_t, kRecordBytes> bytes);

}  // namespace fb::coord
