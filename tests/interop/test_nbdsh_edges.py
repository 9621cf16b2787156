#!/usr/bin/python3
# Protocol edges through libnbd (the nbdsh library) with strict mode off, so the server, not the
# client, has to reject bad requests: out-of-range, bad flags, length 0, read-only, block status,
# DF reads, multi-conn visibility, simple replies, and opt mode (list, info==go, meta contexts,
# abort). After every error the same connection must still answer a read with the right data.
# Run by test_nbdsh_edges.sh, which starts the server and passes the URIs in the environment.
import errno
import hashlib
import os
import signal
import sys

import nbd

SERVER = os.environ.get("SERVER", "firebreak")
URI_RW = os.environ["URI_RW"]          # vm1, 64 MiB, writable
URI_RO = os.environ["URI_RO"]          # ro1, 16 MiB, read-only, filled with 0xc3 before
URI_UNIX = os.environ.get("URI_UNIX")  # vm1 over a unix socket
MiB = 1 << 20
failures = []

signal.alarm(int(os.environ.get("EDGES_TIMEOUT_S", "90")))  # a hung server fails, not hangs


def ok(msg):
    print(f"ok: {msg}", flush=True)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    failures.append(msg)


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else "OK"


def connect(uri, meta=True, sr=True):
    h = nbd.NBD()
    if meta:
        h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    h.set_request_structured_replies(sr)
    h.connect_uri(uri)
    h.set_strict_mode(0)
    return h


def expect(h, name, fn, allowed, check_off=MiB, check_byte=0x5A):
    """Runs fn on h; the outcome (OK or errno name) must be in allowed. Then the connection must
    still serve a read of known data at check_off (the stream is still in sync)."""
    try:
        fn()
        got = "OK"
    except nbd.Error as e:
        got = ename(e.errnum)
    if got in allowed:
        ok(f"{name}: {got}")
    else:
        fail(f"{name}: got {got}, want one of {sorted(allowed)}")
    try:
        data = h.pread(4096, check_off)
        if data != bytes([check_byte]) * 4096:
            fail(f"after {name}: read at {check_off} returned wrong data (stream out of sync?)")
    except nbd.Error as e:
        fail(f"after {name}: the connection no longer serves reads: {e}")


def by_server(firebreak, nbdkit=None, qemu=None):
    """The allowed outcomes: firebreak follows NBD.md 1.12 strictly; peers as observed."""
    if SERVER == "nbdkit" and nbdkit is not None:
        return set(nbdkit)
    if SERVER == "qemu-nbd" and qemu is not None:
        return set(qemu)
    return set(firebreak)


