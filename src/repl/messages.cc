// Replication message encoding and hostile-input decoding.
#include "repl/messages.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cstring>

#include "base/assert.h"
#include "base/endian.h"

namespace fb::repl {
namespace {

constexpr size_t kWriteFixed = 24;
constexpr size_t kFlushFixed = 16;
constexpr size_t kHelloFixed = 16;
constexpr size_t kAckFixed = 8;
constexpr size_t kRejectFixed = 16;

bool KnownType(uint16_t type) { return type >= 1 && type <= 8; }

// Which body each type carries; the decoder insists on it.
size_t BodyIndexFor(MsgType type) {
  switch (type) {
    case MsgType::kResyncBegin:
    case MsgType::kPing: return 0;
    case MsgType::kWrite:
    case MsgType::kCopy: return 1;
    case MsgType::kFlush: return 2;
    case MsgType::kHello: return 3;
    case MsgType::kAck: return 4;
    case MsgType::kReject: return 5;
  }
  FB_UNREACHABLE();
}

uint64_t FrameChecksum(const uint8_t* header, std::span<const uint8_t> body) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header, kChecksumOffset);
  if (!body.empty()) XXH3_64bits_update(&state, body.data(), body.size());
  return XXH3_64bits_digest(&state);
}

void EncodeBody(const Body& body, std::vector<uint8_t>& out) {
  if (auto* w = std::get_if<WriteBody>(&body)) {
    bool carries = w->op == WriteOp::kWrite;
    FB_ASSERT(!carries || (w->data && w->data->size() == w->length));
    FB_ASSERT(w->length <= kWriteBytesMax);
    size_t at = out.size();
    out.resize(at + kWriteFixed);
    out[at] = uint8_t(w->op);
    out[at + 1] = w->fua ? 1 : 0;
    StoreBe32(&out[at + 4], w->length);
    StoreBe64(&out[at + 8], w->op_seq);
    StoreBe64(&out[at + 16], w->offset);
    if (carries) out.insert(out.end(), w->data->begin(), w->data->end());
  } else if (auto* f = std::get_if<FlushBody>(&body)) {
    size_t at = out.size();
    out.resize(at + kFlushFixed);
    StoreBe32(&out[at], (f->in_sync ? 1u : 0u) | (f->resync_complete ? 2u : 0u));
    StoreBe64(&out[at + 8], f->acked_through);
  } else if (auto* h = std::get_if<HelloBody>(&body)) {
    FB_ASSERT(h->al_regions.size() <= kHelloRegionsMax);
    size_t at = out.size();
    out.resize(at + kHelloFixed + 8 * h->al_regions.size());
    StoreBe64(&out[at], h->boot_id);
    StoreBe32(&out[at + 8], h->blank ? 1u : 0u);
    StoreBe32(&out[at + 12], uint32_t(h->al_regions.size()));
    for (size_t i = 0; i < h->al_regions.size(); ++i) {
      StoreBe64(&out[at + kHelloFixed + 8 * i], h->al_regions[i]);
    }
  } else if (auto* a = std::get_if<AckBody>(&body)) {
    size_t at = out.size();
    out.resize(at + kAckFixed);
    StoreBe32(&out[at], uint32_t(a->code));
  } else if (auto* r = std::get_if<RejectBody>(&body)) {
    size_t at = out.size();
    out.resize(at + kRejectFixed);
    StoreBe32(&out[at], uint32_t(r->reason));
    StoreBe64(&out[at + 8], r->promised);
  }
}

Result<Body> DecodeWrite(std::span<const uint8_t> b) {
  if (b.size() < kWriteFixed) return Status::InvalidArgument("write body too short");
  WriteBody w;
  if (b[0] > uint8_t(WriteOp::kZero)) return Status::InvalidArgument("unknown write op");
  if ((b[1] & ~1u) != 0 || b[2] != 0 || b[3] != 0) {
    return Status::InvalidArgument("write flags: unknown bits");
  }
  w.op = WriteOp(b[0]);
  w.fua = b[1] & 1;
  w.length = LoadBe32(&b[4]);
  w.op_seq = LoadBe64(&b[8]);
  w.offset = LoadBe64(&b[16]);
  if (w.length > kWriteBytesMax) return Status::InvalidArgument("write too long");
  if (w.offset > UINT64_MAX - w.length) return Status::InvalidArgument("write range overflows");
  size_t data_bytes = w.op == WriteOp::kWrite ? w.length : 0;
  if (b.size() != kWriteFixed + data_bytes) {
    return Status::InvalidArgument("write body length does not match its data");
  }
  if (data_bytes > 0) {
    w.data = std::make_shared<const Bytes>(b.begin() + kWriteFixed, b.end());
  } else if (w.op == WriteOp::kWrite) {
    w.data = std::make_shared<const Bytes>();
  }
  return Body(std::move(w));
}

Result<Body> DecodeHello(std::span<const uint8_t> b) {
  if (b.size() < kHelloFixed) return Status::InvalidArgument("hello body too short");
  HelloBody h;
  h.boot_id = LoadBe64(&b[0]);
  uint32_t flags = LoadBe32(&b[8]);
  if ((flags & ~1u) != 0) return Status::InvalidArgument("hello flags: unknown bits");
  h.blank = flags & 1;
  uint32_t count = LoadBe32(&b[12]);
  if (count > kHelloRegionsMax || b.size() != kHelloFixed + 8 * size_t(count)) {
    return Status::InvalidArgument("hello region count does not match its length");
  }
  h.al_regions.resize(count);
  for (uint32_t i = 0; i < count; ++i) h.al_regions[i] = LoadBe64(&b[kHelloFixed + 8 * i]);
  return Body(std::move(h));
}

