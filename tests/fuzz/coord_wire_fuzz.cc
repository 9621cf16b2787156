// libFuzzer target for the coordinator wire (src/coord/wire.h). The input is read as a stream
// of frames as is; then its first byte picks a frame type and the rest becomes that type's
// body, sealed with a correct header and checksum so body validation is always reached.
// Every accepted frame must re-encode to exactly its bytes (one encoding per frame), survive
// the Request/Reply conversions, and stop being accepted when any one bit of it flips.
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "base/assert.h"
#include "base/endian.h"
#include "base/status.h"
#include "coord/wire.h"

namespace {

using namespace fb::coord;

constexpr size_t kStreamFramesMax = 64;

void CheckAccepted(std::span<const uint8_t> bytes, const Frame& frame) {
  const std::vector<uint8_t> again = EncodeFrame(frame);
  FB_ASSERT(again.size() == bytes.size());
  FB_ASSERT(std::equal(again.begin(), again.end(), bytes.begin()));
  FB_ASSERT(*FrameBytes(bytes) == bytes.size());
  if (auto request = AsRequest(frame)) FB_ASSERT(EncodeFrame(ToFrame(*request)) == again);
  if (auto reply = AsReply(frame)) FB_ASSERT(EncodeFrame(ToFrame(*reply)) == again);
  FB_ASSERT(!(AsRequest(frame) && AsReply(frame)));
  // One flipped bit, somewhere the frame itself chooses.
  std::vector<uint8_t> flipped = again;
  const uint64_t pick = XXH3_64bits(again.data(), again.size());
  flipped[pick % flipped.size()] ^= uint8_t(1u << (pick >> 32) % 8);
  FB_ASSERT(!DecodeFrame(flipped).ok());
}

void Check(std::span<const uint8_t> bytes) {
  fb::Result<Frame> decoded = DecodeFrame(bytes);
  if (!decoded.ok()) {
    const fb::Code code = decoded.status().code();
    FB_ASSERT(code == fb::Code::kInvalidArgument || code == fb::Code::kDataLoss ||
              (code == fb::Code::kUnavailable && bytes.size() < kFrameHeaderBytes));
    return;
  }
  CheckAccepted(bytes, *decoded);
}

void CheckStream(std::span<const uint8_t> input) {
  for (size_t n = 0; n < kStreamFramesMax && !input.empty(); ++n) {
    fb::Result<size_t> total = FrameBytes(input);
    if (!total.ok()) {
      FB_ASSERT((total.status().code() == fb::Code::kUnavailable) ==
                (input.size() < kFrameHeaderBytes));
      return;
    }
    FB_ASSERT(*total >= kFrameHeaderBytes + kFrameTrailerBytes && *total <= kFrameBytesMax);
    if (input.size() < *total) return Check(input);  // a short frame is refused too
    Check(input.first(*total));
    input = input.subspan(*total);
  }
}

std::vector<uint8_t> Seal(uint16_t type, std::span<const uint8_t> body) {
  std::vector<uint8_t> frame(kFrameHeaderBytes);
  fb::StoreBe32(&frame[0], kWireMagic);
  fb::StoreBe16(&frame[4], type);
  fb::StoreBe32(&frame[8], uint32_t(body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  const uint64_t sum = XXH3_64bits(frame.data(), frame.size());
  frame.resize(frame.size() + kFrameTrailerBytes);
  fb::StoreBe64(&frame[frame.size() - kFrameTrailerBytes], sum);
  return frame;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckStream(input);
  if (size == 0) return 0;
  const uint16_t type = uint16_t(1 + data[0] % std::variant_size_v<Frame>);
  std::span<const uint8_t> body = input.subspan(1);
  if (body.size() > kFrameBodyBytesMax) body = body.first(kFrameBodyBytesMax);
  const std::vector<uint8_t> sealed = Seal(type, body);
  FB_ASSERT(FrameBytes(sealed).ok());
  Check(sealed);
  return 0;
}
