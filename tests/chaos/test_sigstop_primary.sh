#!/usr/bin/env bash
# FAULTS.md scenario 15 on a real local cluster: the primary's node process is SIGSTOPped for
# longer than its lease while the stamped writer runs, then resumed.
#   - a standby is promoted (status names it) and acknowledges the writer's I/O;
#   - 1W: the resumed old primary acknowledges nothing: 16 writes queued on a connection it
#     accepted before the pause (sent while it was stopped) all fail or never complete, and a
#     fresh client is refused GO (naming the new primary) or every write it sends fails; none of
#     those writes shows up on the new primary;
#   - ACK/MONO: every acknowledged block reads back from the new primary;
#   - the old primary rejoins as a replica, status exits 0, and the image files are identical.
# Usage: test_sigstop_primary.sh [NODES]   (2 or 3; default $CHAOS_NODES or 2)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo cmp
NODES=${1:-${CHAOS_NODES:-2}}
case "$NODES" in 2 | 3) ;; *) die "NODES must be 2 or 3 (got '$NODES')" ;; esac
PAUSE_S=${PAUSE_S:-3}
RESYNC_TIMEOUT_S=${RESYNC_TIMEOUT_S:-60}
PROBE_BASE=$CHAOS_LBAS   # probes write just past the writer's range
PROBE_N=16

start_cluster "$NODES"
OLD=$(primary_of)
[ "$OLD" = n1 ] || soft_fail "fresh cluster: status names primary '$OLD', expected n1"
OLD=${OLD:-n1}
note "primary $OLD (pid $(node_pid "$OLD")); lease timing from $CLUSTER_CFG: $(grep -E '^(lease|margin|heartbeat)_ms' "$CLUSTER_CFG" | tr '\n' ' ')"

start_writer w1
wait_until 20 acks_at_least 3000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"

# A second client on the old primary, connected now; it sends its writes while it is stopped.
P1_LEDGER=$TEST_TMP/probe1.ledger
_spawn probe1 "$PY" "$CLIENT" probe --uri "${NODE_URI[$OLD]}" --ledger "$P1_LEDGER" --tag "$VOL" \
  --writer 2 --lba-base "$PROBE_BASE" --lbas "$PROBE_N" --count "$PROBE_N" \
  --ready-file "$TEST_TMP/probe1.ready" --trigger-file "$TEST_TMP/probe1.go" --wait $((PAUSE_S + 6))
PROBE1_PID=$SPAWNED_PID
PROBE1_LOG=$SPAWNED_LOG
wait_until 10 test -e "$TEST_TMP/probe1.ready" || die "probe could not connect to $OLD: $(cat "$PROBE1_LOG")"
ok "writer running ($(acks_so_far) acked) and a probe connected to $OLD"

pre_fault_check
# ---- the fault ----
stop_node "$OLD"
STOP_T=$FAULT_T
touch "$TEST_TMP/probe1.go"
ok "SIGSTOP $OLD (pid $STOPPED_PID); the probe sends $PROBE_N writes to it while it is stopped"

new_primary_named() { local p; p=$(primary_of); [ -n "$p" ] && [ "$p" != "$OLD" ]; }
if wait_until $((PAUSE_S + 5)) new_primary_named; then
  NEW=$(primary_of)
  ok "status names $NEW primary $(elapsed "$STOP_T")s after the SIGSTOP"
else
  NEW=""
  soft_fail "no other node named primary within $((PAUSE_S + 5))s of SIGSTOP $OLD: $(status_text)"
fi
RTO=""
if wait_until "$PAUSE_S" has_event first_ack "$STOP_T"; then
  event_lookup first_ack "$STOP_T"
  RTO=$(elapsed "$STOP_T" "$EVENT_T")
  serving=$(node_of_uri "$EVENT_URI" || echo "?")
  ok "writer's I/O acknowledged by $serving ${RTO}s after the SIGSTOP (its op timeout is 1 s)"
  [ "$serving" != "$OLD" ] || soft_fail "the first ack after the SIGSTOP came from the stopped $OLD"
  [ -z "$NEW" ] || [ "$serving" = "$NEW" ] || soft_fail "writer's I/O went to $serving, status names $NEW"
fi
# Keep the old primary stopped for PAUSE_S in all.
while ! fgt "$(elapsed "$STOP_T")" "$PAUSE_S"; do sleep 0.1; done
[ -n "$RTO" ] || soft_fail "no write acknowledged while $OLD was stopped (${PAUSE_S}s; status: $(status_text))"
cont_pid "$STOPPED_PID"
CONT_T=$(now)
ok "SIGCONT $OLD after $(elapsed "$STOP_T" "$CONT_T")s"

