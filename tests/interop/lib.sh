# shellcheck shell=bash
# Shared helpers for the interop tests: start a real NBD server (firebreak, or a peer for A/B
# runs), wait for it with a bound, run real clients with a bound, and kill by PID on exit.
# Sourced by every tests/interop/test_*.sh; see tests/interop/README.md for the knobs.
#
# Environment:
#   SERVER      firebreak (default) | nbdkit | qemu-nbd: which server the test runs against.
#   FIREBREAK   path to the firebreak binary (default: <repo>/build/firebreak).
#   FB_EXTRA_ARGS  extra words appended to `firebreak serve` (e.g. "--threads 2").
#   READY_TIMEOUT_S  how long a server may take to accept connections (default 10).
#   CMD_TIMEOUT_S    default bound for one client command (default 60).
#   KEEP_TMP=1  keep the per-test temp dir (data, logs) for a post-mortem.

set -euo pipefail

# The distro python3 carries the libnbd bindings; nbdsh is a wrapper that runs `python3`, so the
# distro interpreter must come first even when pyenv or a venv shadows it.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
PY=/usr/bin/python3

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$INTEROP_DIR/../.." && pwd)
SERVER=${SERVER:-firebreak}
FIREBREAK=${FIREBREAK:-$REPO_ROOT/build/firebreak}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-10}
CMD_TIMEOUT_S=${CMD_TIMEOUT_S:-60}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-5}
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME%.py}

case "$SERVER" in
  firebreak | nbdkit | qemu-nbd) ;;
  *) echo "FAIL: SERVER must be firebreak, nbdkit or qemu-nbd (got '$SERVER')" >&2; exit 1 ;;
esac

TEST_TMP=$(mktemp -d "/tmp/fbi.${TEST_NAME:0:24}.XXXXXX")
DATA_DIR=$TEST_TMP/data
mkdir -p "$DATA_DIR"

STARTED_PIDS=()      # every process a helper started; killed by PID on exit
SERVER_PIDS=()       # the server processes of the current start_server generation
EXIT_HOOKS=()        # commands run first on exit (e.g. unmount), in reverse order
LOG_SEQ=0
FB_PID=""            # the firebreak process (SERVER=firebreak)
FB_LOG=""
declare -A URI_TCP=()
declare -A URI_UNIX=()
declare -A VOL_SIZE=()

# ---------------------------------------------------------------------------------------------
# Printers.
ok() { echo "ok: $*"; }
note() { echo "# $*"; }
die() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIP: $*"
  exit 77
}

# Skips the whole test unless it runs against one of the named servers.
require_server() {
  local s
  for s in "$@"; do [ "$SERVER" = "$s" ] && return 0; done
  skip "$TEST_NAME needs SERVER in ($*); this run is SERVER=$SERVER"
}

is_firebreak() { [ "$SERVER" = firebreak ]; }

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "missing tool '$c' (scripts/setup.sh installs it)"
  done
}

