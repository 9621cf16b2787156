#!/usr/bin/env bash
# The A/B benchmark: the same fio nbd-engine workloads against firebreak, nbdkit's file plugin and
# qemu-nbd, on one preallocated image, one server at a time, interleaved by workload (and the
# server order rotated each round) so machine drift hits every server alike. Writes raw fio JSON,
# server CPU samples and the table from bench/report.py to a results directory.
# See bench/README.md. Knobs (environment):
#   BENCH_SERVERS    "firebreak nbdkit qemu-nbd" (firebreak dropped if $FIREBREAK is missing);
#                    also firebreak-repl (2-node cluster, client at the primary),
#                    firebreak-attach (the same cluster through `firebreak attach`, the client
#                    on BENCH_TRANSPORT) and firebreak-attach-unix (attach on a unix socket,
#                    as a hypervisor would use it)
#   BENCH_WORKLOADS  "a b c d e f"
#   BENCH_SIZE       image size (4GiB)          BENCH_RUNTIME  seconds per job (10)
#   BENCH_RAMP       ramp seconds (2)           BENCH_ROUNDS   interleaved rounds (1)
#   BENCH_DIR        reuse this image directory (default: a fresh /var/tmp/firebreak-bench.XXXXXX,
#                    removed at exit unless BENCH_KEEP_IMAGE=1)
#   BENCH_RESULTS    results directory (bench/results/<UTC timestamp>)
#   BENCH_TRANSPORT  tcp | unix (tcp)           BENCH_WARM     drop | read | none (drop)
#   BENCH_FILL       1: write every image once before the jobs (default); 0: preallocate only
#   BENCH_FIREBREAK_ARGS  extra words for `firebreak serve`
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_ROOT/.." && pwd)
export FIREBREAK=${FIREBREAK:-$REPO_ROOT/build/firebreak}
export SERVER=nbdkit  # lib.sh wants one; the bench picks servers itself
# shellcheck source=../tests/interop/lib.sh
source "$REPO_ROOT/tests/interop/lib.sh"
require_cmd fio nbdkit qemu-nbd nbdinfo fallocate dd

have_firebreak() { [ -x "$FIREBREAK" ] && "$FIREBREAK" serve --help >/dev/null 2>&1; }
if [ -n "${BENCH_SERVERS:-}" ]; then
  read -r -a SERVERS <<<"$BENCH_SERVERS"
else
  SERVERS=(nbdkit qemu-nbd)
  have_firebreak && SERVERS=(firebreak nbdkit qemu-nbd)
fi
for s in "${SERVERS[@]}"; do
  case "$s" in
    firebreak) have_firebreak || die "BENCH_SERVERS has firebreak but $FIREBREAK cannot serve" ;;
    firebreak-repl | firebreak-attach | firebreak-attach-unix) have_firebreak || die "BENCH_SERVERS has $s but $FIREBREAK cannot serve" ;;
    nbdkit | qemu-nbd) ;;
    *) die "unknown server '$s' in BENCH_SERVERS" ;;
  esac
done
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-a b c d e f}"
SIZE=${BENCH_SIZE:-4GiB}
SIZE_B=$(size_bytes "$SIZE")
RUNTIME=${BENCH_RUNTIME:-10}
RAMP=${BENCH_RAMP:-2}
ROUNDS=${BENCH_ROUNDS:-1}
TRANSPORT=${BENCH_TRANSPORT:-tcp}
WARM=${BENCH_WARM:-drop}
FILL=${BENCH_FILL:-1}
RESULTS=${BENCH_RESULTS:-$BENCH_ROOT/results/$(date -u +%Y%m%dT%H%M%SZ)}
VOL=bench

# One bench run at a time on this machine: two at once would measure each other.
exec 9>/var/tmp/firebreak-bench.lock
if ! flock -n 9; then
  note "another bench/run.sh holds /var/tmp/firebreak-bench.lock; waiting (at most ${BENCH_LOCK_WAIT_S:-900} s)"
  flock -w "${BENCH_LOCK_WAIT_S:-900}" 9 || die "gave up waiting for the other bench run"
