// Vocabulary shared by the replication state machines: ids, payloads, client requests and
// the per-volume geometry. Data travels as a shared, immutable buffer so one client write is
// referenced, never copied, by every replica message and local disk action.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "coord/coordinator.h"
#include "env/clock.h"

namespace fb::repl {

using coord::Bit;
using coord::Count;
using coord::Epoch;
using coord::Has;
using coord::kMaxNodes;
using coord::kNoNode;
using coord::NodeId;
using coord::NodeMask;
using coord::VolumeId;
using env::Instant;

// Page-aligned storage, so a runtime can hand a payload to O_DIRECT (io_uring) writes as it
// is, without a bounce copy.
template <class T>
struct PageAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{4096};
  PageAlignedAllocator() = default;
  template <class U>
  PageAlignedAllocator(const PageAlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const PageAlignedAllocator<U>&) const { return true; }
};
using Bytes = std::vector<uint8_t, PageAlignedAllocator<uint8_t>>;
using Payload = std::shared_ptr<const Bytes>;
using IoId = uint64_t;
using ClientReqId = uint64_t;

inline constexpr uint64_t kSectorBytes = 512;  // every offset and length is a multiple

enum class OpKind : uint8_t { kRead, kWrite, kTrim, kWriteZeroes, kFlush };

inline bool IsMutation(OpKind kind) {
  return kind == OpKind::kWrite || kind == OpKind::kTrim || kind == OpKind::kWriteZeroes;
}

// One request from an initiator (validated by the protocol layer before it gets here).
struct ClientRequest {
  ClientReqId id = 0;
  OpKind kind = OpKind::kRead;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool fua = false;
  Payload data;  // kWrite only: exactly length bytes
};

// Geometry of one replicated volume, identical on every node.
struct VolumeGeometry {
  VolumeId volume = 0;
  uint64_t size_bytes = 0;
  // Granularity of the activity log and of the resync dirty maps (a power of two).
  uint64_t region_bytes = 64 * 1024;
  uint64_t region_count() const { return (size_bytes + region_bytes - 1) / region_bytes; }
};

}  // namespace fb::repl