def edges(uri, tag):
    h = connect(uri)
    size = h.get_size()
    if size != 64 * MiB:
        fail(f"{tag}: size {size}, want 64 MiB")
    h.pwrite(b"\x5a" * MiB, MiB)  # known data for the follow-up reads
    h.flush()
    EINVAL, ENOSPC = {"EINVAL"}, {"ENOSPC"}
    W_END = by_server(ENOSPC, qemu=EINVAL)  # qemu-nbd 7.2 answers EINVAL (NBD.md 1.12 item 2)

    # Past the end: straddling the end, wholly beyond it, and offset+length wrapping 2^64.
    expect(h, f"{tag} read straddling end", lambda: h.pread(4096, size - 512), EINVAL)
    expect(h, f"{tag} read at end", lambda: h.pread(512, size), EINVAL)
    expect(h, f"{tag} read with offset+len wrapping 2^64", lambda: h.pread(4096, 2**64 - 512), EINVAL)
    expect(h, f"{tag} write straddling end (4 KiB payload drained)",
           lambda: h.pwrite(b"x" * 4096, size - 512), W_END)
    expect(h, f"{tag} write far beyond end (64 KiB payload drained)",
           lambda: h.pwrite(b"x" * 65536, size + 10 * MiB), W_END)
    expect(h, f"{tag} write with offset+len wrapping 2^64",
           lambda: h.pwrite(b"x" * 4096, 2**64 - 512), W_END)
    expect(h, f"{tag} trim straddling end", lambda: h.trim(4096, size - 512), EINVAL)
    expect(h, f"{tag} zero straddling end", lambda: h.zero(4096, size - 512), W_END)
    expect(h, f"{tag} cache straddling end", lambda: h.cache(4096, size - 512), EINVAL)
    expect(h, f"{tag} block_status at end", lambda: h.block_status(4096, size, lambda *a: 0), EINVAL)
    # The last byte range itself is fine.
    expect(h, f"{tag} read of the last 512 bytes", lambda: h.pread(512, size - 512), {"OK"})

    # Flags: unknown bits and flags on the wrong command -> EINVAL; FUA is valid everywhere.
    expect(h, f"{tag} flush with DF", lambda: h.flush(flags=nbd.CMD_FLAG_DF), EINVAL)
    expect(h, f"{tag} read with unknown flag bit 10", lambda: h.pread(512, 0, flags=1 << 10), EINVAL)
    expect(h, f"{tag} read with NO_HOLE", lambda: h.pread(512, 0, flags=nbd.CMD_FLAG_NO_HOLE), EINVAL)
    expect(h, f"{tag} write with REQ_ONE (64 KiB payload drained)",
           lambda: h.pwrite(b"y" * 65536, 8 * MiB, flags=nbd.CMD_FLAG_REQ_ONE), EINVAL)
    expect(h, f"{tag} write with unknown flag bit 9",
           lambda: h.pwrite(b"y" * 4096, 8 * MiB, flags=1 << 9), EINVAL)
    expect(h, f"{tag} zero with DF", lambda: h.zero(4096, 8 * MiB, flags=nbd.CMD_FLAG_DF), EINVAL)
    expect(h, f"{tag} trim with FAST_ZERO",
           lambda: h.trim(4096, 8 * MiB, flags=nbd.CMD_FLAG_FAST_ZERO), EINVAL)
    expect(h, f"{tag} read with FUA (ignored)", lambda: h.pread(512, 0, flags=nbd.CMD_FLAG_FUA), {"OK"})
    expect(h, f"{tag} flush with FUA (ignored)", lambda: h.flush(flags=nbd.CMD_FLAG_FUA), {"OK"})
    expect(h, f"{tag} cache in range", lambda: h.cache(MiB, 0), {"OK"})
    if h.pread(65536, 8 * MiB) != bytes(65536):
        fail(f"{tag}: a rejected write changed data at 8 MiB")

    # Length 0: unspecified, but never a disconnect.
    any0 = {"OK", "EINVAL", "ENOSPC"}
    expect(h, f"{tag} read of length 0", lambda: h.pread(0, 4096), any0)
    expect(h, f"{tag} write of length 0", lambda: h.pwrite(b"", 4096), any0)
    expect(h, f"{tag} trim of length 0", lambda: h.trim(0, 4096), any0)
    expect(h, f"{tag} zero of length 0", lambda: h.zero(0, 4096), any0)

    # Oversize: a READ over the 32 MiB maximum is refused without a disconnect; TRIM/ZERO may
    # exceed the maximum payload (they carry none).
    bmax = h.get_block_size(nbd.SIZE_MAXIMUM)
    expect(h, f"{tag} read of 32 MiB", lambda: h.pread(32 * MiB, 0), {"OK"})
    if 0 < bmax <= 32 * MiB:  # nbdkit advertises no maximum and reads up to 64 MiB
        expect(h, f"{tag} read of 32 MiB + 4 KiB (over the maximum)",
               lambda: h.pread(32 * MiB + 4096, 0), {"EINVAL", "EOVERFLOW"})
    expect(h, f"{tag} zero of 40 MiB (over max payload)", lambda: h.zero(40 * MiB, 16 * MiB),
           {"OK", "EINVAL", "EOVERFLOW"})

    # FAST_ZERO: succeed (reads as zero) or ENOTSUP with data unchanged.
    h.pwrite(b"\x11" * 65536, 12 * MiB)
    if h.can_fast_zero():
        try:
            h.zero(65536, 12 * MiB, flags=nbd.CMD_FLAG_FAST_ZERO)
            want = bytes(65536)
        except nbd.Error as e:
            if e.errnum != errno.ENOTSUP:
                fail(f"{tag} fast zero: {ename(e.errnum)}, want OK or ENOTSUP")
            want = b"\x11" * 65536
        if h.pread(65536, 12 * MiB) != want:
            fail(f"{tag} fast zero: wrong data afterwards")
        else:
            ok(f"{tag} zero with FAST_ZERO: consistent ({'zeroed' if want[0] == 0 else 'ENOTSUP'})")
    h.zero(65536, 12 * MiB, flags=nbd.CMD_FLAG_NO_HOLE)
    if h.pread(65536, 12 * MiB) != bytes(65536):
        fail(f"{tag} zero with NO_HOLE does not read back as zeros")
    else:
        ok(f"{tag} zero with NO_HOLE reads back as zeros")

    block_status_checks(h, tag)
    df_checks(h, tag)
    h.shutdown()


