// UpstreamRouter: performing the forwarder's actions and feeding it the links' events.
#include "server/upstream_router.h"

#include <cstring>

#include "base/assert.h"
#include "env/clock.h"
#include "proto/nbd/errno_map.h"
#include "proto/nbd/wire.h"
#include "server/limits.h"
#include "server/log.h"

namespace fb::server {
namespace {

attach::Instant Now() { return env::SystemClock().Now(); }

std::vector<std::string> NodeIds(const std::vector<UpstreamNode>& nodes) {
  std::vector<std::string> ids;
  for (const UpstreamNode& n : nodes) ids.push_back(n.id);
  return ids;
}

}  // namespace

UpstreamRouter::UpstreamRouter(asio::io_context& io, UpstreamOptions options)
    : io_(io),
      options_(std::move(options)),
      forwarder_(options_.knobs, NodeIds(options_.nodes), options_.reference),
      slots_(options_.knobs.max_pending),
      tick_timer_(io) {
  FB_ASSERT(!options_.nodes.empty());
  FB_ASSERT(options_.tick_ns > 0);
}

UpstreamRouter::~UpstreamRouter() {
  if (!stopped_) Stop();
  FB_ASSERT(links_.empty());
}

void UpstreamRouter::Start() {
  FB_ASSERT(!started_);
  started_ = true;
  Tick();
}

void UpstreamRouter::Stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  attach::Actions actions = TakeActions();
  forwarder_.Shutdown(actions);
  Perform(actions);
  GiveBack(std::move(actions));
  for (auto& [conn, link] : links_) link->Close();
  links_.clear();
}

void UpstreamRouter::Tick() {
  if (stopped_) return;
  attach::Actions actions = TakeActions();
  forwarder_.Tick(Now(), actions);
  Perform(actions);
  GiveBack(std::move(actions));
  tick_timer_.expires_after(std::chrono::nanoseconds(options_.tick_ns));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) Tick();
  });
}

// ---- Client side ---------------------------------------------------------------------------

void UpstreamRouter::Submit(const RoutedRequest& request, RouteWaiter* waiter) {
  FB_ASSERT(io_.get_executor().running_in_this_thread());  // a router serves one loop
  FB_ASSERT(waiter != nullptr);
  attach::Actions actions = TakeActions();
  const uint32_t slot = forwarder_.Submit(Now(), request.request, actions);
  SlotIo& io = slots_[slot];
  FB_ASSERT(io.waiter == nullptr);
  io.waiter = waiter;
  io.type = request.request.type;
  io.payload = request.payload;
  io.target = request.target;
  io.runs = request.runs;
  FB_ASSERT(io.type != nbd::kCmdRead || io.target.size() == request.request.length);
  FB_ASSERT(io.type != nbd::kCmdWrite || io.payload.size() == request.request.length);
  Perform(actions);
  GiveBack(std::move(actions));
}

// ---- Actions -------------------------------------------------------------------------------

void UpstreamRouter::Perform(attach::Actions& actions) {
  for (attach::Action& action : actions) {
    if (auto* send = std::get_if<attach::Send>(&action)) {
      DoSend(*send);
    } else if (auto* complete = std::get_if<attach::Complete>(&action)) {
      DoComplete(*complete);
    } else if (auto* connect = std::get_if<attach::Connect>(&action)) {
      FB_ASSERT(connect->node >= 0 && size_t(connect->node) < options_.nodes.size());
      auto link = std::make_shared<UpstreamLink>(
          io_, connect->conn, options_.nodes[size_t(connect->node)].nbd, options_.volume,
          static_cast<UpstreamLink::Owner*>(this));
      links_.emplace(connect->conn, link);
      link->Start();
    } else if (auto* close = std::get_if<attach::Close>(&action)) {
      CloseLink(close->conn);
    } else if (auto* notice = std::get_if<attach::Notice>(&action)) {
      Log(notice->loud ? LogLevel::kWarn : LogLevel::kInfo, "attach {}: {}", options_.volume,
          notice->text);
    }
  }
  actions.clear();
}

void UpstreamRouter::DoSend(const attach::Send& send) {
  auto it = links_.find(send.conn);
  FB_ASSERT(it != links_.end());  // the core sends only on its upstream, which is open
  SlotIo& io = slots_[send.slot];
  const nbd::Request& request = forwarder_.RequestOf(send.slot);
  io.expect = nbd::PendingReply{};
  io.expect.type = request.type;
  io.expect.offset = request.offset;
  io.expect.length = request.length;
  io.error = 0;
  io.message.clear();
  if (io.runs != nullptr) io.runs->clear();
  nbd::Request wire = request;
  wire.cookie = send.cookie;
  it->second->Queue(wire, request.type == nbd::kCmdWrite ? io.payload : std::span<const uint8_t>{});
}

