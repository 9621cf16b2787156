#!/usr/bin/env bash
# A file system on the export through nbdfuse (FUSE, no kernel nbd module needed): mkfs.ext4 on
# m/nbd, e2fsck -fn clean, a file written into it with debugfs and read back, unmount, then a
# second mount sees the same file and the fs is still clean. Skips (77) without /dev/fuse.
source "$(dirname "$0")/lib.sh"
require_cmd nbdfuse mkfs.ext4 e2fsck debugfs
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
command -v fusermount3 >/dev/null || skip "fusermount3 is missing"

start_server vm1=256MiB
U=$(uri vm1)
M=$TEST_TMP/m
mkdir -p "$M"
on_exit "fusermount3 -u -z '$M'"

# mount_nbd: nbdfuse in the background (4 connections), ready when it writes its pidfile.
mount_nbd() {
  rm -f "$TEST_TMP/nbdfuse.pid"
  _spawn nbdfuse nbdfuse -C 4 -P "$TEST_TMP/nbdfuse.pid" "$M" "$U"
  FUSE_PID=$SPAWNED_PID
  local deadline=$((SECONDS + 10))
  until [ -s "$TEST_TMP/nbdfuse.pid" ] && [ -e "$M/nbd" ]; do
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$SPAWNED_LOG" >&2; die "nbdfuse exited early"; }
    [ $SECONDS -lt $deadline ] || { cat "$SPAWNED_LOG" >&2; die "nbdfuse not ready in 10 s"; }
    sleep 0.1
  done
  local sz
  sz=$(stat -c %s "$M/nbd")
  [ "$sz" = $((256 << 20)) ] || die "m/nbd has size $sz, want 256 MiB"
}

umount_nbd() {
  run fusermount3 -u "$M"
  local deadline=$((SECONDS + 10))
  while kill -0 "$FUSE_PID" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "nbdfuse did not exit 10 s after fusermount3 -u"
    sleep 0.1
  done
  wait "$FUSE_PID" 2>/dev/null || true
}

mount_nbd
ok "nbdfuse -C 4 mounted the export at m/nbd (256 MiB)"
T=90 run mkfs.ext4 -F -q "$M/nbd"
ok "mkfs.ext4 -F m/nbd"
T=90 run e2fsck -fn "$M/nbd"
ok "e2fsck -fn m/nbd: clean"
head -c $((3 << 20)) /dev/urandom >"$TEST_TMP/payload"
run debugfs -w -R "write $TEST_TMP/payload payload" "$M/nbd"
run debugfs -R "dump payload $TEST_TMP/payload.out" "$M/nbd"
cmp "$TEST_TMP/payload" "$TEST_TMP/payload.out" || die "file written with debugfs reads back differently"
ok "debugfs write + dump of a 3 MiB file through the mount: identical"
umount_nbd
ok "fusermount3 -u: nbdfuse exited"

mount_nbd
rm -f "$TEST_TMP/payload.out"
run debugfs -R "dump payload $TEST_TMP/payload.out" "$M/nbd"
cmp "$TEST_TMP/payload" "$TEST_TMP/payload.out" || die "file differs after remount"
T=90 run e2fsck -fn "$M/nbd"
umount_nbd
ok "after remount: the file reads back identical, e2fsck -fn still clean"
assert_server_alive "after nbdfuse"
ok "test_nbdfuse_ext4 passed against $SERVER"
