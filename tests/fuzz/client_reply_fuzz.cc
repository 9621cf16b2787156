// libFuzzer target for the client side of the NBD codec (what firebreak attach decodes from a
// node): the transmission reply decoder and, for inputs whose first byte says so, the client
// handshake. Byte 0: bit 0 structured replies, bit 1 handshake instead of replies; byte 1: the
// split size the bytes arrive in. The rest is the server's stream. Checked: the decoder never
// reads past its input, READ data lands inside its request (a target buffer per READ, so ASan
// sees any overrun), a successful READ covered its whole range, nothing loops, and a finished
// handshake always yields an export we could serve.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <vector>

#include "base/assert.h"
#include "proto/nbd/client_handshake.h"
#include "proto/nbd/client_reply.h"
#include "proto/nbd/wire.h"

namespace {

using namespace fb::nbd;
using Kind = ReplyEvent::Kind;

// The cookies the fake client awaits (the corpus uses the same table).
struct Awaited {
  uint64_t cookie;
  uint16_t type;
  uint64_t offset;
  uint32_t length;
};
constexpr Awaited kAwaited[] = {
    {1, kCmdRead, 0, 4096},        {2, kCmdRead, 8192, 512},       {3, kCmdWrite, 0, 4096},
    {4, kCmdFlush, 0, 0},          {5, kCmdBlockStatus, 0, 65536}, {6, kCmdTrim, 4096, 4096},
    {7, kCmdRead, 1 << 20, 70000},
};

class Table final : public PendingReplies {
 public:
  Table() {
    for (const Awaited& a : kAwaited) {
      PendingReply reply;
      reply.type = a.type;
      reply.offset = a.offset;
      reply.length = a.length;
      replies_[a.cookie] = reply;
      if (a.type == kCmdRead) targets_[a.cookie].resize(a.length);
    }
  }
  PendingReply* Find(uint64_t cookie) override {
    auto it = replies_.find(cookie);
    return it == replies_.end() ? nullptr : &it->second;
  }
  void Apply(const ReplyEvent& e) {
    PendingReply* reply = Find(e.cookie);
    FB_ASSERT(reply != nullptr);  // the decoder only reports cookies it found
    if (e.kind == Kind::kData || e.kind == Kind::kHole) {
      const uint64_t length = e.kind == Kind::kData ? e.bytes.size() : e.length;
      FB_ASSERT(reply->type == kCmdRead);
      FB_ASSERT(e.offset >= reply->offset);
      FB_ASSERT(e.offset - reply->offset + length <= reply->length);
      uint8_t* at = targets_[e.cookie].data() + (e.offset - reply->offset);
      if (e.kind == Kind::kData) {
        std::memcpy(at, e.bytes.data(), e.bytes.size());
      } else {
        std::memset(at, 0, length);
      }
    } else if (e.kind == Kind::kBlockStatus) {
      FB_ASSERT(reply->type == kCmdBlockStatus);
      FB_ASSERT(!e.bytes.empty() && e.bytes.size() % 8 == 0);
      for (size_t i = 0; i < e.bytes.size() / 8; ++i) FB_ASSERT(DescriptorAt(e.bytes, i).length);
    } else if (e.kind == Kind::kError) {
      FB_ASSERT(e.error != 0);
      FB_ASSERT(reply->error);
    } else {
      if (reply->type == kCmdRead && !reply->error) FB_ASSERT(reply->data_bytes == reply->length);
      replies_.erase(e.cookie);
    }
  }

 private:
  std::map<uint64_t, PendingReply> replies_;
  std::map<uint64_t, std::vector<uint8_t>> targets_;
};

void FuzzReplies(bool structured, size_t split, std::span<const uint8_t> stream) {
  ReplyDecoder decoder(structured);
  Table table;
  std::vector<uint8_t> in;
  size_t position = 0;
  while (true) {
    const size_t n = std::min(split, stream.size() - position);
    in.insert(in.end(), stream.begin() + position, stream.begin() + position + n);
    position += n;
    // Each call consumes bytes or emits an event; events are bounded by the input, so this
    // loop ends (an endless one is what libFuzzer's timeout would catch).
    for (size_t calls = 0;; ++calls) {
      FB_ASSERT(calls <= 4 * stream.size() + 16);
      ReplyStep step = decoder.Next(in, table);
      FB_ASSERT(step.consumed <= in.size());
      if (!step.status.ok()) return;  // a violation: the connection would be closed
      if (step.event) table.Apply(*step.event);
      in.erase(in.begin(), in.begin() + step.consumed);
      if (!step.event && step.consumed == 0) break;
    }
    if (position == stream.size()) return;
  }
}

void FuzzHandshake(size_t split, std::span<const uint8_t> stream) {
  ClientOptions options;
  options.export_name = "vm1";
  ClientHandshake client(options);
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
  size_t position = 0;
  while (position < stream.size()) {
    const size_t n = std::min(split, stream.size() - position);
    in.insert(in.end(), stream.begin() + position, stream.begin() + position + n);
    position += n;
    const ClientHandshakeStep step = client.Feed(in, out);
    FB_ASSERT(step.consumed <= in.size());
    FB_ASSERT(out.size() < 64 * 1024);  // the client sends four small options at the most
    in.erase(in.begin(), in.begin() + step.consumed);
    if (step.state == ClientHandshakeStep::State::kDone) {
      FB_ASSERT(CheckExportInfo(step.negotiated.export_info).ok());
      FB_ASSERT(step.negotiated.transmission_flags & kFlagHasFlags);
      FB_ASSERT(!step.negotiated.base_allocation_id || step.negotiated.structured_replies);
      return;
    }
    if (step.state == ClientHandshakeStep::State::kFailed) {
      FB_ASSERT(!step.error.ok());
      FB_ASSERT(step.server_message.size() <= kMaxStringBytes);
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool structured = data[0] & 1;
  const bool handshake = data[0] & 2;
  const size_t split = data[1] == 0 ? size : data[1];
  const std::span<const uint8_t> stream(data + 2, size - 2);
  if (handshake) {
    FuzzHandshake(split, stream);
  } else {
    FuzzReplies(structured, split, stream);
  }
  return 0;
}