fi
# A private image directory per run (removed at exit) unless BENCH_DIR names one to reuse.
if [ -n "${BENCH_DIR:-}" ]; then
  BDIR=$BENCH_DIR
else
  BDIR=$(mktemp -d /var/tmp/firebreak-bench.XXXXXX)
  [ "${BENCH_KEEP_IMAGE:-0}" = 1 ] || on_exit "rm -rf '$BDIR'"
fi
mkdir -p "$BDIR" "$RESULTS"

# fio arguments per workload (one connection each, as in docs/ANCHORS.md).
workload_args() {
  case "$1" in
    a) echo "--rw=randread --bs=4k --iodepth=1" ;;
    b) echo "--rw=randread --bs=4k --iodepth=32" ;;
    c) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
    d) echo "--rw=randwrite --bs=4k --iodepth=1 --fsync=1" ;;
    e) echo "--rw=write --bs=1M --iodepth=8" ;;
    f) echo "--rw=read --bs=1M --iodepth=8" ;;
    *) die "unknown workload '$1'" ;;
  esac
}

# fill_image FILE: writes every byte of FILE once (zeros, O_DIRECT), so every extent is allocated
# and written, as on a disk in use. A fresh sparse or fallocate'd file makes the file system
# allocate or convert an extent on the first write to each block, which costs more than the
# write itself (and io_uring hands such writes to kernel worker threads); a benchmark on such
# a file measures ext4, and differently for a fresh cluster than for the reused image.
fill_image() {
  fallocate -l "$SIZE_B" "$1"
  dd if=/dev/zero of="$1" bs=4M count=$((SIZE_B / (4 << 20))) conv=notrunc oflag=direct status=none
}

# --- The image: one preallocated raw file shared by every server. ---------------------------
# firebreak keeps a volume's bytes in DIR/volumes/NAME.img (a raw file, docs/on-disk-layout.md);
# when firebreak is benchmarked it creates the volume and the peers serve that same file.
if printf '%s\n' "${SERVERS[@]}" | grep -qx firebreak; then
  FB_DIR=$BDIR/fb
  IMG=$FB_DIR/volumes/$VOL.img
  if [ -e "$IMG" ] && [ "$(stat -c %s "$IMG")" != "$SIZE_B" ]; then
    note "removing the old $IMG of another size"
    rm -rf "$FB_DIR"
  fi
  port=$(free_port)
  start_firebreak --listen "127.0.0.1:$port" --dir "$FB_DIR" --volume "$VOL=$SIZE_B"
  stop_server
  [ -f "$IMG" ] && [ "$(stat -c %s "$IMG")" = "$SIZE_B" ] ||
    die "firebreak did not create $IMG of $SIZE_B bytes; the peers cannot share its image"
else
  IMG=$BDIR/$VOL.img
  [ -e "$IMG" ] && [ "$(stat -c %s "$IMG")" != "$SIZE_B" ] && rm -f "$IMG"
  [ -e "$IMG" ] || truncate -s "$SIZE_B" "$IMG"
fi
# Preallocated and written once (fill_image, below); a reused BENCH_DIR keeps its filled image.
if [ "$FILL" = 1 ] && [ ! -e "$BDIR/.filled-$SIZE_B" ]; then
  note "filling $IMG once (every extent written, as on a disk in use)"
  fill_image "$IMG"
  touch "$BDIR/.filled-$SIZE_B"
else
  fallocate -l "$SIZE_B" "$IMG"   # preallocate (keeps existing data)
fi
note "image $IMG ($SIZE), servers: ${SERVERS[*]}, workloads: ${WORKLOADS[*]}, rounds $ROUNDS"

