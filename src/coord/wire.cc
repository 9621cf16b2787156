// Coordinator frame encoding and hostile-input decoding (layouts in wire.h).
#include "coord/wire.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "base/assert.h"
#include "base/endian.h"

namespace fb::coord {
namespace {

constexpr size_t kHelloBytes = 16;
constexpr size_t kHeartbeatBytes = 40;
constexpr size_t kLeaseRequestBytes = 40;
constexpr size_t kConfigChangeBytes = 64;
constexpr size_t kRecordReplyBytes = kRecordBytes + 16;
constexpr size_t kLeaseReplyBytes = 40;
constexpr size_t kStatusRequestBytes = 8;
constexpr uint16_t kTypeMax = uint16_t(FrameType::kStatusReply);
static_assert(std::variant_size_v<Frame> == kTypeMax);

// Appends big-endian fields to a frame under construction.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U32(uint32_t v) {
    size_t at = Grow(4);
    StoreBe32(&out_[at], v);
  }
  void U64(uint64_t v) {
    size_t at = Grow(8);
    StoreBe64(&out_[at], v);
  }
  void Record(const VolumeRecord& r) {
    size_t at = Grow(kRecordBytes);
    EncodeRecord(r, std::span<uint8_t, kRecordBytes>(&out_[at], kRecordBytes));
  }

 private:
  size_t Grow(size_t n) {
    size_t at = out_.size();
    out_.resize(at + n);
    return at;
  }
  std::vector<uint8_t>& out_;
};

// Reads big-endian fields from a body whose length the caller has already checked, so a
// read past the end is a bug in this file, not bad input.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  uint32_t U32() {
    FB_ASSERT(at_ + 4 <= in_.size());
    uint32_t v = LoadBe32(&in_[at_]);
    at_ += 4;
    return v;
  }
  uint64_t U64() {
    FB_ASSERT(at_ + 8 <= in_.size());
    uint64_t v = LoadBe64(&in_[at_]);
    at_ += 8;
    return v;
  }
  std::span<const uint8_t, kRecordBytes> Record() {
    FB_ASSERT(at_ + kRecordBytes <= in_.size());
    std::span<const uint8_t, kRecordBytes> r(&in_[at_], kRecordBytes);
    at_ += kRecordBytes;
    return r;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  std::span<const uint8_t> in_;
  size_t at_ = 0;
};

Status Malformed(std::string_view what) {
  return Status::InvalidArgument("malformed coordinator frame", what);
}

uint64_t Checksum(std::span<const uint8_t> covered) {
  return XXH3_64bits(covered.data(), covered.size());
}

bool ValidNode(NodeId node) { return node < kMaxNodes; }
bool ValidLeaseReply(const LeaseReply& r) { return r.granted ? r.lease_ns > 0 : r.lease_ns == 0; }

bool ValidNodeStatus(const NodeStatus& n, size_t index) {
  if (n.node != index || (n.live && !n.seen)) return false;
  return n.seen || (!n.blank && n.heartbeat_age_ms == 0 && n.incarnation == 0 && n.boot_id == 0);
}

bool ValidStatus(const StatusReply& s) {
  if (s.volumes.size() > kStatusVolumesMax || s.nodes.size() > kMaxNodes) return false;
  for (size_t i = 0; i < s.volumes.size(); ++i) {
    if (!ValidRecord(s.volumes[i])) return false;
    if (i > 0 && s.volumes[i].volume <= s.volumes[i - 1].volume) return false;
  }
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (!ValidNodeStatus(s.nodes[i], i)) return false;
  }
  return true;
}

// Every frame the encoder accepts is one the decoder accepts, and the reverse.
bool Valid(const Frame& frame) {
  if (auto* h = std::get_if<Hello>(&frame)) {
    return h->admin ? h->node == kNoNode : ValidNode(h->node);
  }
  if (auto* hb = std::get_if<Heartbeat>(&frame)) return ValidNode(hb->node);
  if (auto* lr = std::get_if<LeaseRequest>(&frame)) return ValidNode(lr->node);
  if (auto* cc = std::get_if<ConfigChange>(&frame)) {
    return ValidNode(cc->node) && (cc->joining == kNoNode || ValidNode(cc->joining)) &&
           (cc->handover_to == kNoNode || ValidNode(cc->handover_to));
  }
  if (auto* rr = std::get_if<RecordReply>(&frame)) return ValidRecord(rr->record);
  if (auto* lr = std::get_if<LeaseReply>(&frame)) return ValidLeaseReply(*lr);
  if (std::holds_alternative<StatusRequest>(frame)) return true;
  return ValidStatus(std::get<StatusReply>(frame));
}

