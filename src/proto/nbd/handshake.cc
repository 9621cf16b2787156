// The fixed-newstyle handshake state machine: client flags, then options until GO or
// EXPORT_NAME enters transmission. Framing is byte-exact whatever the input split, and no
// option is buffered beyond kMaxOptionBytes (payload parsing and replies live in options.cc).
#include "proto/nbd/handshake.h"

#include <algorithm>

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/bytes.h"
#include "proto/nbd/options.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using State = HandshakeStep::State;

// Options with a handler. Anything else (PEEK_EXPORT included) is skipped and ERR_UNSUP.
bool IsKnownOption(uint32_t option) {
  return option >= kOptExportName && option <= kOptExtendedHeaders && option != kOptPeekExport;
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

Handshake::Handshake(const ExportCatalog& catalog) : catalog_(catalog) {}

void Handshake::Greeting(std::vector<uint8_t>& out) {
  const size_t start = out.size();
  AppendBe64(out, kNbdMagic);
  AppendBe64(out, kOptionMagic);
  AppendBe16(out, kFlagFixedNewstyle | kFlagNoZeroes);
  FB_ASSERT(out.size() == start + kGreetingBytes);
}

HandshakeStep Handshake::Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  FB_ASSERT(phase_ != Phase::kFinished);
  HandshakeStep step;
  while (step.state == State::kNeedMore) {
    const std::span<const uint8_t> rest = in.subspan(step.consumed);
    size_t used = 0;
    switch (phase_) {
      case Phase::kClientFlags:
        used = OnClientFlags(rest, step);
        break;
      case Phase::kOptionHeader:
        used = OnOptionHeader(rest, out, step);
        break;
      case Phase::kOptionData:
        used = OnOptionData(rest, out, step);
        break;
      case Phase::kSkipping:
        used = OnSkipping(rest, out);
        break;
      case Phase::kFinished:
        FB_UNREACHABLE();
    }
    // Every step that changes anything consumes input, so this loop always terminates.
    if (used == 0) break;
    FB_ASSERT(used <= rest.size());
    step.consumed += used;
  }
  FB_ASSERT(step.consumed <= in.size());
  FB_ASSERT((step.state == State::kNeedMore) == (phase_ != Phase::kFinished));
  return step;
}

size_t Handshake::OnClientFlags(std::span<const uint8_t> in, HandshakeStep& step) {
  if (in.size() < kClientFlagsBytes) return 0;
  const uint32_t flags = LoadBe32(in.data());
  if (flags & ~kClientFlagsKnown) {
    Finish(step, State::kClose, "client flags have bits we did not offer");
  } else if (!(flags & kClientFlagFixedNewstyle)) {
    Finish(step, State::kClose, "client does not speak fixed newstyle");
  } else {
    no_zeroes_ = (flags & kClientFlagNoZeroes) != 0;
    phase_ = Phase::kOptionHeader;
  }
  return kClientFlagsBytes;
}

size_t Handshake::OnOptionHeader(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                                 HandshakeStep& step) {
  if (in.size() < kOptionHeaderBytes) return 0;
  if (LoadBe64(in.data()) != kOptionMagic) {
    Finish(step, State::kClose, "bad option magic; the stream cannot be resynchronised");
    return kOptionHeaderBytes;
  }
  if (++options_seen_ > kMaxOptionsPerHandshake) {
    Finish(step, State::kClose, "too many options without entering transmission");
    return kOptionHeaderBytes;
  }
  option_ = LoadBe32(in.data() + 8);
  option_length_ = LoadBe32(in.data() + 12);
  option_data_.clear();
  if (option_ == kOptExportName && option_length_ > kMaxStringBytes) {
    // EXPORT_NAME cannot answer with an error, and no export has so long a name.
    Finish(step, State::kClose, "NBD_OPT_EXPORT_NAME name longer than 4096 bytes");
  } else if (!IsKnownOption(option_)) {
    StartSkipping(kRepErrUnsup, out);
  } else if (option_length_ > kMaxOptionBytes) {
    StartSkipping(kRepErrTooBig, out);
  } else if (option_length_ == 0) {
    FinishOption(out, step);
  } else {
    option_data_.reserve(option_length_);
    phase_ = Phase::kOptionData;
  }
  return kOptionHeaderBytes;
}

