#!/usr/bin/python3
"""Stamped-block writer, verifier and fencing probe for the chaos tests (FAULTS.md "Oracle").

Every 4 KiB block this client writes is stamped and self-checking:

    0   magic    b"FBCHAOS1"
    8   tag      volume tag, 16 bytes, NUL padded
    24  lba      u64 (block index, 4 KiB units)
    32  writer   u32 (writer id)
    36  zero     u32
    40  seq      u64, per writer, strictly increasing over the whole run
    48  issue_ns u64 (wall clock at issue; informational)
    56  filler   pseudo-random bytes derived from (writer, seq)
    4092 crc32   zlib.crc32 of bytes [0, 4092), little endian

so a torn block (old and new sectors mixed), a misdirected write or garbage fails its CRC or its
LBA check. All integers are little endian.

Modes
-----
write   Writes random LBAs of [lba-base, lba-base + lbas) with up to --qd writes in flight
        (libnbd aio), never two writes to the same LBA at once. Appends to the ledger, one line
        per event:  "I lba seq" before a write is issued, "A lba seq t_wall" when acknowledged,
        "E lba seq" when it failed, "U lba seq" when it was in flight as its connection was
        lost (unknown outcome). When the connection fails (error, dead socket, or no completion
        for --op-timeout seconds: a hung primary), it reconnects to whichever of the --uri
        nodes now accepts NBD_OPT_GO (all tried in parallel, bounded by --reconnect-timeout)
        and carries on. With --flush-interval S it also sends a FLUSH every S seconds (ledger
        "F id issue_time ack_time" when it completes). Windows (START:COUNT, in blocks from
        --lba-base) narrow where it writes: --narrow-window once --narrow-file exists, and
        --after-loss-window from its first lost connection on; --rate-iops caps the issue rate.
        Runs until SIGTERM/SIGINT,
        --duration or --stop-file; then drains in-flight writes (bounded) and writes a JSON summary (--summary): acks, errors, unknowns,
        reconnects with timestamps (connection lost, GO accepted, first ack after it), and the
        longest gap between two acks (the client-visible stall).
verify  Reads every block of the range from whichever --uri accepts GO and checks, per LBA:
        CRC valid (no torn/garbage block), tag/LBA/writer right, seq was issued, and
        seq >= the highest acknowledged seq in the ledger(s) (ACK/MONO); an all-zero block is
        fine only if no write to it was ever acknowledged. Prints counts; exit 1 on any
        violation.
probe   Fencing probe (SIGSTOP test): connects to one --uri; if GO is refused, reports the
        refusal. Otherwise touches --ready-file, waits for --trigger-file (if given), issues
        --count stamped writes and waits --wait seconds for them; reports how many were
        acknowledged, failed or never completed (JSON on stdout, ledger lines as above).

Exit status: 0 ok, 1 verification failed / writer gave up, 2 usage.
"""
import argparse
import json
import os
import random
import select
import signal
import struct
import sys
import time
import zlib
import errno as errno_mod

import nbd

BLOCK = 4096
MAGIC = b"FBCHAOS1"
HDR = struct.Struct("<8s16sQIIQQ")  # magic, tag, lba, writer, zero, seq, issue_ns
CRC_OFF = BLOCK - 4
FILLER = CRC_OFF - HDR.size

_stop = False
_CONN_ERRNOS = {errno_mod.ENOTCONN, errno_mod.ECONNRESET, errno_mod.EPIPE, errno_mod.ECONNABORTED}


def _on_signal(signum, frame):
    global _stop
    _stop = True


def now_wall():
    return time.time()


def make_block(tag, lba, writer, seq):
    head = HDR.pack(MAGIC, tag, lba, writer, 0, seq, time.time_ns())
    body = head + random.Random((writer << 64) | seq).randbytes(FILLER)
    return body + struct.pack("<I", zlib.crc32(body))


def parse_block(buf):
    """Returns ("zero", None) | ("bad", why) | ("ok", (tag, lba, writer, seq))."""
    if buf.count(0) == BLOCK:
        return "zero", None
    if zlib.crc32(buf[:CRC_OFF]) != struct.unpack_from("<I", buf, CRC_OFF)[0]:
        return "bad", "crc mismatch (torn or garbage block)"
    magic, tag, lba, writer, _, seq, _ = HDR.unpack_from(buf, 0)
    if magic != MAGIC:
        return "bad", f"bad magic {magic!r} with a valid crc"
    return "ok", (tag, lba, writer, seq)


