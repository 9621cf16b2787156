#!/usr/bin/env bash
# Rolling upgrade (issue 4 item 4; the procedure is docs/upgrade.md) while a client keeps
# writing: on a `firebreak up --nodes N` cluster, every node in turn is switched away from
# (`firebreak switchover` if it is the primary), stopped with SIGTERM, and started again from
# a NEW binary (a copy of the build at another path, as a package upgrade would leave it);
# the next node waits until `firebreak status` says every copy is in sync. Last, the
# coordinator is restarted from the new binary. The stamped writer (QD16, FLUSH every 0.2 s,
# reconnecting by itself) runs throughout. Checks: zero error replies (NOEIO), every node and
# the coordinator end up running the new binary, ACK/MONO on the final primary, CONV, and the
# longest stall between two acknowledgements is printed (FAIL above 2 s).
# Usage: test_rolling_upgrade.sh [NODES]   (2 or 3)
source "$(dirname "$0")/chaos_lib.sh"
require_cmd cmp
NODES=${1:-3}
STALL_FAIL_S=${STALL_FAIL_S:-2}

start_cluster "$NODES"
NEW=$TEST_TMP/new/firebreak
mkdir -p "$(dirname "$NEW")"
cp "$FIREBREAK" "$NEW"
start_writer w1 --flush-interval 0.2
wait_until 20 acks_at_least 3000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"
ok "stamped writer running: $(acks_so_far) writes acknowledged"

exe_of() { readlink "/proc/$1/exe" 2>/dev/null || true; }

for id in "${NODE_IDS[@]}"; do
  wait_until 60 status_ok || soft_fail "not in sync before upgrading $id: $(status_text)"
  if [ "$(primary_of)" = "$id" ]; then
    out=$(timeout -k 2 20 "$FIREBREAK" switchover --config "$CLUSTER_CFG" --volume "$VOL" 2>&1) ||
      soft_fail "switchover away from $id failed: $out"
    note "$out"
  fi
  pid=$(node_pid "$id")
  [ -n "$pid" ] || die "no pid for $id"
  before=$(acks_so_far)
  kill -TERM "$pid"
  wait_until 15 pid_gone "$pid" || soft_fail "$id (pid $pid) did not stop within 15 s of SIGTERM"
  FIREBREAK=$NEW restart_node "$id"
  [ "$(exe_of "$RESTARTED_PID")" = "$NEW" ] || soft_fail "$id runs $(exe_of "$RESTARTED_PID"), not $NEW"
  if wait_until 60 status_ok; then
    ok "$id upgraded (pid $pid -> $RESTARTED_PID) and back in sync; $(($(acks_so_far) - before)) writes acknowledged meanwhile"
  else
    soft_fail "$id not back in sync within 60 s: $(status_text)"
  fi
done

# The coordinator: its state is on disk, and it waits out a lease before promoting anyone.
cpid=$(pgrep -f -- "coordinator --config $CLUSTER_CFG" | head -n 1 || true)
if [ -n "$cpid" ]; then
  kill -TERM "$cpid"
  wait_until 10 pid_gone "$cpid" || soft_fail "coordinator (pid $cpid) did not stop"
  _spawn coordinator-new "$NEW" coordinator --config "$CLUSTER_CFG"
  CLUSTER_PIDS+=("$SPAWNED_PID")
  if wait_until 30 status_ok; then
    ok "coordinator upgraded (pid $cpid -> $SPAWNED_PID); cluster in sync"
  else
    soft_fail "cluster not in sync after the coordinator restart: $(status_text)"
  fi
else
  soft_fail "no coordinator process found for $CLUSTER_CFG"
fi

before=$(acks_so_far)
wait_until 10 acks_at_least $((before + 1000)) || soft_fail "writer stalled after the upgrade"
stop_writer
check_writer_run
gap=$WRITER_GAP
fgt "$gap" "$STALL_FAIL_S" && soft_fail "longest stall ${gap}s > ${STALL_FAIL_S}s"
check_primary_and_conv
note "summary: nodes $NODES, every node and the coordinator restarted from a new binary, longest ack gap ${gap}s, errors $(summary_field errors)"
finish
