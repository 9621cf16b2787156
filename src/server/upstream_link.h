// UpstreamLink: one connection from firebreak attach to a cluster node. It dials, runs the
// client handshake (nbd::ClientHandshake), and then carries requests out and replies back:
// requests queued during one turn of the loop leave in one socket write, and replies are
// decoded (nbd::ReplyDecoder) and handed to the owner one event at a time, in stream order.
// The link decides nothing: the owner (UpstreamRouter, running attach::Forwarder) does.
// Threading: everything runs on the io_context's thread. Once Close() has been called, or the
// owner has been told the link closed, no callback reaches the owner again.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attach/actions.h"
#include "net/address.h"
#include "net/dial.h"
#include "proto/nbd/client_handshake.h"
#include "proto/nbd/client_reply.h"
#include "proto/nbd/request.h"
#include "server/end_of_turn.h"

namespace fb::server {

class UpstreamLink : public std::enable_shared_from_this<UpstreamLink> {
 public:
  // The owner also finds the requests replies belong to (nbd::PendingReplies).
  class Owner : public nbd::PendingReplies {
   public:
    // The node accepted NBD_OPT_GO; replies are decoded from now on.
    virtual void OnLinkUp(attach::ConnId conn, const nbd::Negotiated& negotiated) = 0;
    // The link is gone (dial, handshake refusal, the node closed it, a socket error).
    // server_message: the node's refusal text, if it refused NBD_OPT_GO.
    virtual void OnLinkClosed(attach::ConnId conn, const std::string& why,
                              const std::string& server_message) = 0;
    // A reply broke the protocol; the link reads nothing more (the owner closes it).
    virtual void OnLinkBroken(attach::ConnId conn, const Status& why) = 0;
    // Reply bytes arrived; the events they complete follow.
    virtual void OnLinkProgress(attach::ConnId conn) = 0;
    virtual void OnLinkEvent(attach::ConnId conn, const nbd::ReplyEvent& event) = 0;

   protected:
    ~Owner() = default;
  };

  UpstreamLink(asio::io_context& io, attach::ConnId id, net::Address address,
               std::string export_name, Owner* owner);
  ~UpstreamLink();

  void Start();
  // Abortive (RST): for a link we leave or that broke. No callback runs afterwards.
  void Close();
  // Appends a request (28-byte header and a copy of the WRITE payload) to what leaves at the
  // end of this loop turn. Only once up.
  void Queue(const nbd::Request& request, std::span<const uint8_t> payload);

  attach::ConnId id() const { return id_; }

 private:
  void OnDialed(const asio::error_code& ec);
  void ReadMore();
  void OnRead(size_t n);
  void FeedHandshake();
  void DecodeReplies();
  void ScheduleFlush();
  void Flush();
  void Fail(const std::string& why, const std::string& server_message = {});
  void Compact();

  asio::io_context& io_;
  const attach::ConnId id_;
  const net::Address address_;
  Owner* owner_;
  std::shared_ptr<net::Dial> dial_;
  net::Socket socket_;
  bool closed_ = false;
  bool up_ = false;

  std::optional<nbd::ClientHandshake> handshake_;
  std::optional<nbd::ReplyDecoder> decoder_;

  // Input: [begin_, end_) of in_ holds received, undecoded bytes.
  std::vector<uint8_t> in_;
  size_t begin_ = 0;
  size_t end_ = 0;

  // Output: pending_ collects this turn's requests; writing_ is on the wire.
  std::vector<uint8_t> pending_;
  std::vector<uint8_t> writing_;
  bool write_active_ = false;
  EndOfTurn flush_turn_;
};

}  // namespace fb::server