def tag_bytes(tag):
    b = tag.encode()
    if len(b) > 16:
        raise SystemExit("tag longer than 16 bytes")
    return b.ljust(16, b"\0")


def log(msg):
    print(f"[stamped {time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d}] {msg}",
          file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Connecting: every node in parallel, first to accept GO wins.

def _drop(h):
    """Closes a handle now, without a graceful NBD shutdown (the peer may be stopped or gone).
    nbd.NBD only closes in __del__; call the module's close directly so the socket goes away
    at once even while something else still references the handle."""
    if h is not None and hasattr(h, "_o"):
        nbd.libnbdmod.close(h._o)
        del h._o


def _note_server_msg(refusals, uri, msg):
    i = msg.find("server error message: ")
    if i >= 0:
        refusals[uri + " message"] = msg[i + len("server error message: "):].strip()


def connect_any(uris, deadline, attempt_s=1.0, avoid=None, avoid_delay_s=0.3):
    """Returns (handle, uri, refusals) or (None, None, refusals) at the deadline.

    Opens one handle per URI with aio_connect_uri and drives them all with select until one is
    ready (GO accepted). A node that refuses GO (standby: ERR_POLICY naming the primary), resets
    or refuses TCP is retried in the next round; one that hangs in the handshake (a stopped
    process) is abandoned after attempt_s. `avoid` (a URI that just failed us) is left out for
    the first avoid_delay_s so a live node that accepts GO wins over it; meanwhile a round in
    which every other node refused ends at once (the next primary may be seconds or
    milliseconds away: a planned switchover promotes within a few ms).
    """
    refusals = {}
    avoid_until = time.monotonic() + avoid_delay_s
    while time.monotonic() < deadline and not _stop:
        round_start = time.monotonic()
        round_end = min(deadline, round_start + attempt_s)
        pending = {}
        todo = list(uris)
        while time.monotonic() < round_end and not _stop:
            t = time.monotonic()
            for u in list(todo):
                if u == avoid and t < avoid_until and len(uris) > 1:
                    continue
                todo.remove(u)
                h = nbd.NBD()
                # libnbd reports a refused GO as "server policy prevents NBD_OPT_GO"; the
                # server's own message (which names the primary) only reaches the debug log.
                h.set_debug_callback(lambda ctx, msg, u=u: _note_server_msg(refusals, u, msg))
                h.set_debug(True)
                try:
                    h.aio_connect_uri(u)
                    pending[u] = h
                except nbd.Error as e:
                    refusals[u] = str(e)
            if not pending and (not todo or (todo == [avoid] and time.monotonic() < avoid_until)):
                break
            rl, wl, fdmap = [], [], {}
            for u, h in list(pending.items()):
                try:
                    fd = h.aio_get_fd()
                    d = h.aio_get_direction()
                except nbd.Error as e:
                    refusals[u] = str(e)
                    del pending[u]
                    continue
                fdmap[u] = fd
                if d & nbd.AIO_DIRECTION_READ:
                    rl.append(fd)
                if d & nbd.AIO_DIRECTION_WRITE:
                    wl.append(fd)
            wait = max(0.0, min(0.02, round_end - time.monotonic()))
            try:
                r, w, _ = select.select(rl, wl, [], wait)
            except InterruptedError:
                r, w = [], []
            for u, h in list(pending.items()):
                fd = fdmap.get(u)
                try:
                    if fd in r:
                        h.aio_notify_read()
                    if fd in w:
                        h.aio_notify_write()
                except nbd.Error as e:
                    refusals[u] = str(e)
                    del pending[u]
                    continue
                if h.aio_is_ready():
                    h.set_debug(False)
                    for v, other in pending.items():
                        if v != u:
                            _drop(other)
                    return h, u, refusals
                if h.aio_is_dead() or h.aio_is_closed():
                    refusals[u] = refusals.get(u, "connection died in the handshake")
                    del pending[u]
        for u, h in pending.items():
            refusals.setdefault(u, f"no handshake within {attempt_s}s")
            _drop(h)
        pending.clear()
        if time.monotonic() < deadline and not _stop:
            time.sleep(0.02)
    return None, None, refusals


# ---------------------------------------------------------------------------------------------
# Ledger.

class Ledger:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1 << 16)
        self.last_flush = time.monotonic()

    def line(self, s):
        self.f.write(s)
        t = time.monotonic()
        if t - self.last_flush > 0.2:
            self.f.flush()
            self.last_flush = t

    def close(self):
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()


