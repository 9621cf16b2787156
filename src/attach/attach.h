// The attach part: the sans-IO core of `firebreak attach`, the local NBD endpoint a hypervisor
// connects to instead of a node. It forwards every request to the volume's current primary,
// and when that primary dies, hangs or is fenced it holds the requests, finds the new primary
// and re-sends every one not yet answered, so the client sees a pause, not an error.
//   knobs.h          timeouts and limits (from cluster.toml timing and the command line)
//   actions.h        what the core asks its runtime to do (connect, close, send, complete)
//   forwarder.h      the state machine: pending requests, upstream cookies, resend, stall
//                    probing, give-up, bounded queue
//   primary_hint.h   reading "primary is n2 at ADDR" out of a standby's refusal
//   export_mirror.h  the export presented to clients (the primary's, unchanged) and the check
//                    that a new primary presents the same one
// No sockets, threads or clocks: time comes in as an argument. The runtime that binds it to
// asio (the upstream sockets, and src/server's Connection for the client side) is
// src/server/upstream_router.h; docs/attach.md explains the design and its safety argument.
#pragma once

#include "attach/actions.h"
#include "attach/export_mirror.h"
#include "attach/forwarder.h"
#include "attach/knobs.h"
#include "attach/primary_hint.h"