def extents_of(h, length, offset, flags=0):
    got = []

    def cb(ctx, off, entries, err):
        if ctx == nbd.CONTEXT_BASE_ALLOCATION:
            got.append((off, list(entries)))
        return 0

    h.block_status(length, offset, cb, flags)
    return got


def block_status_checks(h, tag):
    # Layout in [32M, 40M): hole, data [33M,34M), hole, data [36M,36M+4K), hole.
    base = 32 * MiB
    h.trim(8 * MiB, base)
    h.zero(8 * MiB, base)
    h.pwrite(b"\x5b" * MiB, base + MiB)
    h.pwrite(b"\x5c" * 4096, base + 4 * MiB)
    h.flush()
    calls = extents_of(h, 8 * MiB, base)
    if len(calls) != 1:
        fail(f"{tag} block_status: {len(calls)} base:allocation chunks, want exactly 1")
        return
    off, ent = calls[0]
    pairs = list(zip(ent[0::2], ent[1::2]))
    if not pairs or any(n == 0 for n, _ in pairs):
        fail(f"{tag} block_status: empty or zero-length extent: {pairs}")
        return
    if sum(n for n, _ in pairs[:-1]) >= 8 * MiB:
        fail(f"{tag} block_status: extents beyond the first N-1 reach past the request: {pairs}")
    pos, state = base, {}
    for n, f in pairs:
        for p in range(pos, pos + n, 4096):
            state[p] = f
        pos += n
    if pos < base + 8 * MiB and len(pairs) < 1:
        fail(f"{tag} block_status: nothing returned")

    def flags_in(lo, hi):
        return {state.get(p) for p in range(lo, min(hi, pos), 4096)}

    bad = []
    if flags_in(base + MiB, base + 2 * MiB) != {0}:
        bad.append(f"data [33M,34M) has flags {flags_in(base + MiB, base + 2 * MiB)}")
    if flags_in(base + 4 * MiB, base + 4 * MiB + 4096) != {0}:
        bad.append("data [36M,+4K) not reported as data")
    for lo, hi in [(base, base + MiB), (base + 2 * MiB, base + 4 * MiB),
                   (base + 5 * MiB, base + 8 * MiB)]:
        fl = flags_in(lo, hi)
        if not fl or any(x is None or not (x & nbd.STATE_HOLE and x & nbd.STATE_ZERO) for x in fl):
            bad.append(f"[{lo // MiB}M,{hi // MiB}M) should be hole+zero, got flags {fl}")
    if bad:
        fail(f"{tag} block_status layout: " + "; ".join(bad) + f" (extents {pairs[:12]})")
    else:
        ok(f"{tag} block_status: holes and data exactly where written ({len(pairs)} extents)")
    # REQ_ONE: exactly one extent, no longer than the request.
    calls = extents_of(h, 2 * MiB, base + MiB, nbd.CMD_FLAG_REQ_ONE)
    ent = calls[0][1] if calls else []
    if len(ent) != 2 or ent[0] > 2 * MiB or ent[0] == 0 or ent[1] != 0:
        fail(f"{tag} block_status REQ_ONE at data: got {ent}, want one data extent <= 2 MiB")
    else:
        ok(f"{tag} block_status REQ_ONE: one extent of {ent[0]} bytes, data")
    # Unaligned request inside data.
    calls = extents_of(h, 1000, base + MiB + 100)
    if not calls or calls[0][1][1] != 0:
        fail(f"{tag} block_status unaligned inside data: {calls}")