# --- Starting one server at a time. -----------------------------------------------------------
BENCH_URI=""
BENCH_PID=""        # the process serving BENCH_URI
BENCH_CPU_PIDS=""   # the processes whose CPU time is counted (default BENCH_PID)

# The replicated cluster (firebreak-repl and the attach servers): `firebreak up --nodes 2`
# in $BDIR/cluster, made once per run with its images filled like the shared image, and kept
# running for the whole run (a restart would resync the regions in the activity logs, and the
# page-cache state that leaves differs from job to job). Every job starts with both copies in
# sync and the primary's page cache warmed like the other servers'.
CLUSTER_DIR=$BDIR/cluster
# The cluster's and attach's logs (promotions, resyncs, lease changes) are kept with the
# results, so an odd job can be explained after the run's temporary files are gone.
on_exit "mkdir -p '$RESULTS/logs' && cp '$TEST_TMP'/firebreak-up.*.log '$TEST_TMP'/firebreak-attach.*.log '$CLUSTER_DIR'/logs/*.log '$RESULTS/logs'/"
CLUSTER_BASE=""
CLUSTER_UP_PID=""

# start_bench_cluster: starts the cluster unless it runs; sets BENCH_PRIMARY (the primary's
# pid), BENCH_PRIMARY_URI and BENCH_PRIMARY_IMG (the primary's image).
start_bench_cluster() {
  if [ -z "$CLUSTER_UP_PID" ] || ! kill -0 "$CLUSTER_UP_PID" 2>/dev/null; then
    local fresh=0 i  # i: the caller's job loop counts with an i of its own
    if [ -z "$CLUSTER_BASE" ]; then
      rm -rf "$CLUSTER_DIR"
      CLUSTER_BASE=$(free_port)
      fresh=1
    fi
    _spawn firebreak-up "$FIREBREAK" up --dir "$CLUSTER_DIR" --nodes 2 \
      --volume "$VOL=$SIZE_B" --base-port "$CLUSTER_BASE"
    CLUSTER_UP_PID=$SPAWNED_PID
    if [ $fresh = 1 ] && [ "$FILL" = 1 ]; then
      # Fill both copies while the cluster is down, then start it again.
      bench_cluster_primary
      kill_pids "$CLUSTER_UP_PID"
      for i in 1 2; do fill_image "$CLUSTER_DIR/n$i/volumes/$VOL.img"; done
      CLUSTER_UP_PID=""
      start_bench_cluster
      return
    fi
  fi
  bench_cluster_primary
  # The job starts once both copies are in sync (status exits 0), never during a resync.
  local deadline=$((SECONDS + 300))
  until "$FIREBREAK" status --config "$CLUSTER_DIR/cluster.toml" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "the bench cluster did not get back in sync within 300 s"
    sleep 0.2
  done
  BENCH_PRIMARY=$(pgrep -f -- "$CLUSTER_DIR/cluster.toml --node $BENCH_NODE" | head -n 1 || true)
  [ -n "$BENCH_PRIMARY" ] || die "firebreak up: no process for node $BENCH_NODE"
  BENCH_PRIMARY_URI="nbd://127.0.0.1:$BENCH_PORT/$VOL"
  BENCH_PRIMARY_IMG=$CLUSTER_DIR/$BENCH_NODE/volumes/$VOL.img
}

# bench_cluster_primary: sets BENCH_NODE and BENCH_PORT to the node that takes NBD_OPT_GO (the
# primary; the other refuses it).
bench_cluster_primary() {
  local i port
  for _ in $(seq 1 100); do
    for i in 1 2; do
      port=$((CLUSTER_BASE + i - 1))
      if nbdinfo --size "nbd://127.0.0.1:$port/$VOL" >/dev/null 2>&1; then
        BENCH_NODE=n$i
        BENCH_PORT=$port
        return
      fi
    done
    sleep 0.1
  done
  _fail_start "$CLUSTER_UP_PID" "$SPAWNED_LOG" 1 "firebreak up (no primary)"
}

