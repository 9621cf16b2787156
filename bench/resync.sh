#!/usr/bin/env bash
# Full-copy resync throughput against the loopback copy rate, in one run (issue 3's target:
# resync at least half the loopback copy rate). A 2-node cluster (`firebreak up`) gets a
# volume filled with incompressible data; then n2 is killed, its image and replication state
# are deleted (a replaced disk) and it is restarted: the primary copies the whole volume to it
# online, rate-limited so client I/O keeps priority. The loopback copy rate is what nbdcopy
# achieves copying the same volume from the primary to a standalone `firebreak serve` on the
# same machine (same disk, same loopback, same server code at the receiving end).
#
# Environment: FIREBREAK (default build/firebreak), RESYNC_SIZE (default 1GiB),
# RESYNC_BASE_PORT (default 32000; uses base, base+1, +100, +101, +200 and +50).
# Prints both rates and the ratio; results are not kept (run it, read it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIREBREAK=${FIREBREAK:-$ROOT/build/firebreak}
SIZE=${RESYNC_SIZE:-1GiB}
PORT=${RESYNC_BASE_PORT:-32000}
T=$(mktemp -d /var/tmp/fb-resync.XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT
die() { echo "resync.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
# wait_for SECONDS CMD...: polls CMD every 0.05 s.
wait_for() {
  local limit=$1 t0
  shift
  t0=$(now)
  until "$@"; do
    awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && return 1
    sleep 0.05
  done
}
in_sync() { "$FIREBREAK" status --config "$T/c/cluster.toml" >/dev/null 2>&1; }

"$FIREBREAK" up --dir "$T/c" --nodes 2 --volume "vm1=$SIZE" --base-port "$PORT" \
  >"$T/up.log" 2>&1 &
PIDS+=($!)
wait_for 30 in_sync || die "cluster not in sync: $(tail -5 "$T/up.log")"
P1="nbd://127.0.0.1:$PORT/vm1"  # n1, the primary of a new cluster

echo "# filling $SIZE of vm1 through the primary with random data"
fio --name=fill --ioengine=nbd --uri="$P1" --rw=write --bs=1M --iodepth=8 \
  --refill_buffers --randrepeat=0 --output-format=terse >/dev/null
wait_for 60 in_sync || die "not in sync after the fill"
sync

N2=$(pgrep -f -- "$T/c/cluster.toml --node n2" | head -n 1)
[ -n "$N2" ] || die "no n2 process"
kill -KILL "$N2"
wait_for 5 bash -c "! kill -0 $N2 2>/dev/null" || die "n2 did not die"
rm -f "$T/c/n2/volumes/vm1.img" "$T/c/n2/volumes/vm1.img.repl" "$T/c/n2/vm1.img.repl"
find "$T/c/n2" -name 'vm1*' -print -delete | sed 's/^/# wiped /'
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now)
"$FIREBREAK" serve --config "$T/c/cluster.toml" --node n2 >"$T/n2.log" 2>&1 &
PIDS+=($!)
sleep 0.5
wait_for 600 in_sync || die "resync did not finish: $(tail -3 "$T/n2.log")"
t1=$(now)
bytes=$(numfmt --from=iec-i "${SIZE%B}")
resync=$(awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f", b / (c - a) / 1e6 }')
echo "# resync: $SIZE in $(awk -v a="$t0" -v c="$t1" 'BEGIN { printf "%.2f", c - a }') s (restart to in sync)"

"$FIREBREAK" serve --listen "127.0.0.1:$((PORT + 50))" --dir "$T/plain" --volume "vm1=$SIZE" \
  >"$T/plain.log" 2>&1 &
PIDS+=($!)
wait_for 10 nbdinfo --size "nbd://127.0.0.1:$((PORT + 50))/vm1" >/dev/null 2>&1 ||
  die "standalone server did not start"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
c0=$(now)
nbdcopy "$P1" "nbd://127.0.0.1:$((PORT + 50))/vm1"
PATH=/usr/bin:$PATH nbdsh -u "nbd://127.0.0.1:$((PORT + 50))/vm1" -c 'h.flush()'
c1=$(now)
copy=$(awk -v b="$bytes" -v a="$c0" -v c="$c1" 'BEGIN { printf "%.1f", b / (c - a) / 1e6 }')
echo "# loopback copy (nbdcopy primary -> standalone firebreak, then flush): $(awk -v a="$c0" -v c="$c1" 'BEGIN { printf "%.2f", c - a }') s"
printf 'resync %s MB/s, loopback copy %s MB/s, ratio %.2f (target >= 0.5)\n' "$resync" "$copy" \
  "$(awk -v r="$resync" -v c="$copy" 'BEGIN { print r / c }')"
