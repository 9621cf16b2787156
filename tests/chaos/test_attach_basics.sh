#!/usr/bin/env bash
# firebreak attach without faults, then with no primary at all (issue 4, items 1 and 2):
#   - the export through attach (unix socket and TCP) is the primary's, field for field
#     (nbdinfo --json: size, every can_/is_ flag, block sizes, contexts);
#   - multi-conn: nbdcopy -C 4 writes 32 MiB through attach and reads it back; the same bytes
#     read straight from the primary; nbdinfo --map (base:allocation) agrees with the primary;
#   - backpressure: an attach holding at most 1 request still carries nbdcopy -C 4 -R 64;
#   - a request the node itself fails gets the same error through attach (errors pass through);
#   - give-up: with every node stopped, a request through attach fails with EIO after about
#     --give-up seconds (never hangs) and the next one fails at once.
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo nbdcopy nbdsh cmp
GIVE_UP_S=${GIVE_UP_S:-3}

start_cluster 2
P=$(primary_of)
P=${P:-n1}
PORT=$(free_port)
start_attach --give-up "$GIVE_UP_S" --listen "127.0.0.1:$PORT"
ATTACH_TCP="nbd://127.0.0.1:$PORT/$VOL"
DIRECT=${NODE_URI[$P]}

# ---- the same export ----
for u in "$ATTACH_URI" "$ATTACH_TCP" "$DIRECT"; do
  T=20 run nbdinfo --json "$u"
  cp "$LAST_OUT" "$TEST_TMP/info.$(echo "$u" | md5sum | cut -c1-8).json"
done
if "$PY" - "$TEST_TMP"/info.*.json <<'EOF'
import json, sys
seen = []
for path in sys.argv[1:]:
    d = json.load(open(path))
    for e in d.get("exports", []):
        e.pop("uri", None)
    d.pop("uri", None)
    seen.append(d)
for d in seen[1:]:
    if d != seen[0]:
        print(json.dumps(seen[0], sort_keys=True))
        print(json.dumps(d, sort_keys=True))
        sys.exit(1)
e = seen[0]["exports"][0]
print(f"size {e['export-size']}, block sizes {e.get('block_size_minimum')}/"
      f"{e.get('block_size_preferred')}/{e.get('block_size_maximum')}, contexts {e.get('contexts')}, "
      f"multi-conn {e.get('can_multi_conn')}, flush {e.get('can_flush')}, fua {e.get('can_fua')}, "
      f"trim {e.get('can_trim')}, zero {e.get('can_zero')}, fast-zero {e.get('can_fast_zero')}")
EOF
then
  ok "nbdinfo --json identical through attach (unix and TCP) and at the primary $P"
else
  die "the export through attach differs from the primary's"
fi

# ---- multi-conn copy, block status ----
head -c $((32 << 20)) /dev/urandom >"$TEST_TMP/src.img"
T=120 run nbdcopy --flush -C 4 -R 64 "$TEST_TMP/src.img" "$ATTACH_URI"
T=120 run nbdcopy -C 4 "$ATTACH_TCP" "$TEST_TMP/back.img"
head -c $((32 << 20)) "$TEST_TMP/back.img" | cmp - "$TEST_TMP/src.img" || die "32 MiB read back through attach differ"
T=120 run nbdcopy "$DIRECT" "$TEST_TMP/direct.img"
head -c $((32 << 20)) "$TEST_TMP/direct.img" | cmp - "$TEST_TMP/src.img" || die "the primary holds other bytes than attach wrote"
ok "nbdcopy -C 4 (multi-conn): 32 MiB written through attach, read back through attach and from $P: identical"
T=30 run nbdsh -u "$ATTACH_URI" -c 'h.zero(4 << 20, 40 << 20); h.trim(1 << 20, 48 << 20); h.flush()'
T=30 run nbdinfo --map "$ATTACH_URI"
cp "$LAST_OUT" "$TEST_TMP/map.attach"
T=30 run nbdinfo --map "$DIRECT"
cmp -s "$LAST_OUT" "$TEST_TMP/map.attach" || { cat "$TEST_TMP/map.attach" "$LAST_OUT"; die "base:allocation through attach differs from the primary's"; }
ok "nbdinfo --map (base:allocation, after ZERO and TRIM) identical through attach and at $P: $(wc -l <"$LAST_OUT") extents"

