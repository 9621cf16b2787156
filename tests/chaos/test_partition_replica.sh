#!/usr/bin/env bash
# FAULTS.md scenario 4: partition a replica from the primary (both still reach the coordinator)
# while the stamped writer runs, then heal. Through the fault seam each node exposes on its
# admin socket (`firebreak fault --node A block B both`, on both sides = a symmetric cut).
#   - the primary carries on (no error reply, writes keep being acknowledged) once the
#     replica has been ejected from the in-sync set: status says DEGRADED (exit 2);
#   - after heal the replica comes back by resync only and status is healthy (exit 0);
#   - ACK/MONO: every acknowledged block reads back from the primary;
#   - CONV: with the writer stopped, every node's image is byte-identical.
# Usage: test_partition_replica.sh [NODES]   (2 or 3; default 2)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd cmp
NODES=${1:-${CHAOS_NODES:-2}}
case "$NODES" in 2 | 3) ;; *) die "NODES must be 2 or 3 (got '$NODES')" ;; esac
CUT_S=${CUT_S:-3}

fault() {  # NODE ARGS...: run `firebreak fault` against NODE's admin socket
  local node=$1
  shift
  timeout -k 2 10 "$FIREBREAK" fault --config "$CLUSTER_CFG" --node "$node" "$@" >/dev/null
}
degraded() { [ "$(status_rc)" = 2 ]; }

start_cluster "$NODES"
PRIMARY=$(primary_of)
[ -n "$PRIMARY" ] || die "no primary: $(status_text)"
VICTIM=n2
[ "$PRIMARY" != n2 ] || VICTIM=n1
start_writer w1
wait_until 20 acks_at_least 2000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"
ok "writer running ($(acks_so_far) acked); primary $PRIMARY, cutting $VICTIM"

# An in-sync replica under load shows its lag (messages unacknowledged, age of the oldest);
# node-status.json is rewritten every 0.5 s, so allow a few seconds.
lag_of() {
  status_json | "$PY" -c 'import json,sys
v = json.load(sys.stdin)["volumes"][0]
r = [r for r in v["replicas"] if r["node"] == sys.argv[1]][0]
print(r["state"], r["lag_unacked"], r["lag_ms"])' "$1" 2>/dev/null
}
if wait_until 5 lag_of "$VICTIM" >/dev/null; then
  ok "lag of $VICTIM under load (state, unacked, oldest ms): $(lag_of "$VICTIM")"
else
  soft_fail "status --json shows no lag for in-sync $VICTIM: $(status_json | head -c 600)"
fi

pre_fault_check
CUT_T=$(now)
fault "$PRIMARY" block "$VICTIM" both || die "firebreak fault on $PRIMARY failed"
fault "$VICTIM" block "$PRIMARY" both || die "firebreak fault on $VICTIM failed"
ok "partitioned $PRIMARY <-> $VICTIM (replication traffic only; both still reach the coordinator)"

if wait_until 10 degraded; then
  ok "status DEGRADED (exit 2) $(elapsed "$CUT_T")s after the cut: $(status_text)"
else
  soft_fail "status not DEGRADED within 10 s of the cut: $(status_text)"
fi
[ "$(primary_of)" = "$PRIMARY" ] || soft_fail "primary moved from $PRIMARY to $(primary_of) during a replica partition"
before=$(acks_so_far)
sleep "$CUT_S"
after=$(acks_so_far)
[ "$after" -gt "$before" ] || soft_fail "no write acknowledged during the partition ($before -> $after)"
ok "the primary kept acknowledging during the cut: $((after - before)) writes in ${CUT_S}s"

HEAL_T=$(now)
fault "$PRIMARY" heal "$VICTIM" || die "heal on $PRIMARY failed"
fault "$VICTIM" heal "$PRIMARY" || die "heal on $VICTIM failed"
if wait_until 60 status_ok; then
  ok "healed: every copy in sync again $(elapsed "$HEAL_T")s after the heal"
else
  soft_fail "not back in sync within 60 s of the heal: $(status_text)"
fi

stop_writer
[ "$WRITER_RC" = 0 ] || soft_fail "writer exited $WRITER_RC: $(tail -3 "$WRITER_LOG" | tr '\n' ' ')"
[ "$(summary_field errors)" = 0 ] || soft_fail "NOEIO: $(summary_field errors) writes got an error reply: $(summary_json error_samples)"
note "writer: acked $(summary_field acked), errors $(summary_field errors), longest ack gap $(summary_field max_ack_gap_s)s"
if verify_ledger --ledger "$WRITER_LEDGER"; then
  ok "ACK/MONO on the primary: $VERIFY_OUT"
else
  soft_fail "ACK/MONO on the primary: $VERIFY_OUT"
fi
if wait_until 15 images_identical; then
  ok "CONV: $VOL.img byte-identical on ${NODE_IDS[*]}"
else
  soft_fail "CONV: images differ after heal and resync"
fi
finish
