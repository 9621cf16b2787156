// NBD wire constants: magics, options, reply types, flags, commands, chunk types and error
// numbers (NBD.md 1.1-1.8), with each message layout written in prose next to its constants.
// All integers on the wire are big-endian; see base/endian.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fb::nbd {

// ---- Magic numbers -------------------------------------------------------------------------
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943;     // "NBDMAGIC" (INIT_PASSWD)
inline constexpr uint64_t kOptionMagic = 0x49484156454F5054;  // "IHAVEOPT"
inline constexpr uint64_t kOptionReplyMagic = 0x0003e889045565a9;
inline constexpr uint32_t kRequestMagic = 0x25609513;
inline constexpr uint32_t kSimpleReplyMagic = 0x67446698;
inline constexpr uint32_t kStructuredReplyMagic = 0x668e33ef;
inline constexpr uint32_t kExtendedRequestMagic = 0x21e41c71;  // reserved: no EH yet
inline constexpr uint32_t kExtendedReplyMagic = 0x6e8a278c;    // reserved: no EH yet

// ---- Handshake (fixed newstyle) ------------------------------------------------------------
// Greeting, server to client: NBDMAGIC (8), IHAVEOPT (8), handshake flags (2).
inline constexpr size_t kGreetingBytes = 18;
inline constexpr uint16_t kFlagFixedNewstyle = 1 << 0;
inline constexpr uint16_t kFlagNoZeroes = 1 << 1;
// Client flags, client to server: u32. Any other bit means the client wants something we did
// not offer, and the server MUST close.
inline constexpr size_t kClientFlagsBytes = 4;
inline constexpr uint32_t kClientFlagFixedNewstyle = 1 << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1 << 1;
inline constexpr uint32_t kClientFlagsKnown = kClientFlagFixedNewstyle | kClientFlagNoZeroes;

// Option, client to server: IHAVEOPT (8), option (4), length (4), then `length` data bytes.
inline constexpr size_t kOptionHeaderBytes = 16;
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptPeekExport = 4;  // withdrawn; answered ERR_UNSUP
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;
inline constexpr uint32_t kOptExtendedHeaders = 11;

// Option reply, server to client: magic 0x3e889045565a9 (8), option (4), reply type (4),
// length (4), then `length` data bytes. One or more per option; the last is ACK or an error.
inline constexpr size_t kOptionReplyHeaderBytes = 20;
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;       // u32 name length, name, optional description
inline constexpr uint32_t kRepInfo = 3;         // u16 info type, then type-specific payload
inline constexpr uint32_t kRepMetaContext = 4;  // u32 context id, context name
// Error replies have bit 31 set and may carry a UTF-8 message as their data.
inline constexpr uint32_t kRepFlagError = uint32_t{1} << 31;
inline constexpr uint32_t kRepErrUnsup = kRepFlagError + 1;
inline constexpr uint32_t kRepErrPolicy = kRepFlagError + 2;
inline constexpr uint32_t kRepErrInvalid = kRepFlagError + 3;
inline constexpr uint32_t kRepErrPlatform = kRepFlagError + 4;
inline constexpr uint32_t kRepErrTlsReqd = kRepFlagError + 5;
inline constexpr uint32_t kRepErrUnknown = kRepFlagError + 6;
inline constexpr uint32_t kRepErrShutdown = kRepFlagError + 7;
inline constexpr uint32_t kRepErrBlockSizeReqd = kRepFlagError + 8;
inline constexpr uint32_t kRepErrTooBig = kRepFlagError + 9;
inline constexpr uint32_t kRepErrExtHeaderReqd = kRepFlagError + 10;

// NBD_OPT_EXPORT_NAME success has no reply header: size (8), transmission flags (2), then 124
// zero bytes unless the client set NO_ZEROES.
inline constexpr size_t kExportNameReplyBytes = 10;
inline constexpr size_t kExportNameZeroPadBytes = 124;

// INFO/GO request data: u32 name length, name, u16 count, count x u16 info type.
inline constexpr size_t kInfoRequestFixedBytes = 6;
// LIST/SET_META_CONTEXT request data: u32 name length, name, u32 query count, then per query
// u32 length and the query text.
inline constexpr size_t kMetaRequestFixedBytes = 8;

// NBD_REP_INFO payloads, each starting with the u16 info type.
inline constexpr uint16_t kInfoExport = 0;       // type (2), size (8), transmission flags (2)
inline constexpr uint16_t kInfoName = 1;         // type (2), canonical name
inline constexpr uint16_t kInfoDescription = 2;  // type (2), description text
inline constexpr uint16_t kInfoBlockSize = 3;    // type (2), min (4), preferred (4), max (4)
inline constexpr size_t kInfoExportBytes = 12;
inline constexpr size_t kInfoBlockSizeBytes = 14;

// Strings (names, descriptions, messages) are UTF-8 without NUL and MUST be <= 4096 bytes.
inline constexpr size_t kMaxStringBytes = 4096;

// ---- Transmission flags (u16, per connection; NBD.md 1.4) ----------------------------------
inline constexpr uint16_t kFlagHasFlags = 1 << 0;
inline constexpr uint16_t kFlagReadOnly = 1 << 1;
inline constexpr uint16_t kFlagSendFlush = 1 << 2;
inline constexpr uint16_t kFlagSendFua = 1 << 3;
inline constexpr uint16_t kFlagRotational = 1 << 4;
inline constexpr uint16_t kFlagSendTrim = 1 << 5;
inline constexpr uint16_t kFlagSendWriteZeroes = 1 << 6;
inline constexpr uint16_t kFlagSendDf = 1 << 7;
inline constexpr uint16_t kFlagCanMultiConn = 1 << 8;
inline constexpr uint16_t kFlagSendResize = 1 << 9;
inline constexpr uint16_t kFlagSendCache = 1 << 10;
inline constexpr uint16_t kFlagSendFastZero = 1 << 11;
inline constexpr uint16_t kFlagBlockStatusPayload = 1 << 12;

