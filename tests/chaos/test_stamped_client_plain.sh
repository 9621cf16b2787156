#!/usr/bin/env bash
# The chaos oracle checked on its own, against one plain (unreplicated) `firebreak serve`:
# stamped_client.py writes at QD16, the server is killed with SIGKILL mid-stream and restarted
# on the same port and dir, the writer reconnects by itself and carries on, and the ledger
# verifies (every acknowledged block present, nothing torn). Then negative controls: blocks of
# the stopped server's image are corrupted on purpose (torn, lost, stale, misplaced, never
# issued) and verify must report exactly those, over NBD and from the image file.
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo

PORT=$(free_port)
serve_plain() { start_firebreak --listen "127.0.0.1:$PORT" --dir "$DATA_DIR" --volume "$VOL=$CHAOS_VOLUME_SIZE"; }
serve_plain
URIS=("nbd://127.0.0.1:$PORT/$VOL")
IMG=$DATA_DIR/volumes/$VOL.img

start_writer w1
wait_until 20 acks_at_least 5000 || die "writer made no progress: $(tail -3 "$WRITER_LOG")"
kill9_server
FAULT_T=$(now)
ok "kill -9 firebreak after $(acks_so_far) acknowledged writes, QD16 in flight"
sleep 0.5
RESTART_T=$(now)
serve_plain

wait_until 15 has_event first_ack "$FAULT_T" ||
  die "writer did not resume within 15 s of the restart: $(tail -5 "$WRITER_LOG")"
event_lookup first_ack "$FAULT_T"
t_ack=$EVENT_T
ok "writer reconnected by itself: first ack $(elapsed "$RESTART_T" "$t_ack")s after the restart ($(elapsed "$FAULT_T" "$t_ack")s after the kill)"
sleep 2
stop_writer
[ "$WRITER_RC" = 0 ] || die "writer exited $WRITER_RC"
note "writer summary: acked $(summary_field acked), unknown $(summary_field unknown), errors $(summary_field errors), longest ack gap $(summary_field max_ack_gap_s)s"
[ "$(summary_field unknown)" -gt 0 ] || warn "no write was in flight at the kill (expected QD16 in flight)"

verify_ledger --ledger "$WRITER_LEDGER" || die "ledger does not verify after kill -9 + restart: $VERIFY_OUT"
ok "ledger verifies over NBD after kill -9 + restart: $VERIFY_OUT"
stop_server
verify_ledger --ledger "$WRITER_LEDGER" --image "$IMG" || die "ledger does not verify from the image: $VERIFY_OUT"
ok "ledger verifies from the image file: $VERIFY_OUT"

# Negative controls: the oracle must catch each kind of damage, and only that.
"$PY" - "$CHAOS_DIR" "$WRITER_LEDGER" "$IMG" "$VOL" >"$TEST_TMP/expect.json" <<'EOF' || die "could not prepare the corruptions"
import json, random, sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
import stamped_client as sc
ledger, img, tag = sys.argv[2], sys.argv[3], sc.tag_bytes(sys.argv[4])
acked, issued = sc.read_ledgers([ledger])
rng = random.Random(7)
# LBAs whose image block holds the highest acked seq and that have an older issued seq.
with open(img, "r+b") as f:
    def rd(lba):
        f.seek(lba * sc.BLOCK)
        return f.read(sc.BLOCK)
    def wr(lba, buf):
        f.seek(lba * sc.BLOCK)
        f.write(buf)
    cands = []
    for lba, (w, s) in sorted(acked.items()):
        kind, info = sc.parse_block(rd(lba))
        older = sorted(q for (ww, q) in issued[lba] if q < s)
        if kind == "ok" and info[3] == s and older:
            cands.append((lba, s, older[-1]))
    rng.shuffle(cands)
    (torn, s1, o1), (lost, _, _), (stale, _, o3), (mis, _, _), (src, _, _), (inv, _, _), \
        (torn2, s7, o7) = cands[:7]
    b = bytearray(rd(torn)); b[1000] ^= 0x40; wr(torn, bytes(b))          # one flipped bit
    wr(lost, bytes(sc.BLOCK))                                              # acked block gone
    wr(stale, sc.make_block(tag, stale, 1, o3))                            # older version back
    wr(mis, rd(src))                                                       # misdirected write
    wr(inv, sc.make_block(tag, inv, 1, 10**12))                            # seq never issued
    new, old = rd(torn2), sc.make_block(tag, torn2, 1, o7)
    wr(torn2, new[:2048] + old[2048:])                                     # torn: 4 old sectors
print(json.dumps({"torn_or_garbage": 2, "lost": 1, "stale": 1, "misplaced": 1,
                  "never_issued": 1, "violations": 6}))
EOF
check_expected() { # JSON from verify --json
  "$PY" - "$TEST_TMP/expect.json" "$1" <<'EOF'
import json, sys
want, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
if bad:
    print("verify counts differ from the injected damage (want, got):", bad)
    sys.exit(1)
EOF
}
rc=0
"$PY" "$CLIENT" verify --image "$IMG" --ledger "$WRITER_LEDGER" --tag "$VOL" --lbas "$CHAOS_LBAS" \
  --json "$TEST_TMP/neg-image.json" >"$TEST_TMP/neg-image.out" 2>&1 || rc=$?
cat "$TEST_TMP/neg-image.out"
[ $rc = 1 ] || die "verify of the damaged image exited $rc, want 1"
check_expected "$TEST_TMP/neg-image.json" || die "image verify missed or misclassified damage"
ok "negative controls (image): 2 torn, 1 lost, 1 stale, 1 misplaced, 1 never-issued block all reported"

serve_plain
rc=0
"$PY" "$CLIENT" verify --uri "${URIS[0]}" --ledger "$WRITER_LEDGER" --tag "$VOL" --lbas "$CHAOS_LBAS" \
  --json "$TEST_TMP/neg-nbd.json" >"$TEST_TMP/neg-nbd.out" 2>&1 || rc=$?
[ $rc = 1 ] || { cat "$TEST_TMP/neg-nbd.out"; die "verify over NBD of the damaged volume exited $rc, want 1"; }
check_expected "$TEST_TMP/neg-nbd.json" || die "NBD verify missed or misclassified damage"
ok "negative controls (NBD): the same damage reported through the server"
stop_server
finish
