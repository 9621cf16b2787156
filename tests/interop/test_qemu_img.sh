#!/usr/bin/env bash
# qemu-img against the server: info (size), convert -n of a local file with holes into the
# export + compare, map --output=json (data vs zero/hole after discard), and a read-only volume
# (reopened read-only after a restart) that keeps its data and refuses writes.
source "$(dirname "$0")/lib.sh"
require_cmd qemu-img qemu-io

MiB=1048576
start_server vm1=64MiB ro1=16MiB
U=$(uri vm1)

# info: the size the client sees is the configured size.
run qemu-img info -f raw --output=json "$U"
size=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["virtual-size"])' "$LAST_OUT")
[ "$size" = $((64 * MiB)) ] || die "qemu-img info: virtual-size $size, want $((64 * MiB))"
ok "qemu-img info: virtual-size $size"

# A 64 MiB source: random data, a 16 MiB hole, random data, a zero-filled (allocated) tail.
SRC=$TEST_TMP/src.img
head -c $((24 * MiB)) /dev/urandom >"$SRC"
truncate -s $((40 * MiB)) "$SRC"
head -c $((16 * MiB)) /dev/urandom >>"$SRC"
head -c $((8 * MiB)) /dev/zero >>"$SRC"
# Dirty the export first so that convert -n has to write the zeros, not just skip them.
run qemu-io -f raw -c "write -P 0xee 0 64M" "$U"
run qemu-img convert -n -W -m 8 -f raw -O raw "$SRC" "$U"
run qemu-img compare -f raw -F raw "$SRC" "$U"
expect_output '^Images are identical\.'
ok "qemu-img convert -n src -> export, compare: Images are identical."

# Discard 28M..36M (inside the zero region) and rewrite 24M..28M with data: map must show
# data over [0,24M) and [24M,28M), and a hole (zero, no data) over [28M,36M).
run qemu-io -f raw -c "write -P 0x3c 24M 4M" -c "discard 28M 8M" "$U"
run qemu-img map -f raw --output=json "$U"
cp "$LAST_OUT" "$TEST_TMP/map.json"
"$PY" - "$TEST_TMP/map.json" <<'EOF' || { cat "$TEST_TMP/map.json" >&2; die "qemu-img map: wrong data/hole layout"; }
import json, sys
M = 1 << 20
text = open(sys.argv[1]).read()
extents = json.loads(text[text.index("["):])
def covered(lo, hi, pred):
    pos = lo
    for e in sorted(extents, key=lambda e: e["start"]):
        s, l = e["start"], e["length"]
        if s <= pos < s + l:
            if not pred(e):
                print(f"extent {e} inside [{lo},{hi}) fails the check", file=sys.stderr)
                return False
            pos = s + l
            if pos >= hi:
                return True
    print(f"[{lo},{hi}) not fully covered, stopped at {pos}", file=sys.stderr)
    return False
assert sum(e["length"] for e in extents) == 64 * M, "extents do not cover the export"
ok = covered(0, 28 * M, lambda e: e["data"] and not e["zero"])
ok &= covered(28 * M, 36 * M, lambda e: e["zero"] and not e["data"])
sys.exit(0 if ok else 1)
EOF
ok "qemu-img map: data over [0,28M), hole (zero, no data) over [28M,36M) after discard"
rc=$(run_rc qemu-img compare -f raw -F raw "$SRC" "$U")
[ "$rc" = 1 ] || { cat "$LAST_OUT" >&2; die "qemu-img compare: exit $rc, want 1 (mismatch)"; }
expect_output 'Content mismatch at offset 25165824'
ok "qemu-img compare: reports the first changed byte (24M) after the rewrite"

# Read-only volume: fill ro1 while writable, restart with ro1 read-only; the data is still
# there, reads work and every write path (qemu-io, convert) is refused.
R=$(uri ro1)
run qemu-io -f raw -c "write -P 0x5a 0 16M" -c flush "$R"
stop_server
start_server vm1=64MiB ro1=16MiB:ro
R=$(uri ro1)
run qemu-io -r -f raw -c "read -P 0x5a 0 16M" "$R"
ok "read-only volume ro1: data written before the restart reads back"
run_fail qemu-io -f raw -c "write -P 0x01 0 4k" "$R"
head -c $((16 * MiB)) /dev/urandom >"$TEST_TMP/ro-src.img"
run_fail qemu-img convert -n -f raw -O raw "$TEST_TMP/ro-src.img" "$R"
run qemu-io -r -f raw -c "read -P 0x5a 0 16M" "$R"
ok "read-only volume ro1: qemu-io write and qemu-img convert refused, data unchanged"
rc=$(run_rc qemu-img compare -f raw -F raw "$SRC" "$(uri vm1)")
[ "$rc" = 1 ] || { cat "$LAST_OUT" >&2; die "qemu-img compare after restart: exit $rc, want 1"; }
expect_output 'Content mismatch at offset 25165824'
ok "vm1 content survived the restart"
assert_server_alive "after qemu-img"
ok "test_qemu_img passed against $SERVER"