def read_ledgers(paths):
    """Returns (acked, issued): acked[lba] = (writer, max acked seq); issued[lba] = {(writer, seq)}."""
    acked, issued = {}, {}
    for p in paths:
        writer = None
        with open(p) as f:
            for ln in f:
                parts = ln.split()
                if not parts:
                    continue
                if parts[0] == "W":  # header: writer id
                    writer = int(parts[1])
                    continue
                if parts[0] not in ("I", "A"):
                    continue
                lba, seq = int(parts[1]), int(parts[2])
                if parts[0] == "I":
                    issued.setdefault(lba, set()).add((writer, seq))
                else:
                    w, s = acked.get(lba, (writer, 0))
                    if w != writer:
                        raise SystemExit(f"ledgers overlap at LBA {lba} (writers {w} and {writer})")
                    acked[lba] = (writer, max(s, seq))
    return acked, issued


# ---------------------------------------------------------------------------------------------
# write mode.

class Writer:
    def __init__(self, a):
        self.a = a
        self.tag = tag_bytes(a.tag)
        self.ledger = Ledger(a.ledger)
        self.ledger.line(f"W {a.writer}\n")
        self.seq = 0
        self.inflight = {}      # cookie -> (lba, seq, t_issue_mono)
        self.busy = set()       # LBAs with a write in flight
        self.narrow = False
        self.narrow_checked = 0.0
        self.flush_id = 0
        self.flush_inflight = None  # (cookie, id, issue wall time)
        self.last_flush_issue = time.monotonic()
        self.flushes = 0
        self.acks = 0
        self.errors = 0
        self.error_samples = []
        self.unknown = 0
        self.last_ack_mono = None
        self.last_ack_wall = None
        self.max_gap = 0.0
        self.max_gap_from = None
        self.max_gap_to = None
        self.reconnects = []    # dicts: lost_at, why, connected_at, uri, first_ack_at, refusals
        self.uri_history = []
        self.distinct = set()
        self.rng = random.Random(a.seed)
        self.rate_start = None
        self.events = open(a.events, "a", buffering=1) if a.events else None

    def event(self, kind, **kw):
        """One JSON line per connection event, flushed at once (tests poll this file)."""
        if self.events:
            self.events.write(json.dumps(dict(event=kind, t=now_wall(), **kw)) + "\n")
            self.events.flush()

    def note_ack(self, lba, seq):
        t, w = time.monotonic(), now_wall()
        if self.last_ack_mono is not None:
            gap = t - self.last_ack_mono
            if gap > self.max_gap:
                self.max_gap, self.max_gap_from, self.max_gap_to = gap, self.last_ack_wall, w
        self.last_ack_mono, self.last_ack_wall = t, w
        self.acks += 1
        self.distinct.add(lba)
        self.ledger.line(f"A {lba} {seq} {w:.6f}\n")
        if self.reconnects and self.reconnects[-1].get("first_ack_at") is None:
            self.reconnects[-1]["first_ack_at"] = w
            r = self.reconnects[-1]
            self.event("first_ack", uri=r["uri"], lba=lba, seq=seq)
            log(f"first ack after reconnect on {r['uri']}: {w - r['lost_at']:.3f}s after the "
                f"connection was lost")

    def pick_lba(self):
        base, n = self.a.lba_base, self.a.lbas
        window = None
        if self.reconnects and self.a.after_loss_window:
            window = self.a.after_loss_window
        elif self.a.narrow_file and self.a.narrow_window:
            t = time.monotonic()
            if not self.narrow and t - self.narrow_checked > 0.05:
                self.narrow_checked = t
                self.narrow = os.path.exists(self.a.narrow_file)
            if self.narrow:
                window = self.a.narrow_window
        if window:
            base, n = base + window[0], window[1]
        for _ in range(64):
            lba = base + self.rng.randrange(n)
            if lba not in self.busy:
                return lba
        return None

    def under_rate(self):
        """--rate-iops: issue no faster than that on average (0: as fast as it can)."""
        if not self.a.rate_iops:
            return True
        if self.rate_start is None:
            self.rate_start = time.monotonic()
        return self.seq < self.a.rate_iops * (time.monotonic() - self.rate_start) + 1

    def issue(self, h):
        if not self.under_rate():
            return False
        lba = self.pick_lba()
        if lba is None:
            return False
        self.seq += 1
        seq = self.seq
        buf = make_block(self.tag, lba, self.a.writer, seq)
        self.ledger.line(f"I {lba} {seq}\n")
        cookie = h.aio_pwrite(buf, lba * BLOCK)
        self.inflight[cookie] = (lba, seq, time.monotonic())
        self.busy.add(lba)
        return True

    def maybe_flush(self, h):
        iv = self.a.flush_interval
        if not iv or self.flush_inflight or time.monotonic() - self.last_flush_issue < iv:
            return
        self.flush_id += 1
        self.last_flush_issue = time.monotonic()
        self.flush_inflight = (h.aio_flush(), self.flush_id, now_wall())

    def reap_flush(self, h):
        if not self.flush_inflight:
            return None
        cookie, fid, t_issue = self.flush_inflight
        try:
            done = h.aio_command_completed(cookie)
        except nbd.Error as e:
            self.flush_inflight = None
            self.ledger.line(f"FE {fid}\n")
            return f"flush failed: {e}"
        if done:
            self.flush_inflight = None
            self.flushes += 1
            self.ledger.line(f"F {fid} {t_issue:.6f} {now_wall():.6f}\n")
        return None

    def abandon_inflight(self):
        for lba, seq, _ in self.inflight.values():
            self.ledger.line(f"U {lba} {seq}\n")
            self.unknown += 1
        self.inflight.clear()
        self.busy.clear()
        if self.flush_inflight:
            self.ledger.line(f"FU {self.flush_inflight[1]}\n")
            self.flush_inflight = None

    def reap(self, h):
        """Retires completed commands. Returns an error string if the connection is unusable.

        A command that fails while the connection stays up got an error reply from the server
        (counted in `errors`: FAULTS.md NOEIO). Commands failed because the connection died
        have an unknown outcome (counted in `unknown`)."""
        failed = []
        for cookie in list(self.inflight):
            try:
                done = h.aio_command_completed(cookie)
            except nbd.Error as e:
                lba, seq, _ = self.inflight.pop(cookie)
                self.busy.discard(lba)
                failed.append((lba, seq, e))
                continue
            if done:
                lba, seq, _ = self.inflight.pop(cookie)
                self.busy.discard(lba)
                self.note_ack(lba, seq)
        flush_failed = self.reap_flush(h)
        dead = h.aio_is_dead() or h.aio_is_closed()
        for lba, seq, e in failed:
            if dead or getattr(e, "errnum", None) in _CONN_ERRNOS:
                self.ledger.line(f"U {lba} {seq}\n")
                self.unknown += 1
            else:
                self.ledger.line(f"E {lba} {seq}\n")
                self.errors += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(str(e))
        if failed or flush_failed:
            what = f"write failed: {failed[0][2]}" if failed else flush_failed
            return what + (" (connection dead)" if dead else "")
        return "connection dead" if dead else None

    def stalled(self):
        if not self.inflight:
            return False
        oldest = min(t for _, _, t in self.inflight.values())
        last = self.last_ack_mono or oldest
        t = time.monotonic()
        return t - oldest > self.a.op_timeout and t - last > self.a.op_timeout

    def should_stop(self, t_end):
        if _stop:
            return True
        if t_end is not None and time.monotonic() >= t_end:
            return True
        return bool(self.a.stop_file) and os.path.exists(self.a.stop_file)

    def run(self):
        a = self.a
        t_end = time.monotonic() + a.duration if a.duration else None
        h, uri, refusals = connect_any(a.uri, time.monotonic() + a.reconnect_timeout)
        if h is None:
            log(f"no node accepted GO within {a.reconnect_timeout}s: {refusals}")
            return self.finish(1, "initial connect failed")
        log(f"connected to {uri}")
        self.event("go", uri=uri)
        self.uri_history.append((now_wall(), uri))
        if a.ready_file:
            open(a.ready_file, "w").close()
        avoid = None
        while True:
            why = None
            try:
                while not self.should_stop(t_end):
                    while len(self.inflight) < a.qd and self.issue(h):
                        pass
                    self.maybe_flush(h)
                    h.poll(50)
                    why = self.reap(h)
                    if why is None and self.stalled():
                        why = f"no completion for {a.op_timeout}s (hung node)"
                    if why:
                        break
            except nbd.Error as e:
                why = f"connection failed: {e}"
                try:
                    why2 = self.reap(h)
                    why = why if why2 is None else why
                except nbd.Error:
                    pass
            if not why:
                break  # asked to stop
            lost_at = now_wall()
            self.abandon_inflight()
            _drop(h)
            h = None
            self.event("lost", uri=uri, why=why)
            log(f"lost {uri}: {why}; reconnecting")
            rec = {"lost_at": lost_at, "lost_uri": uri, "why": why, "connected_at": None,
                   "uri": None, "first_ack_at": None}
            self.reconnects.append(rec)
            avoid = uri
            h, uri, refusals = connect_any(a.uri, time.monotonic() + a.reconnect_timeout,
                                           avoid=avoid)
            rec["refusals"] = refusals
            if h is None and _stop:
                return self.finish(0, "stopped while reconnecting")
            if h is None:
                log(f"no node accepted GO within {a.reconnect_timeout}s: {refusals}")
                return self.finish(1, "reconnect failed")
            rec["connected_at"] = now_wall()
            rec["uri"] = uri
            self.event("go", uri=uri, refusals=refusals)
            self.uri_history.append((rec["connected_at"], uri))
            log(f"GO accepted by {uri} {rec['connected_at'] - lost_at:.3f}s after the loss "
                f"(refusals: {refusals})")
        # Stop: drain what is in flight, bounded.
        drain_end = time.monotonic() + a.drain_timeout
        try:
            while self.inflight and time.monotonic() < drain_end:
                h.poll(50)
                if self.reap(h):
                    break
        except nbd.Error:
            pass
        self.abandon_inflight()
        try:
            h.shutdown()
        except nbd.Error:
            pass
        _drop(h)
        return self.finish(0, "stopped")

    def finish(self, rc, why):
        self.ledger.close()
        self.event("stopped", why=why)
        s = {
            "result": why, "writes_issued": self.seq, "acked": self.acks, "errors": self.errors,
            "error_samples": self.error_samples, "unknown": self.unknown, "flushes": self.flushes, "distinct_lbas_acked": len(self.distinct),
            "max_ack_gap_s": round(self.max_gap, 6), "max_ack_gap_from": self.max_gap_from,
            "max_ack_gap_to": self.max_gap_to, "reconnects": self.reconnects,
            "uri_history": self.uri_history, "last_ack_at": self.last_ack_wall,
        }
        if self.a.summary:
            with open(self.a.summary, "w") as f:
                json.dump(s, f, indent=1)
        log(f"{why}: issued {self.seq}, acked {self.acks}, errors {self.errors}, unknown "
            f"{self.unknown}, reconnects {len(self.reconnects)}, longest ack gap "
            f"{self.max_gap:.3f}s")
        return rc