start_bench_server() {
  local s=$1 port sock=$TEST_TMP/bench.sock addr uri
  BENCH_CPU_PIDS=""
  WARM_IMG=$IMG
  rm -f "$sock"
  port=$(free_port)
  if [ "$TRANSPORT" = unix ] || [ "$s" = firebreak-attach-unix ]; then
    uri="nbd+unix:///$VOL?socket=$sock"
  else
    uri="nbd://127.0.0.1:$port/$VOL"
  fi
  # shellcheck disable=SC2034 # lib.sh state
  SERVER_PIDS=()
  case "$s" in
    firebreak)
      if [ "$TRANSPORT" = unix ]; then addr="unix:$sock"; else addr="127.0.0.1:$port"; fi
      # shellcheck disable=SC2086
      start_firebreak --listen "$addr" --dir "$FB_DIR" --volume "$VOL" ${BENCH_FIREBREAK_ARGS:-}
      BENCH_PID=$FB_PID
      ;;
    firebreak-repl)
      # The 2-node replicated cluster (firebreak up, start_bench_cluster): every write is
      # mirrored to the replica before the primary acknowledges it. The client talks to the
      # primary; the CPU column counts the primary only. Ports base, base+100 and base+200
      # must be free.
      [ "$TRANSPORT" = tcp ] || die "firebreak-repl runs over tcp only"
      start_bench_cluster
      BENCH_PID=$BENCH_PRIMARY
      uri=$BENCH_PRIMARY_URI
      WARM_IMG=$BENCH_PRIMARY_IMG
      ;;
    firebreak-attach | firebreak-attach-unix)
      # firebreak-repl's cluster with `firebreak attach` in front: the client talks to attach
      # (tcp or unix as BENCH_TRANSPORT says; always unix for -unix), attach to the primary over
      # TCP. The CPU column counts attach and the primary, so CPU/GiB compares with
      # firebreak-repl's primary.
      start_bench_cluster
      WARM_IMG=$BENCH_PRIMARY_IMG
      if [[ $uri == nbd+unix:* ]]; then addr=(--socket "$sock"); else addr=(--listen "127.0.0.1:$port"); fi
      _spawn_server firebreak-attach "$FIREBREAK" attach --config "$CLUSTER_DIR/cluster.toml" \
        --volume "$VOL" "${addr[@]}"
      BENCH_PID=$SPAWNED_PID
      BENCH_CPU_PIDS="$SPAWNED_PID $BENCH_PRIMARY"
      ;;
    nbdkit)
      local a=(-i 127.0.0.1 -p "$port")
      [ "$TRANSPORT" = unix ] && a=(-U "$sock")
      _spawn_server nbdkit nbdkit -f -t 4 "${a[@]}" file "$IMG"
      BENCH_PID=$SPAWNED_PID
      ;;
    qemu-nbd)
      local a=(-b 127.0.0.1 -p "$port")
      [ "$TRANSPORT" = unix ] && a=(-k "$sock")
      _spawn_server qemu-nbd qemu-nbd -f raw --cache=writeback --aio=io_uring -e 4 -t \
        -x "$VOL" "${a[@]}" "$IMG"
      BENCH_PID=$SPAWNED_PID
      ;;
  esac
  local rc=0
  wait_ready "$BENCH_PID" "$uri" || rc=$?
  [ $rc -eq 0 ] || _fail_start "$BENCH_PID" "$SPAWNED_LOG" $rc "$s"
  BENCH_URI=$uri
  BENCH_CPU_PIDS=${BENCH_CPU_PIDS:-$BENCH_PID}
}

# Puts the page cache in the same state before every job: write back and drop this file's
# pages, then read it once sequentially (BENCH_WARM=drop); or just read it (read); or nothing.
warm_cache() {
  case "$WARM" in
    drop)
      sync "$WARM_IMG"
      dd if="$WARM_IMG" iflag=nocache count=0 status=none
      dd if="$WARM_IMG" of=/dev/null bs=1M status=none
      ;;
    read) dd if="$WARM_IMG" of=/dev/null bs=1M status=none ;;
    none) ;;
    *) die "BENCH_WARM must be drop, read or none" ;;
  esac
}

