// FileVolume: Volume calls mapped onto env::File. No state besides the file, so every method
// is as thread-safe as the File (positional I/O, no shared cursor).
#include "store/file_volume.h"

#include <algorithm>

#include "base/assert.h"
#include "store/superblock.h"

namespace fb::store {
namespace {

// Aligned so a chunk written at an aligned offset can take the O_DIRECT path.
alignas(4096) const uint8_t kZeroChunk[kZeroChunkBytes] = {};

uint64_t AlignUp(uint64_t value, uint64_t align) { return (value / align + 1) * align; }

}  // namespace

FileVolume::FileVolume(std::string name, std::unique_ptr<env::File> file, uint64_t size_bytes,
                       bool read_only)
    : name_(std::move(name)),
      file_(std::move(file)),
      size_bytes_(size_bytes),
      read_only_(read_only) {
  FB_ASSERT(file_ != nullptr);
  FB_ASSERT(size_bytes_ > 0);
  FB_ASSERT(size_bytes_ <= kVolumeSizeMaxBytes);
}

bool FileVolume::InRange(uint64_t offset, uint64_t length) const {
  return offset <= size_bytes_ && length <= size_bytes_ - offset;
}

void FileVolume::AssertMutation(uint64_t offset, uint64_t length) const {
  FB_ASSERT(!read_only_);
  FB_ASSERT(InRange(offset, length));
}

Status FileVolume::SyncIf(bool fua) { return fua ? file_->Sync() : Status::Ok(); }

Status FileVolume::Read(uint64_t offset, std::span<uint8_t> target, env::ReadOptions opts) {
  FB_ASSERT(InRange(offset, target.size()));
  if (target.empty()) return Status::Ok();
  Status status = file_->ReadAt(offset, target, opts);
  // nowait may only ever fail with kWouldBlock when it fails for being nowait.
  FB_ASSERT(opts.nowait || status.code() != Code::kWouldBlock);
  return status;
}

Status FileVolume::Write(uint64_t offset, std::span<const uint8_t> source, bool fua) {
  AssertMutation(offset, source.size());
  if (source.empty()) return SyncIf(fua);
  // Durable at return when fua (RWF_DSYNC); otherwise after the next Flush().
  return file_->WriteAt(offset, source, env::WriteOptions{.fua = fua});
}

env::File* FileVolume::PrepareAsyncWrite(uint64_t offset, uint64_t length) {
  AssertMutation(offset, length);
  return file_.get();  // the bytes live at the same offset of our one file
}

env::File* FileVolume::FileForRead(uint64_t offset, uint64_t length) {
  FB_ASSERT(InRange(offset, length));
  return file_.get();
}

Status FileVolume::Trim(uint64_t offset, uint64_t length, bool fua) {
  AssertMutation(offset, length);
  // A trimmed range must read as zeros (volume.h), so trim is a zeroing that may deallocate.
  return WriteZeroes(offset, length, ZeroOptions{.may_trim = true, .fast_only = false, .fua = fua});
}

Status FileVolume::WriteZeroes(uint64_t offset, uint64_t length, ZeroOptions opts) {
  AssertMutation(offset, length);
  if (length == 0) return SyncIf(opts.fua);
  if (opts.may_trim) {
    Status punched = file_->PunchHole(offset, length);
    if (punched.ok()) return SyncIf(opts.fua);  // fallocate is durable after fdatasync
    if (punched.code() != Code::kUnimplemented) return punched;
    // The file system cannot punch holes: zero with allocation kept instead.
  }
  Status zeroed = file_->ZeroRange(offset, length);
  if (zeroed.ok()) return SyncIf(opts.fua);
  if (zeroed.code() != Code::kUnimplemented) return zeroed;
  if (opts.fast_only) {
    return Status::Unimplemented(name_, "the file system cannot zero a range quickly");
  }
  FB_TRY(WriteZeroBytes(offset, length));
  return SyncIf(opts.fua);
}

Status FileVolume::WriteZeroBytes(uint64_t offset, uint64_t length) {
  FB_ASSERT(InRange(offset, length));
  // Reserve first: on a full (non copy-on-write) file system this fails before any byte
  // changes. A file system without fallocate simply allocates as the zeros land.
  Status reserved = file_->Allocate(offset, length);
  if (!reserved.ok() && reserved.code() != Code::kUnimplemented) return reserved;
  uint64_t done = 0;
  while (done < length) {
    uint64_t chunk = std::min(length - done, kZeroChunkBytes);
    FB_TRY(file_->WriteAt(offset + done, std::span<const uint8_t>(kZeroChunk, chunk)));
    done += chunk;
  }
  FB_ASSERT(done == length);
  return Status::Ok();
}

Status FileVolume::Flush() { return file_->Sync(); }

Status FileVolume::BlockStatus(uint64_t offset, uint64_t length, size_t max_runs,
                               std::vector<Allocation>& out) {
  FB_ASSERT(length > 0);
  FB_ASSERT(max_runs > 0);
  FB_ASSERT(InRange(offset, length));
  const uint64_t end = offset + length;
  const size_t first_run = out.size();
  uint64_t pos = offset;
  while (pos < end && out.size() - first_run < max_runs) {
    FB_ASSIGN_OR_RETURN(uint64_t data, file_->SeekData(pos));
    FB_ASSERT(data >= pos);
    if (data > pos) {  // a hole from pos up to the next data
      uint64_t run_end = std::min(data, end);
      out.push_back(Allocation{.length = run_end - pos, .hole = true, .zero = true});
      pos = run_end;
      continue;
    }
    FB_ASSIGN_OR_RETURN(uint64_t hole, file_->SeekHole(pos));
    FB_ASSERT(hole >= pos);
    // hole == pos: a concurrent trim punched pos after SeekData saw data. Report one block
    // as data, which is always true enough (neither flag claims anything), and move on.
    uint64_t run_end = std::min(hole > pos ? hole : AlignUp(pos, kLogicalBlockBytes), end);
    out.push_back(Allocation{.length = run_end - pos, .hole = false, .zero = false});
    pos = run_end;
  }
  FB_ASSERT(out.size() > first_run);
  FB_ASSERT(pos > offset && pos <= end);
  return Status::Ok();
}

}  // namespace fb::store