# ---------------------------------------------------------------------------------------------
# verify mode.

def _read_nbd(uris, first, count, timeout, sink):
    """Reads blocks [first, first+count) from whichever URI accepts GO; sink(lba, bytes).
    Returns (source description, error or None)."""
    h, uri, refusals = connect_any(uris, time.monotonic() + timeout)
    if h is None:
        return None, f"no node accepted GO within {timeout}s: {refusals}"
    chunk, reads, pos, end = 64, {}, first, first + count
    try:
        while pos < end or reads:
            while pos < end and len(reads) < 8:
                n = min(chunk, end - pos)
                buf = nbd.Buffer(n * BLOCK)
                reads[h.aio_pread(buf, pos * BLOCK)] = (pos, n, buf)
                pos += n
            h.poll(1000)
            for ck in list(reads):
                if h.aio_command_completed(ck):
                    at, n, buf = reads.pop(ck)
                    data = bytes(buf.to_bytearray())
                    for i in range(n):
                        sink(at + i, data[i * BLOCK:(i + 1) * BLOCK])
    except nbd.Error as e:
        return uri, f"reading from {uri} failed: {e}"
    finally:
        try:
            h.shutdown()
        except nbd.Error:
            pass
        _drop(h)
    return uri, None


def _read_image(path, first, count, sink):
    with open(path, "rb") as f:
        f.seek(first * BLOCK)
        for i in range(count):
            buf = f.read(BLOCK)
            if len(buf) != BLOCK:
                return path, f"{path}: short read at LBA {first + i}"
            sink(first + i, buf)
    return path, None


