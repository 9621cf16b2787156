// libFuzzer target for the NBD handshake: arbitrary client bytes are fed whole, one byte at a
// time and in pseudo-random pieces. Feed must never take more than it was given, must take all
// it can in one call, must emit only well-formed option replies, and must not care how the
// input was split (the same replies, bytes consumed and outcome every time).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/handshake.h"
#include "proto/nbd/wire.h"

namespace {

using fb::LoadBe16;
using fb::LoadBe32;
using fb::LoadBe64;
using namespace fb::nbd;
using State = HandshakeStep::State;

class Catalog : public ExportCatalog {
 public:
  Catalog() {
    ExportInfo vm1;
    vm1.name = "vm1";
    vm1.description = "writable";
    vm1.size_bytes = 1ull << 30;
    ExportInfo ro;
    ro.name = "ro";
    ro.size_bytes = (64 << 20) + 100;
    ro.read_only = true;
    ro.rotational = true;
    ro.block_min = 512;
    ro.block_max = 64 * 1024;
    exports_ = {vm1, ro};
  }
  std::vector<ExportInfo> List() const override { return exports_; }
  std::optional<ExportInfo> Find(std::string_view name) const override {
    if (name.empty()) return exports_.front();
    for (const ExportInfo& info : exports_) {
      if (info.name == name) return info;
    }
    return std::nullopt;
  }

 private:
  std::vector<ExportInfo> exports_;
};

struct Outcome {
  std::vector<uint8_t> out;
  State state = State::kNeedMore;
  size_t consumed = 0;
  Negotiated negotiated;
};

// Piece sizes: mostly small (to split headers), sometimes large; 0 means "all that is left".
size_t NextPiece(uint64_t& rng) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  const uint64_t r = rng >> 33;
  if (r % 8 == 0) return 1 + r % 4096;
  return 1 + r % 19;
}

Outcome Drive(const Catalog& catalog, std::span<const uint8_t> data, int mode, uint64_t seed) {
  Handshake handshake(catalog);
  Outcome outcome;
  std::vector<uint8_t> pending;
  size_t position = 0;
  uint64_t rng = seed;
  do {
    const size_t want = mode == 0 ? data.size() : mode == 1 ? 1 : NextPiece(rng);
    const size_t n = std::min(want, data.size() - position);
    pending.insert(pending.end(), data.begin() + position, data.begin() + position + n);
    position += n;
    const HandshakeStep step = handshake.Feed(pending, outcome.out);
    FB_ASSERT(step.consumed <= pending.size());
    outcome.consumed += step.consumed;
    pending.erase(pending.begin(), pending.begin() + step.consumed);
    outcome.state = step.state;
    if (step.state == State::kDone) outcome.negotiated = step.negotiated;
    if (step.state == State::kClose) FB_ASSERT(!step.close_reason.empty());
    if (step.state == State::kNeedMore) {
      // Feed takes everything it can: the leftover alone must not make progress.
      const size_t out_size = outcome.out.size();
      const HandshakeStep again = handshake.Feed(pending, outcome.out);
      FB_ASSERT(again.state == State::kNeedMore);
      FB_ASSERT(again.consumed == 0);
      FB_ASSERT(outcome.out.size() == out_size);
    }
  } while (outcome.state == State::kNeedMore && position < data.size());
  FB_ASSERT(outcome.consumed <= data.size());
  return outcome;
}

bool IsErrorReply(uint32_t type) { return type >= kRepErrUnsup && type <= kRepErrExtHeaderReqd; }

// One NBD_REP_INFO payload: the type decides the length.
void CheckInfo(std::span<const uint8_t> data) {
  FB_ASSERT(data.size() >= 2);
  const uint16_t type = LoadBe16(data.data());
  if (type == kInfoExport) {
    FB_ASSERT(data.size() == kInfoExportBytes);
    FB_ASSERT(LoadBe16(data.data() + 10) & kFlagHasFlags);
  } else if (type == kInfoBlockSize) {
    FB_ASSERT(data.size() == kInfoBlockSizeBytes);
    const uint32_t min = LoadBe32(data.data() + 2);
    const uint32_t preferred = LoadBe32(data.data() + 6);
    const uint32_t max = LoadBe32(data.data() + 10);
    FB_ASSERT(min >= 1 && min <= preferred && preferred <= max);
  } else {
    FB_ASSERT(type == kInfoName || type == kInfoDescription);
    FB_ASSERT(data.size() - 2 <= kMaxStringBytes);
  }
}

// Each reply on its own: a known type with the payload that type requires.
void CheckReply(uint32_t type, std::span<const uint8_t> data) {
  if (type == kRepAck) {
    FB_ASSERT(data.empty());
  } else if (type == kRepServer) {
    FB_ASSERT(data.size() >= 4);
    FB_ASSERT(LoadBe32(data.data()) <= data.size() - 4);
  } else if (type == kRepInfo) {
    CheckInfo(data);
  } else if (type == kRepMetaContext) {
    FB_ASSERT(data.size() > 4);
    FB_ASSERT(std::string_view(reinterpret_cast<const char*>(data.data()) + 4, data.size() - 4) ==
              kBaseAllocation);
  } else {
    FB_ASSERT(IsErrorReply(type));
    FB_ASSERT(data.size() <= kMaxStringBytes);
  }
}

// The final reply (ACK or error) that ended one option.
struct Final {
  uint32_t option;
  uint32_t type;
};