size_t Handshake::OnOptionData(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                               HandshakeStep& step) {
  FB_ASSERT(option_data_.size() < option_length_);
  FB_ASSERT(option_length_ <= kMaxOptionBytes);
  const size_t take = std::min(in.size(), option_length_ - option_data_.size());
  option_data_.insert(option_data_.end(), in.begin(), in.begin() + take);
  if (option_data_.size() == option_length_) FinishOption(out, step);
  return take;
}

size_t Handshake::OnSkipping(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  FB_ASSERT(skip_remaining_ > 0);
  const size_t take = size_t(std::min<uint64_t>(in.size(), skip_remaining_));
  skip_remaining_ -= take;
  if (skip_remaining_ == 0) FinishSkipping(out);
  return take;
}

void Handshake::FinishSkipping(std::vector<uint8_t>& out) {
  FB_ASSERT(skip_remaining_ == 0);
  FB_ASSERT(skip_reply_ == kRepErrUnsup || skip_reply_ == kRepErrTooBig);
  const bool too_big = skip_reply_ == kRepErrTooBig;
  EncodeOptionError(out, option_, skip_reply_,
                    too_big ? "option data exceeds 64 KiB" : "option not supported");
  phase_ = Phase::kOptionHeader;
}

// The option's data streams past without being kept; the reply goes out after its last byte.
void Handshake::StartSkipping(uint32_t reply_type, std::vector<uint8_t>& out) {
  FB_ASSERT(reply_type & kRepFlagError);
  skip_reply_ = reply_type;
  skip_remaining_ = option_length_;
  phase_ = Phase::kSkipping;
  if (skip_remaining_ == 0) FinishSkipping(out);  // nothing to skip: answer now
}

void Handshake::FinishOption(std::vector<uint8_t>& out, HandshakeStep& step) {
  FB_ASSERT(option_data_.size() == option_length_);
  phase_ = Phase::kOptionHeader;  // unless a handler ends the handshake
  switch (option_) {
    case kOptExportName:
      OnExportName(out, step);
      break;
    case kOptAbort:
      EncodeAck(out, option_);  // any data is ignored, as the spec says
      Finish(step, State::kClose, "client sent NBD_OPT_ABORT");
      break;
    case kOptList:
      OnList(out);
      break;
    case kOptInfo:
    case kOptGo:
      OnInfoOrGo(out, step);
      break;
    case kOptStructuredReply:
      OnStructuredReply(out);
      break;
    case kOptListMetaContext:
    case kOptSetMetaContext:
      OnMetaContext(out);
      break;
    case kOptStartTls:
      EncodeOptionError(out, option_, kRepErrPolicy, "TLS is not enabled");
      break;
    case kOptExtendedHeaders:
      EncodeOptionError(out, option_, kRepErrUnsup, "extended headers are not supported");
      break;
    default:
      FB_UNREACHABLE();  // unknown options are skipped, never buffered
  }
  option_data_.clear();
}

void Handshake::Finish(HandshakeStep& step, HandshakeStep::State state, std::string reason) {
  FB_ASSERT(state != State::kNeedMore);
  FB_ASSERT(phase_ != Phase::kFinished);
  step.state = state;
  step.close_reason = std::move(reason);
  phase_ = Phase::kFinished;
}

void Handshake::OnExportName(std::vector<uint8_t>& out, HandshakeStep& step) {
  const std::optional<ExportInfo> info = catalog_.Find(AsText(option_data_));
  if (!info) {
    // This option has no error reply: the spec's only answer is to hang up.
    Finish(step, State::kClose, "NBD_OPT_EXPORT_NAME for an unknown export");
    return;
  }
  if (std::string why = catalog_.Refusal(info->name); !why.empty()) {
    Finish(step, State::kClose, "NBD_OPT_EXPORT_NAME refused: " + why);
    return;
  }
  FB_ASSERT(CheckExportInfo(*info).ok());
  const uint16_t flags = TransmissionFlags(*info, structured_replies_);
  EncodeExportNameReply(out, *info, flags, no_zeroes_);
  step.negotiated = MakeNegotiated(*info, flags);
  Finish(step, State::kDone, {});
}

