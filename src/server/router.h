// Router: the seam through which a Connection hands a validated request to something other
// than a local store::Volume. `firebreak attach` routes every request to the cluster's primary
// (UpstreamRouter), so attach's client side is this server's Connection (handshake, options,
// validation, limits, reply encoding) and not a second NBD server.
// Threading: a router serves the connections of ONE event loop. HasRoom and Submit run on that
// loop's thread and the router calls RouteWaiter::OnRouted on it too (possibly from inside
// Submit, e.g. an immediate EIO).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "proto/nbd/request.h"
#include "store/volume.h"

namespace fb::server {

// Someone waiting for a routed request (a connection's request).
class RouteWaiter {
 public:
  // The request is finished. On OK, a READ's data is in its target and a BLOCK_STATUS's runs
  // are in its runs vector. The router touches none of the request's buffers afterwards.
  virtual void OnRouted(Status status) = 0;

 protected:
  ~RouteWaiter() = default;
};

struct RoutedRequest {
  nbd::Request request;              // validated against the export the catalog offered
  std::span<const uint8_t> payload;  // WRITE: the data; valid until OnRouted
  std::span<uint8_t> target;         // READ: request.length bytes, filled before OnRouted
  std::vector<store::Allocation>* runs = nullptr;  // BLOCK_STATUS: filled before OnRouted
};

class Router {
 public:
  virtual ~Router() = default;
  // Room for one more request. False: the connection stops reading its client for now and
  // asks again soon (backpressure instead of growth).
  virtual bool HasRoom() const = 0;
  // Precondition: HasRoom(). The request's buffers stay valid until waiter->OnRouted.
  virtual void Submit(const RoutedRequest& request, RouteWaiter* waiter) = 0;
};

}  // namespace fb::server
