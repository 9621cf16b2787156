#!/usr/bin/env bash
# Wrapper for test_nbdsh_model.py: random mixed-size I/O on 4 connections checked against an
# in-memory model, over TCP and then the unix socket. MODEL_SEED=N reproduces a failing run.
source "$(dirname "$0")/lib.sh"

start_server --unix vm1=64MiB
for tr in tcp unix; do
  rc=0
  URI=$(uri vm1 $tr) timeout -k 5 100 "$PY" "$INTEROP_DIR/test_nbdsh_model.py" || rc=$?
  [ $rc -eq 0 ] || die "test_nbdsh_model.py over $tr failed (exit $rc)"
  ok "shadow-model stress over $tr"
done
assert_server_alive "after the model stress"
ok "test_nbdsh_model passed against $SERVER"
