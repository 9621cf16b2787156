#!/usr/bin/env bash
# FAULTS.md scenarios 1, 15 and 16 through `firebreak attach` (issue 4): real clients keep doing
# verified I/O through one attach endpoint while the primary is killed with -9, then the next
# primary is SIGSTOPped beyond its lease, then the volume is switched over (planned), on one
# N-node cluster:
#   clients  fio (nbd engine, 4 KiB random writes QD8, crc32c verify of every block it wrote),
#            qemu-io (64 KiB pattern writes, each read back verifying), and the stamped writer
#            (QD8, FLUSH every 0.2 s, ledger of every acknowledged write), all at once
#            (multi-conn), each on its own region of vm1, all through attach's unix socket;
#   faults   kill -9 of the primary; the killed node is restarted and resyncs (status exit 0);
#            then SIGSTOP of the new primary for PAUSE_S (lease 500 ms), then SIGCONT; once in
#            sync again, `firebreak switchover` to the default target (WARN above 200 ms);
#   checks   NOEIO: no client saw an error (fio and qemu-io exit 0, no error reply in the
#            ledger) and no client reconnected (attach hid both failovers); every block fio and
#            qemu-io wrote read back right; ACK/MONO: every acknowledged stamped block reads
#            back through attach; the longest stall per fault (from the ledger's ack times)
#            and per client (fio's max completion latency, qemu-io's slowest command) is
#            printed; FAIL above STALL_FAIL_S.
# Usage: test_attach_failover.sh [NODES]   (2 or 3; default $CHAOS_NODES or 2)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo fio qemu-io
NODES=${1:-${CHAOS_NODES:-2}}
case "$NODES" in 2 | 3) ;; *) die "NODES must be 2 or 3 (got '$NODES')" ;; esac
PAUSE_S=${PAUSE_S:-3}
STALL_FAIL_S=${STALL_FAIL_S:-5}
SWITCHOVER_WARN_S=${SWITCHOVER_WARN_S:-0.2}
RESYNC_TIMEOUT_S=${RESYNC_TIMEOUT_S:-60}
STAMP_BASE=8192    # the stamped writer's region: blocks [8192, 8192 + CHAOS_LBAS) = [32, 48 MiB)

start_cluster "$NODES"
P1=$(primary_of)
P1=${P1:-n1}
start_attach
NODE_URIS=("${URIS[@]}")
URIS=("$ATTACH_URI")  # the stamped writer and the verifier talk to attach only

# ---- clients ----
STOP=$TEST_TMP/clients.stop
_spawn fio-loop bash "$CHAOS_DIR/client_loop.sh" fio "$ATTACH_URI" "$TEST_TMP/fio" "$STOP"
FIO_LOOP_PID=$SPAWNED_PID
_spawn qemu-loop bash "$CHAOS_DIR/client_loop.sh" qemu "$ATTACH_URI" "$TEST_TMP/qemu" "$STOP"
QEMU_LOOP_PID=$SPAWNED_PID
start_writer w1 --lba-base "$STAMP_BASE" --qd 8 --rate-iops 800 --flush-interval 0.2 \
  --op-timeout 30 --reconnect-timeout 5
wait_until 20 acks_at_least 1000 || die "stamped writer made no progress: $(tail -3 "$WRITER_LOG")"
ok "fio, qemu-io and the stamped writer running through attach ($(acks_so_far) stamped acks)"

# ---- fault 1: kill -9 the primary ----
pre_fault_check
kill9_node "$P1"
KILL_T=$FAULT_T
ok "kill -9 $P1 (pid $KILLED_PID), the primary"
new_primary() { local p; p=$(primary_of); [ -n "$p" ] && [ "$p" != "$1" ]; }
wait_until 15 new_primary "$P1" || soft_fail "no new primary named within 15 s of kill -9 $P1: $(status_text)"
P2=$(primary_of)
wait_until 10 acks_at_least $(($(acks_so_far) + 200)) ||
  soft_fail "stamped writes stopped after kill -9 $P1 (attach log: $(tail -3 "$ATTACH_LOG" | tr '\n' ' '))"
note "status after the kill: $(status_brief)"

# The killed node rejoins, so the next failover has an in-sync replica to promote.
restart_node "$P1"
wait_until "$RESYNC_TIMEOUT_S" status_ok ||
  soft_fail "$P1 not back in sync within ${RESYNC_TIMEOUT_S}s of its restart: $(status_text)"
