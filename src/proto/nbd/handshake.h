// Fixed-newstyle handshake as a sans-IO state machine. The server sends Greeting(), then feeds
// whatever bytes arrive to Feed(), writes out what Feed() appends, and stops when the step
// says kDone (enter transmission with step.negotiated) or kClose (drop the connection).
// Memory is bounded: an option payload larger than kMaxOptionBytes is skipped as it streams
// past (never buffered) and answered with an error, so a hostile client cannot grow us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proto/nbd/export.h"

namespace fb::nbd {

inline constexpr size_t kMaxOptionBytes = 64 * 1024;
// Options answered before we give up on a client that never enters transmission.
inline constexpr size_t kMaxOptionsPerHandshake = 4096;

struct HandshakeStep {
  enum class State { kNeedMore, kDone, kClose };
  size_t consumed = 0;  // bytes of `in` used; the caller drops them
  State state = State::kNeedMore;
  Negotiated negotiated;     // valid when kDone
  std::string close_reason;  // set when kClose, for the log
};

class Handshake {
 public:
  explicit Handshake(const ExportCatalog& catalog);

  // The 18-byte server greeting: NBDMAGIC, IHAVEOPT, handshake flags.
  static void Greeting(std::vector<uint8_t>& out);

  // Consumes a prefix of `in` (possibly all, possibly none if too little arrived), appending
  // any option replies to `out`. Call again with the unconsumed rest plus new bytes.
  // After kDone or kClose it must not be called again.
  HandshakeStep Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

 private:
  // Implementation state; see handshake.cc.
  enum class Phase { kClientFlags, kOptionHeader, kOptionData, kSkipping, kFinished };

  // Each On* step takes the unconsumed input and returns how many bytes it used; 0 means it
  // needs more input. Only these steps and Finish change phase_.
  size_t OnClientFlags(std::span<const uint8_t> in, HandshakeStep& step);
  size_t OnOptionHeader(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                        HandshakeStep& step);
  size_t OnOptionData(std::span<const uint8_t> in, std::vector<uint8_t>& out, HandshakeStep& step);
  size_t OnSkipping(std::span<const uint8_t> in, std::vector<uint8_t>& out);
  void StartSkipping(uint32_t reply_type, std::vector<uint8_t>& out);
  void FinishSkipping(std::vector<uint8_t>& out);
  void FinishOption(std::vector<uint8_t>& out, HandshakeStep& step);
  void Finish(HandshakeStep& step, HandshakeStep::State state, std::string reason);

  // One handler per option that has data worth parsing; each appends its replies.
  void OnExportName(std::vector<uint8_t>& out, HandshakeStep& step);
  void OnList(std::vector<uint8_t>& out);
  void OnInfoOrGo(std::vector<uint8_t>& out, HandshakeStep& step);
  void OnStructuredReply(std::vector<uint8_t>& out);
  void OnMetaContext(std::vector<uint8_t>& out);
  // The export an option names, or nullopt after answering NBD_REP_ERR_UNKNOWN.
  std::optional<ExportInfo> FindExport(std::string_view name, std::vector<uint8_t>& out) const;
  Negotiated MakeNegotiated(const ExportInfo& info, uint16_t transmission_flags) const;

  const ExportCatalog& catalog_;
  Phase phase_ = Phase::kClientFlags;
  bool no_zeroes_ = false;
  bool structured_replies_ = false;
  std::optional<uint32_t> base_allocation_id_;
  std::string meta_export_;  // canonical export the meta context was set for
  uint32_t option_ = 0;
  uint32_t option_length_ = 0;
  uint64_t skip_remaining_ = 0;
  uint32_t skip_reply_ = 0;  // NBD_REP_ERR_* sent once a skipped option has streamed past
  size_t options_seen_ = 0;
  std::vector<uint8_t> option_data_;
};

}  // namespace fb::nbd
