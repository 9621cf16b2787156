// Every limit of the NBD runtime, in one place, with the relations between them checked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fb::server {

// Largest READ/WRITE payload, advertised as NBD_INFO_BLOCK_SIZE maximum (NBD.md 1.9: a
// payload up to 32 MiB should never be treated as abuse).
inline constexpr uint32_t kMaxPayloadBytes = 32u << 20;
// Requests one connection may have between header and reply sent. A client deeper than this
// simply waits: we stop reading its socket.
inline constexpr size_t kMaxInflightPerConnection = 256;
// Payload bytes one connection may hold. One maximal request is always admitted alone.
inline constexpr uint64_t kMaxInflightBytesPerConnection = 64u << 20;
// All connections together (payload buffers); over it connections pause reading.
inline constexpr uint64_t kDefaultMemoryBudgetBytes = 1ull << 30;
// Socket read buffer per connection: headers and small WRITE payloads land here.
inline constexpr size_t kReadBufferBytes = 256u << 10;
// WRITE payloads larger than this are read straight into their own buffer (no copy).
inline constexpr size_t kDirectReadThresholdBytes = 64u << 10;
// Cached reads up to this size are served on the loop thread without a worker hop (a nowait
// pread), unless they are large enough for the page-cache path (kZeroCopyReadMinBytes) and
// the volume names their file.
inline constexpr size_t kInlineReadMaxBytes = 1u << 20;
// Cached reads at least this large are sent from the page cache with sendfile (no copy in
// user space); smaller ones are copied and leave batched with other replies in one write.
inline constexpr size_t kZeroCopyReadMinBytes = 64u << 10;
// Busy polling window of a server's loops (Loop::SetPoll): about one client round trip at
// queue depth 1 on loopback.
inline constexpr int kDefaultPollMicros = 50;
// Threads that run calls which may block on the disk (writes, flushes, uncached reads).
inline constexpr int kDefaultDiskWorkers = 32;
// Writes up to this size go through the loop's io_uring; larger ones use the disk workers.
inline constexpr size_t kAsyncWriteMaxBytes = 256u << 10;
// io_uring slots per event loop: writes beyond this many in flight use the disk workers.
inline constexpr unsigned kIoQueueEntries = 256;
// BLOCK_STATUS descriptors per reply (NBD.md 1.8 suggests at most 2^20).
inline constexpr size_t kMaxBlockStatusRuns = 4096;
// Connections served at once; further ones are closed at accept.
inline constexpr size_t kMaxConnections = 1024;
// Replies gathered into one socket write.
inline constexpr size_t kMaxRepliesPerWrite = 64;

static_assert(kMaxInflightBytesPerConnection >= kMaxPayloadBytes);
static_assert(kDefaultMemoryBudgetBytes >= 2 * kMaxInflightBytesPerConnection);
static_assert(kDirectReadThresholdBytes < kReadBufferBytes);
static_assert(kInlineReadMaxBytes <= kMaxPayloadBytes);

}  // namespace fb::server