// One overload per frame type, picked by std::visit in EncodeFrame.
void Put(Writer& w, const Hello& h) {
  w.U32(kWireVersion);
  w.U32(h.admin ? 1 : 0);
  w.U32(h.node);
  w.U32(0);
}

void Put(Writer& w, const Heartbeat& hb) {
  w.U32(hb.node);
  w.U32(hb.blank ? 1 : 0);
  w.U64(hb.boot_id);
  w.U64(hb.incarnation);
  w.U64(hb.volume);
  w.U64(hb.promised_epoch);
}

void Put(Writer& w, const LeaseRequest& lr) {
  w.U32(lr.node);
  w.U32(0);
  w.U64(lr.incarnation);
  w.U64(lr.volume);
  w.U64(lr.epoch);
  w.U64(lr.request_id);
}

void Put(Writer& w, const ConfigChange& cc) {
  w.U32(cc.node);
  w.U32(cc.joining);
  w.U64(cc.incarnation);
  w.U64(cc.volume);
  w.U64(cc.expected_epoch);
  w.U64(cc.new_in_sync);
  w.U64(cc.joining_boot_id);
  w.U64(cc.request_id);
  w.U32(cc.handover_to);
  w.U32(0);
}

void Put(Writer& w, const RecordReply& rr) {
  w.Record(rr.record);
  w.U64(rr.request_id);
  w.U32(rr.committed ? 1 : 0);
  w.U32(0);
}

void Put(Writer& w, const LeaseReply& lr) {
  w.U64(lr.volume);
  w.U64(lr.epoch);
  w.U64(lr.request_id);
  w.U64(uint64_t(lr.lease_ns));
  w.U32(lr.granted ? 1 : 0);
  w.U32(0);
}

void Put(Writer& w, const StatusRequest& sq) { w.U64(sq.request_id); }

void Put(Writer& w, const StatusReply& s) {
  w.U64(s.request_id);
  w.U32(uint32_t(s.volumes.size()));
  w.U32(uint32_t(s.nodes.size()));
  for (const VolumeRecord& r : s.volumes) w.Record(r);
  for (const NodeStatus& n : s.nodes) {
    w.U32(n.node);
    w.U32((n.seen ? 1u : 0u) | (n.live ? 2u : 0u) | (n.blank ? 4u : 0u));
    w.U64(n.heartbeat_age_ms);
    w.U64(n.incarnation);
    w.U64(n.boot_id);
  }
}

size_t FixedBodyBytes(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return kHelloBytes;
    case FrameType::kHeartbeat:
      return kHeartbeatBytes;
    case FrameType::kLeaseRequest:
      return kLeaseRequestBytes;
    case FrameType::kConfigChange:
      return kConfigChangeBytes;
    case FrameType::kRecordReply:
      return kRecordReplyBytes;
    case FrameType::kLeaseReply:
      return kLeaseReplyBytes;
    case FrameType::kStatusRequest:
      return kStatusRequestBytes;
    case FrameType::kStatusReply:
      return kStatusFixedBytes;
  }
  FB_UNREACHABLE();
}

Result<Frame> DecodeHello(Reader& r) {
  uint32_t version = r.U32();
  uint32_t flags = r.U32();
  Hello h;
  h.node = r.U32();
  h.admin = flags & 1;
  if (version != kWireVersion) {
    return Status::InvalidArgument("unsupported coordinator protocol version");
  }
  if ((flags & ~1u) != 0 || r.U32() != 0) return Malformed("hello flags");
  return Frame(h);
}

Result<Frame> DecodeHeartbeat(Reader& r) {
  Heartbeat hb;
  hb.node = r.U32();
  uint32_t flags = r.U32();
  hb.blank = flags & 1;
  hb.boot_id = r.U64();
  hb.incarnation = r.U64();
  hb.volume = r.U64();
  hb.promised_epoch = r.U64();
  if ((flags & ~1u) != 0) return Malformed("heartbeat flags");
  return Frame(hb);
}

Result<Frame> DecodeLeaseRequest(Reader& r) {
  LeaseRequest lr;
  lr.node = r.U32();
  uint32_t zero = r.U32();
  lr.incarnation = r.U64();
  lr.volume = r.U64();
  lr.epoch = r.U64();
  lr.request_id = r.U64();
  if (zero != 0) return Malformed("lease request padding");
  return Frame(lr);
}

Result<Frame> DecodeConfigChange(Reader& r) {
  ConfigChange cc;
  cc.node = r.U32();
  cc.joining = r.U32();
  cc.incarnation = r.U64();
  cc.volume = r.U64();
  cc.expected_epoch = r.U64();
  cc.new_in_sync = r.U64();
  cc.joining_boot_id = r.U64();
  cc.request_id = r.U64();
  cc.handover_to = r.U32();
  if (r.U32() != 0) return Status::InvalidArgument("config change padding not zero");
  return Frame(cc);
}