// ---- Transmission: requests ------------------------------------------------------------
// Compact request: magic (4), command flags (2), type (2), cookie (8), offset (8), length (4);
// only WRITE is followed by a payload (`length` bytes).
inline constexpr size_t kRequestHeaderBytes = 28;
// Extended request (EH only, not supported yet): as compact but with a u64 length.
inline constexpr size_t kExtendedRequestHeaderBytes = 32;

inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;
inline constexpr uint16_t kCmdWriteZeroes = 6;
inline constexpr uint16_t kCmdBlockStatus = 7;
inline constexpr uint16_t kCmdResize = 8;  // experimental; never advertised

inline constexpr uint16_t kCmdFlagFua = 1 << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1 << 1;
inline constexpr uint16_t kCmdFlagDf = 1 << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1 << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1 << 4;
inline constexpr uint16_t kCmdFlagPayloadLen = 1 << 5;  // EH only

// ---- Transmission: replies -------------------------------------------------------------
// Simple reply: magic (4), error (4), cookie (8); a successful READ is followed by its data.
inline constexpr size_t kSimpleReplyBytes = 16;
// Structured chunk: magic (4), flags (2), type (2), cookie (8), length (4), then payload.
inline constexpr size_t kChunkHeaderBytes = 20;
// Extended chunk (EH only): magic (4), flags (2), type (2), cookie (8), offset (8), length (8).
inline constexpr size_t kExtendedChunkHeaderBytes = 32;

inline constexpr uint16_t kReplyFlagDone = 1 << 0;

inline constexpr uint16_t kChunkNone = 0;            // empty; must carry DONE
inline constexpr uint16_t kChunkOffsetData = 1;      // offset (8), data
inline constexpr uint16_t kChunkOffsetHole = 2;      // offset (8), size (4)
inline constexpr uint16_t kChunkBlockStatus = 5;     // context id (4), {length (4), flags (4)}+
inline constexpr uint16_t kChunkBlockStatusExt = 6;  // EH only
inline constexpr uint16_t kChunkErrorBit = 1 << 15;
inline constexpr uint16_t kChunkError = kChunkErrorBit + 1;        // error (4), msglen (2), msg
inline constexpr uint16_t kChunkErrorOffset = kChunkErrorBit + 2;  // as ERROR, then offset (8)

inline constexpr size_t kOffsetDataPrefixBytes = 8;
inline constexpr size_t kOffsetHolePayloadBytes = 12;
inline constexpr size_t kBlockStatusPrefixBytes = 4;
inline constexpr size_t kBlockStatusDescriptorBytes = 8;
inline constexpr size_t kErrorPrefixBytes = 6;  // error (4), message length (2)

// ---- NBD error numbers (u32 in replies; never a raw host errno) --------------------------
inline constexpr uint32_t kEperm = 1;
inline constexpr uint32_t kEio = 5;
inline constexpr uint32_t kEnomem = 12;  // avoid: clients cannot act on it
inline constexpr uint32_t kEinval = 22;
inline constexpr uint32_t kEnospc = 28;
inline constexpr uint32_t kEoverflow = 75;   // DF too large, or oversize no-payload request
inline constexpr uint32_t kEnotsup = 95;     // only for FAST_ZERO
inline constexpr uint32_t kEshutdown = 108;  // never sent: qemu treats it as a guest I/O error

// ---- Meta contexts (NBD.md 1.8) ------------------------------------------------------------
inline constexpr std::string_view kBaseAllocation = "base:allocation";
inline constexpr std::string_view kBaseNamespace = "base:";
// The id SET_META_CONTEXT gives base:allocation: fixed, so it is the same on every server and
// every connection and a reconnecting client sees no change.
inline constexpr uint32_t kBaseAllocationId = 1;
inline constexpr uint32_t kStateHole = 1 << 0;
inline constexpr uint32_t kStateZero = 1 << 1;

// ---- Layout checks ---------------------------------------------------------------------
static_assert(kGreetingBytes == 8 + 8 + 2);
static_assert(kOptionHeaderBytes == 8 + 4 + 4);
static_assert(kOptionReplyHeaderBytes == 8 + 4 + 4 + 4);
static_assert(kExportNameReplyBytes == 8 + 2);
static_assert(kExportNameReplyBytes + kExportNameZeroPadBytes == 134);
static_assert(kInfoExportBytes == 2 + 8 + 2);
static_assert(kInfoBlockSizeBytes == 2 + 4 + 4 + 4);
static_assert(kRequestHeaderBytes == 4 + 2 + 2 + 8 + 8 + 4);
static_assert(kExtendedRequestHeaderBytes == 4 + 2 + 2 + 8 + 8 + 8);
static_assert(kSimpleReplyBytes == 4 + 4 + 8);
static_assert(kChunkHeaderBytes == 4 + 2 + 2 + 8 + 4);
static_assert(kExtendedChunkHeaderBytes == 4 + 2 + 2 + 8 + 8 + 8);
static_assert(kOffsetHolePayloadBytes == 8 + 4);
static_assert((kChunkError & kChunkErrorBit) != 0 && (kChunkErrorOffset & kChunkErrorBit) != 0);
static_assert(kMaxStringBytes <= UINT16_MAX, "error chunk messages carry a u16 length");

}  // namespace fb::nbd
