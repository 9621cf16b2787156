#!/usr/bin/env bash
# firebreak only: SIGTERM/SIGINT end `firebreak serve` with exit status 0 within a bound, whether
# it is idle, has an idle client, a client stuck in the handshake, or 48 writes in flight on two
# connections (five times, as the last case is racy); every write acknowledged before the signal
# reads back after a restart on the same directory.
source "$(dirname "$0")/lib.sh"
require_server firebreak
require_cmd nbdsh

# signal_and_wait SIG WHAT: signal firebreak, wait up to 15 s, require exit status 0.
signal_and_wait() {
  local sig=$1 what=$2 st=0 t0=$SECONDS
  kill -"$sig" "$FB_PID"
  timeout 15 tail --pid="$FB_PID" -f /dev/null ||
    die "$what: firebreak still running 15 s after SIG$sig"
  wait "$FB_PID" || st=$?
  # shellcheck disable=SC2034 # lib.sh state
  SERVER_PIDS=()
  if [ $st -ne 0 ]; then
    echo "----- firebreak log -----" >&2
    tail -n 5 "$FB_LOG" >&2
    die "$what: firebreak exited with status $st after SIG$sig, want 0"
  fi
  ok "$what: SIG$sig -> exit 0 in $((SECONDS - t0)) s"
}

start_server vm1=64MiB
signal_and_wait TERM "idle server"

start_server vm1=64MiB
_spawn idle nbdsh -u "$(uri vm1)" -c 'import time; h.pread(512, 0); time.sleep(60)'
sleep 0.5
signal_and_wait INT "a connected idle client"

start_server vm1=64MiB
port=${URI_TCP[vm1]#nbd://127.0.0.1:}
port=${port%%/*}
_spawn stuck "$PY" -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $port), timeout=5)
s.recv(18)          # the greeting; then never send the client flags
time.sleep(60)"
sleep 0.5
signal_and_wait TERM "a client stuck in the handshake"

for i in 1 2 3 4 5; do
  start_server vm1=64MiB
  acked=$TEST_TMP/acked.$i
  # Blocks of [0,32M) once each, recording acknowledgements; fio keeps 32 more writes in
  # flight on [32M,64M) so the server is busy sending replies when the signal lands.
  _spawn writer "$PY" "$INTEROP_DIR/acked_writer.py" "$(uri vm1)" 8192 "$acked"
  writer=$SPAWNED_PID
  _spawn fio fio --name=load --ioengine=nbd --uri="$(uri vm1)" --rw=randwrite --bs=4k \
    --iodepth=32 --offset=32M --size=32M --time_based --runtime=20
  sleep 0.8
  signal_and_wait TERM "round $i: 48 writes in flight"
  timeout 10 tail --pid="$writer" -f /dev/null || die "the writer did not notice the shutdown"
  start_server vm1=64MiB
  n=$(wc -l <"$acked")
  [ "$n" -gt 0 ] || die "round $i: no write was acknowledged before the signal"
  timeout -k 5 60 nbdsh -u "$(uri vm1)" -c "
import sys
bad = [i for i in map(int, open('$acked')) if h.pread(4096, i * 4096) != bytes([i % 251 + 1]) * 4096]
print(f'{len(bad)} of $n acknowledged blocks wrong: {bad[:8]}') if bad else None
sys.exit(1 if bad else 0)" || die "round $i: acknowledged writes lost across SIGTERM + restart"
  ok "round $i: all $n writes acknowledged before SIGTERM read back after restart"
  stop_server
  rm -rf "$DATA_DIR" && mkdir -p "$DATA_DIR"
done
ok "test_shutdown passed against $SERVER"
