#!/usr/bin/env bash
# Runs one real NBD client again and again against URI until STOP_FILE exists, each run
# verifying everything it wrote, so a test can inject faults while real clients do I/O:
#   fio   fio's nbd engine: 4 KiB random writes at QD8 (rate-limited) over [0, 16 MiB) with
#         --verify=crc32c, verify_backlog and a final verify: every block it wrote is read back
#         and checked in the same run (fio exits non-zero on a mismatch or any I/O error).
#   qemu  qemu-io: 64 x (write a 64 KiB pattern, read it back verifying) over [16, 20 MiB),
#         a new pattern each run, 20 ms apart (qemu-io prints "failed" on any error and
#         "Pattern verification failed" on a mismatch).
# Files in DIR: KIND.N.json / KIND.N.out (the run's output) and KIND.N.rc (its exit status).
# Each run is bounded (RUN_TIMEOUT_S, default 120) so a hung client cannot hang the test.
# Usage: client_loop.sh fio|qemu URI DIR STOP_FILE
set -uo pipefail
KIND=$1
URI=$2
DIR=$3
STOP=$4
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-120}
mkdir -p "$DIR"

run_fio() {
  local n=$1
  timeout -k 5 "$RUN_TIMEOUT_S" fio --name="fio$n" --ioengine=nbd --uri="$URI" --rw=randwrite \
    --bs=4k --iodepth=8 --offset=0 --size=16M --loops=1 --verify=crc32c --verify_backlog=256 \
    --do_verify=1 --verify_fatal=1 --verify_state_save=0 --direct=1 --rate_iops=1000 \
    --randseed="$n" \
    --output-format=json --output="$DIR/fio.$n.json" >"$DIR/fio.$n.log" 2>&1
}

run_qemu() {
  local n=$1 k pat args=()
  for ((k = 0; k < 64; k++)); do
    pat=$(((n * 64 + k) % 250 + 1))
    args+=(-c "write -P $pat $((16 * 1048576 + k * 65536)) 64k")
    args+=(-c "read -P $pat $((16 * 1048576 + k * 65536)) 64k")
    args+=(-c "sleep 20")
  done
  timeout -k 5 "$RUN_TIMEOUT_S" qemu-io -f raw "${args[@]}" "$URI" >"$DIR/qemu.$n.out" 2>&1
}

n=0
while [ ! -e "$STOP" ]; do
  n=$((n + 1))
  rc=0
  case "$KIND" in
    fio) run_fio "$n" || rc=$? ;;
    qemu) run_qemu "$n" || rc=$? ;;
    *) echo "unknown client kind $KIND" >&2; exit 2 ;;
  esac
  echo "$rc" >"$DIR/$KIND.$n.rc"
done
echo "$KIND: $n runs"
