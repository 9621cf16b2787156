// Reply encoding. Which shape a reply takes is a protocol rule, so it is decided here from
// Negotiated, not by the caller: with structured replies a READ never gets a simple reply,
// and errors carry a message in an ERROR chunk. All functions append to `out`.
// Data bytes are not copied here: for READ the caller sends the header these functions
// produce, then the data (scatter-gather), keeping the hot path copy-free.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proto/nbd/export.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {

// Simple reply and structured chunk layouts (kSimpleReplyBytes, kChunkHeaderBytes) are in
// wire.h.

// The complete reply to a command without data (WRITE, FLUSH, TRIM, ZERO, CACHE) or any
// failed command: a simple reply, or with SR a NONE chunk (error == 0) / ERROR chunk.
void EncodeStatusReply(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                       uint32_t error, std::string_view message = {});

// The success reply to a command without data. With SR the spec allows a simple reply to
// anything but READ, and we send one: 16 bytes that libnbd reads in one call, where a NONE
// chunk (20 bytes) costs it two. A READ (of length 0) still gets the NONE chunk.
void EncodeSuccessReply(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                        uint16_t command);

// Header for `length` bytes of READ data at `offset`, to be followed by exactly those bytes.
// Simple: a 16-byte success reply. SR: an OFFSET_DATA chunk header (20 + 8 bytes), with DONE
// set only when `done` is true.
void EncodeReadDataHeader(std::vector<uint8_t>& out, const Negotiated& negotiated, uint64_t cookie,
                          uint64_t offset, uint32_t length, bool done);

// SR only: an OFFSET_HOLE chunk (reads as zeros) for a READ.
void EncodeReadHole(std::vector<uint8_t>& out, uint64_t cookie, uint64_t offset, uint32_t length,
                    bool done);

// SR only: a NONE chunk with DONE, ending a multi-chunk READ.
void EncodeDone(std::vector<uint8_t>& out, uint64_t cookie);

// SR only: an ERROR_OFFSET chunk with DONE, for a READ (or other ranged command) that failed
// at `offset` after earlier chunks went out. Never mix with EncodeStatusReply's ERROR chunk.
void EncodeErrorAt(std::vector<uint8_t>& out, uint64_t cookie, uint32_t error, uint64_t offset,
                   std::string_view message = {});

// `message` cut to at most kMaxStringBytes (4096) without splitting a UTF-8 character, as
// every error message on the wire must be.
std::string_view TruncateMessage(std::string_view message);

struct Extent {
  uint32_t length = 0;  // nonzero
  uint32_t flags = 0;   // NBD_STATE_HOLE | NBD_STATE_ZERO for base:allocation
};

// SR only: one BLOCK_STATUS chunk for context `context_id` with DONE set.
void EncodeBlockStatus(std::vector<uint8_t>& out, uint64_t cookie, uint32_t context_id,
                       std::span<const Extent> extents);

}  // namespace fb::nbd
