// The POSIX FileSystem: directories and small, atomically replaced metadata files.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "env/file.h"
#include "env/posix_error.h"

namespace fb::env {

Result<std::unique_ptr<File>> OpenPosixFile(const std::string& path, OpenOptions opts);

namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError(dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return PosixError(dir + ": fsync", err);
  return Status::Ok();
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenOptions opts) override {
    return OpenPosixFile(path, opts);
  }

  bool Exists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("empty directory path");
    for (size_t pos = 1; pos <= path.size(); ++pos) {
      if (pos != path.size() && path[pos] != '/') continue;
      std::string prefix = path.substr(0, pos);
      if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return PosixError(prefix, errno);
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) return PosixError(path, errno);
    std::vector<std::string> names;
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    closedir(dir);
    return names;
  }

  Result<std::string> ReadSmallFile(const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    std::string contents;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        close(fd);
        return PosixError(path, err);
      }
      if (n == 0) break;
      contents.append(buf, size_t(n));
    }
    close(fd);
    return contents;
  }

  Status WriteSmallFileDurably(const std::string& path, std::string_view contents) override {
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(tmp, errno);
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = write(fd, contents.data() + done, contents.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        close(fd);
        return PosixError(tmp, err);
      }
      done += size_t(n);
    }
    if (fsync(fd) != 0) {
      int err = errno;
      close(fd);
      return PosixError(tmp + ": fsync", err);
    }
    close(fd);
    if (rename(tmp.c_str(), path.c_str()) != 0) return PosixError(path + ": rename", errno);
    return SyncDir(DirName(path));
  }

  Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return PosixError(path, errno);
    return Status::Ok();
  }
};

}  // namespace

FileSystem& PosixFileSystem() {
  static class PosixFileSystem fs;
  return fs;
}

}  // namespace fb::env
