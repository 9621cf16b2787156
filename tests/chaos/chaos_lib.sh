# shellcheck shell=bash
# shellcheck disable=SC2034  # globals set here are read by the test scripts
# Shared helpers for the chaos tests: a real replicated cluster (`firebreak up`) on 127.0.0.1,
# the stamped writer (stamped_client.py), node lookups from status and node-status.json, kill /
# stop / restart of node processes, bounded waits, and a cleanup trap that stops everything this
# test started, by PID. Builds on tests/interop/lib.sh (temp dir, _spawn, kill_pids, run).
#
# Environment (besides lib.sh's FIREBREAK, READY_TIMEOUT_S, CMD_TIMEOUT_S, KEEP_TMP):
#   CHAOS_LOG_LEVEL     --log-level for `firebreak up` and restarted nodes (default info).
#   CLUSTER_READY_S     bound for the cluster to serve I/O and be fully in sync (default 30).
#   CHAOS_LBAS          4 KiB blocks the stamped writer cycles over (default 4096 = 16 MiB).
#   CHAOS_VOLUME_SIZE   size of vm1 (default 64MiB).

CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../interop/lib.sh
source "$CHAOS_DIR/../interop/lib.sh"
CLIENT=$CHAOS_DIR/stamped_client.py
CHAOS_LOG_LEVEL=${CHAOS_LOG_LEVEL:-info}
CLUSTER_READY_S=${CLUSTER_READY_S:-30}
CHAOS_LBAS=${CHAOS_LBAS:-4096}
CHAOS_VOLUME_SIZE=${CHAOS_VOLUME_SIZE:-64MiB}
VOL=vm1

CLUSTER_DIR=""       # DIR given to `firebreak up`
CLUSTER_CFG=""       # DIR/cluster.toml
BASE_PORT=""
UP_PID=""            # the `firebreak up` process
UP_LOG=""
NODE_IDS=()          # n1 n2 [n3]
declare -A NODE_URI=()  # node id -> nbd://127.0.0.1:PORT/vm1
URIS=()              # every node's URI, n1 first
CLUSTER_PIDS=()      # coordinator + node processes (up's children and nodes restarted by hand)
STOPPED_PIDS=()      # processes we SIGSTOPped: SIGCONT before any cleanup signal
FAILURES=()          # soft failures: the test carries on to gather more, then fails at the end

