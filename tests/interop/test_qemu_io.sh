#!/usr/bin/env bash
# qemu-io against the server over TCP and a unix socket: pattern write/verify (aligned and
# unaligned, with the neighbours checked for read-modify-write damage), FUA + flush, the three
# zeroing forms, discard, and pipelined aio requests. Asserts only on what qemu-io reports.
source "$(dirname "$0")/lib.sh"
require_cmd qemu-io nbdinfo

# qio URI CMD...: one qemu-io process running every CMD; must exit 0 and report no failure.
qio() {
  local u=$1 a=()
  shift
  for c in "$@"; do a+=(-c "$c"); done
  run qemu-io -f raw "${a[@]}" "$u"
  if grep -Eqi 'verification failed|failed|error' "$LAST_OUT"; then
    cat "$LAST_OUT" >&2
    die "qemu-io reported a failure: $*"
  fi
}

body() {
  local u=$1 tr=$2
  # Aligned pattern write and verify.
  qio "$u" 'write -P 0xa5 0 1M' 'read -P 0xa5 0 1M'
  ok "$tr: aligned write -P 0xa5 0 1M verified"

  # Unaligned writes inside and across 4 KiB blocks; neighbours must keep the old pattern.
  qio "$u" 'write -P 0x55 1000 3000' 'write -P 0x66 4090 10' 'write -P 0x44 8191 2'
  qio "$u" 'read -P 0xa5 0 1000' 'read -P 0x55 1000 3000' 'read -P 0xa5 4000 90' \
    'read -P 0x66 4090 10' 'read -P 0xa5 4100 4091' 'read -P 0x44 8191 2' 'read -P 0xa5 8193 4095'
  ok "$tr: unaligned writes (1000+3000, 4090+10, 8191+2) verified with intact neighbours"

  # FUA write, then an explicit flush, then verify on a fresh connection.
  qio "$u" 'write -f -P 0x11 1M 64k' 'flush'
  qio "$u" 'read -P 0x11 1M 64k'
  ok "$tr: FUA write + flush verified"

  # The three zeroing forms over data: ZERO+NO_HOLE, ZERO (may unmap), FAST_ZERO.
  qio "$u" 'write -P 0x77 4M 12M'
  qio "$u" 'write -z 4M 1M' 'write -z -u 8M 1M'
  qio "$u" 'read -P 0 4M 1M' 'read -P 0x77 5M 3M' 'read -P 0 8M 1M' 'read -P 0x77 9M 3M'
  ok "$tr: write -z and write -z -u read back as zeros, neighbours intact"
  if [ "$(run_rc nbdinfo --can fast-zero "$u")" = 0 ]; then
    qio "$u" 'write -z -n 12M 1M'
    qio "$u" 'read -P 0 12M 1M' 'read -P 0x77 13M 3M'
    ok "$tr: write -z -n (fast zero) reads back as zeros"
  else
    is_firebreak && die "$tr: firebreak must advertise fast-zero (nbdinfo --can fast-zero)"
    # Without FAST_ZERO support qemu fails the request fast and must not change the data.
    run_fail qemu-io -f raw -c 'write -z -n 12M 1M' "$u"
    expect_output 'Operation not supported'
    qio "$u" 'read -P 0x77 12M 1M'
    ok "$tr: write -z -n refused with ENOTSUP (no fast-zero on $SERVER), data unchanged"
  fi

  # Discard over written data, then the range reads as zeros (firebreak punches holes).
  qio "$u" 'write -P 0x99 16M 2M' 'discard 16M 1M'
  qio "$u" 'read -P 0 16M 1M' 'read -P 0x99 17M 1M'
  ok "$tr: discard 16M 1M reads back as zeros, neighbour intact"

  # Pipelined aio writes (16 in flight), aio_flush, then verify each.
  local cmds=() i
  for i in $(seq 0 15); do cmds+=("aio_write -P $((0x20 + i)) $((20 * 1048576 + i * 65536)) 64k"); done
  cmds+=(aio_flush)
  qio "$u" "${cmds[@]}"
  cmds=()
  for i in $(seq 0 15); do cmds+=("read -P $((0x20 + i)) $((20 * 1048576 + i * 65536)) 64k"); done
  qio "$u" "${cmds[@]}"
  # Pipelined unaligned aio writes to disjoint ranges inside the same 4 KiB blocks.
  cmds=()
  for i in $(seq 0 7); do cmds+=("aio_write -P $((0x60 + i)) $((22 * 1048576 + i * 512 + 100)) 300"); done
  cmds+=(aio_flush)
  qio "$u" "${cmds[@]}"
  cmds=()
  for i in $(seq 0 7); do cmds+=("read -P $((0x60 + i)) $((22 * 1048576 + i * 512 + 100)) 300"); done
  qio "$u" "${cmds[@]}"
  ok "$tr: 16 pipelined aio_write + aio_flush verified; 8 unaligned aio writes sharing blocks verified"
}

start_server --unix vm1=64MiB
body "$(uri vm1 tcp)" tcp
body "$(uri vm1 unix)" unix
assert_server_alive "after qemu-io"
ok "test_qemu_io passed against $SERVER"
