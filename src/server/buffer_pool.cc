// BufferPool: power-of-two size classes with a small free list each.
#include "server/buffer_pool.h"

#include <bit>
#include <cstdlib>

#include "base/assert.h"

namespace fb::server {

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = other.data_;
    size_ = other.size_;
    size_class_ = other.size_class_;
    pool_ = other.pool_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.pool_ = nullptr;
  }
  return *this;
}

void Buffer::Reset() {
  if (data_ == nullptr) return;
  FB_ASSERT(pool_ != nullptr);
  pool_->Return(data_, size_class_);
  data_ = nullptr;
  size_ = 0;
  pool_ = nullptr;
}

BufferPool::BufferPool(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {
  FB_ASSERT(budget_bytes_ >= (uint64_t(1) << kMaxClassShift));
}

BufferPool::~BufferPool() {
  FB_ASSERT(in_use_bytes_.load() == 0);  // every Buffer was returned
  for (auto& list : free_) {
    for (uint8_t* p : list) std::free(p);
  }
}

Buffer BufferPool::TryGet(size_t bytes) {
  FB_ASSERT(bytes > 0);
  FB_ASSERT(bytes <= (size_t(1) << kMaxClassShift));
  int shift = std::max(kMinClassShift, int(std::bit_width(bytes - 1)));
  int size_class = shift - kMinClassShift;
  uint64_t class_bytes = uint64_t(1) << shift;
  uint64_t before = in_use_bytes_.fetch_add(class_bytes, std::memory_order_relaxed);
  if (before + class_bytes > budget_bytes_) {
    in_use_bytes_.fetch_sub(class_bytes, std::memory_order_relaxed);
    return Buffer();
  }
  uint8_t* data = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& list = free_[size_t(size_class)];
    if (!list.empty()) {
      data = list.back();
      list.pop_back();
    }
  }
  if (data == nullptr) {
    data = static_cast<uint8_t*>(std::aligned_alloc(4096, class_bytes));
    FB_ASSERT(data != nullptr);  // out of memory is not an operating error we can handle
  }
  Buffer b;
  b.data_ = data;
  b.size_ = bytes;
  b.size_class_ = size_class;
  b.pool_ = this;
  return b;
}

void BufferPool::Return(uint8_t* data, int size_class) {
  FB_ASSERT(size_class >= 0 && size_class < kClasses);
  uint64_t class_bytes = uint64_t(1) << (size_class + kMinClassShift);
  bool keep;
  {
    std::lock_guard lock(mu_);
    auto& list = free_[size_t(size_class)];
    keep = (list.size() + 1) * class_bytes <= kCachedBytesPerClass;
    if (keep) list.push_back(data);
  }
  if (!keep) std::free(data);
  uint64_t before = in_use_bytes_.fetch_sub(class_bytes, std::memory_order_relaxed);
  FB_ASSERT(before >= class_bytes);
}

}  // namespace fb::server