def cmd_verify(a):
    acked, issued = read_ledgers(a.ledger)
    tag = tag_bytes(a.tag)
    counts = dict(blocks=0, zero_unwritten=0, equal_acked=0, newer_than_acked=0,
                  written_unacked=0, lost=0, stale=0, torn_or_garbage=0, misplaced=0,
                  never_issued=0)
    bad = []

    def check(lba, buf):
        counts["blocks"] += 1
        want = acked.get(lba)
        kind, info = parse_block(buf)
        if kind == "zero":
            if want:
                counts["lost"] += 1
                bad.append(f"LBA {lba}: all zeroes, but writer {want[0]} seq {want[1]} was acked")
            else:
                counts["zero_unwritten"] += 1
            return
        if kind == "bad":
            counts["torn_or_garbage"] += 1
            bad.append(f"LBA {lba}: {info}")
            return
        btag, blba, bwriter, bseq = info
        if btag != tag or blba != lba:
            counts["misplaced"] += 1
            bad.append(f"LBA {lba}: holds the block for tag {btag.rstrip(bytes(1))!r} LBA {blba}")
            return
        if (bwriter, bseq) not in issued.get(lba, ()):
            counts["never_issued"] += 1
            bad.append(f"LBA {lba}: writer {bwriter} seq {bseq} was never issued to this LBA")
            return
        if want is None:
            counts["written_unacked"] += 1
        elif bwriter != want[0]:
            counts["stale"] += 1
            bad.append(f"LBA {lba}: writer {bwriter} seq {bseq}, but writer {want[0]} seq "
                       f"{want[1]} was acked")
        elif bseq < want[1]:
            counts["stale"] += 1
            bad.append(f"LBA {lba}: seq {bseq} is older than the acked seq {want[1]} (ACK/MONO)")
        elif bseq == want[1]:
            counts["equal_acked"] += 1
        else:
            counts["newer_than_acked"] += 1

    if a.image:
        src, err = _read_image(a.image, a.lba_base, a.lbas, check)
    else:
        src, err = _read_nbd(a.uri, a.lba_base, a.lbas, a.reconnect_timeout, check)
    if err:
        print(f"verify: {err}")
        return 1
    counts["acked_lbas_in_ledger"] = sum(
        1 for lba in acked if a.lba_base <= lba < a.lba_base + a.lbas)
    violations = (counts["lost"] + counts["stale"] + counts["torn_or_garbage"] +
                  counts["misplaced"] + counts["never_issued"])
    counts["violations"] = violations
    print(f"verify {src}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for b in bad[:20]:
        print("  VIOLATION " + b)
    if len(bad) > 20:
        print(f"  ... and {len(bad) - 20} more")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(counts, source=src, first_violations=bad[:50]), f, indent=1)
    return 1 if violations else 0