# ---------------------------------------------------------------------------------------------
# Cleanup: hooks, then SIGTERM every started PID, SIGKILL after STOP_TIMEOUT_S, then the tmp dir.
kill_pids() {
  local pids=("$@") pid deadline alive
  [ ${#pids[@]} -eq 0 ] && return 0
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + STOP_TIMEOUT_S))
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
          echo "# pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s: SIGKILL" >&2
          kill -KILL "$pid" 2>/dev/null || true
        fi
      done
      break
    fi
    sleep 0.1
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

_lib_cleanup() {
  local rc=$? i f
  set +e
  for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do eval "${EXIT_HOOKS[$i]}" >/dev/null 2>&1; done
  kill_pids "${STARTED_PIDS[@]}"
  # A sanitizer build (FB_SANITIZE=ON) reports memory errors, UB and leaks on stderr, which
  # lands in the server log: any such report fails the test even if every client was happy.
  if [ $rc -eq 0 ] && grep -lE '(ERROR|WARNING): (Address|Leak|Thread)Sanitizer|runtime error:' \
    "$TEST_TMP"/*.log >/dev/null 2>&1; then
    echo "FAIL: a sanitizer reported an error in a server log" >&2
    grep -hE -A12 '(ERROR|WARNING): (Address|Leak|Thread)Sanitizer|runtime error:' "$TEST_TMP"/*.log | head -60 >&2
    rc=1
  fi
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for f in "$TEST_TMP"/*.log; do
      [ -s "$f" ] || continue
      echo "----- last lines of $(basename "$f") -----" >&2
      tail -n 30 "$f" >&2
    done
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "# kept $TEST_TMP" >&2
  else
    rm -rf "$TEST_TMP"
  fi
  exit $rc
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

on_exit() { EXIT_HOOKS+=("$*"); }

# ---------------------------------------------------------------------------------------------
# Ports, sizes, timeouts.

# Prints a TCP port in 20000-60000 that nothing listens on and that can be bound now.
free_port() {
  local i port
  for i in $(seq 1 50); do
    port=$((20000 + RANDOM % 40001))
    if "$PY" - "$port" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
EOF
      if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
        echo "$port"
        return 0
      fi
    fi
  done
  die "no free port found in 20000-60000 after 50 tries"
}

# Converts a size with an optional unit (512, 4k, 64MiB, 1GiB, 2G) to bytes.
size_bytes() {
  local s=$1 n u
  [[ $s =~ ^([0-9]+)([A-Za-z]*)$ ]] || die "bad size '$s'"
  n=${BASH_REMATCH[1]}
  u=${BASH_REMATCH[2]}
  case "${u,,}" in
    "" | b) echo "$n" ;;
    k | kb | kib) echo $((n << 10)) ;;
    m | mb | mib) echo $((n << 20)) ;;
    g | gb | gib) echo $((n << 30)) ;;
    t | tb | tib) echo $((n << 40)) ;;
    *) die "bad size unit in '$s'" ;;
  esac
}

# Runs a command bounded by CMD_TIMEOUT_S (or T=secs), quietly; on failure prints the command and
# its output and dies. Output is kept in $LAST_OUT (file) for assertions.
LAST_OUT=""
run() {
  local t=${T:-$CMD_TIMEOUT_S} rc=0
  LAST_OUT=$TEST_TMP/cmd.out
  timeout -k 5 "$t" "$@" >"$LAST_OUT" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    local why="exit $rc"
    [ $rc -eq 124 ] && why="timed out after ${t}s"
    echo "----- command failed ($why): $*" >&2
    cat "$LAST_OUT" >&2
    die "command failed: $*"
  fi
}

# Runs a bounded command that must fail (non-zero exit, not a timeout); output in $LAST_OUT.
run_fail() {
  local t=${T:-$CMD_TIMEOUT_S} rc=0
  LAST_OUT=$TEST_TMP/cmd.out
  timeout -k 5 "$t" "$@" >"$LAST_OUT" 2>&1 || rc=$?
  if [ $rc -eq 0 ]; then
    cat "$LAST_OUT" >&2
    die "command unexpectedly succeeded: $*"
  fi
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    cat "$LAST_OUT" >&2
    die "command timed out after ${t}s: $*"
  fi
}

# Runs a bounded command and prints its exit code (for tri-state tools like nbdinfo --can).
run_rc() {
  local t=${T:-$CMD_TIMEOUT_S} rc=0
  LAST_OUT=$TEST_TMP/cmd.out
  timeout -k 5 "$t" "$@" >"$LAST_OUT" 2>&1 || rc=$?
  echo "$rc"
}

expect_output() { # PATTERN: $LAST_OUT must contain the extended regex
  grep -Eq -- "$1" "$LAST_OUT" || {
    cat "$LAST_OUT" >&2
    die "expected output matching /$1/"
  }
}

# ---------------------------------------------------------------------------------------------
# Starting servers.

# Bounded wait until `nbdinfo --can connect URI` succeeds; fails early if PID exits.
# Returns 0 when ready, 1 if the process died, 2 on timeout.
wait_ready() {
  local pid=$1 uri=$2 deadline=$((SECONDS + READY_TIMEOUT_S))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if timeout -k 1 2 nbdinfo --can connect "$uri" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 2
}

# _spawn LOGNAME CMD...: starts CMD in the background with output to $TEST_TMP/LOGNAME.N.log;
# sets SPAWNED_PID and SPAWNED_LOG. The PID is killed on exit.
_spawn() {
  LOG_SEQ=$((LOG_SEQ + 1))
  SPAWNED_LOG=$TEST_TMP/$1.$LOG_SEQ.log
  shift
  echo "# start: $*" >"$SPAWNED_LOG"
  "$@" >>"$SPAWNED_LOG" 2>&1 </dev/null &
  SPAWNED_PID=$!
  STARTED_PIDS+=("$SPAWNED_PID")
}

# Same, for a server process: it also joins the current server generation (SERVER_PIDS).
_spawn_server() {
  _spawn "$@"
  SERVER_PIDS+=("$SPAWNED_PID")
}

_fail_start() { # PID LOG RC WHAT
  local pid=$1 log=$2 rc=$3 what=$4
  echo "----- $what: log $log -----" >&2
  cat "$log" >&2
  if [ "$rc" = 1 ]; then
    local st=0
    wait "$pid" 2>/dev/null || st=$?
    die "$what exited (status $st) before accepting connections"
  fi
  die "$what not accepting connections after ${READY_TIMEOUT_S}s"
}

# start_firebreak ARGS...: runs "$FIREBREAK serve ARGS" in the background and waits until every
# --listen address accepts an NBD connection (to the first --volume, or the default export).
# Sets FB_PID and FB_LOG. Dies with the log printed if it never becomes ready.
start_firebreak() {
  [ -x "$FIREBREAK" ] || die "FIREBREAK=$FIREBREAK is not an executable"
  local args=("$@") i first_vol="" uris=() l
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
      --volume) [ -z "$first_vol" ] && first_vol=${args[$((i + 1))]%%=*} ;;
      --volume=*) [ -z "$first_vol" ] && first_vol=${args[$i]#--volume=} && first_vol=${first_vol%%=*} ;;
    esac
  done
  for ((i = 0; i < ${#args[@]}; i++)); do
    l=""
    case "${args[$i]}" in
      --listen) l=${args[$((i + 1))]} ;;
      --listen=*) l=${args[$i]#--listen=} ;;
    esac
    [ -z "$l" ] && continue
    if [[ $l == unix:* ]]; then
      uris+=("nbd+unix:///$first_vol?socket=${l#unix:}")
    else
      uris+=("nbd://$l/$first_vol")
    fi
  done
  [ ${#uris[@]} -gt 0 ] || die "start_firebreak: no --listen given"
  _spawn_server firebreak "$FIREBREAK" serve "${args[@]}"
  FB_PID=$SPAWNED_PID
  FB_LOG=$SPAWNED_LOG
  local u rc
  for u in "${uris[@]}"; do
    rc=0
    wait_ready "$FB_PID" "$u" || rc=$?
    [ $rc -eq 0 ] || _fail_start "$FB_PID" "$FB_LOG" $rc "firebreak serve ${args[*]}"
  done
  note "firebreak pid $FB_PID ready on ${uris[*]}"
}

# start_peer KIND FILE NAME RO ADDR: one nbdkit/qemu-nbd process serving FILE as export NAME
# on ADDR (a port number, or unix:/path). Waits for readiness. Sets SPAWNED_PID.
start_peer() {
  local kind=$1 file=$2 name=$3 ro=$4 addr=$5 cmd=() uri
  case "$kind" in
    nbdkit)
      cmd=(nbdkit -f -t 4)
      [ "$ro" = 1 ] && cmd+=(-r)
      if [[ $addr == unix:* ]]; then cmd+=(-U "${addr#unix:}"); else cmd+=(-i 127.0.0.1 -p "$addr"); fi
      cmd+=(file "$file")
      ;;
    qemu-nbd)
      # -e 0: unlimited connections (and CAN_MULTI_CONN); --discard=unmap makes TRIM punch
      # holes; locking=off lets the TCP and unix instances share one file.
      cmd=(qemu-nbd -t -e 0 -x "$name" --cache=writeback --discard=unmap)
      [ "$ro" = 1 ] && cmd+=(-r)
      if [[ $addr == unix:* ]]; then cmd+=(-k "${addr#unix:}"); else cmd+=(-b 127.0.0.1 -p "$addr"); fi
      cmd+=(--image-opts "driver=raw,file.driver=file,file.filename=$file,file.locking=off")
      ;;
    *) die "start_peer: unknown kind $kind" ;;
  esac
  if [[ $addr == unix:* ]]; then uri="nbd+unix:///$name?socket=${addr#unix:}"; else uri="nbd://127.0.0.1:$addr/$name"; fi
  _spawn_server "$kind-$name" "${cmd[@]}"
  local rc=0
  wait_ready "$SPAWNED_PID" "$uri" || rc=$?
  [ $rc -eq 0 ] || _fail_start "$SPAWNED_PID" "$SPAWNED_LOG" $rc "${cmd[*]}"
}

# start_server [--unix] NAME=SIZE[:ro]...: serves the volumes with $SERVER on a fresh 127.0.0.1
# port (and a unix socket with --unix), data under $DATA_DIR (kept across restarts). Afterwards
# `uri NAME [tcp|unix]` prints the URI of a volume. firebreak serves all volumes from one
# process; a peer gets one process per volume and transport, on the same backing file.
start_server() {
  local want_unix=0 specs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --unix) want_unix=1 ;;
      *) specs+=("$1") ;;
    esac
    shift
  done
  [ ${#specs[@]} -gt 0 ] || die "start_server: no volume given"
  SERVER_PIDS=()
  URI_TCP=()
  URI_UNIX=()
  local spec name size ro port sock
  if is_firebreak; then
    port=$(free_port)
    sock=$TEST_TMP/fb.sock
    local args=(--listen "127.0.0.1:$port")
    [ $want_unix = 1 ] && args+=(--listen "unix:$sock")
    args+=(--dir "$DATA_DIR")
    for spec in "${specs[@]}"; do
      args+=(--volume "$spec")
      name=${spec%%=*}
      size=${spec#*=}
      size=${size%:ro}
      VOL_SIZE[$name]=$(size_bytes "$size")
      URI_TCP[$name]="nbd://127.0.0.1:$port/$name"
      [ $want_unix = 1 ] && URI_UNIX[$name]="nbd+unix:///$name?socket=$sock"
    done
    # shellcheck disable=SC2206
    [ -n "${FB_EXTRA_ARGS:-}" ] && args+=($FB_EXTRA_ARGS)
    start_firebreak "${args[@]}"
    return 0
  fi
  for spec in "${specs[@]}"; do
    name=${spec%%=*}
    size=${spec#*=}
    ro=0
    [[ $size == *:ro ]] && ro=1 && size=${size%:ro}
    VOL_SIZE[$name]=$(size_bytes "$size")
    local file=$DATA_DIR/$name.img
    [ -e "$file" ] || truncate -s "${VOL_SIZE[$name]}" "$file"
    port=$(free_port)
    start_peer "$SERVER" "$file" "$name" $ro "$port"
    URI_TCP[$name]="nbd://127.0.0.1:$port/$name"
    if [ $want_unix = 1 ]; then
      sock=$TEST_TMP/$name.sock
      start_peer "$SERVER" "$file" "$name" $ro "unix:$sock"
      URI_UNIX[$name]="nbd+unix:///$name?socket=$sock"
    fi
  done
  note "$SERVER ready: ${URI_TCP[*]} ${URI_UNIX[*]}"
}

# uri NAME [tcp|unix]
uri() {
  local name=$1 kind=${2:-tcp} u
  if [ "$kind" = unix ]; then u=${URI_UNIX[$name]:-}; else u=${URI_TCP[$name]:-}; fi
  [ -n "$u" ] || die "no $kind URI for volume '$name' (start_server it first)"
  echo "$u"
}

# Stops the current server generation with SIGTERM (SIGKILL after STOP_TIMEOUT_S).
stop_server() {
  kill_pids "${SERVER_PIDS[@]}"
  SERVER_PIDS=()
}

# SIGKILLs the current server generation (crash, no clean shutdown).
kill9_server() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVER_PIDS=()
}

# Asserts that every server process of this generation is still alive (no crash).
assert_server_alive() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "server pid $pid died (${*:-})"
  done
}

# sha256 of LEN bytes at OFFSET as seen through URI (via nbdsh, a fresh connection).
nbd_sha256() {
  local u=$1 off=$2 len=$3
  timeout -k 5 "$CMD_TIMEOUT_S" nbdsh -u "$u" -c "
import hashlib
d = hashlib.sha256(); off = $off; end = $off + $len
while off < end:
    n = min(4 << 20, end - off); d.update(h.pread(n, off)); off += n
print(d.hexdigest())"
}
