// TempDir: a fresh directory under /tmp for one test, removed with everything in it when the
// test ends, so store tests run on a real file system through env::PosixFileSystem().
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace fb::store::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/fb-store-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Bytes the file system has allocated for path (st_blocks), or -1: the only way to see that
// a zeroing kept its allocation, since SEEK_DATA reports unwritten extents as holes.
inline int64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return int64_t(st.st_blocks) * 512;
}

}  // namespace fb::store::testing
