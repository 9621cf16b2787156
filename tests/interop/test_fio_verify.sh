#!/usr/bin/env bash
# fio's nbd engine (libnbd) with crc32c verification: 4 jobs = 4 connections, iodepth 32, random
# writes of 4k and of a 4k/64k mix, each job on its own 48 MiB slice, verified after the write
# phase and (second run) while writing; the mix also runs over the unix socket. Bounded: each
# run is size-based and capped with fio's runtime and an outer timeout.
source "$(dirname "$0")/lib.sh"
require_cmd fio
fio --enghelp=nbd >/dev/null 2>&1 || die "this fio has no nbd engine (fio --enghelp=nbd)"

start_server --unix vm1=256MiB

# fio_verify NAME URI EXTRA...: one verified run; fails on a non-zero exit or any job error.
fio_verify() {
  local name=$1 u=$2
  shift 2
  local out=$TEST_TMP/fio-$name.json
  T=90 run fio --name="$name" --ioengine=nbd --uri="$u" --rw=randwrite --iodepth=32 \
    --numjobs=4 --size=48M --offset_increment=64M --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --runtime=30 --group_reporting=0 \
    --output-format=json --output="$out" "$@"
  "$PY" - "$out" "$name" <<'EOF' || die "fio $name: job errors or nothing verified (see $out)"
import json, sys
j = json.load(open(sys.argv[1]))
jobs = j["jobs"]
assert len(jobs) == 4, f"{len(jobs)} jobs"
for jb in jobs:
    assert jb["error"] == 0, f"job {jb['jobname']} error {jb['error']}"
    w, r = jb["write"], jb["read"]
    assert w["io_bytes"] >= 48 << 20, f"job wrote only {w['io_bytes']} bytes"
    assert r["io_bytes"] > 0, "nothing read back for verification"
wb = sum(jb["write"]["io_bytes"] for jb in jobs) >> 20
rb = sum(jb["read"]["io_bytes"] for jb in jobs) >> 20
iops = sum(jb["write"]["iops"] for jb in jobs)
print(f"{sys.argv[2]}: wrote {wb} MiB, verified {rb} MiB, {iops:.0f} write IOPS")
EOF
}

fio_verify randwrite-4k "$(uri vm1)" --bs=4k
ok "fio randwrite bs=4k, 4 jobs x iodepth 32, crc32c verified"
fio_verify randwrite-4k64k "$(uri vm1)" --bssplit=4k/40:64k/60 --verify_backlog=256
ok "fio randwrite 4k/64k mix with verify_backlog (verify while writing), crc32c verified"
fio_verify randwrite-4k64k-unix "$(uri vm1 unix)" --bssplit=4k/40:64k/60
ok "fio randwrite 4k/64k mix over the unix socket, crc32c verified"
assert_server_alive "after fio"
ok "test_fio_verify passed against $SERVER"