void UpstreamRouter::DoComplete(attach::Complete& complete) {
  SlotIo& io = slots_[complete.slot];
  RouteWaiter* waiter = io.waiter;
  FB_ASSERT(waiter != nullptr);
  Status status = std::move(complete.status);
  if (status.ok() && io.type == nbd::kCmdBlockStatus && (io.runs == nullptr || io.runs->empty())) {
    status = Status::IOError("the primary sent no base:allocation extents");
  }
  // The reply's progress (expect) stays: a zombie's late reply is still decoded with it.
  io.waiter = nullptr;
  io.payload = {};
  io.target = {};
  io.runs = nullptr;
  waiter->OnRouted(std::move(status));
}

void UpstreamRouter::CloseLink(attach::ConnId conn) {
  auto it = links_.find(conn);
  if (it == links_.end()) return;
  it->second->Close();
  links_.erase(it);
}

attach::Actions UpstreamRouter::TakeActions() {
  if (spare_actions_.empty()) return {};
  attach::Actions actions = std::move(spare_actions_.back());
  spare_actions_.pop_back();
  return actions;
}

void UpstreamRouter::GiveBack(attach::Actions actions) {
  FB_ASSERT(actions.empty());
  if (spare_actions_.size() < 4) spare_actions_.push_back(std::move(actions));
}

// ---- Links ---------------------------------------------------------------------------------

nbd::PendingReply* UpstreamRouter::Find(uint64_t cookie) {
  const std::optional<uint32_t> slot = forwarder_.SlotOfCookie(cookie);
  return slot ? &slots_[*slot].expect : nullptr;
}

void UpstreamRouter::OnLinkUp(attach::ConnId conn, const nbd::Negotiated& negotiated) {
  attach::Actions actions = TakeActions();
  forwarder_.OnConnected(Now(), conn, negotiated, actions);
  if (forwarder_.upstream() == conn) upstream_context_id_ = negotiated.base_allocation_id;
  Perform(actions);
  GiveBack(std::move(actions));
}

void UpstreamRouter::OnLinkClosed(attach::ConnId conn, const std::string& why,
                                  const std::string& server_message) {
  links_.erase(conn);
  attach::Actions actions = TakeActions();
  forwarder_.OnClosed(Now(), conn, why, server_message, actions);
  Perform(actions);
  GiveBack(std::move(actions));
}

void UpstreamRouter::OnLinkBroken(attach::ConnId conn, const Status& why) {
  Log(LogLevel::kWarn, "attach {}: {}", options_.volume, why.ToString());
  attach::Actions actions = TakeActions();
  forwarder_.OnBroken(Now(), conn, why, actions);
  Perform(actions);
  GiveBack(std::move(actions));
  CloseLink(conn);  // closed already by the link itself; forget it
}

void UpstreamRouter::OnLinkProgress(attach::ConnId conn) {
  batch_now_ = Now();
  forwarder_.OnProgress(batch_now_, conn);
}

void UpstreamRouter::OnLinkEvent(attach::ConnId conn, const nbd::ReplyEvent& event) {
  FB_ASSERT(conn == forwarder_.upstream());  // requests go out on the upstream only
  const std::optional<uint32_t> slot = forwarder_.SlotOfCookie(event.cookie);
  FB_ASSERT(slot.has_value());  // the decoder found it
  SlotIo& io = slots_[*slot];
  const bool answered = forwarder_.Answered(*slot);  // a zombie: its buffers are gone
  switch (event.kind) {
    case nbd::ReplyEvent::Kind::kData:
    case nbd::ReplyEvent::Kind::kHole: {
      if (answered) return;
      const uint64_t at = event.offset - io.expect.offset;
      const size_t length =
          event.kind == nbd::ReplyEvent::Kind::kData ? event.bytes.size() : event.length;
      FB_ASSERT(at + length <= io.target.size());  // the decoder checked the range
      if (event.kind == nbd::ReplyEvent::Kind::kData) {
        std::memcpy(io.target.data() + at, event.bytes.data(), length);
      } else {
        std::memset(io.target.data() + at, 0, length);
      }
      return;
    }
    case nbd::ReplyEvent::Kind::kBlockStatus: {
      if (answered || io.runs == nullptr || event.context_id != upstream_context_id_) return;
      const size_t count = event.bytes.size() / nbd::kBlockStatusDescriptorBytes;
      for (size_t i = 0; i < count && io.runs->size() < kMaxBlockStatusRuns; ++i) {
        const nbd::ExtentDescriptor d = nbd::DescriptorAt(event.bytes, i);
        io.runs->push_back(
            {d.length, (d.flags & nbd::kStateHole) != 0, (d.flags & nbd::kStateZero) != 0});
      }
      return;
    }
    case nbd::ReplyEvent::Kind::kError:
      if (io.error == 0) {
        io.error = event.error;
        io.message = std::string(event.message);
      }
      return;
    case nbd::ReplyEvent::Kind::kDone: {
      // The node's own answer, errors included, passes through unchanged (errno_map).
      Status status = io.error == 0 ? Status::Ok() : nbd::StatusFromNbdError(io.error, io.message);
      attach::Actions actions = TakeActions();
      forwarder_.OnReply(batch_now_, conn, event.cookie, std::move(status), actions);
      Perform(actions);
      GiveBack(std::move(actions));
      return;
    }
  }
}

}  // namespace fb::server
