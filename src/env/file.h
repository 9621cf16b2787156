// File and FileSystem: positional block I/O on volume images and small metadata files.
// Synchronous by design (LevelDB's Env): the runtime chooses which thread calls them, and the
// simulator can implement them in memory, dropping unsynced writes on a simulated crash.
// Durability contract: data written with WriteAt is durable only after Sync() returns OK, or
// at once when written with WriteOptions::fua. Every caller names which of the two it relies on.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace fb::env {

struct ReadOptions {
  // Fail with kWouldBlock instead of waiting for the device (page cache hits only), so an
  // event-loop thread can try a read inline and hand misses to a worker.
  bool nowait = false;
};

struct WriteOptions {
  bool fua = false;  // durable when WriteAt returns (RWF_DSYNC)
};

class File {
 public:
  virtual ~File() = default;
  // Reads exactly target.size() bytes at offset; past end-of-file reads zeros.
  virtual Status ReadAt(uint64_t offset, std::span<uint8_t> target, ReadOptions opts = {}) = 0;
  // Writes all of source at offset (short writes are retried inside).
  virtual Status WriteAt(uint64_t offset, std::span<const uint8_t> source,
                         WriteOptions opts = {}) = 0;
  // fdatasync: every write completed before the call is on stable storage when it returns.
  virtual Status Sync() = 0;
  // Deallocates the range; it reads back as zeros. kUnimplemented if the FS cannot.
  virtual Status PunchHole(uint64_t offset, uint64_t length) = 0;
  // Zeroes the range with blocks kept allocated. kUnimplemented if the FS cannot do it cheaply.
  virtual Status ZeroRange(uint64_t offset, uint64_t length) = 0;
  // Ensures the range is allocated (no later ENOSPC on write).
  virtual Status Allocate(uint64_t offset, uint64_t length) = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // SEEK_DATA / SEEK_HOLE: the first offset >= from that is data (or a hole). For SeekData,
  // returns the file size when no data follows.
  virtual Result<uint64_t> SeekData(uint64_t from) = 0;
  virtual Result<uint64_t> SeekHole(uint64_t from) = 0;
  // For env::IoQueue only: the descriptor that may take this write asynchronously (O_DIRECT,
  // aligned), or -1 when it must go through WriteAt.
  virtual int AsyncWriteHandle(uint64_t offset, std::span<const uint8_t> source) const {
    return -1;
  }
  // For zero-copy senders (sendfile) only: the descriptor whose bytes at [offset, offset +
  // length) are all in the page cache right now, so an event loop can send them without
  // waiting for the device; -1 when any is not (or the file has no such descriptor).
  virtual int CachedReadHandle(uint64_t offset, uint64_t length) { return -1; }
};

struct OpenOptions {
  bool create = false;      // create if missing
  bool read_only = false;
  // Aligned writes bypass the page cache (O_DIRECT): 4k random writes then skip the buffered
  // write path that stalls file-backed servers (docs/design.md). Reads stay buffered.
  bool direct_writes = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenOptions opts) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;  // mkdir -p
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<std::string> ReadSmallFile(const std::string& path) = 0;
  // Writes path atomically and durably: temp file, fsync, rename, fsync of the directory.
  virtual Status WriteSmallFileDurably(const std::string& path, std::string_view contents) = 0;
  virtual Status Remove(const std::string& path) = 0;
};

// The real POSIX file system.
FileSystem& PosixFileSystem();

}  // namespace fb::env
