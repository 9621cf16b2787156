#!/usr/bin/env bash
# nbdcopy against the server: a 64 MiB file (random data with a hole) in with 4 connections and
# a final flush, back out with 4 connections (TCP and unix socket), byte-compared; then an
# export -> export copy between two volumes, byte-compared.
source "$(dirname "$0")/lib.sh"
require_cmd nbdcopy nbdinfo qemu-io

MiB=1048576
start_server --unix vm1=64MiB vm2=64MiB
U1=$(uri vm1)
U2=$(uri vm2)

SRC=$TEST_TMP/src.img
head -c $((40 * MiB)) /dev/urandom >"$SRC"
truncate -s $((48 * MiB)) "$SRC"             # an 8 MiB hole: nbdcopy zeroes it on the target
head -c $((16 * MiB)) /dev/urandom >>"$SRC"
# Dirty the target where the hole lands, so a skipped zeroing would show up in cmp.
run qemu-io -f raw -c "write -P 0xd1 40M 8M" "$U1"

T=90 run nbdcopy --flush -C 4 -R 64 "$SRC" "$U1"
ok "nbdcopy --flush -C 4 -R 64 src.img -> vm1"
T=90 run nbdcopy -C 4 "$U1" "$TEST_TMP/out.img"
cmp "$SRC" "$TEST_TMP/out.img" || die "vm1 copied out over TCP differs from the source"
ok "nbdcopy -C 4 vm1 -> out.img over TCP: identical to the source"
T=90 run nbdcopy -C 4 "$(uri vm1 unix)" "$TEST_TMP/out-unix.img"
cmp "$SRC" "$TEST_TMP/out-unix.img" || die "vm1 copied out over the unix socket differs"
ok "nbdcopy -C 4 vm1 -> out.img over the unix socket: identical"

# Export -> export, then read vm2 back out and compare.
run qemu-io -f raw -c "write -P 0xd2 0 64M" "$U2"
T=90 run nbdcopy --flush -C 4 "$U1" "$U2"
T=90 run nbdcopy -C 4 "$U2" "$TEST_TMP/out2.img"
cmp "$SRC" "$TEST_TMP/out2.img" || die "vm1 -> vm2 copy differs from the source"
ok "nbdcopy --flush -C 4 vm1 -> vm2 (export to export): identical"

# The copy also lands in the allocation map: the hole region of vm2 reads as zero.
run qemu-io -f raw -c "read -P 0 40M 8M" "$U2"
assert_server_alive "after nbdcopy"
ok "test_nbdcopy passed against $SERVER"