# ---------------------------------------------------------------------------------------------
# probe mode.

def cmd_probe(a):
    out = {"uri": a.uri[0], "connected": False, "refusal": None, "acked": 0, "failed": 0,
           "pending": 0, "errors": []}
    h, uri, refusals = connect_any(a.uri[:1], time.monotonic() + a.connect_timeout,
                                   attempt_s=a.connect_timeout)
    if h is None:
        out["refusal"] = refusals.get(a.uri[0], "no answer")
        if a.uri[0] + " message" in refusals:
            out["refusal"] += ": " + refusals[a.uri[0] + " message"]
        print(json.dumps(out))
        return 0
    out["connected"] = True
    if a.ready_file:
        open(a.ready_file, "w").close()
    if a.trigger_file:
        end = time.monotonic() + a.trigger_timeout
        while not os.path.exists(a.trigger_file) and time.monotonic() < end and not _stop:
            time.sleep(0.01)
        if not os.path.exists(a.trigger_file):
            out["refusal"] = "trigger file never appeared"
            print(json.dumps(out))
            return 1
    ledger = Ledger(a.ledger)
    ledger.line(f"W {a.writer}\n")
    tag = tag_bytes(a.tag)
    inflight = {}
    out["issued_at"] = now_wall()
    try:
        for i in range(a.count):
            lba = a.lba_base + i % a.lbas
            seq = a.seq_base + i
            ledger.line(f"I {lba} {seq}\n")
            inflight[h.aio_pwrite(make_block(tag, lba, a.writer, seq), lba * BLOCK)] = (lba, seq)
    except nbd.Error as e:
        out["errors"].append(f"issue: {e}")
    end = time.monotonic() + a.wait
    try:
        while inflight and time.monotonic() < end:
            h.poll(50)
            for ck in list(inflight):
                try:
                    done = h.aio_command_completed(ck)
                except nbd.Error as e:
                    lba, seq = inflight.pop(ck)
                    out["failed"] += 1
                    ledger.line(f"E {lba} {seq}\n")
                    if len(out["errors"]) < 5:
                        out["errors"].append(str(e))
                    continue
                if done:
                    lba, seq = inflight.pop(ck)
                    out["acked"] += 1
                    out.setdefault("acked_at", now_wall())
                    ledger.line(f"A {lba} {seq} {now_wall():.6f}\n")
            if h.aio_is_dead() or h.aio_is_closed():
                break
    except nbd.Error as e:
        out["errors"].append(f"connection: {e}")
    # What never completed (or died with the connection) is unknown.
    for lba, seq in inflight.values():
        ledger.line(f"U {lba} {seq}\n")
    out["pending"] = len(inflight)
    ledger.close()
    _drop(h)
    print(json.dumps(out))
    return 0


