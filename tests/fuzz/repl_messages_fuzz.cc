// libFuzzer target for the replication message decoder (src/repl/messages.h). Each input is
// decoded as is (almost always a checksum failure), then with the length and checksum fields
// patched so the body parsers are reached. Decode must never crash or assert, and whatever it
// accepts must re-encode to exactly the same bytes (one canonical encoding per message).
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/assert.h"
#include "base/endian.h"
#include "repl/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fb::repl;
  (void)Decode(std::span(data, size));
  if (size < kHeaderBytes || size - kHeaderBytes > kBodyBytesMax) return 0;
  std::vector<uint8_t> frame(data, data + size);
  fb::StoreBe32(&frame[0], kMagic);
  fb::StoreBe32(&frame[44], uint32_t(size - kHeaderBytes));
  // The checksum covers header bytes [0, 48) followed by the body.
  std::vector<uint8_t> covered(frame.begin(), frame.begin() + kChecksumOffset);
  covered.insert(covered.end(), frame.begin() + kHeaderBytes, frame.end());
  XXH64_hash_t sum = XXH3_64bits(covered.data(), covered.size());
  fb::StoreBe64(&frame[kChecksumOffset], sum);
  fb::Result<Message> decoded = Decode(frame);
  if (!decoded.ok()) return 0;
  std::vector<uint8_t> again = Encode(*decoded);
  FB_ASSERT(again == frame);
  return 0;
}
