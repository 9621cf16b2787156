// The client's handshake: greeting checks, one option at a time, and strict parsing of every
// option reply (layouts in wire.h). Anything the spec does not allow the server to send fails
// the handshake: a client that guesses would present the wrong export to its own clients.
#include "proto/nbd/client_handshake.h"

#include "base/assert.h"
#include "base/endian.h"
#include "proto/nbd/bytes.h"
#include "proto/nbd/wire.h"

namespace fb::nbd {
namespace {

using State = ClientHandshakeStep::State;

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Option request: IHAVEOPT, option, length, data.
void AppendOption(std::vector<uint8_t>& out, uint32_t option, std::span<const uint8_t> data) {
  FB_ASSERT(data.size() <= kMaxClientOptionReplyBytes);
  AppendBe64(out, kOptionMagic);
  AppendBe32(out, option);
  AppendBe32(out, uint32_t(data.size()));
  AppendBytes(out, data);
}

// The flags a connection may carry are a function of the export; read the export back.
void ExportFromFlags(ExportInfo& info, uint16_t flags) {
  info.read_only = (flags & kFlagReadOnly) != 0;
  info.rotational = (flags & kFlagRotational) != 0;
  info.can_fast_zero = (flags & kFlagSendFastZero) != 0;
}

}  // namespace

ClientHandshake::ClientHandshake(ClientOptions options) : options_(std::move(options)) {
  FB_ASSERT(options_.export_name.size() <= kMaxStringBytes);
  FB_ASSERT(!options_.base_allocation || options_.structured_replies);
  negotiated_.export_info.name = options_.export_name;
}

ClientHandshakeStep ClientHandshake::Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  FB_ASSERT(phase_ != Phase::kFinished);
  ClientHandshakeStep step;
  while (step.state == State::kNeedMore) {
    const std::span<const uint8_t> rest = in.subspan(step.consumed);
    const size_t used =
        phase_ == Phase::kGreeting ? OnGreeting(rest, out, step) : OnReply(rest, out, step);
    if (used == 0) break;  // needs more input (every step that changes anything consumes)
    FB_ASSERT(used <= rest.size());
    step.consumed += used;
  }
  FB_ASSERT(step.consumed <= in.size());
  FB_ASSERT((step.state == State::kNeedMore) == (phase_ != Phase::kFinished));
  return step;
}

size_t ClientHandshake::OnGreeting(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                                   ClientHandshakeStep& step) {
  if (in.size() < kGreetingBytes) return 0;
  const uint16_t flags = LoadBe16(in.data() + 16);
  if (LoadBe64(in.data()) != kNbdMagic || LoadBe64(in.data() + 8) != kOptionMagic) {
    Fail(step, Status::InvalidArgument("not an NBD newstyle server (bad greeting magic)"));
  } else if (!(flags & kFlagFixedNewstyle)) {
    Fail(step, Status::InvalidArgument("server does not speak fixed newstyle"));
  } else {
    // NO_ZEROES only matters for EXPORT_NAME, which we never send; echo it when offered.
    AppendBe32(out, kClientFlagFixedNewstyle | (flags & kFlagNoZeroes ? kClientFlagNoZeroes : 0));
    if (options_.structured_replies) {
      option_ = kOptStructuredReply;
      replies_ = 0;
      AppendOption(out, kOptStructuredReply, {});
      phase_ = Phase::kStructuredReply;
    } else {
      SendGo(out);
    }
  }
  return kGreetingBytes;
}

// One whole option reply: header (magic, option, type, length) and its data.
size_t ClientHandshake::OnReply(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                                ClientHandshakeStep& step) {
  if (in.size() < kOptionReplyHeaderBytes) return 0;
  const uint32_t option = LoadBe32(in.data() + 8);
  const uint32_t type = LoadBe32(in.data() + 12);
  const uint32_t length = LoadBe32(in.data() + 16);
  if (LoadBe64(in.data()) != kOptionReplyMagic) {
    Fail(step, Status::InvalidArgument("bad option reply magic"));
    return kOptionReplyHeaderBytes;
  }
  if (option != option_) {
    Fail(step, Status::InvalidArgument("option reply names another option"));
    return kOptionReplyHeaderBytes;
  }
  if (length > kMaxClientOptionReplyBytes || ++replies_ > kMaxClientRepliesPerOption) {
    Fail(step, Status::ResourceExhausted("option reply too large or too many replies"));
    return kOptionReplyHeaderBytes;
  }
  if (in.size() - kOptionReplyHeaderBytes < length) return 0;  // wait for all of it
  const std::span<const uint8_t> data = in.subspan(kOptionReplyHeaderBytes, length);
  switch (phase_) {
    case Phase::kStructuredReply:
      OnStructuredReplyAnswer(type, out, step);
      break;
    case Phase::kMetaContext:
      OnMetaContextAnswer(type, data, out, step);
      break;
    case Phase::kGo:
      OnGoAnswer(type, data, step);
      break;
    case Phase::kGreeting:
    case Phase::kFinished:
      FB_UNREACHABLE();
  }
  return kOptionReplyHeaderBytes + length;
}

void ClientHandshake::OnStructuredReplyAnswer(uint32_t type, std::vector<uint8_t>& out,
                                              ClientHandshakeStep& step) {
  if (type == kRepAck) {
    structured_replies_ = true;
  } else if (!(type & kRepFlagError)) {
    return Fail(step, Status::InvalidArgument("unexpected reply to NBD_OPT_STRUCTURED_REPLY"));
  }
  // An error reply only means the server has no structured replies: carry on without.
  SendMetaContextOrGo(out);
}

