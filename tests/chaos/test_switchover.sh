#!/usr/bin/env bash
# Planned switchover (issue 4 item 3) on a real local cluster: `firebreak up --nodes N`, the
# stamped writer at QD16 (FLUSH every 0.2 s) connected straight to the primary and reconnecting
# to whichever node accepts GO, and `firebreak switchover` twice (to the next node, then on to
# another). Checks:
#   NOEIO  no write gets an error reply (the old primary closes connections, never ESHUTDOWN);
#   moved  the coordinator names the target within the command's timeout;
#   stall  the longest gap between two acknowledgements (WARN above 200 ms, FAIL above 2 s;
#          it includes this client's own reconnect, which `firebreak attach` makes shorter);
#   ACK/MONO every acknowledged block reads back from the final primary;
#   CONV   once every node is back in sync, the images are byte-identical.
# Usage: test_switchover.sh [NODES]   (2 or 3)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd cmp
NODES=${1:-2}
STALL_WARN_S=${STALL_WARN_S:-0.2}
STALL_FAIL_S=${STALL_FAIL_S:-2}

start_cluster "$NODES"
FIRST=$(primary_of)
[ -n "$FIRST" ] || die "no primary: $(status_text)"
start_writer w1 --flush-interval 0.2
wait_until 20 acks_at_least 3000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"
ok "stamped writer running on ${NODE_URI[$FIRST]}: $(acks_so_far) writes acknowledged"

# switch_to NODE: one switchover, checked; waits until every node is in sync again.
switch_to() {
  local target=$1 before out rc=0
  before=$(acks_so_far)
  wait_until 30 status_ok || soft_fail "not in sync before the switchover: $(status_text)"
  out=$(timeout -k 2 20 "$FIREBREAK" switchover --config "$CLUSTER_CFG" --volume "$VOL" \
    --to "$target" 2>&1) || rc=$?
  if [ $rc != 0 ]; then
    soft_fail "firebreak switchover --to $target exited $rc: $out"
    return
  fi
  ok "$out"
  [ "$(primary_of)" = "$target" ] || soft_fail "status names primary $(primary_of), not $target"
  wait_until 10 acks_at_least $((before + 2000)) ||
    soft_fail "the writer did not go on after the switchover: $(tail -3 "$WRITER_LOG")"
}

NEXT=${NODE_IDS[1]}
[ "$NEXT" != "$FIRST" ] || NEXT=${NODE_IDS[0]}
switch_to "$NEXT"
THIRD=$FIRST
[ "$NODES" = 3 ] && for id in "${NODE_IDS[@]}"; do
  [ "$id" != "$FIRST" ] && [ "$id" != "$NEXT" ] && THIRD=$id
done
switch_to "$THIRD"

sleep 1
stop_writer
check_writer_run
gap=$WRITER_GAP
if fgt "$gap" "$STALL_FAIL_S"; then
  soft_fail "longest stall ${gap}s > ${STALL_FAIL_S}s"
elif fgt "$gap" "$STALL_WARN_S"; then
  warn "longest stall ${gap}s is above ${STALL_WARN_S}s (direct client, reconnecting by itself)"
else
  ok "longest stall ${gap}s"
fi
check_primary_and_conv
note "summary: nodes $NODES, switchovers $FIRST -> $NEXT -> $THIRD, longest ack gap ${gap}s"
finish