Result<Frame> DecodeRecordReply(Reader& r) {
  RecordReply rr;
  FB_ASSIGN_OR_RETURN(rr.record, DecodeRecord(r.Record()));
  rr.request_id = r.U64();
  uint32_t flags = r.U32();
  rr.committed = flags & 1;
  if ((flags & ~1u) != 0 || r.U32() != 0) return Malformed("record reply flags");
  return Frame(rr);
}

Result<Frame> DecodeLeaseReply(Reader& r) {
  LeaseReply lr;
  lr.volume = r.U64();
  lr.epoch = r.U64();
  lr.request_id = r.U64();
  uint64_t lease_ns = r.U64();
  uint32_t flags = r.U32();
  lr.granted = flags & 1;
  if ((flags & ~1u) != 0 || r.U32() != 0) return Malformed("lease reply flags");
  if (lease_ns > uint64_t(INT64_MAX)) return Malformed("lease length");
  lr.lease_ns = int64_t(lease_ns);
  return Frame(lr);
}

Result<Frame> DecodeStatusReply(Reader& r, size_t body_bytes) {
  StatusReply s;
  s.request_id = r.U64();
  uint32_t volumes = r.U32();
  uint32_t nodes = r.U32();
  if (volumes > kStatusVolumesMax || nodes > kMaxNodes) return Malformed("status counts");
  if (body_bytes != kStatusFixedBytes + volumes * kRecordBytes + nodes * kNodeStatusBytes) {
    return Malformed("status length");
  }
  for (uint32_t i = 0; i < volumes; ++i) {
    FB_ASSIGN_OR_RETURN(VolumeRecord record, DecodeRecord(r.Record()));
    s.volumes.push_back(record);
  }
  for (uint32_t i = 0; i < nodes; ++i) {
    NodeStatus n;
    n.node = r.U32();
    uint32_t flags = r.U32();
    n.seen = flags & 1, n.live = flags & 2, n.blank = flags & 4;
    n.heartbeat_age_ms = r.U64();
    n.incarnation = r.U64();
    n.boot_id = r.U64();
    if ((flags & ~7u) != 0) return Malformed("node status flags");
    s.nodes.push_back(n);
  }
  return Frame(std::move(s));
}

Result<Frame> DecodeBody(FrameType type, std::span<const uint8_t> body) {
  Reader r(body);
  switch (type) {
    case FrameType::kHello:
      return DecodeHello(r);
    case FrameType::kHeartbeat:
      return DecodeHeartbeat(r);
    case FrameType::kLeaseRequest:
      return DecodeLeaseRequest(r);
    case FrameType::kConfigChange:
      return DecodeConfigChange(r);
    case FrameType::kRecordReply:
      return DecodeRecordReply(r);
    case FrameType::kLeaseReply:
      return DecodeLeaseReply(r);
    case FrameType::kStatusRequest:
      return Frame(StatusRequest{r.U64()});
    case FrameType::kStatusReply:
      return DecodeStatusReply(r, body.size());
  }
  FB_UNREACHABLE();
}

}  // namespace

FrameType TypeOf(const Frame& frame) { return FrameType(frame.index() + 1); }

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return "hello";
    case FrameType::kHeartbeat:
      return "heartbeat";
    case FrameType::kLeaseRequest:
      return "lease-request";
    case FrameType::kConfigChange:
      return "config-change";
    case FrameType::kRecordReply:
      return "record-reply";
    case FrameType::kLeaseReply:
      return "lease-reply";
    case FrameType::kStatusRequest:
      return "status-request";
    case FrameType::kStatusReply:
      return "status-reply";
  }
  return "unknown";
}

bool ValidRecord(const VolumeRecord& r) {
  if (r.epoch == 0 || r.tenure == 0 || r.tenure > r.epoch) return false;
  if (!ValidNode(r.primary) || !Has(r.in_sync, r.primary)) return false;
  return (r.in_sync & ~r.members) == 0 && r.min_in_sync <= kMaxNodes;
}

void EncodeRecord(const VolumeRecord& r, std::span<uint8_t, kRecordBytes> out) {
  FB_ASSERT(ValidRecord(r));
  uint8_t* p = out.data();
  StoreBe64(p, r.volume);
  StoreBe64(p + 8, r.epoch);
  StoreBe32(p + 16, r.primary);
  StoreBe32(p + 20, r.min_in_sync);
  StoreBe64(p + 24, r.in_sync);
  StoreBe64(p + 32, r.members);
  StoreBe64(p + 40, r.prev_in_sync);
  StoreBe64(p + 48, r.tenure);
  StoreBe64(p + 56, r.primary_incarnation);
  static_assert(56 + 8 == kRecordBytes);
}

