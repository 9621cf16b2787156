// The POSIX File: pread/pwrite on a buffered descriptor, plus an O_DIRECT descriptor for
// aligned writes when asked (OpenOptions::direct_writes). The kernel keeps the two coherent:
// a direct write flushes and invalidates the cached pages it covers.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "base/assert.h"
#include "env/file.h"
#include "env/posix_error.h"

namespace fb::env {
namespace {

// O_DIRECT needs offset, length and memory aligned to the device's logical block; 4 KiB is
// safe on every device we run on.
constexpr uint64_t kDirectAlign = 4096;

// Small aligned writes bypass the page cache: a random 4 KiB write into the cache dirties (and
// later writes back) a whole folio, which is the cliff buffered servers fall off. Large writes
// go through the cache, which absorbs a sequential stream at memory speed and writes it back
// in big pieces; the device alone is slower than that on most machines.
constexpr uint64_t kDirectMaxBytes = 256 * 1024;

bool DirectEligible(uint64_t offset, std::span<const uint8_t> source) {
  return source.size() <= kDirectMaxBytes && offset % kDirectAlign == 0 &&
         source.size() % kDirectAlign == 0 &&
         reinterpret_cast<uintptr_t>(source.data()) % kDirectAlign == 0 && !source.empty();
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, int direct_fd)
      : path_(std::move(path)), fd_(fd), direct_fd_(direct_fd) {
    FB_ASSERT(fd_ >= 0);
  }
  ~PosixFile() override {
    if (map_ != nullptr) munmap(map_, map_bytes_);
    if (direct_fd_ >= 0) close(direct_fd_);
    close(fd_);
  }