# 1W, part 1: the writes queued on the old primary's connection.
wait_until $((PAUSE_S + 10)) pid_gone "$PROBE1_PID" || die "probe still running $((PAUSE_S + 10))s after SIGCONT"
wait "$PROBE1_PID" 2>/dev/null || true
p1=$(grep '^{' "$PROBE1_LOG" | tail -1)
note "probe on the old primary: $p1"
p1_acked=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["acked"])' "$p1" 2>/dev/null || echo "?")
if [ "$p1_acked" = 0 ]; then
  ok "1W: the resumed $OLD acknowledged none of the $PROBE_N writes queued while it was stopped"
else
  soft_fail "1W: the resumed old primary $OLD acknowledged $p1_acked of $PROBE_N writes sent while it was stopped (probe: $p1)"
fi

# 1W, part 2: a fresh client after the resume (give it a moment to learn it was deposed).
sleep 0.5
P2_LEDGER=$TEST_TMP/probe2.ledger
p2=$(timeout -k 2 20 "$PY" "$CLIENT" probe --uri "${NODE_URI[$OLD]}" --ledger "$P2_LEDGER" --tag "$VOL" \
  --writer 3 --lba-base $((PROBE_BASE + PROBE_N)) --lbas "$PROBE_N" --count "$PROBE_N" --wait 5 2>&1 | grep '^{' | tail -1 || true)
note "fresh client on the resumed $OLD: $p2"
read -r p2_conn p2_acked p2_refusal < <("$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["connected"], d["acked"], d.get("refusal") or "")' "$p2" 2>/dev/null || echo "? ? ?")
if [ "$p2_conn" = False ]; then
  ok "1W: the resumed $OLD refuses GO: $p2_refusal"
  if [ -n "$NEW" ] && ! grep -q "$NEW" <<<"$p2_refusal"; then
    warn "the refusal does not name the new primary $NEW"
  fi
elif [ "$p2_acked" = 0 ]; then
  ok "1W: the resumed $OLD accepted GO but acknowledged none of $PROBE_N writes"
else
  soft_fail "1W: the resumed old primary $OLD acknowledged $p2_acked writes from a fresh client (probe: $p2)"
fi

sleep 2
stop_writer
[ "$WRITER_RC" = 0 ] || soft_fail "writer exited $WRITER_RC: $(tail -3 "$WRITER_LOG" | tr '\n' ' ')"
note "writer: acked $(summary_field acked), unknown $(summary_field unknown), error replies $(summary_field errors), reconnects $(summary_field reconnects), longest ack gap $(summary_field max_ack_gap_s)s"
[ "$(summary_field errors)" = 0 ] || soft_fail "NOEIO: $(summary_field errors) writes got an error reply: $(summary_json error_samples)"

if verify_ledger --ledger "$WRITER_LEDGER"; then
  ok "ACK/MONO on the new primary: $VERIFY_OUT"
else
  soft_fail "ACK/MONO on the new primary: $VERIFY_OUT"
fi
# Nothing the probes sent to the deposed primary may appear on the new one.
probe_ledgers=(--ledger "$P1_LEDGER")
[ -s "$P2_LEDGER" ] && probe_ledgers+=(--ledger "$P2_LEDGER")
verify_ledger "${probe_ledgers[@]}" --lba-base "$PROBE_BASE" --lbas $((2 * PROBE_N)) --json "$TEST_TMP/probe-verify.json" || true
landed=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["blocks"] - d["zero_unwritten"])' "$TEST_TMP/probe-verify.json" 2>/dev/null || echo "?")
if [ "$landed" = 0 ]; then
  ok "1W: none of the writes sent to the deposed $OLD reached the new primary"
else
  soft_fail "1W: $landed blocks written through the deposed $OLD are on the new primary: $VERIFY_OUT"
fi

# ---- the old primary rejoins ----
role_not_primary() { [ "$(node_role "$OLD")" != primary ]; }
wait_until 5 role_not_primary || soft_fail "$OLD still reports role primary 5 s after SIGCONT"
note "$OLD reports role $(node_role "$OLD") after the resume"
if wait_until "$RESYNC_TIMEOUT_S" status_ok; then
  ok "cluster healthy again (status exit 0) $(elapsed "$CONT_T")s after SIGCONT: $(status_brief)"
  if wait_until 15 images_identical; then
    ok "CONV: $VOL.img byte-identical on ${NODE_IDS[*]}"
  else
    soft_fail "CONV: images differ after resync with the writer stopped"
  fi
else
  soft_fail "status not healthy within ${RESYNC_TIMEOUT_S}s of SIGCONT: $(status_text)"
fi
note "summary: nodes $NODES, stopped ${PAUSE_S}s, writer resumed on the new primary after ${RTO:-never}s, longest ack gap $(summary_field max_ack_gap_s)s"
finish
