#!/usr/bin/env bash
# FAULTS.md scenario 1 (and the rejoin half of 2) on a real local cluster:
#   `firebreak up --nodes N`, the stamped writer at QD16 on the primary, kill -9 of the primary's
#   node process mid-stream; the writer reconnects to whichever node accepts GO. Checks:
#   RTO   time from the kill to the first write acknowledged by the new primary (target < 1 s,
#         warn above 1 s, FAIL above 5 s), and the longest gap between two acks;
#   NOEIO no write fails with an error reply;
#   ACK/MONO every acknowledged block reads back (never older) from the new primary;
#   rejoin the killed node restarted by hand (`firebreak serve --config --node`) resyncs until
#         `firebreak status` exits 0; resync bytes are printed next to the bytes changed while
#         it was away; FAIL if the resync is a full copy or copies more than the writer's whole
#         range (nothing else was ever written);
#   CONV  with the writer stopped, every node's image file is byte-identical, and each copy
#         holds every acknowledged block.
# Usage: test_failover_kill9.sh [NODES]   (2 or 3; default $CHAOS_NODES or 2)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo cmp
NODES=${1:-${CHAOS_NODES:-2}}
case "$NODES" in 2 | 3) ;; *) die "NODES must be 2 or 3 (got '$NODES')" ;; esac
RTO_TARGET_S=${RTO_TARGET_S:-1}
RTO_FAIL_S=${RTO_FAIL_S:-5}
WRITE_AFTER_S=${WRITE_AFTER_S:-3}
RESYNC_TIMEOUT_S=${RESYNC_TIMEOUT_S:-60}
NARROW_S=${NARROW_S:-1}

start_cluster "$NODES"
OLD=$(primary_of)
[ "$OLD" = n1 ] || soft_fail "fresh cluster: status names primary '$OLD', expected n1"
OLD=${OLD:-n1}
OLD_PID=$(node_pid "$OLD")
note "primary $OLD (pid $OLD_PID); status: $(status_text)"

# The writer FLUSHes every 0.2 s. It first writes its whole range (16 MiB), then only the first
# quarter Q1 for NARROW_S seconds before the kill, and only the second quarter Q2 after it. So
# writes in flight at the kill (in Q1) are never rewritten: where they landed on the old primary
# only, its rejoin must undo them (CONV). What changed while it was away is Q2 plus those; what
# else the resync copies is the old primary's activity log (regions that may hold writes not
# known flushed everywhere; trimmed lazily, so for a small volume it may hold all of Q1..Q4).
Q=$((CHAOS_LBAS / 4))
start_writer w1 --flush-interval 0.2 --narrow-file "$TEST_TMP/narrow" --narrow-window "0:$Q" \
  --after-loss-window "$Q:$Q"
wait_until 20 acks_at_least 3000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"
touch "$TEST_TMP/narrow"
sleep "$NARROW_S"
ok "stamped writer running on ${NODE_URI[$OLD]}: $(acks_so_far) writes acknowledged (the last ${NARROW_S}s on blocks [0,$Q) only, FLUSH every 0.2 s)"

pre_fault_check
# ---- the fault ----
kill9_node "$OLD"
KILL_T=$FAULT_T
ok "kill -9 $OLD (pid $KILLED_PID) at $(acks_so_far) acked writes, QD16 in flight"

