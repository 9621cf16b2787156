// Lease renewal and the send-time rule.
#include "repl/lease.h"

#include "base/assert.h"

namespace fb::repl {
namespace {
constexpr size_t kOutstandingMax = 16;  // older unanswered renewals are forgotten
}

void Lease::MaybeRenew(Instant now, const coord::LeaseRequest& base, const Knobs& knobs,
                       Actions& out) {
  if (now.ns - last_sent_.ns < knobs.lease_renew_ns) return;
  coord::LeaseRequest req = base;
  req.request_id = next_request_id_++;
  sent_[req.request_id] = now;
  last_sent_ = now;
  while (sent_.size() > kOutstandingMax) sent_.erase(sent_.begin());
  FB_ASSERT(sent_.size() <= kOutstandingMax);
  FB_ASSERT(req.node != kNoNode);
  out.push_back(SendToCoordinator{req});
}

void Lease::OnReply(const coord::LeaseReply& reply, Epoch epoch, const Knobs& knobs) {
  auto it = sent_.find(reply.request_id);
  if (it == sent_.end()) return;  // forgotten or duplicate
  Instant sent_at = it->second;
  sent_.erase(it);
  if (!reply.granted || reply.epoch != epoch) return;
  FB_ASSERT(reply.lease_ns > knobs.lease_margin_ns);
  Instant until{sent_at.ns + reply.lease_ns - knobs.lease_margin_ns};
  if (until > valid_until_) valid_until_ = until;
  FB_ASSERT(valid_until_.ns <= sent_at.ns + reply.lease_ns);
}

}  // namespace fb::repl
