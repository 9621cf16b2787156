#!/usr/bin/python3
# Shadow-model stress through libnbd: 4 connections, each owning a disjoint 16 MiB range, run
# random writes, zeroes, FUA writes, flushes and reads of mixed sizes (512 B to 2 MiB, aligned
# and unaligned, so both a server's small buffered path and its large aligned path get hit and
# overlap) with up to 8 requests in flight, and check every read, and finally every byte, against
# an in-memory copy. Half the connections use simple replies, half structured. Run by
# test_nbdsh_model.sh (URI in the environment). Seeded: MODEL_SEED.
import os
import random
import signal
import sys
import threading

import nbd

URI = os.environ["URI"]
SEED = int(os.environ.get("MODEL_SEED", "0")) or random.randrange(1, 1 << 30)
OPS = int(os.environ.get("MODEL_OPS", "600"))
CONNS = 4
REGION = 16 << 20
MiB = 1 << 20
SIZES = [512, 1000, 4096, 4096 + 512, 8192, 65536, 65536 + 100, MiB, 2 * MiB + 4096]
signal.alarm(int(os.environ.get("MODEL_TIMEOUT_S", "90")))
failures = []
lock = threading.Lock()


def fail(msg):
    with lock:
        print(f"FAIL: {msg}", flush=True)
        failures.append(msg)


def overlaps(a, b):
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def worker(k, rng):
    try:
        run_worker(k, rng)
    except Exception as e:  # noqa: BLE001 - any client-side error fails the test
        fail(f"seed {SEED} conn {k}: {e!r}")


def run_worker(k, rng):
    h = nbd.NBD()
    # Odd connections ask for simple replies: a READ's data then follows a 16-byte header
    # instead of a structured chunk's, and a server must frame both right.
    h.set_request_structured_replies(k % 2 == 0)
    h.connect_uri(URI)
    base = k * REGION
    shadow = bytearray(REGION)
    h.zero(REGION, base)
    inflight = {}   # cookie -> (kind, rel_off, length, buffer/expected)
    stats = {"write": 0, "zero": 0, "read": 0, "flush": 0}

    def reap(block):
        if block:
            h.poll(-1)
        for ck in list(inflight):
            if h.aio_command_completed(ck):
                kind, off, n, extra = inflight.pop(ck)
                got = bytes(extra[0].to_bytearray()) if kind == "read" else None
                if kind == "read" and got != extra[1]:
                    first = next(i for i in range(n) if got[i] != extra[1][i])
                    fail(f"seed {SEED} conn {k}: read {n} at +{off}: first bad byte at "
                         f"+{off + first} got {got[first]:#x} want {extra[1][first]:#x}")

    for i in range(OPS):
        n = rng.choice(SIZES)
        off = rng.randrange(0, REGION - n)
        if rng.random() < 0.5:
            off -= off % 4096   # half the requests aligned, half not
        r = rng.random()
        # Never overlap a request still in flight (its order would be undefined).
        while any(overlaps((off, n), (o, l)) for _, o, l, _ in inflight.values()) or \
                len(inflight) >= 8:
            reap(True)
        if r < 0.45:
            data = bytes([rng.randrange(1, 256)]) * n
            flags = nbd.CMD_FLAG_FUA if rng.random() < 0.1 else 0
            ck = h.aio_pwrite(data, base + off, flags=flags)
            shadow[off:off + n] = data
            inflight[ck] = ("write", off, n, None)
            stats["write"] += 1
        elif r < 0.55:
            flags = nbd.CMD_FLAG_NO_HOLE if rng.random() < 0.5 else 0
            ck = h.aio_zero(n, base + off, flags=flags)
            shadow[off:off + n] = bytes(n)
            inflight[ck] = ("zero", off, n, None)
            stats["zero"] += 1
        elif r < 0.6:
            while inflight:
                reap(True)
            h.flush()
            stats["flush"] += 1
        else:
            buf = nbd.Buffer(n)
            ck = h.aio_pread(buf, base + off)
            inflight[ck] = ("read", off, n, (buf, bytes(shadow[off:off + n])))
            stats["read"] += 1
        reap(False)
        if failures:
            break
    while inflight:
        reap(True)
    h.flush()
    got = b"".join(h.pread(MiB, base + o) for o in range(0, REGION, MiB))
    if got != bytes(shadow):
        first = next(i for i in range(REGION) if got[i] != shadow[i])
        fail(f"seed {SEED} conn {k}: final image differs first at +{first}")
    else:
        with lock:
            print(f"ok: conn {k}: {stats} and the final 16 MiB match the model", flush=True)
    h.shutdown()


def main():
    print(f"# seed {SEED} (MODEL_SEED={SEED} replays the same ops), {OPS} ops x {CONNS} connections",
          flush=True)
    threads = [threading.Thread(target=worker, args=(k, random.Random(SEED * 100 + k)))
               for k in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