ok "$P1 restarted and back in sync: $(status_brief)"

# ---- fault 2: SIGSTOP the new primary beyond its lease ----
sleep 1
pre_fault_check
P2=$(primary_of)
stop_node "$P2"
STOP_T=$FAULT_T
ok "SIGSTOP $P2 (pid $STOPPED_PID), the primary, for ${PAUSE_S}s"
wait_until $((PAUSE_S + 5)) new_primary "$P2" || soft_fail "no other node named primary while $P2 was stopped: $(status_text)"
while ! fgt "$(elapsed "$STOP_T")" "$PAUSE_S"; do sleep 0.1; done
cont_pid "$STOPPED_PID"
ok "SIGCONT $P2 after $(elapsed "$STOP_T")s; primary now $(primary_of)"
wait_until 10 acks_at_least $(($(acks_so_far) + 200)) || soft_fail "stamped writes stopped after SIGSTOP $P2"

# ---- planned: switchover ----
wait_until "$RESYNC_TIMEOUT_S" status_ok ||
  soft_fail "$P2 not back in sync within ${RESYNC_TIMEOUT_S}s of its SIGCONT: $(status_text)"
sleep 1
P3=$(primary_of)
SW_T=$(now)
if out=$(timeout -k 2 20 "$FIREBREAK" switchover --config "$CLUSTER_CFG" --volume "$VOL" 2>&1); then
  ok "switchover away from $P3: $out"
else
  soft_fail "firebreak switchover failed: $out"
fi
wait_until 10 acks_at_least $(($(acks_so_far) + 200)) || soft_fail "stamped writes stopped after the switchover"
sleep 1

# ---- stop the clients (each finishes and verifies its current run) ----
touch "$STOP"
stop_writer
wait_until 60 pid_gone "$FIO_LOOP_PID" || soft_fail "fio loop still running 60 s after the stop"
wait_until 30 pid_gone "$QEMU_LOOP_PID" || soft_fail "qemu-io loop still running 30 s after the stop"

# ---- verdicts ----
END_T=$(now)
read -r GAP1 G1_FROM G1_TO < <(max_ack_gap_between "$(awk -v t="$KILL_T" 'BEGIN { printf "%.6f", t - 0.2 }')" "$STOP_T")
read -r GAP2 G2_FROM G2_TO < <(max_ack_gap_between "$STOP_T" "$SW_T")
read -r GAP3 G3_FROM G3_TO < <(max_ack_gap_between "$SW_T" "$END_T")
note "stamped writer: acked $(summary_field acked), errors $(summary_field errors), unknown $(summary_field unknown), reconnects $(summary_field reconnects), flushes $(summary_field flushes)"
[ "$(summary_field errors)" = 0 ] || soft_fail "NOEIO: the stamped writer got $(summary_field errors) error replies: $(summary_json error_samples)"
[ "$(summary_field reconnects)" = 0 ] || soft_fail "the stamped writer lost its connection to attach $(summary_field reconnects) times"
[ "$(summary_field unknown)" = 0 ] || soft_fail "$(summary_field unknown) stamped writes never completed"
if verify_ledger --ledger "$WRITER_LEDGER" --lba-base "$STAMP_BASE"; then
  ok "ACK/MONO through attach: $VERIFY_OUT"
else
  soft_fail "ACK/MONO through attach: $VERIFY_OUT"
fi

# fio: every run exited 0, verified as many blocks as it wrote, reported no error.
read -r FIO_RUNS FIO_BAD FIO_W FIO_R FIO_MAX_MS < <("$PY" - "$TEST_TMP/fio" <<'EOF'
import glob, json, os, sys
d = sys.argv[1]
runs = bad = w = r = 0
mx = 0.0
for rc_path in sorted(glob.glob(os.path.join(d, "fio.*.rc"))):
    n = rc_path.split(".")[-2]
    runs += 1
    rc = open(rc_path).read().strip()
    try:
        t = open(os.path.join(d, f"fio.{n}.json")).read()
        j = json.loads(t[t.index("{"):])["jobs"][0]
    except Exception:
        bad += 1
        continue
    if rc != "0" or j["error"] != 0 or j["read"]["total_ios"] != j["write"]["total_ios"]:
        bad += 1
    w += j["write"]["total_ios"]
    r += j["read"]["total_ios"]
    mx = max(mx, j["write"]["clat_ns"]["max"] / 1e6, j["read"]["clat_ns"]["max"] / 1e6)
print(runs, bad, w, r, f"{mx:.0f}")
EOF
)
note "fio: $FIO_RUNS runs, $FIO_W blocks written and $FIO_R read back verified (crc32c), slowest I/O ${FIO_MAX_MS} ms"
[ "${FIO_RUNS:-0}" -gt 0 ] || soft_fail "fio never completed a run"
[ "${FIO_BAD:-1}" = 0 ] || soft_fail "fio: $FIO_BAD runs failed or verified less than they wrote: $(grep -lv '^0$' "$TEST_TMP"/fio/fio.*.rc | head -3 | xargs -r cat; tail -5 "$(ls -t "$TEST_TMP"/fio/fio.*.log | head -1)")"

