#!/usr/bin/env bash
# firebreak only (BACKPRESSURE_ON_PEERS=1 runs it on a peer for comparison): a flood of 32 MiB
# WRITEs on one connection must not grow the server's RSS past the bound, and a second client
# must be served meanwhile; then the same with 32 MiB READs whose replies are never read.
# See test_backpressure.py.
source "$(dirname "$0")/lib.sh"
[ "${BACKPRESSURE_ON_PEERS:-0}" = 1 ] || require_server firebreak

start_server vm1=512MiB
U=$(uri vm1)
hostport=${U#nbd://}
hostport=${hostport%%/*}
rc=0
HOST=${hostport%:*} PORT=${hostport##*:} EXPORT=vm1 URI=$U PIDS="${SERVER_PIDS[*]}" \
  timeout -k 5 110 "$PY" "$INTEROP_DIR/test_backpressure.py" || rc=$?
assert_server_alive "after the write and read floods"
[ $rc -eq 0 ] || die "test_backpressure.py failed (exit $rc)"
ok "test_backpressure passed against $SERVER"
