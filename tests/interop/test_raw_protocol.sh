#!/usr/bin/env bash
# Wrapper for test_raw_protocol.py: serves vm1 over TCP, writes the reference region
# (4 MiB of 0x3d at offset 0) with qemu-io, then runs the raw-socket prober.
source "$(dirname "$0")/lib.sh"
require_cmd qemu-io nbdinfo

start_server vm1=64MiB
U=$(uri vm1)
run qemu-io -f raw -c "write -P 0x3d 0 4M" -c flush "$U"
hostport=${U#nbd://}
hostport=${hostport%%/*}

rc=0
HOST=${hostport%:*} PORT=${hostport##*:} EXPORT=vm1 URI=$U SERVER=$SERVER PIDS="${SERVER_PIDS[*]}" \
  timeout -k 5 100 "$PY" "$INTEROP_DIR/test_raw_protocol.py" || rc=$?
assert_server_alive "after the raw protocol probes"
[ $rc -eq 0 ] || die "test_raw_protocol.py failed (exit $rc)"
ok "test_raw_protocol passed against $SERVER"
