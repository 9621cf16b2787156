#!/usr/bin/python3
# Backpressure: one connection sends BP_COUNT (default 200) 32 MiB WRITE requests back to back
# (6.4 GiB declared) without reading a reply, while the server's RSS is sampled from
# /proc/PID/status and a second client keeps reading. The RSS must stay under BP_RSS_MAX_MIB
# (default 1024) and the second client must be served throughout. Then every reply is read
# (all successes, cookies one-to-one) and the data is checked.
# Run by test_backpressure.sh, which starts the server and passes HOST/PORT/EXPORT/URI/PIDS.
import os
import signal
import socket
import struct
import sys
import threading
import time

import nbd

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ["PORT"])
EXPORT = os.environ.get("EXPORT", "vm1").encode()
URI = os.environ["URI"]
PIDS = [int(p) for p in os.environ["PIDS"].split()]
COUNT = int(os.environ.get("BP_COUNT", "200"))
RSS_MAX_KIB = int(os.environ.get("BP_RSS_MAX_MIB", "1024")) * 1024
FLOOD_DEADLINE_S = float(os.environ.get("BP_DEADLINE_S", "80"))
READ_MAX_S = 5.0
MiB = 1 << 20
CHUNK = 32 * MiB
SLOTS = 8  # the writes cycle over [0, 256 MiB)
signal.alarm(int(FLOOD_DEADLINE_S) + 30)
failures = []


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    failures.append(msg)


def rss_kib():
    total = 0
    for p in PIDS:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise ConnectionError(f"EOF after {len(buf)}/{n} bytes")
        buf += b
    return bytes(buf)


def handshake():
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.settimeout(10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    recv_exact(s, 18)
    s.sendall(struct.pack(">I", 3))
    data = struct.pack(">I", len(EXPORT)) + EXPORT + struct.pack(">H", 0)
    s.sendall(struct.pack(">QII", 0x49484156454F5054, 7, len(data)) + data)
    while True:
        _, _, rtype, ln = struct.unpack(">QIII", recv_exact(s, 20))
        recv_exact(s, ln)
        if rtype == 1:
            return s
        if rtype & (1 << 31):
            raise ConnectionError(f"GO refused: {rtype:#x}")


flood = {"sent": 0, "done": False, "error": None, "t": 0.0}


def flooder(s, payload):
    t0 = time.monotonic()
    try:
        for i in range(COUNT):
            hdr = struct.pack(">IHHQQI", 0x25609513, 0, 1, 0x10000 + i, (i % SLOTS) * CHUNK, CHUNK)
            s.sendall(hdr)
            s.sendall(payload)      # blocks while the server applies backpressure
            flood["sent"] = i + 1
    except OSError as e:
        flood["error"] = repr(e)
    flood["t"] = time.monotonic() - t0
    flood["done"] = True


reader = {"reads": 0, "max_s": 0.0, "error": None}


def second_client(stop):
    try:
        h = nbd.NBD()
        h.connect_uri(URI)
        while not stop.is_set():
            t0 = time.monotonic()
            h.pread(4096, 300 * MiB)
            dt = time.monotonic() - t0
            reader["reads"] += 1
            reader["max_s"] = max(reader["max_s"], dt)
            time.sleep(0.02)
        h.shutdown()
    except Exception as e:  # noqa: BLE001 - report whatever the client saw
        reader["error"] = repr(e)


def read_flood():
    """The read side: BP_COUNT 32 MiB READs pipelined by a client that reads no reply (and has
    a tiny receive buffer). The server must stop reading requests rather than queue 6.4 GiB of
    replies, and keep serving a second client."""
    base = rss_kib()
    s = handshake()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(1)
    sent = 0
    t0 = time.monotonic()
    try:
        for i in range(COUNT):
            s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 0x20000 + i, (i % SLOTS) * CHUNK,
                                  CHUNK))
            sent += 1
    except socket.timeout:
        pass  # the server stopped reading requests: backpressure
    peak = base
    for _ in range(30):
        peak = max(peak, rss_kib())
        time.sleep(0.05)
    h = nbd.NBD()
    h.connect_uri(URI)
    t1 = time.monotonic()
    h.pread(4096, 300 * MiB)
    dt = time.monotonic() - t1
    h.shutdown()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print(f"read flood: {sent}/{COUNT} x 32 MiB READs sent in {time.monotonic() - t0:.1f} s "
          f"with no reply read; server RSS base {base // 1024} MiB, peak {peak // 1024} MiB; "
          f"a second client's read took {dt * 1000:.0f} ms", flush=True)
    if peak > RSS_MAX_KIB:
        fail(f"read flood: server RSS peaked at {peak // 1024} MiB > {RSS_MAX_KIB // 1024} MiB")
    if dt > READ_MAX_S:
        fail(f"read flood: the second client waited {dt:.1f} s for a 4 KiB read")


