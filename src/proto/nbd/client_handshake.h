// The client side of the fixed-newstyle handshake as a sans-IO state machine: what `firebreak
// attach` speaks to a cluster node. Feed it what the server sends; it appends what the client
// sends to `out` and ends in kDone (transmission starts, with what was agreed) or kFailed (the
// reason, and for a refused NBD_OPT_GO the server's own text, e.g. "not primary for vm1;
// primary is n2 at 127.0.0.1:10810").
//
// The sequence: greeting -> client flags -> NBD_OPT_STRUCTURED_REPLY -> NBD_OPT_SET_META_CONTEXT
// "base:allocation" (only with structured replies) -> NBD_OPT_GO asking for BLOCK_SIZE and
// DESCRIPTION. Each option waits for its final reply (NBD.md 1.2: no pipelined options). The
// server's replies are hostile input: every length is checked, and a reply larger than
// kMaxClientOptionReplyBytes fails the handshake rather than growing a buffer. A reply is only
// parsed once it is whole in `in`, so the caller must be able to hold kMaxClientOptionReplyBytes
// plus a header of unconsumed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "proto/nbd/export.h"

namespace fb::nbd {

inline constexpr size_t kMaxClientOptionReplyBytes = 64 * 1024;
// Replies to one option before we stop listening (LIST/META_CONTEXT send several).
inline constexpr size_t kMaxClientRepliesPerOption = 1024;

struct ClientOptions {
  std::string export_name;
  bool structured_replies = true;  // ask for them (needed for base:allocation)
  bool base_allocation = true;     // select base:allocation (needs structured replies)
};

struct ClientHandshakeStep {
  enum class State { kNeedMore, kDone, kFailed };
  size_t consumed = 0;  // bytes of `in` used; the caller drops them
  State state = State::kNeedMore;
  // kDone: what the server agreed to. export_info.read_only, rotational and can_fast_zero are
  // read back from the transmission flags; block sizes are the NBD.md 1.9 defaults unless the
  // server sent NBD_INFO_BLOCK_SIZE.
  Negotiated negotiated;
  // kFailed: why. refused is true when the server answered NBD_OPT_GO with an error reply
  // (server_message holds its text); false for a broken or unexpected stream.
  Status error;
  bool refused = false;
  uint32_t refusal_type = 0;  // the NBD_REP_ERR_* of a refusal
  std::string server_message;
};

class ClientHandshake {
 public:
  explicit ClientHandshake(ClientOptions options);

  // Consumes a prefix of `in` (the server's bytes not yet consumed), appending the client's
  // bytes to `out`. Call again with the unconsumed rest plus new bytes. After kDone or kFailed
  // it must not be called again; after kDone any unconsumed bytes belong to transmission.
  ClientHandshakeStep Feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

 private:
  enum class Phase { kGreeting, kStructuredReply, kMetaContext, kGo, kFinished };

  size_t OnGreeting(std::span<const uint8_t> in, std::vector<uint8_t>& out,
                    ClientHandshakeStep& step);
  size_t OnReply(std::span<const uint8_t> in, std::vector<uint8_t>& out, ClientHandshakeStep& step);
  void OnStructuredReplyAnswer(uint32_t type, std::vector<uint8_t>& out, ClientHandshakeStep& step);
  void OnMetaContextAnswer(uint32_t type, std::span<const uint8_t> data, std::vector<uint8_t>& out,
                           ClientHandshakeStep& step);
  void OnGoAnswer(uint32_t type, std::span<const uint8_t> data, ClientHandshakeStep& step);
  Status OnInfo(std::span<const uint8_t> data);
  void SendMetaContextOrGo(std::vector<uint8_t>& out);
  void SendGo(std::vector<uint8_t>& out);
  void Fail(ClientHandshakeStep& step, Status error);
  void Finish(ClientHandshakeStep& step);

  const ClientOptions options_;
  Phase phase_ = Phase::kGreeting;
  uint32_t option_ = 0;  // the option whose replies we are reading
  size_t replies_ = 0;   // replies seen for option_
  bool structured_replies_ = false;
  bool saw_export_ = false;
  Negotiated negotiated_;
};

}  // namespace fb::nbd