Result<Body> DecodeSmall(MsgType type, std::span<const uint8_t> b) {
  switch (type) {
    case MsgType::kResyncBegin:
    case MsgType::kPing:
      if (!b.empty()) return Status::InvalidArgument("resync-begin and ping carry no body");
      return Body(std::monostate{});
    case MsgType::kFlush: {
      if (b.size() != kFlushFixed) return Status::InvalidArgument("flush body length");
      uint32_t flags = LoadBe32(&b[0]);
      if ((flags & ~3u) != 0 || LoadBe32(&b[4]) != 0) {
        return Status::InvalidArgument("flush flags: unknown bits");
      }
      return Body(FlushBody{bool(flags & 1), bool(flags & 2), LoadBe64(&b[8])});
    }
    case MsgType::kAck: {
      if (b.size() != kAckFixed) return Status::InvalidArgument("ack body length");
      uint32_t code = LoadBe32(&b[0]);
      if (code > uint32_t(Code::kInternal) || LoadBe32(&b[4]) != 0) {
        return Status::InvalidArgument("ack: unknown status code");
      }
      return Body(AckBody{Code(code)});
    }
    case MsgType::kReject: {
      if (b.size() != kRejectFixed) return Status::InvalidArgument("reject body length");
      uint32_t reason = LoadBe32(&b[0]);
      if (reason < 1 || reason > 3 || LoadBe32(&b[4]) != 0) {
        return Status::InvalidArgument("reject: unknown reason");
      }
      return Body(RejectBody{RejectReason(reason), LoadBe64(&b[8])});
    }
    default: break;
  }
  FB_UNREACHABLE();
}

}  // namespace

std::string_view TypeName(MsgType type) {
  switch (type) {
    case MsgType::kResyncBegin: return "resync-begin";
    case MsgType::kWrite: return "write";
    case MsgType::kCopy: return "copy";
    case MsgType::kFlush: return "flush";
    case MsgType::kHello: return "hello";
    case MsgType::kAck: return "ack";
    case MsgType::kReject: return "reject";
    case MsgType::kPing: return "ping";
  }
  return "unknown";
}

std::vector<uint8_t> Encode(const Message& message) {
  const Header& h = message.header;
  FB_ASSERT(KnownType(uint16_t(h.type)));
  FB_ASSERT(message.body.index() == BodyIndexFor(h.type));
  std::vector<uint8_t> out(kHeaderBytes);
  EncodeBody(message.body, out);
  size_t body_bytes = out.size() - kHeaderBytes;
  FB_ASSERT(body_bytes <= kBodyBytesMax);
  StoreBe32(&out[0], kMagic);
  StoreBe16(&out[4], uint16_t(h.type));
  StoreBe16(&out[6], 0);
  StoreBe64(&out[8], h.epoch);
  StoreBe64(&out[16], h.seq);
  StoreBe64(&out[24], h.volume);
  StoreBe64(&out[32], h.tenure);
  StoreBe32(&out[40], h.session);
  StoreBe32(&out[44], uint32_t(body_bytes));
  uint64_t sum = FrameChecksum(out.data(), std::span(out).subspan(kHeaderBytes));
  StoreBe64(&out[kChecksumOffset], sum);
  return out;
}

Result<size_t> FrameBytes(std::span<const uint8_t> prefix) {
  if (prefix.size() < kHeaderBytes) return Status::Unavailable("need a whole header");
  if (LoadBe32(&prefix[0]) != kMagic) return Status::InvalidArgument("bad replication magic");
  uint32_t body = LoadBe32(&prefix[44]);
  if (body > kBodyBytesMax) return Status::InvalidArgument("replication frame too long");
  return kHeaderBytes + size_t(body);
}

Result<Message> Decode(std::span<const uint8_t> frame) {
  FB_ASSIGN_OR_RETURN(size_t total, FrameBytes(frame));
  if (frame.size() != total) return Status::InvalidArgument("frame length mismatch");
  std::span<const uint8_t> body = frame.subspan(kHeaderBytes);
  if (FrameChecksum(frame.data(), body) != LoadBe64(&frame[kChecksumOffset])) {
    return Status::DataLoss("replication frame checksum mismatch");
  }
  uint16_t type = LoadBe16(&frame[4]);
  if (!KnownType(type)) return Status::InvalidArgument("unknown replication message type");
  if (LoadBe16(&frame[6]) != 0) return Status::InvalidArgument("unknown header flags");
  Message m;
  m.header.type = MsgType(type);
  m.header.epoch = LoadBe64(&frame[8]);
  m.header.seq = LoadBe64(&frame[16]);
  m.header.volume = LoadBe64(&frame[24]);
  m.header.tenure = LoadBe64(&frame[32]);
  m.header.session = LoadBe32(&frame[40]);
  Result<Body> decoded = Status::Internal("unset");
  if (m.header.type == MsgType::kWrite || m.header.type == MsgType::kCopy) {
    decoded = DecodeWrite(body);
  } else if (m.header.type == MsgType::kHello) {
    decoded = DecodeHello(body);
  } else {
    decoded = DecodeSmall(m.header.type, body);
  }
  if (!decoded.ok()) return decoded.status();
  m.body = std::move(decoded).value();
  FB_ASSERT(m.body.index() == BodyIndexFor(m.header.type));
  return m;
}

}  // namespace fb::repl
