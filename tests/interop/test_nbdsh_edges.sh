#!/usr/bin/env bash
# Wrapper for test_nbdsh_edges.py: serves vm1 (TCP + unix) and a read-only ro1 filled with 0xc3,
# then runs the libnbd edge checks against them.
source "$(dirname "$0")/lib.sh"
require_cmd nbdsh qemu-io

start_server vm1=64MiB ro1=16MiB
run qemu-io -f raw -c "write -P 0xc3 0 16M" -c flush "$(uri ro1)"
stop_server
start_server --unix vm1=64MiB ro1=16MiB:ro

rc=0
URI_RW=$(uri vm1) URI_RO=$(uri ro1) URI_UNIX=$(uri vm1 unix) SERVER=$SERVER \
  timeout -k 5 100 "$PY" "$INTEROP_DIR/test_nbdsh_edges.py" || rc=$?
assert_server_alive "after the libnbd edge cases"
[ $rc -eq 0 ] || die "test_nbdsh_edges.py failed (exit $rc)"
ok "test_nbdsh_edges passed against $SERVER"