def main():
    payload = memoryview(b"\xa7" * CHUNK)
    base_rss = rss_kib()
    s = handshake()
    s.settimeout(FLOOD_DEADLINE_S)   # a send blocked longer than this fails the test
    stop = threading.Event()
    t_flood = threading.Thread(target=flooder, args=(s, payload), daemon=True)
    t_read = threading.Thread(target=second_client, args=(stop,), daemon=True)
    t_flood.start()
    t_read.start()
    peak, samples, t0 = base_rss, 0, time.monotonic()
    while not flood["done"] and time.monotonic() - t0 < FLOOD_DEADLINE_S:
        peak = max(peak, rss_kib())
        samples += 1
        time.sleep(0.02)
    # Let the server drain what it has buffered, still sampling.
    t_drain = time.monotonic()
    replies, errors, cookies = 0, 0, set()
    s.settimeout(30)
    try:
        while replies < flood["sent"]:
            magic, err, ck = struct.unpack(">IIQ", recv_exact(s, 16))
            if magic != 0x67446698:
                fail(f"reply magic {magic:#x}")
                break
            replies += 1
            errors += err != 0
            cookies.add(ck)
            peak = max(peak, rss_kib())
    except OSError as e:
        fail(f"reading the replies: {e!r} after {replies}")
    stop.set()
    t_read.join(10)
    print(f"flood: {flood['sent']}/{COUNT} x 32 MiB sent in {flood['t']:.1f} s "
          f"({flood['sent'] * 32 / max(flood['t'], 1e-3):.0f} MiB/s), replies {replies} "
          f"(errors {errors}) drained in {time.monotonic() - t_drain:.1f} s", flush=True)
    print(f"server RSS: base {base_rss // 1024} MiB, peak {peak // 1024} MiB over {samples} "
          f"samples (bound {RSS_MAX_KIB // 1024} MiB)", flush=True)
    print(f"second client: {reader['reads']} reads, slowest {reader['max_s'] * 1000:.0f} ms",
          flush=True)
    if flood["error"]:
        fail(f"flood connection failed: {flood['error']} after {flood['sent']} writes")
    if flood["sent"] < COUNT:
        fail(f"only {flood['sent']} of {COUNT} writes sent within {FLOOD_DEADLINE_S:.0f} s")
    if peak > RSS_MAX_KIB:
        fail(f"server RSS peaked at {peak // 1024} MiB > {RSS_MAX_KIB // 1024} MiB")
    if errors or replies != flood["sent"] or len(cookies) != replies:
        fail(f"replies: {replies} for {flood['sent']} writes, {errors} errors, "
             f"{len(cookies)} distinct cookies")
    if reader["error"]:
        fail(f"second client failed during the flood: {reader['error']}")
    elif reader["reads"] < 5 or reader["max_s"] > READ_MAX_S:
        fail(f"second client starved: {reader['reads']} reads, slowest {reader['max_s']:.1f} s")
    s.close()
    read_flood()
    h = nbd.NBD()
    h.connect_uri(URI)
    for slot in range(SLOTS):
        if h.pread(4096, slot * CHUNK + CHUNK - 4096) != b"\xa7" * 4096:
            fail(f"data of slot {slot} wrong after the flood")
    h.shutdown()
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