// The whole output: option replies, each option ending in ACK or an error, and after an
// EXPORT_NAME success only its raw 10 (or 134) bytes. Returns the final replies in order.
std::vector<Final> CheckOutput(const Outcome& outcome) {
  std::vector<Final> finals;
  std::span<const uint8_t> rest = outcome.out;
  uint32_t last_option = 0;
  uint32_t last_type = kRepAck;
  while (rest.size() >= kOptionReplyHeaderBytes && LoadBe64(rest.data()) == kOptionReplyMagic) {
    const uint32_t option = LoadBe32(rest.data() + 8);
    const uint32_t type = LoadBe32(rest.data() + 12);
    const uint32_t length = LoadBe32(rest.data() + 16);
    FB_ASSERT(length <= rest.size() - kOptionReplyHeaderBytes);
    // A new option starts only after the previous one got its final reply.
    if (option != last_option) FB_ASSERT(last_type == kRepAck || IsErrorReply(last_type));
    CheckReply(type, rest.subspan(kOptionReplyHeaderBytes, length));
    if (type == kRepAck || IsErrorReply(type)) finals.push_back({option, type});
    last_option = option;
    last_type = type;
    rest = rest.subspan(kOptionReplyHeaderBytes + length);
  }
  // Replies come in whole groups: the last one written always ends its option.
  FB_ASSERT(last_type == kRepAck || IsErrorReply(last_type));
  if (outcome.state == State::kDone && !rest.empty()) {
    const bool no_zeroes = outcome.negotiated.no_zeroes;
    FB_ASSERT(rest.size() == kExportNameReplyBytes + (no_zeroes ? 0 : kExportNameZeroPadBytes));
    FB_ASSERT(LoadBe64(rest.data()) == outcome.negotiated.export_info.size_bytes);
  } else {
    FB_ASSERT(rest.empty());
  }
  if (outcome.state == State::kDone && rest.empty()) {
    FB_ASSERT(last_option == kOptGo && last_type == kRepAck);  // GO ends in ACK
  }
  if (outcome.state == State::kDone) {
    const Negotiated& n = outcome.negotiated;
    FB_ASSERT(n.transmission_flags == TransmissionFlags(n.export_info, n.structured_replies));
    FB_ASSERT(!n.base_allocation_id || n.structured_replies);
  }
  return finals;
}

// An independent model of the client's framing: flags, then options of 16 header bytes plus
// `length` data bytes. Every complete option must get exactly one final reply, in order, and
// Feed must have consumed exactly up to where the model says the server stopped. This is what
// catches a server that skips or buffers the wrong number of bytes (a desync).
void CheckFraming(std::span<const uint8_t> data, const Outcome& outcome,
                  const std::vector<Final>& finals) {
  auto expect = [&](State state, size_t consumed, size_t answered) {
    FB_ASSERT(outcome.state == state);
    FB_ASSERT(outcome.consumed == consumed);
    FB_ASSERT(finals.size() == answered);
  };
  if (data.size() < kClientFlagsBytes) return expect(State::kNeedMore, 0, 0);
  const uint32_t flags = LoadBe32(data.data());
  if ((flags & ~kClientFlagsKnown) || !(flags & kClientFlagFixedNewstyle)) {
    return expect(State::kClose, kClientFlagsBytes, 0);
  }
  size_t position = kClientFlagsBytes;
  size_t answered = 0;
  for (size_t count = 1;; ++count) {
    if (data.size() - position < kOptionHeaderBytes) {
      return expect(State::kNeedMore, position, answered);
    }
    const uint8_t* header = data.data() + position;
    const uint32_t option = LoadBe32(header + 8);
    const uint32_t length = LoadBe32(header + 12);
    if (LoadBe64(header) != kOptionMagic || count > kMaxOptionsPerHandshake ||
        (option == kOptExportName && length > kMaxStringBytes)) {
      return expect(State::kClose, position + kOptionHeaderBytes, answered);
    }
    if (length > data.size() - position - kOptionHeaderBytes) {
      return expect(State::kNeedMore, data.size(), answered);  // data streams in as it comes
    }
    const size_t end = position + kOptionHeaderBytes + length;
    if (option == kOptExportName) {  // no reply header: raw success, or a hang-up
      FB_ASSERT(outcome.state != State::kNeedMore);
      return expect(outcome.state, end, answered);
    }
    FB_ASSERT(answered < finals.size());
    FB_ASSERT(finals[answered].option == option);
    const uint32_t type = finals[answered++].type;
    if (option == kOptAbort) return expect(State::kClose, end, answered);
    if (option == kOptGo && type == kRepAck) return expect(State::kDone, end, answered);
    position = end;
  }
}

void CheckSame(const Outcome& a, const Outcome& b) {
  FB_ASSERT(a.out == b.out);
  FB_ASSERT(a.state == b.state);
  FB_ASSERT(a.consumed == b.consumed);
  FB_ASSERT(a.negotiated.transmission_flags == b.negotiated.transmission_flags);
  FB_ASSERT(a.negotiated.base_allocation_id == b.negotiated.base_allocation_id);
}

uint64_t Hash(std::span<const uint8_t> data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t byte : data) h = (h ^ byte) * 0x100000001b3ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Catalog catalog;
  const std::span<const uint8_t> input(data, size);
  const Outcome whole = Drive(catalog, input, 0, 0);
  CheckFraming(input, whole, CheckOutput(whole));
  CheckSame(whole, Drive(catalog, input, 2, Hash(input)));
  // Byte at a time costs O(size^2) in buffer moves; the piecewise run covers large inputs.
  if (size <= 8192) CheckSame(whole, Drive(catalog, input, 1, 0));
  return 0;
}