warn() { echo "WARN: $*"; }
soft_fail() {
  echo "FAIL: $*" >&2
  FAILURES+=("$*")
}
# Ends the test: FAIL listing every soft failure, else ok.
finish() {
  if [ ${#FAILURES[@]} -gt 0 ]; then
    local f
    echo "----- ${#FAILURES[@]} failure(s):" >&2
    for f in "${FAILURES[@]}"; do echo "  - $f" >&2; done
    exit 1
  fi
  ok "$TEST_NAME passed"
}

now() { date +%s.%N; }
# elapsed T0 [T1]: seconds from T0 to T1 (default now), 3 decimals.
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.3f", b - a }'; }
# fgt A B: true when A > B (floats).
fgt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_until() {
  local limit=$1 t0
  shift
  t0=$(now)
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    fgt "$(elapsed "$t0")" "$limit" && return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# Cleanup. Runs as a lib.sh exit hook, i.e. before lib.sh SIGTERMs every _spawn'ed PID.

# True if PID is alive and is one of this test's cluster processes (guards against PID reuse).
_is_ours() {
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CLUSTER_DIR"
}

# SIGCONT what we stopped, SIGTERM `up` (it stops its children: SIGTERM, SIGKILL after 5 s),
# SIGKILL it after 10 s, then SIGTERM/SIGKILL any cluster process still alive (a node restarted
# by hand, or a child orphaned by a killed `up`).
stop_cluster() {
  local pid left=()
  for pid in "${STOPPED_PIDS[@]}" "${CLUSTER_PIDS[@]}"; do _is_ours "$pid" && kill -CONT "$pid" 2>/dev/null; done
  STOPPED_PIDS=()
  if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
    STOP_TIMEOUT_S=10 kill_pids "$UP_PID"
  fi
  UP_PID=""
  for pid in "${CLUSTER_PIDS[@]}"; do _is_ours "$pid" && left+=("$pid"); done
  [ ${#left[@]} -gt 0 ] && kill_pids "${left[@]}"
  for pid in "${CLUSTER_PIDS[@]}"; do _is_ours "$pid" && kill -KILL "$pid" 2>/dev/null; done
  CLUSTER_PIDS=()
  return 0
}
on_exit stop_cluster

# ---------------------------------------------------------------------------------------------
# Ports and the cluster.

# Prints a base port P such that P..P+2, P+100..P+102 and P+200 can all be bound on 127.0.0.1.
free_base_port() {
  local i p
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 39000))
    if "$PY" - "$p" <<'EOF' 2>/dev/null; then
import socket, sys
p = int(sys.argv[1])
socks = []
for port in (p, p + 1, p + 2, p + 100, p + 101, p + 102, p + 200):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", port))
    socks.append(s)
EOF
      echo "$p"
      return 0
    fi
  done
  die "no free base port (7 ports) found after 50 tries"
}

# Is `firebreak up` implemented in this build? (Skip, not fail, while the runtime is missing.)
require_cluster_runtime() {
  [ -x "$FIREBREAK" ] || die "FIREBREAK=$FIREBREAK is not an executable"
  "$FIREBREAK" up --help >/dev/null 2>&1 || skip "this firebreak has no 'up' command (replicated runtime not built)"
  "$FIREBREAK" status --help >/dev/null 2>&1 || skip "this firebreak has no 'status' command"
}

# Children of PID (one level).
_children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

# start_cluster NODES: `firebreak up` in the background on a fresh dir and random base port;
# waits (CLUSTER_READY_S) until n1 accepts an NBD connection and status reports every copy in
# sync. Sets CLUSTER_DIR, CLUSTER_CFG, BASE_PORT, UP_PID, NODE_IDS, NODE_URI, URIS, CLUSTER_PIDS.
start_cluster() {
  local nodes=$1 i id t0
  require_cluster_runtime
  CLUSTER_DIR=$TEST_TMP/cluster
  CLUSTER_CFG=$CLUSTER_DIR/cluster.toml
  BASE_PORT=$(free_base_port)
  NODE_IDS=()
  URIS=()
  for ((i = 0; i < nodes; i++)); do
    id=n$((i + 1))
    NODE_IDS+=("$id")
    NODE_URI[$id]="nbd://127.0.0.1:$((BASE_PORT + i))/$VOL"
    URIS+=("${NODE_URI[$id]}")
  done
  _spawn up "$FIREBREAK" up --dir "$CLUSTER_DIR" --nodes "$nodes" \
    --volume "$VOL=$CHAOS_VOLUME_SIZE" --base-port "$BASE_PORT" --log-level "$CHAOS_LOG_LEVEL"
  UP_PID=$SPAWNED_PID
  UP_LOG=$SPAWNED_LOG
  t0=$(now)
  local rc=0
  READY_TIMEOUT_S=$CLUSTER_READY_S wait_ready "$UP_PID" "${NODE_URI[n1]}" || rc=$?
  _record_cluster_pids
  _link_logs
  [ $rc -eq 0 ] || _fail_start "$UP_PID" "$UP_LOG" $rc "firebreak up --nodes $nodes"
  note "cluster up (base port $BASE_PORT, $nodes nodes): n1 accepts GO after $(elapsed "$t0")s"
  wait_until "$CLUSTER_READY_S" status_ok ||
    die "cluster never reported every copy in sync within ${CLUSTER_READY_S}s: $(status_text)"
  _record_cluster_pids
  note "cluster in sync after $(elapsed "$t0")s; pids: up $UP_PID, cluster ${CLUSTER_PIDS[*]}"
}

_record_cluster_pids() {
  local pid have p
  for pid in $(_children "$UP_PID"); do
    have=0
    for p in "${CLUSTER_PIDS[@]}"; do [ "$p" = "$pid" ] && have=1; done
    [ $have = 0 ] && CLUSTER_PIDS+=("$pid")
  done
  return 0
}

# The cluster logs next to lib.sh's, so a failing test prints their tails (and the sanitizer
# check sees them).
_link_logs() {
  local f
  for f in "$CLUSTER_DIR"/logs/*.log; do
    [ -e "$f" ] && ln -sf "$f" "$TEST_TMP/cluster-$(basename "$f")"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Looking at the cluster.

# status_json: prints `firebreak status --json` (any exit status); returns its exit status.
status_json() {
  local rc=0
  timeout -k 2 10 "$FIREBREAK" status --config "$CLUSTER_CFG" --json 2>/dev/null || rc=$?
  return $rc
}
status_rc() {
  local rc=0
  timeout -k 2 10 "$FIREBREAK" status --config "$CLUSTER_CFG" >/dev/null 2>&1 || rc=$?
  echo $rc
}
status_ok() { [ "$(status_rc)" = 0 ]; }
status_text() { timeout -k 2 10 "$FIREBREAK" status --config "$CLUSTER_CFG" 2>&1 | tr '\n' ' ' || true; }

# primary_of: the primary node id of VOL per the coordinator (empty if unknown).
primary_of() {
  local v=$VOL
  status_json | "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for vol in d.get("volumes", []):
    if vol.get("name") == sys.argv[1] and vol.get("primary") not in (None, "", -1):
        print(vol["primary"])' "$v" 2>/dev/null || true
}

# node_status NODE KEY...: a field of DIR/NODE/node-status.json (pid; or "role"/"epoch" of VOL).
node_pid() {
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
    "$CLUSTER_DIR/$1/node-status.json" 2>/dev/null || true
}
node_has_pid() { [ "$(node_pid "$1")" = "$2" ]; }
node_role() {
  "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for v in d.get("volumes", []):
    if v.get("name") == sys.argv[2]:
        print(v.get("role", ""))' "$CLUSTER_DIR/$1/node-status.json" "${2:-$VOL}" 2>/dev/null || true
}

# Process state letter of PID (R, S, T = stopped, Z = zombie), or empty if gone.
proc_state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
proc_stopped() { [ "$(proc_state "$1")" = T ]; }
# Gone or a zombie (killed, not yet reaped by `up`).
proc_dead() {
  local s
  s=$(proc_state "$1")
  [ -z "$s" ] || [ "$s" = Z ] || [ "$s" = X ]
}

# pre_fault_check: run just before injecting a fault. No fault has happened yet, so any
# REPLICA_EJECTED in the logs is a healthy replica dropped from the in-sync set (e.g. a peer
# timeout under CPU or disk contention): WARN with the log lines. Then waits (bounded) until
# status reports every copy in sync, so the fault hits a redundant cluster; soft failure if it
# never does.
pre_fault_check() {
  local ej
  ej=$(cat "$CLUSTER_DIR"/logs/*.log 2>/dev/null | grep -c 'REPLICA_EJECTED') || true
  if [ "${ej:-0}" -gt 0 ]; then
    warn "before any fault, $ej healthy replica ejection(s): $(grep -h 'REPLICA_EJECTED' "$CLUSTER_DIR"/logs/*.log | head -3 | tr '\n' ' ')(load: $(cut -d' ' -f1-3 /proc/loadavg))"
  fi
  if ! wait_until 15 status_ok; then
    soft_fail "cluster not fully in sync before the fault (no fault injected yet): $(status_text)"
    return 0
  fi
  [ "${ej:-0}" -gt 0 ] && note "back in sync before the fault: $(status_brief)"
  return 0
}

# ---------------------------------------------------------------------------------------------
# Faults. Each prints nothing and records the time just before the signal in FAULT_T.

kill9_node() { # NODE
  local id=$1 pid
  pid=$(node_pid "$id")
  if [ -z "$pid" ] || ! _is_ours "$pid"; then die "kill9_node: no live process for $id (pid '${pid}')"; fi
  FAULT_T=$(now)
  kill -KILL "$pid"
  wait_until 5 proc_dead "$pid" || die "$id (pid $pid) still alive 5 s after SIGKILL"
  KILLED_PID=$pid
}

stop_node() { # NODE: SIGSTOP
  local id=$1 pid
  pid=$(node_pid "$id")
  if [ -z "$pid" ] || ! _is_ours "$pid"; then die "stop_node: no live process for $id (pid '${pid}')"; fi
  STOPPED_PIDS+=("$pid")
  FAULT_T=$(now)
  kill -STOP "$pid"
  wait_until 2 proc_stopped "$pid" || die "$id (pid $pid) not stopped 2 s after SIGSTOP"
  STOPPED_PID=$pid
}

cont_pid() { # PID: SIGCONT
  local pid=$1 p keep=()
  kill -CONT "$pid" 2>/dev/null || true
  for p in "${STOPPED_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  STOPPED_PIDS=("${keep[@]}")
}

# restart_node NODE: `firebreak serve --config DIR/cluster.toml --node NODE` in the background
# (cleaned up on exit); waits until it has written a node-status.json with its own pid.
restart_node() {
  local id=$1 pid
  _spawn "restart-$id" "$FIREBREAK" serve --config "$CLUSTER_CFG" --node "$id" --log-level "$CHAOS_LOG_LEVEL"
  pid=$SPAWNED_PID
  CLUSTER_PIDS+=("$pid")
  ln -sf "$SPAWNED_LOG" "$TEST_TMP/cluster-restart-$id.log"
  wait_until 10 node_has_pid "$id" "$pid" ||
    { kill -0 "$pid" 2>/dev/null || die "restarted $id (pid $pid) exited: $(tail -5 "$SPAWNED_LOG")"; die "restarted $id (pid $pid) wrote no node-status.json within 10 s"; }
  RESTARTED_PID=$pid
}

# ---------------------------------------------------------------------------------------------
# Resync progress (resync_sampler.py polls every node's node-status.json every 50 ms).

start_resync_sampler() {
  local files=() id
  RESYNC_JSON=$TEST_TMP/resync.json
  for id in "${NODE_IDS[@]}"; do files+=("$CLUSTER_DIR/$id/node-status.json"); done
  _spawn resync-sampler "$PY" "$CHAOS_DIR/resync_sampler.py" "$RESYNC_JSON" \
    "$(IFS=,; echo "${NODE_IDS[*]}")" "${files[@]}"
  RESYNC_SAMPLER_PID=$SPAWNED_PID
}

# stop_resync_sampler: prints one line per resync seen: "PRIMARY->TARGET/VOL total_max
# done_last full samples" (total_max: the most bytes_done + bytes_remaining reported).
stop_resync_sampler() {
  kill -TERM "$RESYNC_SAMPLER_PID" 2>/dev/null || true
  wait_until 5 pid_gone "$RESYNC_SAMPLER_PID" || kill -KILL "$RESYNC_SAMPLER_PID" 2>/dev/null
  wait "$RESYNC_SAMPLER_PID" 2>/dev/null || true
  "$PY" -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["key"], e["total_max"], e["done_last"], e["full"], e["samples"])' "$RESYNC_JSON" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# The stamped writer.

# start_writer NAME [extra args]: stamped_client.py write against every node, in the background.
# Files: $TEST_TMP/NAME.ledger, .summary.json, .events (JSON lines), .ready. Sets WRITER_PID.
start_writer() {
  local name=$1 u args=()
  shift
  for u in "${URIS[@]}"; do args+=(--uri "$u"); done
  WRITER_NAME=$name
  WRITER_LEDGER=$TEST_TMP/$name.ledger
  WRITER_SUMMARY=$TEST_TMP/$name.summary.json
  WRITER_EVENTS=$TEST_TMP/$name.events
  rm -f "$TEST_TMP/$name.ready"
  _spawn "$name" "$PY" "$CLIENT" write "${args[@]}" --tag "$VOL" --lbas "$CHAOS_LBAS" --qd 16 \
    --ledger "$WRITER_LEDGER" --summary "$WRITER_SUMMARY" --events "$WRITER_EVENTS" \
    --ready-file "$TEST_TMP/$name.ready" "$@"
  WRITER_PID=$SPAWNED_PID
  WRITER_LOG=$SPAWNED_LOG
  wait_until 20 test -e "$TEST_TMP/$name.ready" ||
    { cat "$WRITER_LOG" >&2; die "stamped writer never connected"; }
}

# acks_so_far: acknowledged writes in the writer's ledger (flushed every 0.2 s).
acks_so_far() {
  local n
  n=$(grep -c '^A ' "$WRITER_LEDGER" 2>/dev/null) || true
  echo "${n:-0}"
}
acks_at_least() { [ "$(acks_so_far)" -ge "$1" ]; }

# stop_writer: SIGTERM, bounded wait (it drains in-flight writes for up to 5 s).
stop_writer() {
  kill -TERM "$WRITER_PID" 2>/dev/null || true
  wait_until 20 pid_gone "$WRITER_PID" || { kill -KILL "$WRITER_PID" 2>/dev/null; die "writer ignored SIGTERM for 20 s"; }
  local rc=0
  wait "$WRITER_PID" 2>/dev/null || rc=$?
  WRITER_RC=$rc
  note "writer: $(tail -1 "$WRITER_LOG")"
}

# summary_field KEY: a top-level field of the writer's summary JSON (lists: their length).
summary_field() {
  "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(len(v) if isinstance(v, list) else v)' "$WRITER_SUMMARY" "$1"
}
summary_json() { "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$WRITER_SUMMARY" "$1"; }

# status_brief: one line per volume from `status --json`: primary, copies in sync, replica states.
status_brief() {
  status_json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for v in d.get("volumes", []):
    reps = []
    for r in v.get("replicas", []):
        s = "%s=%s" % (r.get("node"), r.get("state"))
        if r.get("state") == "resyncing":
            s += "(%s%%)" % r.get("resync_percent")
        reps.append(s)
    print("%s epoch %s primary %s in_sync %s/%s %s" % (v.get("name"), v.get("epoch"), v.get("primary"),
          v.get("copies_in_sync"), v.get("copies_configured"), " ".join(reps)))' 2>/dev/null || true
}

# event_lookup KIND AFTER: finds the writer's first KIND event (go, lost, first_ack) at or after
# AFTER (epoch seconds); sets EVENT_T (empty if none) and EVENT_URI. Returns 1 if none.
EVENT_T=""
EVENT_URI=""
event_lookup() {
  local out
  out=$("$PY" -c '
import json, sys
for ln in open(sys.argv[1]):
    e = json.loads(ln)
    if e["event"] == sys.argv[2] and e["t"] >= float(sys.argv[3]):
        print(e["t"], e.get("uri", ""))
        break' "$WRITER_EVENTS" "$1" "$2" 2>/dev/null || true)
  EVENT_T=${out%% *}
  EVENT_URI=${out#* }
  [ -n "$EVENT_T" ]
}

# has_event KIND AFTER: the writer logged a KIND event at or after AFTER.
has_event() { event_lookup "$1" "$2"; }

# verify_ledger ARGS...: stamped_client.py verify over the writer's range (pass --ledger FILE...
# and optionally --image FILE, --lba-base, --lbas). Returns its exit status (0 = no violation,
# 1 = violations or unreadable, 124 = timed out); output in VERIFY_OUT.
verify_ledger() {
  local args=() u rc=0
  for u in "${URIS[@]}"; do args+=(--uri "$u"); done
  timeout -k 5 120 "$PY" "$CLIENT" verify "${args[@]}" --tag "$VOL" --lbas "$CHAOS_LBAS" "$@" \
    >"$TEST_TMP/verify.out" 2>&1 || rc=$?
  VERIFY_OUT=$(cat "$TEST_TMP/verify.out")
  return $rc
}

# node_of_uri URI: the node id serving URI.
node_of_uri() {
  local id
  for id in "${NODE_IDS[@]}"; do [ "${NODE_URI[$id]}" = "$1" ] && echo "$id" && return 0; done
  return 1
}

# acked_between T0 T1: "count distinct" of acks with T0 <= t < T1 in the writer's ledger.
acked_between() {
  awk -v a="$1" -v b="$2" '$1 == "A" && $4 >= a && $4 < b { n++; d[$2] = 1 }
    END { printf "%d %d\n", n, length(d) }' "$WRITER_LEDGER"
}

# images_identical: cmp every node's copy of VOL against n1's; prints the first difference.
images_identical() {
  local id first=$CLUSTER_DIR/${NODE_IDS[0]}/volumes/$VOL.img
  for id in "${NODE_IDS[@]:1}"; do
    cmp "$first" "$CLUSTER_DIR/$id/volumes/$VOL.img" || return 1
  done
}

# verify_every_copy: ACK of the writer's ledger on every node's image file.
verify_every_copy() {
  local id
  for id in "${NODE_IDS[@]}"; do
    if verify_ledger --ledger "$WRITER_LEDGER" --image "$CLUSTER_DIR/$id/volumes/$VOL.img"; then
      ok "ACK on $id's copy: $VERIFY_OUT"
    else
      soft_fail "ACK on $id's copy: $VERIFY_OUT"
    fi
  done
}

# check_writer_run: after stop_writer, the writer's exit status and NOEIO (no error reply);
# notes its summary and sets WRITER_GAP (its longest gap between two acks, in seconds).
check_writer_run() {
  [ "$WRITER_RC" = 0 ] || soft_fail "writer exited $WRITER_RC: $(tail -3 "$WRITER_LOG" | tr '\n' ' ')"
  WRITER_GAP=$(summary_field max_ack_gap_s)
  note "writer: acked $(summary_field acked), unknown $(summary_field unknown), error replies $(summary_field errors), reconnects $(summary_field reconnects), longest ack gap ${WRITER_GAP}s"
  [ "$(summary_field errors)" = 0 ] ||
    soft_fail "NOEIO: $(summary_field errors) writes got an error reply: $(summary_json error_samples)"
}

# check_primary_and_conv: ACK/MONO of the ledger read through the current primary, then CONV
# (every copy byte-identical) once every node is back in sync.
check_primary_and_conv() {
  if verify_ledger --ledger "$WRITER_LEDGER"; then
    ok "ACK/MONO on the final primary: $VERIFY_OUT"
  else
    soft_fail "ACK/MONO on the final primary: $VERIFY_OUT"
  fi
  if wait_until 30 status_ok && wait_until 15 images_identical; then
    ok "CONV: $VOL.img byte-identical on ${NODE_IDS[*]}"
  else
    soft_fail "CONV: not in sync or images differ: $(status_text)"
  fi
}

# ---------------------------------------------------------------------------------------------
# firebreak attach (the failover-transparent local endpoint).

# start_attach [extra args]: `firebreak attach` for VOL on a unix socket in TEST_TMP; waits until
# it accepts NBD. Sets ATTACH_PID, ATTACH_LOG, ATTACH_SOCK, ATTACH_URI.
start_attach() {
  ATTACH_SOCK=$TEST_TMP/attach.sock
  ATTACH_URI="nbd+unix:///$VOL?socket=$ATTACH_SOCK"
  _spawn attach "$FIREBREAK" attach --config "$CLUSTER_CFG" --volume "$VOL" --socket "$ATTACH_SOCK" \
    --log-level "$CHAOS_LOG_LEVEL" "$@"
  ATTACH_PID=$SPAWNED_PID
  ATTACH_LOG=$SPAWNED_LOG
  local rc=0
  wait_ready "$ATTACH_PID" "$ATTACH_URI" || rc=$?
  [ $rc -eq 0 ] || _fail_start "$ATTACH_PID" "$ATTACH_LOG" $rc "firebreak attach"
  note "attach pid $ATTACH_PID serving $ATTACH_URI: $(grep -m1 'forwarding to' "$ATTACH_LOG" | sed 's/^firebreak: //')"
}

# max_ack_gap_between T0 T1: the longest gap between two consecutive acknowledgements in the
# stamped writer's ledger whose later ack falls in [T0, T1]: the client-visible stall of a
# fault injected just after T0. Prints "GAP FROM TO" (epoch seconds).
max_ack_gap_between() {
  awk '$1 == "A" { print $4 }' "$WRITER_LEDGER" | sort -n | awk -v t0="$1" -v t1="$2" '
    NR > 1 && $1 >= t0 && $1 <= t1 && $1 - prev > gap { gap = $1 - prev; from = prev; to = $1 }
    { prev = $1 }
    END { printf "%.3f %.3f %.3f\n", gap, from, to }'
}
