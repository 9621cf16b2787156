#!/usr/bin/env bash
# Incremental resync on a working set larger than the activity log can keep (FAULTS.md #2's
# rejoin, issue item 6: "only regions written while it was away, plus the regions a crashed
# primary may have had in flight"). A 2-node cluster with a 1 GiB volume:
#   1. the writer sprays 4 KiB writes over 640 MiB (every MiB of it touched), FLUSH every 0.2 s;
#   2. then writes only a 4 MiB hot set H1 for a few seconds (still flushing);
#   3. kill -9 of the primary; the writer fails over and writes only another 4 MiB set H2;
#   4. the killed node is restarted by hand and must resync about H1 + H2, not the 640 MiB it
#      ever held: FAIL if the resync is full or copies half of what was ever written, WARN above
#      4x (H1 + H2 + what was in flight); CONV (cmp of both images) and ACK on both copies.
# Usage: test_resync_incremental.sh
source "$(dirname "$0")/chaos_lib.sh"
require_cmd nbdinfo cmp
CHAOS_VOLUME_SIZE=1GiB
CHAOS_LBAS=$((640 * 256))     # 640 MiB of 4 KiB blocks
HOT=1024                      # 4 MiB
SPRAY_S=${SPRAY_S:-2}
HOT_S=${HOT_S:-3}
RESYNC_TIMEOUT_S=${RESYNC_TIMEOUT_S:-90}

start_cluster 2
OLD=$(primary_of)
OLD=${OLD:-n1}
start_writer w1 --flush-interval 0.2 --narrow-file "$TEST_TMP/narrow" --narrow-window "0:$HOT" \
  --after-loss-window "$HOT:$HOT"
sleep "$SPRAY_S"
touch "$TEST_TMP/narrow"
SPRAYED=$(awk '$1 == "A" { r[int($2 / 256)] = 1 } END { print length(r) }' "$WRITER_LEDGER")
sleep "$HOT_S"
ok "writer sprayed $(acks_so_far) writes over $SPRAYED of 640 MiB, then wrote a 4 MiB hot set for ${HOT_S}s (FLUSH every 0.2 s)"
[ "$SPRAYED" -ge 512 ] || warn "the spray touched only $SPRAYED MiB (slow machine?): the working set may fit the activity log"

pre_fault_check
kill9_node "$OLD"
KILL_T=$FAULT_T
wait_until 15 has_event first_ack "$KILL_T" || die "no write acknowledged within 15 s of kill -9 $OLD: $(status_text)"
event_lookup first_ack "$KILL_T"
ok "kill -9 $OLD; first write acknowledged by $(node_of_uri "$EVENT_URI") $(elapsed "$KILL_T" "$EVENT_T")s later"
sleep 2
stop_writer
STOP_T=$(now)
[ "$(summary_field errors)" = 0 ] || soft_fail "NOEIO: $(summary_field errors) writes got an error reply"
changed_blocks=$(awk -v from="$KILL_T" -v to="$STOP_T" '($1 == "A" && $4 >= from && $4 < to) || $1 == "U" { b[$2] = 1 }
  END { print length(b) }' "$WRITER_LEDGER")
ever_bytes=$(awk '$1 == "I" { r[int($2 / 256)] = 1 } END { print length(r) * 1048576 }' "$WRITER_LEDGER")
changed_bytes=$((changed_blocks * 4096))
expect_bytes=$((2 * HOT * 4096 + changed_bytes))   # H1 (the crashed primary's hot set) + changes

start_resync_sampler
restart_node "$OLD"
RESTART_T=$(now)
if wait_until "$RESYNC_TIMEOUT_S" status_ok; then
  ok "$OLD back in sync $(elapsed "$RESTART_T")s after its restart: $(status_brief)"
else
  soft_fail "status not healthy within ${RESYNC_TIMEOUT_S}s of restarting $OLD: $(status_text)"
fi
resyncs=$(stop_resync_sampler)
resync_bytes=$(awk -v t="$OLD" '$1 ~ ("->" t "/") { n += $2 } END { print n + 0 }' <<<"$resyncs")
resync_full=$(awk -v t="$OLD" '$1 ~ ("->" t "/") && $4 == "True" { f = 1 } END { print f ? "full" : "incremental" }' <<<"$resyncs")
grep -hE 'RESYNC|REPLICA_JOINED' "$CLUSTER_DIR"/logs/*.log "$TEST_TMP"/restart-*.log 2>/dev/null | sed 's/^/#   log: /'
note "resync of $OLD: $resync_bytes bytes ($resync_full); changed while away $changed_bytes bytes; hot set before the kill $((HOT * 4096)) bytes; ever written (1 MiB granules) $ever_bytes bytes"
if [ -z "$resyncs" ]; then
  warn "no resync progress of $OLD was visible in node-status.json"
elif [ "$resync_full" = full ] || [ "$resync_bytes" -ge $((ever_bytes / 2)) ]; then
  soft_fail "resync of $OLD copied $resync_bytes bytes ($resync_full) of the $ever_bytes ever written, for $changed_bytes changed: not incremental"
elif [ "$resync_bytes" -gt $((4 * expect_bytes)) ]; then
  warn "resync of $OLD copied $resync_bytes bytes, over 4x the $expect_bytes of its hot set plus what changed"
else
  ok "incremental resync: $resync_bytes bytes for $changed_bytes changed + $((HOT * 4096)) hot before the crash (of $ever_bytes ever written)"
fi

if wait_until 20 images_identical; then
  ok "CONV: $VOL.img byte-identical on ${NODE_IDS[*]}"
else
  soft_fail "CONV: images differ after resync with the writer stopped"
fi
verify_every_copy
note "summary: resync $resync_bytes bytes for $changed_bytes changed, $ever_bytes ever written"
finish
