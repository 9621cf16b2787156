#!/usr/bin/python3
"""Samples resync progress from every node's node-status.json until SIGTERM.

node-status.json is rewritten about every 0.5 s; this reads each file every 50 ms and keeps,
per (reporting primary -> target node, volume): the largest bytes_done + bytes_remaining (what
the resync had to copy), the last bytes_done seen, whether it was a full copy, and how many
samples showed it. The result is rewritten atomically to OUT (a JSON list) after every pass.

Usage: resync_sampler.py OUT IDS NODE_STATUS_JSON...
IDS: the node ids in cluster.toml order, comma separated (resyncs[].node is an index into it).
"""
import json
import os
import signal
import sys
import time

out, ids, files = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
seen = {}


def dump():
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(list(seen.values()), f, indent=1)
    os.replace(tmp, out)


while not stop:
    for path in files:
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            continue  # not written yet, or caught mid-rename
        for v in d.get("volumes", []):
            for r in v.get("resyncs", []) or []:
                t = r.get("node")
                t = ids[t] if isinstance(t, int) and 0 <= t < len(ids) else t
                key = f"{d.get('node')}->{t}/{v.get('name')}"
                e = seen.setdefault(key, {"key": key, "total_max": 0, "done_last": 0,
                                          "full": False, "samples": 0})
                done, rem = int(r.get("bytes_done", 0)), int(r.get("bytes_remaining", 0))
                e["total_max"] = max(e["total_max"], done + rem)
                e["done_last"] = done
                e["full"] = e["full"] or bool(r.get("full"))
                e["samples"] += 1
    dump()
    time.sleep(0.05)
dump()