def df_checks(h, tag):
    base = 32 * MiB
    # A read that spans hole and data, without DF: chunks must tile the request exactly.
    for flags, label in [(0, "plain"), (nbd.CMD_FLAG_DF, "DF")]:
        if flags and not h.can_df():
            continue
        chunks = []

        def cb(sub, off, status, err):
            chunks.append((off, len(sub), status))
            return 0

        lo, n = base + MiB - 32768, 65536
        buf = h.pread_structured(n, lo, cb, flags=flags)
        want = bytes(32768) + b"\x5b" * 32768
        if bytes(buf) != want:
            fail(f"{tag} {label} read across hole/data returned wrong bytes")
        cover = sorted((o, c) for o, c, s in chunks if s in (nbd.READ_DATA, nbd.READ_HOLE))
        pos, good = lo, True
        for o, c in cover:
            if o != pos or c == 0:
                good = False
            pos = o + c
        if not good or pos != lo + n:
            fail(f"{tag} {label} read chunks do not tile the request: {chunks}")
        elif flags and len(cover) != 1:
            fail(f"{tag} DF read: {len(cover)} content chunks, want exactly 1")
        else:
            ok(f"{tag} {label} read across hole/data: {len(cover)} chunk(s) tiling the request")


def subblock_checks(uri, tag):
    """Sub-block requests must not damage their neighbours, even when 4 connections write
    disjoint pieces of the same 4 KiB blocks at once (a read-modify-write race loses pieces)."""
    hs = [connect(uri) for _ in range(4)]
    base = 48 * MiB
    hs[0].pwrite(bytes(64 * 4096), base)
    for rnd in range(10):
        for blk in range(64):
            for k, h in enumerate(hs):
                h.aio_pwrite(bytes([rnd * 4 + k + 1]) * 900, base + blk * 4096 + k * 1000 + 10)
        for h in hs:
            while h.aio_in_flight() > 0:
                h.poll(-1)
    hs[0].flush()
    d = hs[1].pread(64 * 4096, base)
    bad = sum(1 for blk in range(64) for k in range(4)
              if d[blk * 4096 + k * 1000 + 10:blk * 4096 + k * 1000 + 910] != bytes([36 + k + 1]) * 900)
    gaps = sum(1 for blk in range(64) for k in range(4)
               if d[blk * 4096 + k * 1000 + 910:blk * 4096 + k * 1000 + 1010] != bytes(100))
    if bad or gaps:
        fail(f"{tag} concurrent sub-block writes from 4 connections: {bad} of 256 pieces lost, "
             f"{gaps} gaps dirtied")
    else:
        ok(f"{tag} 10 rounds of 4 connections writing 900-byte pieces into the same 4 KiB "
           f"blocks: nothing lost")
    h = hs[0]
    off = base + 2 * MiB
    for name, fn, zeroed in [
            ("trim 1000 bytes at +100", lambda: h.trim(1000, off + 100), False),
            ("zero 1000 bytes at +100", lambda: h.zero(1000, off + 100), True),
            ("zero NO_HOLE 5000 bytes at +3000",
             lambda: h.zero(5000, off + 3000, flags=nbd.CMD_FLAG_NO_HOLE), True)]:
        h.pwrite(b"\x5a" * 65536, off)
        fn()
        h.flush()
        d = hs[2].pread(65536, off)
        lo, n = (3000, 5000) if "5000" in name else (100, 1000)
        intact = d[:lo] == b"\x5a" * lo and d[lo + n:] == b"\x5a" * (65536 - lo - n)
        if not intact or (zeroed and d[lo:lo + n] != bytes(n)):
            fail(f"{tag} unaligned {name}: neighbours intact {intact}, zeroed "
                 f"{d[lo:lo + n] == bytes(n)}")
        else:
            ok(f"{tag} unaligned {name}: neighbours intact{', range zeroed' if zeroed else ''}")
    for x in hs:
        x.shutdown()


