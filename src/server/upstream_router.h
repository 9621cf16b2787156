// UpstreamRouter: the runtime of `firebreak attach`. It binds attach::Forwarder (the sans-IO
// core: what goes where, resend, stall, give-up) to the world: UpstreamLinks to the cluster's
// nodes, the requests of the local Connections (server::Router), a tick timer and the clock.
// It performs the core's actions and feeds it what happens; it decides nothing itself.
//   client Connection --Submit--> Forwarder --Send--> UpstreamLink --> primary
//   primary --> UpstreamLink --events--> READ data / extents into the request's buffers,
//   kDone --> Forwarder::OnReply --Complete--> RouteWaiter::OnRouted (the Connection replies)
// Threading: one io_context thread (the attach server's only loop). Stop() before destroying.
#pragma once

#include <asio.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "attach/forwarder.h"
#include "net/address.h"
#include "server/router.h"
#include "server/upstream_link.h"

namespace fb::server {

struct UpstreamNode {
  std::string id;
  net::Address nbd;
};

struct UpstreamOptions {
  std::vector<UpstreamNode> nodes;  // config order
  std::string volume;
  attach::Knobs knobs;
  int64_t tick_ns = 10'000'000;  // how often the core's timeouts are checked
  // The export every primary must present (found at startup); unset: the first one found.
  std::optional<nbd::Negotiated> reference;
};

class UpstreamRouter final : public Router, private UpstreamLink::Owner {
 public:
  UpstreamRouter(asio::io_context& io, UpstreamOptions options);
  ~UpstreamRouter() override;
  UpstreamRouter(const UpstreamRouter&) = delete;
  UpstreamRouter& operator=(const UpstreamRouter&) = delete;

  // Starts the tick and the first attempts to every node.
  void Start();
  // Fails everything held with EIO, closes every link, stops the tick.
  void Stop();

  // The first primary's export (set once a node accepted GO).
  const std::optional<nbd::Negotiated>& reference() const { return forwarder_.reference(); }
  attach::ForwarderStats stats() const { return forwarder_.stats(); }

  // Router (the Connections of the same loop).
  bool HasRoom() const override { return forwarder_.HasRoom(); }
  void Submit(const RoutedRequest& request, RouteWaiter* waiter) override;

 private:
  // What the runtime keeps per forwarder slot: the client's buffers and the reply's progress.
  struct SlotIo {
    RouteWaiter* waiter = nullptr;  // null once answered
    uint16_t type = 0;
    std::span<const uint8_t> payload;
    std::span<uint8_t> target;
    std::vector<store::Allocation>* runs = nullptr;
    nbd::PendingReply expect;  // reset at every send (the decoder updates it)
    uint32_t error = 0;        // the first error the reply reported
    std::string message;
  };

  void Tick();
  void Perform(attach::Actions& actions);
  void DoSend(const attach::Send& send);
  void DoComplete(attach::Complete& complete);
  void CloseLink(attach::ConnId conn);
  attach::Actions TakeActions();
  void GiveBack(attach::Actions actions);

  // UpstreamLink::Owner
  nbd::PendingReply* Find(uint64_t cookie) override;
  void OnLinkUp(attach::ConnId conn, const nbd::Negotiated& negotiated) override;
  void OnLinkClosed(attach::ConnId conn, const std::string& why,
                    const std::string& server_message) override;
  void OnLinkBroken(attach::ConnId conn, const Status& why) override;
  void OnLinkProgress(attach::ConnId conn) override;
  void OnLinkEvent(attach::ConnId conn, const nbd::ReplyEvent& event) override;

  asio::io_context& io_;
  const UpstreamOptions options_;
  attach::Forwarder forwarder_;
  std::vector<SlotIo> slots_;  // one per forwarder slot, allocated once
  std::unordered_map<attach::ConnId, std::shared_ptr<UpstreamLink>> links_;
  std::optional<uint32_t> upstream_context_id_;  // base:allocation's id on the upstream
  asio::steady_timer tick_timer_;
  attach::Instant batch_now_;                   // the clock read once per batch of reply bytes
  std::vector<attach::Actions> spare_actions_;  // reused: no allocation per request
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace fb::server
