#!/usr/bin/env bash
# Two NBD connections, each with 200 writes in flight, to a replicated primary (more than the
# replication core's 256 ops at once): the excess waits in the node (ReplNode::Admit), it is
# never refused (the node answered ENOSPC "too many ops" before). fio with crc32c verify.
source "$(dirname "$0")/chaos_lib.sh"
require_cmd fio
start_cluster 2
P=$(primary_of)
[ -n "$P" ] || die "no primary: $(status_text)"
out=$(timeout -k 5 120 fio --name=deep --ioengine=nbd --uri="${NODE_URI[$P]}" --rw=randwrite \
  --bs=4k --iodepth=200 --numjobs=2 --size=32M --offset_increment=32M --verify=crc32c \
  --do_verify=1 --group_reporting 2>&1) || soft_fail "fio failed: $(grep -E 'err|error' <<<"$out" | head -5)"
grep -q "err= 0" <<<"$out" || soft_fail "fio reported errors: $(grep -E 'err=|error' <<<"$out" | head -5)"
refused=$(cat "$CLUSTER_DIR"/logs/*.log | grep -c "too many ops" || true)
[ "$refused" = 0 ] || soft_fail "the node refused $refused requests with 'too many ops'"
ok "2 connections x 200 writes in flight: $(grep -E 'WRITE:' <<<"$out" | sed 's/^ *//'), verified, none refused"
finish