def _window(text):
    start, _, count = text.partition(":")
    return int(start), int(count)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["write", "verify", "probe"])
    p.add_argument("--uri", action="append", default=[],
                   help="NBD URI of a node (repeat for every node)")
    p.add_argument("--ledger", action="append", required=True,
                   help="ledger file (write/probe: appended; verify: repeatable)")
    p.add_argument("--tag", default="vm1")
    p.add_argument("--writer", type=int, default=1)
    p.add_argument("--lba-base", type=int, default=0)
    p.add_argument("--lbas", type=int, default=4096, help="number of 4 KiB blocks in the range")
    p.add_argument("--qd", type=int, default=16)
    p.add_argument("--rate-iops", type=float, default=0.0,
                   help="write: issue at most this many writes per second on average (0: no limit)")
    p.add_argument("--flush-interval", type=float, default=0.0,
                   help="write: send a FLUSH every S seconds (0: never)")
    p.add_argument("--narrow-file", help="write: once this file exists, use --narrow-window")
    p.add_argument("--narrow-window", type=_window, help="write: START:COUNT blocks")
    p.add_argument("--after-loss-window", type=_window,
                   help="write: START:COUNT blocks from the first lost connection on")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--stop-file")
    p.add_argument("--ready-file")
    p.add_argument("--summary")
    p.add_argument("--json")
    p.add_argument("--events", help="write: JSON lines on connect/loss/first ack after reconnect")
    p.add_argument("--image", help="verify: read this image file instead of NBD (a node's copy)")
    p.add_argument("--op-timeout", type=float, default=1.0)
    p.add_argument("--reconnect-timeout", type=float, default=30.0)
    p.add_argument("--drain-timeout", type=float, default=5.0)
    p.add_argument("--trigger-file")
    p.add_argument("--trigger-timeout", type=float, default=60.0)
    p.add_argument("--connect-timeout", type=float, default=2.0)
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--seq-base", type=int, default=1)
    p.add_argument("--wait", type=float, default=5.0)
    a = p.parse_args()
    if not a.uri and not (a.mode == "verify" and a.image):
        p.error("--uri is required (verify: or --image)")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if a.mode == "write":
        for w in (a.narrow_window, a.after_loss_window):
            if w and (w[0] < 0 or w[1] <= 0 or w[0] + w[1] > a.lbas):
                p.error(f"window {w} is not inside the {a.lbas} blocks of the range")
        if len(a.ledger) != 1:
            p.error("write takes one --ledger")
        a.ledger = a.ledger[0]
        return Writer(a).run()
    if a.mode == "verify":
        return cmd_verify(a)
    if len(a.ledger) != 1:
        p.error("probe takes one --ledger")
    a.ledger = a.ledger[0]
    return cmd_probe(a)


if __name__ == "__main__":
    sys.exit(main())