  Status ReadAt(uint64_t offset, std::span<uint8_t> target, ReadOptions opts) override {
    size_t done = 0;
    int flags = opts.nowait ? RWF_NOWAIT : 0;
    while (done < target.size()) {
      iovec iov{target.data() + done, target.size() - done};
      ssize_t n = preadv2(fd_, &iov, 1, off_t(offset + done), flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      if (n == 0) {  // past end of file: a sparse tail reads as zeros
        std::memset(target.data() + done, 0, target.size() - done);
        break;
      }
      done += size_t(n);
    }
    return Status::Ok();
  }

  Status WriteAt(uint64_t offset, std::span<const uint8_t> source, WriteOptions opts) override {
    int fd = (direct_fd_ >= 0 && DirectEligible(offset, source)) ? direct_fd_ : fd_;
    int flags = opts.fua ? RWF_DSYNC : 0;
    size_t done = 0;
    while (done < source.size()) {
      iovec iov{const_cast<uint8_t*>(source.data()) + done, source.size() - done};
      ssize_t n = pwritev2(fd, &iov, 1, off_t(offset + done), flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      FB_ASSERT(n > 0);
      done += size_t(n);
      // A short direct write leaves an unaligned tail; finish it through the page cache.
      if (fd == direct_fd_ && done < source.size() && (done % kDirectAlign) != 0) fd = fd_;
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (fdatasync(fd_) != 0) return PosixError(path_ + ": fdatasync", errno);
    return Status::Ok();
  }

  Status PunchHole(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, "punch hole");
  }
  Status ZeroRange(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length, "zero range");
  }
  Status Allocate(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_KEEP_SIZE, offset, length, "allocate");
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return PosixError(path_ + ": fstat", errno);
    return uint64_t(st.st_size);
  }

  Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, off_t(size)) != 0) return PosixError(path_ + ": ftruncate", errno);
    return Status::Ok();
  }

  int AsyncWriteHandle(uint64_t offset, std::span<const uint8_t> source) const override {
    return (direct_fd_ >= 0 && DirectEligible(offset, source)) ? direct_fd_ : -1;
  }

  // Residency comes from mincore(2) on a read-only shared mapping of the file that is never
  // touched (no page is faulted in): for a file mapping the kernel answers from the page
  // cache itself. A page evicted between this check and the send only makes that send wait.
  int CachedReadHandle(uint64_t offset, uint64_t length) override {
    std::call_once(map_once_, [this] { MapForResidency(); });
    if (map_ == nullptr || length == 0 || offset > map_bytes_ || length > map_bytes_ - offset) {
      return -1;
    }
    const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
    uint64_t pos = offset / page * page;
    const uint64_t end = offset + length;
    constexpr uint64_t kPagesPerCall = 512;
    unsigned char resident[kPagesPerCall];
    while (pos < end) {
      uint64_t span = std::min(end - pos, kPagesPerCall * page);
      if (mincore(static_cast<uint8_t*>(map_) + pos, span, resident) != 0) return -1;
      for (uint64_t i = 0; i < (span + page - 1) / page; ++i) {
        if ((resident[i] & 1) == 0) return -1;
      }
      pos += span;
    }
    return fd_;
  }

  Result<uint64_t> SeekData(uint64_t from) override { return Seek(from, SEEK_DATA); }
  Result<uint64_t> SeekHole(uint64_t from) override { return Seek(from, SEEK_HOLE); }

 private:
  Status Fallocate(int mode, uint64_t offset, uint64_t length, const char* what) {
    if (length == 0) return Status::Ok();
    while (fallocate(fd_, mode, off_t(offset), off_t(length)) != 0) {
      if (errno == EINTR) continue;
      return PosixError(path_ + ": " + what, errno);
    }
    return Status::Ok();
  }

  Result<uint64_t> Seek(uint64_t from, int whence) {
    off_t r = lseek(fd_, off_t(from), whence);
    if (r < 0) {
      // ENXIO: no data (or hole) at or after from; the rest of the file is a hole.
      if (errno == ENXIO) return Size();
      return PosixError(path_ + ": lseek", errno);
    }
    return uint64_t(r);
  }

  // Maps the file as it is at the first residency check (a volume's size is fixed by then);
  // without a mapping every check says "not cached" and reads take the copying path.
  void MapForResidency() {
    struct stat st;
    if (fstat(fd_, &st) != 0 || st.st_size <= 0) return;
    void* map = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd_, 0);
    if (map == MAP_FAILED) return;
    map_ = map;
    map_bytes_ = uint64_t(st.st_size);
  }

  const std::string path_;
  const int fd_;         // buffered: reads, unaligned writes, fallocate, fdatasync
  const int direct_fd_;  // O_DIRECT for aligned writes, or -1
  std::once_flag map_once_;
  void* map_ = nullptr;  // for mincore only, never read through; set once under map_once_
  uint64_t map_bytes_ = 0;
};

}  // namespace

Result<std::unique_ptr<File>> OpenPosixFile(const std::string& path, OpenOptions opts) {
  int flags = O_CLOEXEC | (opts.read_only ? O_RDONLY : O_RDWR) | (opts.create ? O_CREAT : 0);
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) return PosixError(path, errno);
  int direct_fd = -1;
  if (opts.direct_writes && !opts.read_only) {
    direct_fd = open(path.c_str(), O_CLOEXEC | O_RDWR | O_DIRECT);
    // Some file systems (tmpfs) refuse O_DIRECT; buffered writes are then the only path.
    if (direct_fd < 0 && errno != EINVAL) {
      int err = errno;
      close(fd);
      return PosixError(path + ": O_DIRECT", err);
    }
    if (direct_fd >= 0) {
      // Keep the page cache made of small folios: a direct write must invalidate the cached
      // folios it overlaps, and invalidating a 2 MiB folio for a 4 KiB write is what makes
      // 4k random writes crawl. No readahead (FADV_RANDOM) means reads cache only what they
      // touch, at page size; dropping the clean cache at open clears large folios left behind.
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    }
  }
  return std::unique_ptr<File>(new PosixFile(path, fd, direct_fd));
}

}  // namespace fb::env