void Handshake::OnList(std::vector<uint8_t>& out) {
  if (!option_data_.empty()) {
    EncodeOptionError(out, option_, kRepErrInvalid, "NBD_OPT_LIST takes no data");
    return;
  }
  for (const ExportInfo& info : catalog_.List()) {
    FB_ASSERT(CheckExportInfo(info).ok());
    EncodeServerReply(out, info.name);
  }
  EncodeAck(out, option_);
}

std::optional<ExportInfo> Handshake::FindExport(std::string_view name,
                                                std::vector<uint8_t>& out) const {
  std::optional<ExportInfo> info = catalog_.Find(name);
  if (!info) EncodeOptionError(out, option_, kRepErrUnknown, "no such export");
  return info;
}

void Handshake::OnInfoOrGo(std::vector<uint8_t>& out, HandshakeStep& step) {
  const Result<InfoRequest> request = ParseInfoRequest(option_data_);
  if (!request.ok()) {
    EncodeOptionError(out, option_, kRepErrInvalid, request.status().message());
    return;
  }
  const std::optional<ExportInfo> info = FindExport(request->name, out);
  if (!info) return;
  if (std::string why = catalog_.Refusal(info->name); !why.empty()) {
    EncodeOptionError(out, option_, kRepErrPolicy, why);  // e.g. "not primary; primary is n2"
    return;
  }
  FB_ASSERT(CheckExportInfo(*info).ok());
  // Computed the same way for INFO and GO, so a GO right after an INFO repeats it exactly.
  const uint16_t flags = TransmissionFlags(*info, structured_replies_);
  EncodeInfoReplies(out, option_, *info, flags, *request);
  EncodeAck(out, option_);
  if (option_ == kOptGo) {
    step.negotiated = MakeNegotiated(*info, flags);
    Finish(step, State::kDone, {});
  }
}

void Handshake::OnStructuredReply(std::vector<uint8_t>& out) {
  if (!option_data_.empty()) {
    EncodeOptionError(out, option_, kRepErrInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data");
    return;
  }
  structured_replies_ = true;
  EncodeAck(out, option_);
}

void Handshake::OnMetaContext(std::vector<uint8_t>& out) {
  const bool set = option_ == kOptSetMetaContext;
  // SET replaces the selection even when it fails, so forget the old one first.
  if (set) {
    base_allocation_id_.reset();
    meta_export_.clear();
  }
  if (set && !structured_replies_) {
    EncodeOptionError(out, option_, kRepErrInvalid, "negotiate structured replies first");
    return;
  }
  const Result<MetaContextRequest> request = ParseMetaContextRequest(option_data_);
  if (!request.ok()) {
    EncodeOptionError(out, option_, kRepErrInvalid, request.status().message());
    return;
  }
  const std::optional<ExportInfo> info = FindExport(request->name, out);
  if (!info) return;
  // base:allocation is our only context. LIST with no query lists everything, and the
  // namespace query "base:" lists every base: context; SET takes only exact names. Unknown
  // namespaces and leaves are ignored.
  const auto& queries = request->queries;
  const bool selected =
      std::find(queries.begin(), queries.end(), kBaseAllocation) != queries.end() ||
      (!set && (queries.empty() ||
                std::find(queries.begin(), queries.end(), kBaseNamespace) != queries.end()));
  if (selected) {
    // LIST ids carry no meaning (the spec says 0); SET gives the fixed id.
    EncodeMetaContextReply(out, option_, set ? kBaseAllocationId : 0, kBaseAllocation);
  }
  if (set && selected) {
    base_allocation_id_ = kBaseAllocationId;
    meta_export_ = info->name;
  }
  EncodeAck(out, option_);
}

Negotiated Handshake::MakeNegotiated(const ExportInfo& info, uint16_t transmission_flags) const {
  Negotiated negotiated;
  negotiated.export_info = info;
  negotiated.transmission_flags = transmission_flags;
  negotiated.structured_replies = structured_replies_;
  negotiated.no_zeroes = no_zeroes_;
  // A context set for another export does not apply to this one (the spec's rule for
  // BLOCK_STATUS), so the client then gets no context rather than the wrong one.
  if (base_allocation_id_ && meta_export_ == info.name) {
    negotiated.base_allocation_id = base_allocation_id_;
  }
  FB_ASSERT(!negotiated.base_allocation_id || negotiated.structured_replies);
  FB_ASSERT(transmission_flags == TransmissionFlags(info, structured_replies_));
  return negotiated;
}

}  // namespace fb::nbd
