#!/usr/bin/env bash
# nbdinfo against the server: --list (every volume, firebreak), --json (size, read-only,
# multi-conn, block sizes), --map (data vs holes after writes), every --can and --is read-only
# on a writable and a read-only volume, the default export and an unknown export name.
source "$(dirname "$0")/lib.sh"
require_cmd nbdinfo qemu-io

start_server vm1=64MiB vm2=32MiB ro1=16MiB:ro
U=$(uri vm1)
R=$(uri ro1)

# --json on a writable volume.
run nbdinfo --json "$U"
cp "$LAST_OUT" "$TEST_TMP/vm1.json"
bs=$("$PY" - "$TEST_TMP/vm1.json" "$SERVER" <<'EOF'

import json, sys
j = json.load(open(sys.argv[1])); server = sys.argv[2]
e = j["exports"][0]
errs = []
if e["export-size"] != 64 << 20: errs.append(f"export-size {e['export-size']}")
if e["is_read_only"] is not False: errs.append("is_read_only not false")
if e["can_multi_conn"] is not True: errs.append("can_multi_conn not true")
if j.get("structured") is not True: errs.append("structured replies not negotiated")
if "base:allocation" not in e.get("contexts", []): errs.append("no base:allocation context")
keys = ["block_size_minimum", "block_size_preferred", "block_size_maximum"]
if all(k in e for k in keys):
    mn, pf, mx = (e[k] for k in keys)
    pow2 = lambda v: v > 0 and v & (v - 1) == 0
    if not (pow2(mn) and mn <= 65536): errs.append(f"minimum {mn} not a power of 2 <= 64K")
    if not (pow2(pf) and pf >= max(mn, 512)): errs.append(f"preferred {pf} bad")
    if not (mx >= pf): errs.append(f"maximum {mx} < preferred")
    if (64 << 20) % mn: errs.append("size not a multiple of minimum")
    print(f"block sizes {mn}/{pf}/{mx}")
elif server != "nbdkit":  # nbdkit 1.32's file plugin advertises no block sizes
    errs.append("block sizes (minimum/preferred/maximum) missing")
if "block_size_minimum" not in e: print("no block sizes advertised")
for x in errs: print("json:", x, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
) || { cat "$TEST_TMP/vm1.json" >&2; die "nbdinfo --json vm1: wrong fields"; }
ok "nbdinfo --json vm1: export-size 64MiB, rw, multi-conn, structured, base:allocation, $bs"

# --json on the read-only volume and the second volume.
run nbdinfo --json "$R"
"$PY" -c '
import json,sys; e=json.load(open(sys.argv[1]))["exports"][0]
assert e["is_read_only"] is True, "ro1 not read-only"
assert e["export-size"] == 16 << 20, e["export-size"]' "$LAST_OUT" || die "nbdinfo --json ro1 wrong"
run nbdinfo --json "$(uri vm2)"
"$PY" -c '
import json,sys; e=json.load(open(sys.argv[1]))["exports"][0]
assert e["export-size"] == 32 << 20, e["export-size"]' "$LAST_OUT" || die "nbdinfo --json vm2 wrong size"
ok "nbdinfo --json ro1 (16MiB, read-only) and vm2 (32MiB)"

# --can / --is: exit 0 = true, 2 = false, anything else is an error.
can() { # URI WHAT EXPECT(0|2) [is]
  local verb=--can
  [ "${4:-}" = is ] && verb=--is
  local rc
  rc=$(run_rc nbdinfo $verb "$2" "$1")
  [ "$rc" = 0 ] || [ "$rc" = 2 ] || { cat "$LAST_OUT" >&2; die "nbdinfo $verb $2 $1: exit $rc"; }
  [ "$rc" = "$3" ] || die "nbdinfo $verb $2 on $1: exit $rc, want $3 ($([ "$3" = 0 ] && echo true || echo false))"
}
want_rw=(connect read write flush fua trim zero fast-zero multi-conn cache df structured-reply)
for w in "${want_rw[@]}"; do
  expect=0
  [ "$SERVER" = nbdkit ] && [ "$w" = fast-zero ] && expect=2   # file plugin: no fast zero
  can "$U" "$w" $expect
done
can "$U" read-only 2 is
ok "nbdinfo --can ${want_rw[*]} as expected on vm1 (all true$([ "$SERVER" = nbdkit ] && echo " but fast-zero")); --is read-only false"
for w in connect read flush cache df structured-reply multi-conn; do can "$R" "$w" 0; done
for w in write trim zero fast-zero; do can "$R" "$w" 2; done
can "$R" read-only 0 is
ok "nbdinfo on ro1: --is read-only true; --can write/trim/zero/fast-zero false; read/flush/cache/df true"

# --map: fresh volume is one hole; after writes, data exactly where written.
run nbdinfo --map "$(uri vm2)"
"$PY" - "$LAST_OUT" <<'EOF' || die "nbdinfo --map on an unwritten volume is not all hole,zero"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
assert sum(int(r[1]) for r in rows) == 32 << 20
assert all("hole" in r[3] and "zero" in r[3] for r in rows), rows
EOF
run qemu-io -f raw -c "write -P 0x42 0 1M" -c "write -P 0x43 8M 2M" -c "write -z -u 20M 1M" -c flush "$(uri vm2)"
run nbdinfo --map "$(uri vm2)"
cp "$LAST_OUT" "$TEST_TMP/map.txt"
"$PY" - "$TEST_TMP/map.txt" <<'EOF' || { cat "$TEST_TMP/map.txt" >&2; die "nbdinfo --map layout wrong after writes"; }
import sys
M = 1 << 20
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ext = [(int(r[0]), int(r[1]), r[3]) for r in rows]
assert sum(l for _, l, _ in ext) == 32 * M, "map does not cover the volume"
def kind_at(off):
    for s, l, d in ext:
        if s <= off < s + l: return d
def check(lo, hi, want):
    for off in range(lo, hi, 4096):
        d = kind_at(off)
        if (want == "data") != (d == "data"):
            raise SystemExit(f"offset {off}: {d}, want {want}")
check(0, 1 * M, "data"); check(8 * M, 10 * M, "data")
check(2 * M, 8 * M, "hole"); check(11 * M, 20 * M, "hole"); check(21 * M, 32 * M, "hole")
EOF
run nbdinfo --map --totals "$(uri vm2)"
"$PY" - "$LAST_OUT" <<'EOF' || die "nbdinfo --map --totals: data total is not 3 MiB"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
data = sum(int(r[0]) for r in rows if r[3] == "data")
assert data == 3 << 20, f"data total {data}"
EOF
ok "nbdinfo --map: holes vs data exactly where written (0+1M, 8M+2M); --totals data = 3 MiB"

# --list, the default export and unknown export names are firebreak's (one process, many volumes).
if is_firebreak; then
  base=${U%/vm1}
  run nbdinfo --list --json "$base"
  "$PY" - "$LAST_OUT" <<'EOF' || { cat "$LAST_OUT" >&2; die "nbdinfo --list does not show every volume"; }
import json, sys
ex = {e["export-name"]: e for e in json.load(open(sys.argv[1]))["exports"]}
for n, size, ro in [("vm1", 64 << 20, False), ("vm2", 32 << 20, False), ("ro1", 16 << 20, True)]:
    assert n in ex, f"{n} missing from --list: {sorted(ex)}"
    assert ex[n]["export-size"] == size, (n, ex[n]["export-size"])
    assert ex[n]["is_read_only"] is ro, (n, "is_read_only")
EOF
  run nbdinfo --list "$base"
  for n in vm1 vm2 ro1; do expect_output "export=\"$n\""; done
  ok "nbdinfo --list shows vm1, vm2, ro1 with their sizes and read-only flags"
  run nbdinfo --json "$base/"
  "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["exports"][0]; assert e["export-size"]==64<<20, e' \
    "$LAST_OUT" || die "default export \"\" is not vm1 (64MiB)"
  ok "default export \"\" is the first volume (vm1)"
  run_fail nbdinfo "$base/nosuch"
  ok "unknown export name 'nosuch' refused: $(head -1 "$LAST_OUT")"
else
  note "--list/default export/unknown export checks are firebreak-only (peers serve one file each)"
  if [ "$SERVER" = qemu-nbd ]; then
    run_fail nbdinfo "${U%/vm1}/nosuch"
    ok "qemu-nbd refuses unknown export name"
  fi
fi
assert_server_alive "after nbdinfo"
ok "test_nbdinfo passed against $SERVER"
