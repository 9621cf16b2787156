// Connection: one NBD client, from greeting to close, pumped by its event loop's thread.
// It owns the socket and the protocol state; the codec decides (handshake, validation, reply
// shapes) and dispatch.cc executes. Requests run concurrently and are answered as they finish
// (out of order); reads of cached data are answered on this thread (large ones sent straight
// from the page cache), everything else on a disk worker.
// Threading: every method runs on the loop thread except Op::Run (a worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "net/listener.h"
#include "proto/nbd/export.h"
#include "proto/nbd/handshake.h"
#include "proto/nbd/reply.h"
#include "proto/nbd/request.h"
#include "server/buffer_pool.h"
#include "server/end_of_turn.h"
#include "server/loop.h"
#include "server/router.h"
#include "server/worker_pool.h"
#include "store/volume.h"

namespace fb::server {

class VolumeLookup;
class ReplNode;

struct ConnectionContext {
  const nbd::ExportCatalog& catalog;
  VolumeLookup& volumes;
  BufferPool& buffers;
  WorkerPool& workers;
  std::atomic<size_t>& live_connections;
  Loop& loop;  // the loop this connection lives on
  ReplNode* repl = nullptr;  // replicated volumes: requests go through the replication core
  Router* router = nullptr;  // firebreak attach: every request is routed (no local volume)
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ConnectionContext context, net::Socket socket);
  ~Connection();
  void Start();

 private:
  // One request between its header arriving and its reply leaving the socket.
  struct Op final : Task, IoWaiter, RouteWaiter {
    Connection* conn = nullptr;
    std::shared_ptr<Connection> keep_alive;  // held only while on a worker
    nbd::Request request;
    nbd::Check check;
    Buffer data;  // WRITE payload or READ result
    uint64_t charged_bytes = 0;  // counted in inflight_bytes_ until freed
    Status status;
    std::vector<store::Allocation> runs;
    std::vector<nbd::Extent> extents;
    std::vector<uint8_t> head;  // encoded reply header (and small payloads)
    bool send_data = false;
    // A READ sent from the page cache (sendfile): the request's range of this file replaces
    // `data`; file_left bytes of it are still to send.
    int file_fd = -1;
    uint64_t file_left = 0;
    bool lease_read = false;  // a replicated volume's read answered from the local copy
    void Run() override;                                  // on a disk worker
    void OnIoDone(Status status, size_t bytes) override;  // async write done, loop thread
    void OnRouted(Status status) override;                // routed request done, loop thread
  };

  // Handshake phase.
  void WriteHandshakeOutput();
  void ReadHandshake();
  void FeedHandshake();
  void EnterTransmission(nbd::Negotiated negotiated);

  // Transmission phase.
  void ReadMore();
  void ProcessInput();
  bool AdmitOne();  // false: stop parsing for now
  void ReadPayloadDirect(Op* op, size_t have);
  void Submit(Op* op);
  void OnWorkerDone(Op* op);
  bool TryAsyncWrite(Op* op);
  bool TryZeroCopyRead(Op* op, env::File& file);
  void SubmitReplicated(Op* op);
  void SubmitRouted(Op* op);
  void Finish(Op* op);  // encode the reply and queue it
  void StartWrite();
  void SendFileData(size_t count);  // the file range of the last reply in out_writing_
  void WriteFailed(std::string_view why);
  void ScheduleWrite();  // StartWrite at the end of this loop turn (replies leave in batches)
  void OnWritten(size_t count);
  void RetryLater();
  void MaybeFinishDisconnect();

  Op* AllocOp();
  void FreeOp(Op* op);
  void Close(std::string_view why);
  bool Paused() const;

  ConnectionContext ctx_;
  net::Socket socket_;
  asio::steady_timer retry_timer_;
  bool closed_ = false;

  // Input: [begin_, end_) of in_ holds received, unparsed bytes.
  std::vector<uint8_t> in_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool reading_ = false;
  // After a payload streamed straight into its buffer, read just the next header: a stream of
  // large WRITEs would otherwise land a quarter of each payload in in_ and copy it again.
  bool header_only_ = false;
  bool retry_pending_ = false;  // RetryLater's timer will parse and read again

  std::optional<nbd::Handshake> handshake_;
  std::vector<uint8_t> handshake_out_;
  bool handshake_writing_ = false;
  bool handshake_done_ = false;

  nbd::Negotiated negotiated_;
  store::Volume* volume_ = nullptr;
  size_t repl_volume_ = 0;  // ReplNode::VolumeHandle of volume_ (replicated volumes)
  bool disconnecting_ = false;  // NBD_CMD_DISC seen: finish in-flight work, then close

  std::vector<std::unique_ptr<Op>> all_ops_;
  std::vector<Op*> free_ops_;
  size_t inflight_ = 0;
  uint64_t inflight_bytes_ = 0;
  std::vector<Op*> out_queue_;     // replies ready to send, in completion order
  std::vector<Op*> out_writing_;   // replies in the current socket write
  std::vector<asio::const_buffer> gather_;
  bool writing_ = false;
  EndOfTurn write_turn_;
};

}  // namespace fb::server
