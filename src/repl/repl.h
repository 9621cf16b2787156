// The repl part: synchronous replication and failover for one volume, as sans-IO state
// machines. A VolumeNode (volume_node.h) per (node, volume) takes inputs (client requests,
// peer messages, disk completions, coordinator replies, ticks with `now`) and returns Actions
// (actions.h). Primary (primary.h) holds the ack rule; Replica (replica.h) the fencing;
// ResyncTarget (resync.h) the catch-up; messages.h the wire format. docs/replication.md has
// the protocol and where each invariant is enforced.
#pragma once

#include "repl/actions.h"
#include "repl/messages.h"
#include "repl/volume_node.h"