# RTO: first write acknowledged after the kill (by a node other than the killed one).
if wait_until 15 has_event first_ack "$KILL_T"; then
  event_lookup first_ack "$KILL_T"
  first_ack=$EVENT_T
  new_uri=$EVENT_URI
  event_lookup go "$KILL_T" || true
  go_t=$EVENT_T
  RTO=$(elapsed "$KILL_T" "$first_ack")
  NEW=$(node_of_uri "$new_uri" || echo "?")
  note "kill -> GO accepted by $NEW: $(elapsed "$KILL_T" "$go_t")s; kill -> first write acknowledged: ${RTO}s"
  [ "$NEW" != "$OLD" ] || soft_fail "the writer's first ack after the kill came from the killed node $OLD"
  if fgt "$RTO" "$RTO_FAIL_S"; then
    soft_fail "RTO ${RTO}s > ${RTO_FAIL_S}s: new primary $NEW accepted I/O too late"
  elif fgt "$RTO" "$RTO_TARGET_S"; then
    warn "RTO ${RTO}s is above the ${RTO_TARGET_S}s target (new primary $NEW)"
  else
    ok "RTO ${RTO}s (< ${RTO_TARGET_S}s): new primary $NEW acknowledges writes"
  fi
else
  RTO=""
  NEW=$(primary_of)
  soft_fail "no write acknowledged within 15 s of kill -9 $OLD (status: $(status_text); writer: $(tail -2 "$WRITER_LOG" | tr '\n' ' '))"
fi
SP=$(primary_of)
if [ -z "$SP" ] || [ "$SP" = "$OLD" ]; then soft_fail "status after the kill names primary '$SP' (killed: $OLD)"; fi
[ -z "$RTO" ] || [ "$SP" = "$NEW" ] || soft_fail "status names primary $SP but the writer's I/O goes to $NEW"
note "status after failover (exit $(status_rc)): $(status_text)"

