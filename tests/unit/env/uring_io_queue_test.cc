// IoQueue over io_uring on a real file: batched writes complete with the right byte counts,
// land where asked, and unaligned writes are refused (they belong to the worker path).
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "env/file.h"
#include "env/io_queue.h"

namespace fb::env {
namespace {

struct AlignedBuffer {
  explicit AlignedBuffer(size_t n, uint8_t fill)
      : data(static_cast<uint8_t*>(std::aligned_alloc(4096, n))), size(n) {
    std::memset(data, fill, n);
  }
  ~AlignedBuffer() { std::free(data); }
  uint8_t* data;
  size_t size;
};

TEST(UringIoQueue, BatchedDirectWritesLandAndComplete) {
  auto queue = NewUringIoQueue(64);
  if (!queue.ok()) GTEST_SKIP() << queue.status().ToString();
  char dir[] = "/tmp/fb-uring-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/f.img";
  auto file = PosixFileSystem().Open(path, {.create = true, .direct_writes = true});
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Truncate(1 << 20).ok());

  std::vector<std::unique_ptr<AlignedBuffer>> buffers;
  for (int i = 0; i < 8; ++i) {
    buffers.push_back(std::make_unique<AlignedBuffer>(4096, uint8_t(0x10 + i)));
    ASSERT_TRUE((*queue)->Write(**file, uint64_t(i) * 8192, {buffers[i]->data, 4096}, i == 7,
                                uint64_t(100 + i)));
  }
  AlignedBuffer odd(4096, 0xee);
  EXPECT_FALSE((*queue)->Write(**file, 100, {odd.data, 4096}, false, 999));  // unaligned
  (*queue)->Submit();
  std::vector<IoQueue::Completion> done;
  while (done.size() < 8) {
    pollfd p{(*queue)->event_fd(), POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0);
    (*queue)->Reap(done);
  }
  EXPECT_EQ((*queue)->inflight(), 0u);
  uint64_t tokens = 0;
  for (const auto& c : done) {
    EXPECT_TRUE(c.status.ok()) << c.status.ToString();
    EXPECT_EQ(c.bytes, 4096u);
    tokens += c.token;
  }
  EXPECT_EQ(tokens, uint64_t(100 * 8 + 28));  // each token exactly once
  for (int i = 0; i < 8; ++i) {
    std::vector<uint8_t> back(4096);
    ASSERT_TRUE((*file)->ReadAt(uint64_t(i) * 8192, back).ok());
    EXPECT_EQ(back[0], uint8_t(0x10 + i));
    EXPECT_EQ(back[4095], uint8_t(0x10 + i));
  }
  file->reset();
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace fb::env
