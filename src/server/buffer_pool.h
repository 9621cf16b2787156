// BufferPool: 4 KiB-aligned I/O buffers (O_DIRECT needs the alignment) recycled by size class,
// under one memory budget. Allocation never grows past the budget: TryGet fails instead and the
// caller applies backpressure. Thread-safe; buffers may be returned from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace fb::server {

class BufferPool;

// A move-only handle to a pooled buffer of `size()` usable bytes.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;
  ~Buffer() { Reset(); }

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() const { return {data_, size_}; }
  explicit operator bool() const { return data_ != nullptr; }
  void Reset();  // returns the memory to its pool

 private:
  friend class BufferPool;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int size_class_ = -1;
  BufferPool* pool_ = nullptr;
};

class BufferPool {
 public:
  explicit BufferPool(uint64_t budget_bytes);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of exactly `bytes` usable bytes (1 <= bytes <= 32 MiB), or an empty Buffer when
  // the budget is spent.
  Buffer TryGet(size_t bytes);
  uint64_t in_use_bytes() const { return in_use_bytes_.load(std::memory_order_relaxed); }

 private:
  friend class Buffer;
  static constexpr int kMinClassShift = 12;  // 4 KiB
  static constexpr int kMaxClassShift = 25;  // 32 MiB
  static constexpr int kClasses = kMaxClassShift - kMinClassShift + 1;
  // Idle memory kept per class for reuse; the rest goes back to the system.
  static constexpr uint64_t kCachedBytesPerClass = 16u << 20;

  void Return(uint8_t* data, int size_class);

  const uint64_t budget_bytes_;
  std::atomic<uint64_t> in_use_bytes_{0};
  std::mutex mu_;
  std::array<std::vector<uint8_t*>, kClasses> free_;  // guarded by mu_
};

}  // namespace fb::server