Result<VolumeRecord> DecodeRecord(std::span<const uint8_t, kRecordBytes> bytes) {
  const uint8_t* p = bytes.data();
  VolumeRecord r;
  r.volume = LoadBe64(p);
  r.epoch = LoadBe64(p + 8);
  r.primary = LoadBe32(p + 16);
  r.min_in_sync = LoadBe32(p + 20);
  r.in_sync = LoadBe64(p + 24);
  r.members = LoadBe64(p + 32);
  r.prev_in_sync = LoadBe64(p + 40);
  r.tenure = LoadBe64(p + 48);
  r.primary_incarnation = LoadBe64(p + 56);
  if (!ValidRecord(r)) return Malformed("volume record breaks its invariants");
  return r;
}

std::vector<uint8_t> EncodeFrame(const Frame& frame) {
  FB_ASSERT(Valid(frame));
  std::vector<uint8_t> out(kFrameHeaderBytes);
  Writer w(out);
  std::visit([&w](const auto& f) { Put(w, f); }, frame);
  const size_t body_bytes = out.size() - kFrameHeaderBytes;
  FB_ASSERT(body_bytes <= kFrameBodyBytesMax);
  StoreBe32(&out[0], kWireMagic);
  StoreBe16(&out[4], uint16_t(TypeOf(frame)));
  StoreBe16(&out[6], 0);
  StoreBe32(&out[8], uint32_t(body_bytes));
  const uint64_t sum = Checksum(out);
  out.resize(out.size() + kFrameTrailerBytes);
  StoreBe64(&out[kFrameHeaderBytes + body_bytes], sum);
  FB_ASSERT(out.size() == kFrameHeaderBytes + body_bytes + kFrameTrailerBytes);
  return out;
}

Result<size_t> FrameBytes(std::span<const uint8_t> header) {
  if (header.size() < kFrameHeaderBytes) return Status::Unavailable("need a whole frame header");
  if (LoadBe32(&header[0]) != kWireMagic) return Malformed("bad magic");
  const uint16_t type = LoadBe16(&header[4]);
  if (type == 0 || type > kTypeMax) return Malformed("unknown frame type");
  if (LoadBe16(&header[6]) != 0) return Malformed("unknown header flags");
  const uint32_t body = LoadBe32(&header[8]);
  if (body > kFrameBodyBytesMax) return Malformed("frame too long");
  return kFrameHeaderBytes + size_t(body) + kFrameTrailerBytes;
}

Result<Frame> DecodeFrame(std::span<const uint8_t> frame) {
  FB_ASSIGN_OR_RETURN(size_t total, FrameBytes(frame));
  if (frame.size() != total) return Malformed("frame length mismatch");
  const size_t covered = total - kFrameTrailerBytes;
  if (Checksum(frame.first(covered)) != LoadBe64(&frame[covered])) {
    return Status::DataLoss("coordinator frame checksum mismatch");
  }
  const FrameType type = FrameType(LoadBe16(&frame[4]));
  std::span<const uint8_t> body = frame.subspan(kFrameHeaderBytes, covered - kFrameHeaderBytes);
  // Fixed layouts must match exactly; a status reply must at least hold its counts.
  const size_t fixed = FixedBodyBytes(type);
  if (type == FrameType::kStatusReply ? body.size() < fixed : body.size() != fixed) {
    return Malformed("body length does not match its type");
  }
  FB_ASSIGN_OR_RETURN(Frame decoded, DecodeBody(type, body));
  if (!Valid(decoded)) return Malformed("field values out of range");
  FB_ASSERT(TypeOf(decoded) == type);
  return decoded;
}

Frame ToFrame(const Request& request) {
  return std::visit([](const auto& r) { return Frame(r); }, request);
}

Frame ToFrame(const Reply& reply) {
  return std::visit([](const auto& r) { return Frame(r); }, reply);
}

std::optional<Request> AsRequest(const Frame& frame) {
  if (auto* hb = std::get_if<Heartbeat>(&frame)) return Request(*hb);
  if (auto* lr = std::get_if<LeaseRequest>(&frame)) return Request(*lr);
  if (auto* cc = std::get_if<ConfigChange>(&frame)) return Request(*cc);
  return std::nullopt;
}

std::optional<Reply> AsReply(const Frame& frame) {
  if (auto* rr = std::get_if<RecordReply>(&frame)) return Reply(*rr);
  if (auto* lr = std::get_if<LeaseReply>(&frame)) return Reply(*lr);
  return std::nullopt;
}

}  // namespace fb::coord
