#!/usr/bin/env bash
# What a client connected straight to the primary (no attach) sees across a kill -9 failover,
# with qemu's own reconnect logic on (NBD.md 3.5), and the same client through attach.
#   direct   qemu-io --image-opts driver=nbd,...,reconnect-delay=RECONNECT_S to the primary's
#            address: write, pause, write, read-verify; the primary is killed with -9 during
#            the pause and restarted by hand (it rejoins as a replica). qemu reconnects to the
#            SAME address: first refused at the TCP level (the process is gone), then refused
#            by NBD_OPT_GO (ERR_POLICY: "not primary ... primary is nX"), until reconnect-delay
#            runs out and the pending write fails with EIO. This part documents that: the test
#            requires the I/O after the failover to fail and prints what qemu said.
#   attach   qemu-io (no reconnect-delay) through `firebreak attach` writing and read-verifying
#            64 KiB patterns while the new primary is killed with -9: every command succeeds,
#            every pattern verifies, and the slowest command (the failover) is printed.
source "$(dirname "$0")/chaos_lib.sh"
require_cmd qemu-io nbdinfo stdbuf
RECONNECT_S=${RECONNECT_S:-4}

# qemu_commands PATTERN1 PATTERN2: write, pause 1.5 s (the fault), write, read verifying.
qemu_commands() {
  QARGS=(-c "write -P $1 0 64k" -c "sleep 1500" -c "write -P $2 0 64k" -c "read -P $2 0 64k")
}

start_cluster 2
P1=$(primary_of)
P1=${P1:-n1}
PORT1=$((BASE_PORT + ${P1#n} - 1))

# ---- direct, with qemu's reconnect-delay ----
qemu_commands 0x11 0x22
_spawn qemu-direct stdbuf -oL qemu-io --image-opts \
  "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT1,export=$VOL,reconnect-delay=$RECONNECT_S" \
  "${QARGS[@]}"
QD_PID=$SPAWNED_PID
QD_LOG=$SPAWNED_LOG
wait_until 10 grep -q '^wrote' "$QD_LOG" || die "qemu-io never wrote to $P1: $(cat "$QD_LOG")"
kill9_node "$P1"
KILL_T=$FAULT_T
ok "qemu-io (reconnect-delay=$RECONNECT_S) connected straight to $P1 wrote once; kill -9 $P1"
new_primary() { local p; p=$(primary_of); [ -n "$p" ] && [ "$p" != "$P1" ]; }
wait_until 15 new_primary || die "no new primary within 15 s of kill -9 $P1: $(status_text)"
P2=$(primary_of)
note "$P2 promoted $(elapsed "$KILL_T")s after the kill; restarting $P1 (it rejoins as a replica)"
restart_node "$P1"
wait_until $((RECONNECT_S + 20)) pid_gone "$QD_PID" || die "direct qemu-io still running $((RECONNECT_S + 20))s after the kill"
QD_RC=0
wait "$QD_PID" 2>/dev/null || QD_RC=$?
DIRECT_S=$(elapsed "$KILL_T")
sed -n '2,$p' "$QD_LOG" | sed 's/^/#   direct qemu-io: /'
refusal=$(LIBNBD_DEBUG=1 timeout -k 2 10 nbdinfo "${NODE_URI[$P1]}" 2>&1 | grep -m1 -oE 'server error message: .*' | sed 's/^server error message: //') || true
note "what $P1's address answers now (the address qemu reconnects to): NBD_OPT_GO refused: '${refusal:-?}'"
if grep -qE 'write failed|read failed' "$QD_LOG" || [ "$QD_RC" != 0 ]; then
  ok "direct: the I/O after the failover FAILED (exit $QD_RC, ${DIRECT_S}s after the kill): qemu reconnects to the same address, which is gone and then refuses NBD_OPT_GO; reconnect-delay cannot reach the new primary $P2"
else
  soft_fail "direct: qemu-io's I/O after the failover succeeded; this test documents that it cannot (what changed?)"
fi

# ---- the same commands through attach ----
wait_until 60 status_ok || die "$P1 never came back in sync: $(status_text)"
start_attach
# A first write, then 40 x (write a pattern, read it back verifying, pause 25 ms): the kill
# lands in the middle of that stream.
QARGS=(-c "write -P 0x33 0 64k" -c "sleep 300")
for k in $(seq 1 40); do
  QARGS+=(-c "write -P $k $((k * 65536)) 64k" -c "read -P $k $((k * 65536)) 64k" -c "sleep 25")
done
_spawn qemu-attach stdbuf -oL qemu-io --image-opts \
  "driver=nbd,server.type=unix,server.path=$ATTACH_SOCK,export=$VOL" "${QARGS[@]}"
QA_PID=$SPAWNED_PID
QA_LOG=$SPAWNED_LOG
wait_until 10 grep -q '^wrote' "$QA_LOG" || die "qemu-io never wrote through attach: $(cat "$QA_LOG")"
P2=$(primary_of)
sleep 0.6
kill9_node "$P2"
ok "qemu-io (no reconnect-delay) through attach wrote once; kill -9 $P2, the primary"
wait_until 30 pid_gone "$QA_PID" || die "qemu-io through attach still running 30 s after the kill"
QA_RC=0
wait "$QA_PID" 2>/dev/null || QA_RC=$?
slowest=$(awk '/ ops; / { t = $0; sub(/.* ops; /, "", t); sub(/ sec.*/, "", t); if (t + 0 > m) m = t + 0 } END { printf "%.2f", m }' "$QA_LOG")
if [ "$QA_RC" = 0 ] && ! grep -qE 'failed|rror' "$QA_LOG" && [ "$(grep -c '^\(wrote\|read\)' "$QA_LOG")" = 81 ]; then
  ok "through attach: all 81 commands succeeded, every pattern read back; slowest command ${slowest}s (the failover)"
else
  soft_fail "through attach: qemu-io exit $QA_RC: $(grep -m2 -E 'failed|rror' "$QA_LOG")"
fi
grep -hE 'attach vm1: (lost|forwarding to)' "$ATTACH_LOG" | sed 's/^/#   attach: /'
finish