def readonly_checks():
    h = connect(URI_RO)
    if not h.is_read_only():
        fail("ro1 is not read-only")
    for name, fn in [("write", lambda: h.pwrite(b"w" * 65536, 0)),
                     ("write FUA", lambda: h.pwrite(b"w" * 4096, 4096, flags=nbd.CMD_FLAG_FUA)),
                     ("trim", lambda: h.trim(65536, 0)),
                     ("zero", lambda: h.zero(65536, 0))]:
        # qemu-nbd 7.2 answers EINVAL here (observed); the spec and firebreak say EPERM.
        expect(h, f"read-only {name}", fn, by_server({"EPERM"}, qemu={"EPERM", "EINVAL"}),
               check_off=0, check_byte=0xC3)
    expect(h, "read-only flush", lambda: h.flush(), {"OK"}, check_off=0, check_byte=0xC3)
    if h.pread(65536, 0) != b"\xc3" * 65536:
        fail("read-only volume changed by refused writes")
    h.shutdown()


def multiconn_checks(uri, tag):
    a, b, c = connect(uri), connect(uri), connect(uri)
    if not a.can_multi_conn():
        fail(f"{tag}: can_multi_conn false")
    a.pwrite(b"\x6d" * 65536, 40 * MiB)   # acknowledged on A, not flushed on A
    b.flush()                             # FLUSH on B covers A's acknowledged write
    if b.pread(65536, 40 * MiB) != b"\x6d" * 65536:
        fail(f"{tag} multi-conn: write on A not visible on B after flush on B")
    else:
        ok(f"{tag} multi-conn: write on A, flush on B, read on B sees it")
    b.pwrite(b"\x6e" * 4096, 41 * MiB, flags=nbd.CMD_FLAG_FUA)
    if c.pread(4096, 41 * MiB) != b"\x6e" * 4096 or a.pread(4096, 41 * MiB) != b"\x6e" * 4096:
        fail(f"{tag} multi-conn: FUA write on B not visible on A and C")
    else:
        ok(f"{tag} multi-conn: FUA write on B visible on A and C")
    # Interleaved pipelined writes from three connections to disjoint blocks, then verify.
    for i in range(48):
        [a, b, c][i % 3].aio_pwrite(bytes([i]) * 4096, 42 * MiB + i * 4096)
    for x in (a, b, c):
        while x.aio_in_flight() > 0:
            x.poll(-1)
    a.flush()
    data = b.pread(48 * 4096, 42 * MiB)
    if any(data[i * 4096:(i + 1) * 4096] != bytes([i]) * 4096 for i in range(48)):
        fail(f"{tag} multi-conn: pipelined writes from 3 connections not all visible")
    else:
        ok(f"{tag} multi-conn: 48 pipelined writes over 3 connections visible after one flush")
    for x in (a, b, c):
        x.shutdown()


