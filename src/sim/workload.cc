// Workload: operation choice and the per-block oracle updates.
#include "sim/workload.h"

#include "base/assert.h"
#include "sim/block_stamp.h"

namespace fb::sim {

Workload::Workload(uint64_t blocks, const WorkloadOptions& options, Checkers& checkers)
    : options_(options), checkers_(checkers), blocks_(blocks) {
  FB_ASSERT(blocks > 0);
  FB_ASSERT(options.blocks_per_op_max >= 1);
}

std::optional<uint64_t> Workload::FreeRange(Rng& rng, uint64_t count) {
  for (int attempt = 0; attempt < 8; ++attempt) {  // bounded: give up on a busy volume
    uint64_t first = rng.Below(blocks_.size() - count + 1);
    bool free = true;
    for (uint64_t b = first; b < first + count; ++b) free = free && !blocks_[b].busy;
    if (free) return first;
  }
  return std::nullopt;
}

repl::ClientRequest Workload::Issue(Pending pending, const repl::Payload& data) {
  repl::ClientRequest req;
  req.id = next_id_++;
  req.kind = pending.kind;
  req.offset = pending.first * kStampBlockBytes;
  req.length = pending.count * kStampBlockBytes;
  req.fua = pending.fua;
  req.data = data;
  if (pending.kind != repl::OpKind::kFlush) {
    for (uint64_t b = pending.first; b < pending.first + pending.count; ++b) {
      FB_ASSERT(!blocks_[b].busy);
      blocks_[b].busy = true;
      if (repl::IsMutation(pending.kind)) {
        blocks_[b].OnIssue(pending.value, pending.kind != repl::OpKind::kWrite);
      }
    }
  } else {
    req.offset = req.length = 0;
  }
  pending_.emplace(req.id, std::move(pending));
  return req;
}

std::optional<repl::ClientRequest> Workload::Next(Rng& rng) {
  if (pending_.size() >= options_.in_flight_max) return std::nullopt;
  uint32_t roll = uint32_t(rng.Below(100));
  Pending p;
  if (roll < options_.flush_percent) {
    p.kind = repl::OpKind::kFlush;
    for (const auto& b : blocks_) p.flush_snapshot.emplace_back(b.candidates, b.last_finished);
    return Issue(std::move(p), nullptr);
  }
  p.count = 1 + rng.Below(options_.blocks_per_op_max);
  auto first = FreeRange(rng, p.count);
  if (!first) return std::nullopt;
  p.first = *first;
  roll -= options_.flush_percent;
  if (roll < options_.read_percent) {
    p.kind = repl::OpKind::kRead;
    return Issue(std::move(p), nullptr);
  }
  roll -= options_.read_percent;
  p.value = next_value_++;
  p.fua = rng.Below(100) < options_.fua_percent;
  if (roll < options_.trim_percent) {
    p.kind = repl::OpKind::kTrim;
    return Issue(std::move(p), nullptr);
  }
  roll -= options_.trim_percent;
  if (roll < options_.zero_percent) {
    p.kind = repl::OpKind::kWriteZeroes;
    return Issue(std::move(p), nullptr);
  }
  p.kind = repl::OpKind::kWrite;
  auto data = std::make_shared<repl::Bytes>(p.count * kStampBlockBytes);
  for (uint64_t i = 0; i < p.count; ++i) {
    StampBlock(p.first + i, p.value,
               std::span(*data).subspan(i * kStampBlockBytes, kStampBlockBytes));
  }
  return Issue(std::move(p), std::move(data));
}

std::vector<repl::ClientRequest> Workload::VerifyAll() {
  std::vector<repl::ClientRequest> out;
  for (uint64_t b = 0; b < blocks_.size(); ++b) {
    if (blocks_[b].busy) continue;
    Pending p;
    p.kind = repl::OpKind::kRead;
    p.first = b;
    p.count = 1;
    out.push_back(Issue(std::move(p), nullptr));
  }
  return out;
}

void Workload::OnReply(int64_t now, const repl::ReplyToClient& reply) {
  auto it = pending_.find(reply.id);
  if (it == pending_.end()) return;  // a reply after the connection was reset
  Pending p = std::move(it->second);
  pending_.erase(it);
  bool ok = reply.status.ok();
  if (p.kind == repl::OpKind::kFlush) {
    if (ok) {
      ++flushes_acked_;
      for (size_t b = 0; b < blocks_.size(); ++b) {
        blocks_[b].SetFloor(p.flush_snapshot[b].first, p.flush_snapshot[b].second);
      }
    }
    return;
  }
  for (uint64_t b = p.first; b < p.first + p.count; ++b) {
    BlockModel& model = blocks_[b];
    FB_ASSERT(model.busy);
    model.busy = false;
    if (p.kind == repl::OpKind::kRead) {
      if (!ok) continue;
      FB_ASSERT(reply.data && reply.data->size() == p.count * kStampBlockBytes);
      auto block = std::span(*reply.data).subspan((b - p.first) * kStampBlockBytes,
                                                  kStampBlockBytes);
      checkers_.CheckRead(now, b, block, model);
    } else if (ok) {
      model.OnAck(p.value, p.fua);
    } else {
      model.OnFail(p.value);
    }
  }
  if (p.kind == repl::OpKind::kRead && ok) ++reads_ok_;
  if (repl::IsMutation(p.kind)) ok ? ++writes_acked_ : ++ops_failed_;
}

void Workload::OnPowerLossAll() {
  for (auto& b : blocks_) b.OnPowerLossAll();
}

}  // namespace fb::sim
