#!/usr/bin/env bash
# firebreak only: data acknowledged before a FLUSH (and FUA writes) survives kill -9 and a
# restart on the same --dir; writes in flight at the kill read back as old or new per sector,
# never garbage. Restarting with a different size for a volume fails with a clear message and
# leaves the volume intact. Note: kill -9 keeps the OS page cache, so this checks firebreak's own
# buffering and recovery, not fsync placement (that needs a power-cut test, see tests/chaos).
source "$(dirname "$0")/lib.sh"
require_server firebreak
require_cmd qemu-io nbdcopy

MiB=1048576
start_server --unix vm1=64MiB
U=$(uri vm1)

# Phase A: a mix of writes over [0, 32M), then FLUSH. These must all survive.
run qemu-io -f raw -c "write -P 0x5a 0 8M" -c "write -P 0x33 1000 3000" -c "write -P 0x44 4095 2" \
  -c "write -z 2M 1M" -c "write -P 0x66 8M 8M" -c "discard 12M 1M" -c "write -z -u 14M 512k" \
  -c "aio_write -P 0x71 16M 4M" -c "aio_write -P 0x72 20M 4M" -c "aio_write -P 0x73 24M 8M" \
  -c aio_flush -c flush "$U"
T=60 run nbdcopy "$U" "$TEST_TMP/before.img"
head -c $((32 * MiB)) "$TEST_TMP/before.img" | sha256sum >"$TEST_TMP/flushed.sha"
ok "phase A: 32 MiB of mixed writes/zeroes/discards, flushed; sha256 $(cut -c1-16 "$TEST_TMP/flushed.sha")"

# Phase B: a FUA write (durable on its own), then unflushed writes, then kill -9 at once.
run qemu-io -f raw -c "write -f -P 0xcc 48M 1M" "$U"
run qemu-io -f raw -c "write -P 0xbb 32M 8M" "$U"     # acknowledged, never flushed
# Writes truly in flight at the kill: fio at QD16 on [40M,48M) with the same pattern.
_spawn fio fio --name=inflight --ioengine=nbd --uri="$U" --rw=randwrite --bs=64k --iodepth=16 \
  --offset=40M --size=8M --time_based --runtime=20 --buffer_pattern=0xbb
FIO_PID=$SPAWNED_PID
sleep 1
kill -0 "$FIO_PID" 2>/dev/null || { cat "$SPAWNED_LOG" >&2; die "background fio ended before the kill"; }
kill9_server
ok "kill -9 firebreak with 8 MiB acknowledged-unflushed and fio writes in flight"
deadline=$((SECONDS + 10))
while kill -0 "$FIO_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill -0 "$FIO_PID" 2>/dev/null && die "fio still running 10 s after its server was killed (client hang)"
wait "$FIO_PID" 2>/dev/null || true

# Restart on the same directory and the same unix socket path (left behind by the kill).
start_server --unix vm1=64MiB
U=$(uri vm1)
run nbdinfo --can connect "$(uri vm1 unix)"
ok "restart after kill -9 listens again on the stale unix socket path"
T=60 run nbdcopy "$U" "$TEST_TMP/after.img"
head -c $((32 * MiB)) "$TEST_TMP/after.img" | sha256sum | cmp -s - "$TEST_TMP/flushed.sha" ||
  die "data flushed before kill -9 changed after restart (cmp before.img after.img: $(cmp "$TEST_TMP/before.img" "$TEST_TMP/after.img" | head -1))"
ok "after restart: every byte of the 32 MiB flushed before kill -9 is intact"
run qemu-io -r -f raw -c "read -P 0xcc 48M 1M" "$U"
ok "after restart: the FUA write (no flush) before kill -9 is intact"
"$PY" - "$TEST_TMP/after.img" <<'EOF' || die "unflushed region [32M,48M) holds bytes that were never written"
import sys
M = 1 << 20
with open(sys.argv[1], "rb") as f:
    f.seek(32 * M)
    data = f.read(16 * M)
old, new, bad = bytes(512), b"\xbb" * 512, 0
for i in range(0, len(data), 512):
    s = data[i:i + 512]
    if s != old and s != new:
        bad += 1
n_new = sum(1 for i in range(0, len(data), 512) if data[i:i + 512] == new)
print(f"unflushed region: {n_new} of {len(data) // 512} sectors new, {bad} torn/garbage")
sys.exit(1 if bad else 0)
EOF
ok "unflushed and in-flight writes at the kill read back as old or new per sector"

# A clean SIGTERM restart keeps everything too (shutdown under load: test_shutdown.sh).
run qemu-io -f raw -c "write -P 0xdd 56M 4M" "$U"
stop_server
start_server vm1=64MiB
run qemu-io -r -f raw -c "read -P 0xdd 56M 4M" -c "read -P 0xcc 48M 1M" -c "read -P 0x5a 0 1000" "$(uri vm1)"
ok "SIGTERM + restart: an unflushed write before a clean shutdown is intact"
stop_server

# A different size for an existing volume: a non-zero exit and a message about the size.
port=$(free_port)
rc=0
timeout -k 2 15 "$FIREBREAK" serve --listen "127.0.0.1:$port" --dir "$DATA_DIR" \
  --volume vm1=128MiB >"$TEST_TMP/conflict.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || { cat "$TEST_TMP/conflict.log" >&2; die "serve with vm1=128MiB (existing 64MiB) exited 0"; }
[ $rc -ne 124 ] && [ $rc -ne 137 ] || { cat "$TEST_TMP/conflict.log" >&2; die "serve with a conflicting size kept running (no exit in 15 s)"; }
grep -qi 'size' "$TEST_TMP/conflict.log" && grep -Eqi '64 ?MiB|67108864|128 ?MiB|134217728' "$TEST_TMP/conflict.log" ||
  { cat "$TEST_TMP/conflict.log" >&2; die "the size-conflict message does not mention the size"; }
ok "serve --volume vm1=128MiB on a 64MiB vm1: exit $rc, says: $(grep -i size "$TEST_TMP/conflict.log" | head -1)"

# The refused start changed nothing; the same size in other units and a bare name reopen it.
start_server vm1=67108864
U=$(uri vm1)
T=60 run nbdcopy "$U" "$TEST_TMP/after2.img"
cmp -s <(head -c $((32 * MiB)) "$TEST_TMP/after2.img") <(head -c $((32 * MiB)) "$TEST_TMP/before.img") ||
  die "flushed data changed after the refused size-conflict start"
run qemu-io -r -f raw -c "read -P 0xdd 56M 4M" "$U"
ok "after the refused start: volume intact; vm1=67108864 (same size in bytes) accepted"
stop_server
port=$(free_port)
start_firebreak --listen "127.0.0.1:$port" --dir "$DATA_DIR" --volume vm1
run nbdinfo --json "nbd://127.0.0.1:$port/vm1"
"$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["exports"][0]["export-size"]==64<<20' \
  "$LAST_OUT" || die "--volume vm1 (no size) did not reopen the 64 MiB volume"
ok "--volume vm1 without a size reopens the existing 64 MiB volume"
ok "test_durability_kill9 passed against $SERVER"