def simple_reply_checks(uri):
    h = connect(uri, meta=False, sr=False)
    if h.get_structured_replies_negotiated():
        fail("structured replies negotiated though not requested")
    if h.can_df():
        fail("simple replies: server advertises DF without structured replies (NBD.md 1.4 bit 7)")
    h.pwrite(b"\x71" * 8192, 44 * MiB)
    h.flush()
    if h.pread(8192, 44 * MiB) != b"\x71" * 8192:
        fail("simple replies: read back wrong data")
    expect(h, "simple replies: read past end", lambda: h.pread(4096, h.get_size()), {"EINVAL"})
    ok("simple replies (no SR): write/flush/read work, DF not advertised")
    h.shutdown()


def snapshot(h):
    s = {"size": h.get_size()}
    for f in ["can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero", "can_multi_conn",
              "can_cache", "can_df", "is_read_only", "is_rotational"]:
        s[f] = getattr(h, f)()
    for k in ["SIZE_MINIMUM", "SIZE_PREFERRED", "SIZE_MAXIMUM"]:
        s[k] = h.get_block_size(getattr(nbd, k))
    return s


def opt_mode_checks(uri):
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.connect_uri(uri)
    names = []
    h.opt_list(lambda n, d: names.append(n) or 0)
    if not names:
        fail("opt_list returned no export")
    elif SERVER == "firebreak" and not {"vm1", "ro1"} <= set(names):
        fail(f"opt_list: {names}, want vm1 and ro1")
    else:
        ok(f"opt_list: {names}")
    contexts = []
    h.opt_list_meta_context(lambda n: contexts.append(n) or 0)
    if "base:allocation" not in contexts:
        fail(f"opt_list_meta_context: {contexts}, no base:allocation")
    else:
        ok(f"opt_list_meta_context: {contexts}")
    if SERVER != "nbdkit":  # the nbdkit file plugin ignores export names
        h.set_export_name("nosuch")
        try:
            h.opt_info()
            fail("opt_info on an unknown export succeeded")
        except nbd.Error as e:
            ok(f"opt_info on unknown export refused ({e.string.strip()[:60]}), handshake goes on")
        h.set_export_name("vm1")
    h.opt_info()
    first = snapshot(h)
    h.opt_info()
    second = snapshot(h)
    h.opt_go()
    third = snapshot(h)
    if not (first == second == third):
        fail(f"opt_info/opt_info/opt_go differ: {first} / {second} / {third}")
    else:
        ok(f"opt_info twice == opt_go: {first}")
    if h.pread(4096, MiB) != b"\x5a" * 4096:
        fail("after opt_go: wrong data")
    h.shutdown()
    # Abort in option haggling: the server replies and closes; it then serves others.
    a = nbd.NBD()
    a.set_opt_mode(True)
    a.connect_uri(uri)
    a.opt_abort()
    if not a.aio_is_closed():
        fail("opt_abort: handle not closed")
    else:
        ok("opt_abort: connection closed cleanly")
    b = connect(uri)
    if b.pread(4096, MiB) != b"\x5a" * 4096:
        fail("after opt_abort: a fresh connection reads wrong data")
    b.shutdown()


def main():
    edges(URI_RW, "tcp")
    if URI_UNIX:
        edges(URI_UNIX, "unix")
    subblock_checks(URI_RW, "tcp")
    readonly_checks()
    multiconn_checks(URI_RW, "tcp")
    if URI_UNIX:
        multiconn_checks(URI_UNIX, "unix")
    simple_reply_checks(URI_RW)
    opt_mode_checks(URI_RW)
    # Everything written above is still there from a fresh connection.
    h = connect(URI_RW)
    digest = hashlib.sha256(h.pread(MiB, MiB)).hexdigest()
    if digest != hashlib.sha256(b"\x5a" * MiB).hexdigest():
        fail("final check: 1 MiB of 0x5a at 1 MiB changed")
    h.shutdown()
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