# ---- backpressure: a tiny queue still carries a deep multi-conn client ----
# A second attach holding at most 1 request: nbdcopy's 4 connections x 64 requests wait in
# their sockets instead of growing attach (Connection stops reading while the router is full).
_spawn attach-small "$FIREBREAK" attach --config "$CLUSTER_CFG" --volume "$VOL" \
  --socket "$TEST_TMP/small.sock" --max-pending 1 --memory 64MiB
SMALL_URI="nbd+unix:///$VOL?socket=$TEST_TMP/small.sock"
rc=0
wait_ready "$SPAWNED_PID" "$SMALL_URI" || rc=$?
[ $rc -eq 0 ] || _fail_start "$SPAWNED_PID" "$SPAWNED_LOG" $rc "firebreak attach --max-pending 1"
T=60 run nbdcopy -C 4 -R 64 --request-size=65536 "$SMALL_URI" "$TEST_TMP/small.img"
head -c $((32 << 20)) "$TEST_TMP/small.img" | cmp - "$TEST_TMP/src.img" || die "copy through a 1-request attach differs"
ok "backpressure: nbdcopy -C 4 -R 64 through an attach holding at most 1 request (64 MiB of buffers) reads the same 32 MiB"

# ---- the node's own errors pass through ----
# A write larger than the node's replication limit (or whatever the node answers for it): the
# same outcome straight and through attach. Checked by the client here, not decided by attach.
outcome() {
  timeout -k 2 30 nbdsh -u "$1" -c '
import errno
try:
    h.pwrite(b"\x5a" * (8 << 20), 0)
    print("ok")
except nbd.Error as e:
    print(errno.errorcode.get(e.errnum, e.errnum))' 2>/dev/null | tail -1
}
direct_outcome=$(outcome "$DIRECT")
attach_outcome=$(outcome "$ATTACH_URI")
[ -n "$direct_outcome" ] && [ "$direct_outcome" = "$attach_outcome" ] ||
  die "an 8 MiB write: the primary answers '$direct_outcome', attach '$attach_outcome'"
ok "an 8 MiB write gets the same answer straight and through attach: $direct_outcome"

# ---- no primary: give-up ----
stop_cluster
note "cluster stopped (every node and the coordinator)"
cat >"$TEST_TMP/giveup.py" <<'EOF'
import errno, sys, time
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
for i in range(2):
    t0 = time.monotonic()
    try:
        h.pread(4096, 0)
        print(f"read {i}: ok after {time.monotonic() - t0:.3f}s")
    except nbd.Error as e:
        print(f"read {i}: {errno.errorcode.get(e.errnum, e.errnum)} after {time.monotonic() - t0:.3f}s")
EOF
T=$((GIVE_UP_S + 20)) run "$PY" "$TEST_TMP/giveup.py" "$ATTACH_URI"
sed 's/^/# /' "$LAST_OUT"
read -r _ _ first_err _ first_s < <(grep '^read 0:' "$LAST_OUT" | tr -d 's')
read -r _ _ second_err _ second_s < <(grep '^read 1:' "$LAST_OUT" | tr -d 's')
[ "$first_err" = EIO ] || die "with no primary the first read got '$first_err', not EIO"
[ "$second_err" = EIO ] || die "with no primary the second read got '$second_err', not EIO"
fgt "$first_s" $((GIVE_UP_S + 3)) && die "the first read failed only after ${first_s}s (give-up ${GIVE_UP_S}s)"
fgt "$second_s" 1 && die "the second read waited ${second_s}s after the give-up"
ok "no primary: EIO after ${first_s}s (give-up ${GIVE_UP_S}s), the next request at once (${second_s}s)"
grep -hE 'attach vm1: (lost|no progress)' "$ATTACH_LOG" | sed 's/^/#   attach: /'
finish