void ClientHandshake::OnMetaContextAnswer(uint32_t type, std::span<const uint8_t> data,
                                          std::vector<uint8_t>& out, ClientHandshakeStep& step) {
  if (type == kRepMetaContext) {
    if (data.size() < 4) return Fail(step, Status::InvalidArgument("short NBD_REP_META_CONTEXT"));
    // Only the context we asked for is kept; the spec lets servers add none other.
    if (AsText(data.subspan(4)) == kBaseAllocation) {
      negotiated_.base_allocation_id = LoadBe32(data.data());
    }
    return;  // more replies follow until the ACK
  }
  if (type != kRepAck && !(type & kRepFlagError)) {
    return Fail(step, Status::InvalidArgument("unexpected reply to NBD_OPT_SET_META_CONTEXT"));
  }
  // SET replaces the selection even when it fails: an error means no context at all.
  if (type != kRepAck) negotiated_.base_allocation_id.reset();
  SendGo(out);
}

void ClientHandshake::OnGoAnswer(uint32_t type, std::span<const uint8_t> data,
                                 ClientHandshakeStep& step) {
  if (type == kRepInfo) {
    if (Status s = OnInfo(data); !s.ok()) Fail(step, std::move(s));
    return;
  }
  if (type == kRepAck) {
    if (!saw_export_)
      return Fail(step, Status::InvalidArgument("NBD_OPT_GO without NBD_INFO_EXPORT"));
    if (Status s = CheckExportInfo(negotiated_.export_info); !s.ok()) return Fail(step, s);
    return Finish(step);
  }
  if (!(type & kRepFlagError)) {
    return Fail(step, Status::InvalidArgument("unexpected reply to NBD_OPT_GO"));
  }
  step.refused = true;
  step.refusal_type = type;
  step.server_message =
      std::string(AsText(data.subspan(0, std::min(data.size(), kMaxStringBytes))));
  Fail(step, Status::FailedPrecondition("server refused NBD_OPT_GO", step.server_message));
}

// One NBD_REP_INFO payload (u16 type first). Unknown types are ignored, as the spec asks.
Status ClientHandshake::OnInfo(std::span<const uint8_t> data) {
  if (data.size() < 2) return Status::InvalidArgument("NBD_REP_INFO without a type");
  ExportInfo& info = negotiated_.export_info;
  const uint8_t* p = data.data() + 2;
  switch (LoadBe16(data.data())) {
    case kInfoExport:
      if (data.size() != kInfoExportBytes) return Status::InvalidArgument("bad NBD_INFO_EXPORT");
      info.size_bytes = LoadBe64(p);
      negotiated_.transmission_flags = LoadBe16(p + 8);
      if (!(negotiated_.transmission_flags & kFlagHasFlags)) {
        return Status::InvalidArgument("transmission flags without HAS_FLAGS");
      }
      ExportFromFlags(info, negotiated_.transmission_flags);
      saw_export_ = true;
      return Status::Ok();
    case kInfoBlockSize:
      if (data.size() != kInfoBlockSizeBytes) {
        return Status::InvalidArgument("bad NBD_INFO_BLOCK_SIZE");
      }
      info.block_min = LoadBe32(p);
      info.block_preferred = LoadBe32(p + 4);
      info.block_max = LoadBe32(p + 8);
      return Status::Ok();
    case kInfoName:
      info.name = std::string(AsText(data.subspan(2, std::min(data.size() - 2, kMaxStringBytes))));
      return Status::Ok();
    case kInfoDescription:
      info.description =
          std::string(AsText(data.subspan(2, std::min(data.size() - 2, kMaxStringBytes))));
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

void ClientHandshake::SendMetaContextOrGo(std::vector<uint8_t>& out) {
  if (!structured_replies_ || !options_.base_allocation) return SendGo(out);
  // Data: u32 name length, name, u32 query count, {u32 length, query}.
  std::vector<uint8_t> data;
  AppendBe32(data, uint32_t(options_.export_name.size()));
  AppendText(data, options_.export_name);
  AppendBe32(data, 1);
  AppendBe32(data, uint32_t(kBaseAllocation.size()));
  AppendText(data, kBaseAllocation);
  option_ = kOptSetMetaContext;
  replies_ = 0;
  AppendOption(out, kOptSetMetaContext, data);
  phase_ = Phase::kMetaContext;
}

void ClientHandshake::SendGo(std::vector<uint8_t>& out) {
  // Data: u32 name length, name, u16 count, count x u16 info type.
  std::vector<uint8_t> data;
  AppendBe32(data, uint32_t(options_.export_name.size()));
  AppendText(data, options_.export_name);
  AppendBe16(data, 2);
  AppendBe16(data, kInfoBlockSize);
  AppendBe16(data, kInfoDescription);
  option_ = kOptGo;
  replies_ = 0;
  AppendOption(out, kOptGo, data);
  phase_ = Phase::kGo;
}

void ClientHandshake::Fail(ClientHandshakeStep& step, Status error) {
  FB_ASSERT(!error.ok());
  FB_ASSERT(phase_ != Phase::kFinished);
  step.state = State::kFailed;
  step.error = std::move(error);
  phase_ = Phase::kFinished;
}

void ClientHandshake::Finish(ClientHandshakeStep& step) {
  FB_ASSERT(saw_export_);
  FB_ASSERT(phase_ == Phase::kGo);
  negotiated_.structured_replies = structured_replies_;
  // A context id without structured replies could never be used (BLOCK_STATUS needs them).
  if (!structured_replies_) negotiated_.base_allocation_id.reset();
  step.state = State::kDone;
  step.negotiated = negotiated_;
  phase_ = Phase::kFinished;
}

}  // namespace fb::nbd
