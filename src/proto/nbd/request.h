// Transmission requests: decoding the 28-byte compact header and validating it against what
// was negotiated. Validation is the edge: every rule from NBD.md 1.12 is checked here and the
// core below (src/server, src/store) asserts the same facts instead of re-checking them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proto/nbd/export.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {

// The 28-byte request header layout and kRequestHeaderBytes live in wire.h.

struct Request {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t cookie = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// nullopt when the magic is wrong: the stream cannot be resynchronised, so disconnect.
std::optional<Request> DecodeRequest(std::span<const uint8_t, kRequestHeaderBytes> header);

// The 28-byte compact header for `request` (a client's side: firebreak attach forwarding a
// request to a node). DecodeRequest reads back exactly what this writes.
void EncodeRequest(std::span<uint8_t, kRequestHeaderBytes> header, const Request& request);

// Payload bytes that follow the header on the wire. Only WRITE carries one (compact headers);
// it must be read (and discarded if the request is rejected) to stay in sync.
uint32_t PayloadLength(const Request& request);

struct Check {
  enum class Verdict { kOk, kError, kDisconnect };
  Verdict verdict = Verdict::kOk;
  uint32_t error = 0;    // NBD error number when kError
  std::string_view why;  // static text for the log / structured error message
};

// Every rule: known command; flags valid for the command and advertised; offset+length
// within the export (WRITE/WRITE_ZEROES -> ENOSPC, others -> EINVAL); length limits
// (payload over block_max -> kDisconnect for WRITE, EINVAL/EOVERFLOW otherwise); alignment
// to block_min; read-only -> EPERM; BLOCK_STATUS needs a meta context; FLUSH/DISC take no
// range. Length 0 is accepted for READ/WRITE/TRIM/ZERO/CACHE (no-ops), never a disconnect.
Check Validate(const Request& request, const Negotiated& negotiated);

}  // namespace fb::nbd