# cpu_ticks PID...: user + system ticks of the processes together.
cpu_ticks() {
  local pid sum=0
  for pid in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$sum"
}

# run_job ROUND WORKLOAD SERVER: one fio job; JSON and CPU samples into $RESULTS.
run_job() {
  local round=$1 w=$2 s=$3 base
  base=$RESULTS/r$round-$w-$s
  start_bench_server "$s"
  warm_cache
  local t0 t1 t2 c0 c1 c2 fio_pid rc=0
  # shellcheck disable=SC2046
  fio --name="$w-$s" --ioengine=nbd --uri="$BENCH_URI" $(workload_args "$w") \
    --size="$SIZE_B" --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" --norandommap \
    --randrepeat=0 --percentile_list=50:99:99.9 --output-format=json --output="$base.json" \
    >"$base.fio.log" 2>&1 &
  fio_pid=$!
  # shellcheck disable=SC2086 # a list of pids
  c0=$(cpu_ticks $BENCH_CPU_PIDS)
  t0=$(date +%s.%N)
  sleep "$RAMP"
  # shellcheck disable=SC2086
  c1=$(cpu_ticks $BENCH_CPU_PIDS)
  t1=$(date +%s.%N)
  wait "$fio_pid" || rc=$?
  # shellcheck disable=SC2086
  c2=$(cpu_ticks $BENCH_CPU_PIDS)
  t2=$(date +%s.%N)
  printf '{"server":"%s","workload":"%s","round":%d,"pid":%d,"clk_tck":%d,"ticks_start":%d,"ticks_ramp_end":%d,"ticks_end":%d,"t_start":%s,"t_ramp_end":%s,"t_end":%s,"fio_exit":%d}\n' \
    "$s" "$w" "$round" "$BENCH_PID" "$(getconf CLK_TCK)" "$c0" "$c1" "$c2" "$t0" "$t1" "$t2" "$rc" \
    >"$base.cpu.json"
  stop_server
  [ $rc -eq 0 ] || { cat "$base.fio.log" >&2; die "fio $w against $s failed (exit $rc)"; }
  echo "  round $round workload $w $s: done"
}

# Metadata for the report.
{
  echo "{"
  echo "\"date_utc\": \"$(date -u +%FT%TZ)\", \"size\": $SIZE_B, \"runtime\": $RUNTIME, \"ramp\": $RAMP,"
  echo "\"rounds\": $ROUNDS, \"transport\": \"$TRANSPORT\", \"warm\": \"$WARM\", \"fill\": $FILL, \"image\": \"$IMG\","
  echo "\"servers\": [$(printf '"%s",' "${SERVERS[@]}" | sed 's/,$//')],"
  echo "\"workloads\": [$(printf '"%s",' "${WORKLOADS[@]}" | sed 's/,$//')],"
  echo "\"kernel\": \"$(uname -r)\", \"nproc\": $(nproc),"
  echo "\"versions\": {\"fio\": \"$(fio --version)\", \"nbdkit\": \"$(nbdkit --version | head -1)\","
  echo "  \"qemu-nbd\": \"$(qemu-nbd --version | head -1)\","
  echo "  \"repo_head\": \"$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\"}"
  echo "}"
} >"$RESULTS/meta.json"

n=${#SERVERS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
  echo "round $round of $ROUNDS"
  for w in "${WORKLOADS[@]}"; do
    for ((i = 0; i < n; i++)); do
      s=${SERVERS[$(((i + round - 1) % n))]}   # rotate the order each round
      run_job "$round" "$w" "$s"
    done
  done
done

"$PY" "$BENCH_ROOT/report.py" "$RESULTS" | tee "$RESULTS/table.txt"
echo "results: $RESULTS"