sleep "$WRITE_AFTER_S"
stop_writer
STOP_T=$(now)
[ "$WRITER_RC" = 0 ] || soft_fail "writer exited $WRITER_RC: $(tail -3 "$WRITER_LOG" | tr '\n' ' ')"
read -r away_acks away_lbas < <(acked_between "$KILL_T" "$STOP_T")
# Changed while the old primary was away: blocks acknowledged after the kill, plus writes whose
# outcome was unknown at the kill (they may have landed on one side only).
changed_blocks=$(awk -v from="$KILL_T" -v to="$STOP_T" '($1 == "A" && $4 >= from && $4 < to) || $1 == "U" { b[$2] = 1 }
  END { print length(b) }' "$WRITER_LEDGER")
note "writer: acked $(summary_field acked), unknown (in flight at a failure) $(summary_field unknown), error replies $(summary_field errors), reconnects $(summary_field reconnects), longest ack gap $(summary_field max_ack_gap_s)s"
[ "$(summary_field errors)" = 0 ] || soft_fail "NOEIO: $(summary_field errors) writes got an error reply: $(summary_json error_samples)"
[ "$away_acks" -gt 0 ] || soft_fail "no write acknowledged while $OLD was down"
ok "while $OLD was down: $away_acks writes acknowledged to $away_lbas distinct blocks ($((away_lbas * 4)) KiB dirty)"

if verify_ledger --ledger "$WRITER_LEDGER"; then
  ok "ACK/MONO on the new primary: $VERIFY_OUT"
else
  soft_fail "ACK/MONO on the new primary: $VERIFY_OUT"
fi

# ---- rejoin ----
start_resync_sampler
restart_node "$OLD"
RESTART_T=$(now)
note "restarted $OLD by hand (pid $RESTARTED_PID): $FIREBREAK serve --config $CLUSTER_CFG --node $OLD"
last_state=""
in_sync=0
t0=$(now)
while ! fgt "$(elapsed "$t0")" "$RESYNC_TIMEOUT_S"; do
  rc=$(status_rc)
  st=$(status_brief)
  [ "$st" != "$last_state" ] && note "+$(elapsed "$RESTART_T")s status exit $rc: $st" && last_state=$st
  if [ "$rc" = 0 ]; then in_sync=1; break; fi
  sleep 0.2
done
if [ $in_sync = 1 ]; then
  ok "$OLD back in sync $(elapsed "$RESTART_T")s after its restart (status exit 0)"
else
  soft_fail "status not healthy (exit 0) within ${RESYNC_TIMEOUT_S}s of restarting $OLD: $(status_text)"
fi
# After a failover the returning node must come back as a replica (if nobody could be promoted,
# it is legitimately primary again: it held every acknowledged write).
if [ -n "$RTO" ] && [ "$(node_role "$OLD")" = primary ]; then
  soft_fail "the restarted old primary $OLD reports role primary after $NEW took over"
fi

# Resync figures: what node-status.json reported (sampled every 50 ms) against what changed.
resyncs=$(stop_resync_sampler)
vol_bytes=$(size_bytes "$CHAOS_VOLUME_SIZE")
range_bytes=$((CHAOS_LBAS * 4096))
dirty_bytes=$((changed_blocks * 4096))
resync_bytes=$(awk -v t="$OLD" '$1 ~ ("->" t "/") { n += $2 } END { print n + 0 }' <<<"$resyncs")
resync_full=$(awk -v t="$OLD" '$1 ~ ("->" t "/") && $4 == "True" { f = 1 } END { print f ? "full" : "incremental" }' <<<"$resyncs")
while read -r key total last full samples; do
  [ -n "$key" ] && note "resync $key: $total bytes to copy ($([ "$full" = True ] && echo full || echo incremental); last bytes_done $last; seen in $samples samples)"
done <<<"$resyncs"
grep -hE 'RESYNC|REPLICA_JOINED' "$CLUSTER_DIR"/logs/*.log "$TEST_TMP"/restart-*.log 2>/dev/null | sed 's/^/#   log: /'
note "resync of $OLD: $resync_bytes bytes ($resync_full); changed while it was away: $changed_blocks blocks = $dirty_bytes bytes ($away_acks writes acknowledged = $((away_acks * 4096)) bytes written); writer's range $range_bytes bytes; volume $vol_bytes bytes"
if [ -z "$RTO" ]; then
  note "no failover happened, so $OLD did not rejoin as a resync target (resyncs above)"
elif [ -z "$resyncs" ]; then
  warn "no resync progress of $OLD was visible in node-status.json (finished between two updates?)"
elif [ "$resync_full" = full ] || [ "$resync_bytes" -ge "$vol_bytes" ]; then
  soft_fail "resync of $OLD was a full copy ($resync_bytes bytes) for $dirty_bytes bytes changed: not incremental"
elif [ "$resync_bytes" -gt "$range_bytes" ]; then
  soft_fail "resync of $OLD copied $resync_bytes bytes, more than the $range_bytes bytes ever written"
else
  ok "incremental resync: $resync_bytes bytes for $dirty_bytes bytes changed while away (x$(awk -v a="$resync_bytes" -v b="$dirty_bytes" 'BEGIN { printf "%.2f", b ? a / b : 0 }')), within the $range_bytes bytes ever written"
fi

# ---- CONV ----
if [ $in_sync = 1 ]; then
  if wait_until 15 images_identical; then
    ok "CONV: $VOL.img byte-identical on ${NODE_IDS[*]} ($(size_bytes "$CHAOS_VOLUME_SIZE") bytes each)"
  else
    diffs=$("$PY" - "$CLUSTER_DIR" "$VOL" "${NODE_IDS[@]}" <<'EOF'
import sys
d, vol, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
imgs = {i: open(f"{d}/{i}/volumes/{vol}.img", "rb") for i in ids}
bad, lba = [], 0
while True:
    blocks = {i: f.read(4096) for i, f in imgs.items()}
    if not blocks[ids[0]]:
        break
    if len(set(blocks.values())) > 1:
        bad.append(lba)
    lba += 1
print(f"{len(bad)} differing 4 KiB blocks, first LBAs {bad[:10]}")
EOF
)
    soft_fail "CONV: images differ after resync with the writer stopped: $diffs"
  fi
  verify_every_copy
fi
note "summary: nodes $NODES, RTO ${RTO:-none}s, longest ack gap $(summary_field max_ack_gap_s)s, resync $resync_bytes bytes for $dirty_bytes dirty"
finish