# qemu-io: every run exited 0, no failed command, no pattern mismatch; slowest command.
QEMU_RUNS=$(find "$TEST_TMP/qemu" -name 'qemu.*.rc' | wc -l)
QEMU_BAD_RC=$(grep -Lx 0 "$TEST_TMP"/qemu/qemu.*.rc 2>/dev/null | wc -l)
QEMU_ERRORS=$(cat "$TEST_TMP"/qemu/qemu.*.out 2>/dev/null | grep -cE 'failed|rror') || true
QEMU_OPS=$(cat "$TEST_TMP"/qemu/qemu.*.out 2>/dev/null | grep -cE '^(wrote|read) ') || true
QEMU_MAX_S=$(cat "$TEST_TMP"/qemu/qemu.*.out 2>/dev/null | awk '/ ops; / { t = $0; sub(/.* ops; /, "", t); sub(/ sec.*/, "", t);
  n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; if (s > m) m = s } END { printf "%.2f", m }')
note "qemu-io: $QEMU_RUNS runs, $QEMU_OPS writes and verified reads of 64 KiB, slowest command ${QEMU_MAX_S}s"
[ "$QEMU_RUNS" -gt 0 ] || soft_fail "qemu-io never completed a run"
if [ "$QEMU_BAD_RC" != 0 ] || [ "${QEMU_ERRORS:-0}" != 0 ]; then
  soft_fail "qemu-io: $QEMU_BAD_RC runs failed, $QEMU_ERRORS error lines: $(cat "$TEST_TMP"/qemu/qemu.*.out | grep -m3 -E 'failed|rror')"
fi

grep -hE 'attach vm1: (lost|no reply|forwarding|.* accepts GO|REFUSING|no progress|.* slow but alive)' "$ATTACH_LOG" | sed 's/^/#   attach: /'
note "STALL kill -9 $P1: ${GAP1}s (longest gap between stamped acks, from $(elapsed "$KILL_T" "$G1_FROM")s to $(elapsed "$KILL_T" "$G1_TO")s after the kill)"
note "STALL SIGSTOP $P2: ${GAP2}s (longest gap between stamped acks, from $(elapsed "$STOP_T" "$G2_FROM")s to $(elapsed "$STOP_T" "$G2_TO")s after the stop)"
note "STALL switchover from $P3: ${GAP3}s (longest gap between stamped acks, from $(elapsed "$SW_T" "$G3_FROM")s to $(elapsed "$SW_T" "$G3_TO")s after the command started)"
note "STALL slowest single I/O: fio ${FIO_MAX_MS} ms, qemu-io ${QEMU_MAX_S} s"
fgt "$GAP3" "$SWITCHOVER_WARN_S" && warn "switchover stall ${GAP3}s is above the ${SWITCHOVER_WARN_S}s target"
for g in "$GAP1" "$GAP2" "$GAP3"; do
  fgt "$g" "$STALL_FAIL_S" && soft_fail "a stall of ${g}s is above ${STALL_FAIL_S}s"
done
fgt "$GAP1" 0 || soft_fail "no stall measured around the kill (did the writer run?)"
fgt "$GAP2" 0 || soft_fail "no stall measured around the SIGSTOP (did the writer run?)"
note "summary: nodes $NODES, stall kill -9 ${GAP1}s, stall SIGSTOP ${GAP2}s, stall switchover ${GAP3}s, fio max ${FIO_MAX_MS} ms, qemu-io max ${QEMU_MAX_S} s, errors 0 required"
finish
