#!/usr/bin/env python3
# Turns one bench/run.sh results directory (fio JSON + server CPU samples) into the comparison
# table: per workload and server IOPS, MB/s, p99 latency, server CPU seconds per GiB moved, and
# firebreak/peer ratios, firebreak-repl/firebreak (replication's cost) and
# firebreak-attach/firebreak-repl (attach's cost) when both sides ran. Medians over rounds, and
# for the cluster pairs also each round's own ratio (the two sides ran back to back, so a
# round's ratio is less exposed to machine drift). Also writes summary.json next to the inputs.
# Usage: bench/report.py RESULTS_DIR
import glob
import json
import os
import statistics
import sys

WORKLOAD_NAMES = {
    "a": "4k randread QD1",
    "b": "4k randread QD32",
    "c": "4k randwrite QD32",
    "d": "4k write+flush QD1",
    "e": "1M seq write QD8",
    "f": "1M seq read QD8",
}
PEERS = ("nbdkit", "qemu-nbd")


def load_fio(path):
    text = open(path).read()
    return json.loads(text[text.index("{"):])  # the nbd engine may print a line first


def one_job(fio_path, cpu_path):
    job = load_fio(fio_path)["jobs"][0]
    cpu = json.load(open(cpu_path))
    r, w = job["read"], job["write"]
    main = w if w["io_bytes"] > r["io_bytes"] else r
    pct = main["clat_ns"].get("percentile", {})
    p99_ns = pct.get("99.000000")
    sync = job.get("sync", {})
    flush_p99_ns = (sync.get("lat_ns", {}).get("percentile", {}).get("99.000000")
                    if sync.get("total_ios") else None)
    io_bytes = r["io_bytes"] + w["io_bytes"]
    # CPU over the measured window only (after the ramp), against the bytes fio counted in it.
    cpu_s = (cpu["ticks_end"] - cpu["ticks_ramp_end"]) / cpu["clk_tck"]
    return {
        "round": cpu["round"],
        "iops": r["iops"] + w["iops"],
        "mbps": (r["bw_bytes"] + w["bw_bytes"]) / 1e6,
        "p99_us": p99_ns / 1000 if p99_ns else None,
        "flush_p99_us": flush_p99_ns / 1000 if flush_p99_ns else None,
        "cpu_s": cpu_s,
        "cpu_s_per_gib": cpu_s / (io_bytes / 2**30) if io_bytes else None,
        "io_bytes": io_bytes,
        "error": job["error"],
    }


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    width = int(spec.split(".")[0] or 0)
    return "-".rjust(width) if x is None else format(x, spec)


def ratio(a, b):
    return None if a is None or not b else a / b


def pair_table(meta, runs, summary, base, others, title, via_is_numerator=False):
    """Ratios of one server against another, per workload: `others[i] / base` when
    via_is_numerator, else `base / others[i]`. IOPS, MB/s and CPU/GiB as ratios of medians,
    then the IOPS ratio of each round (both sides from the same round)."""
    pairs = [(o, base) if via_is_numerator else (base, o) for o in others
             if o in meta["servers"] and base in meta["servers"]]
    if not pairs:
        return
    print()
    print(title + " (IOPS and MB/s: >1 is better; p99 and CPU/GiB: <1 is better)")
    hdr = (f"{'workload':<22} {'ratio':<40} {'IOPS':>6} {'MB/s':>6} {'p99':>6} {'CPU/GiB':>8}"
           f"  IOPS per round")
    print(hdr)
    print("-" * len(hdr))
    for w in meta["workloads"]:
        for num, den in pairs:
            a, b = summary.get(w, {}).get(num), summary.get(w, {}).get(den)
            if not a or not b:
                continue
            rs = [ratio(a[m], b[m]) for m in ("iops", "mbps", "p99_us", "cpu_s_per_gib")]
            by_round = {j["round"]: j["iops"] for j in runs.get((w, den), [])}
            per_round = [ratio(j["iops"], by_round.get(j["round"]))
                         for j in sorted(runs.get((w, num), []), key=lambda j: j["round"])]
            print(f"{w + ' ' + WORKLOAD_NAMES.get(w, ''):<22} {num + ' / ' + den:<40} "
                  + " ".join(f"{fmt(r, '6.2f')}" for r in rs[:3]) + f" {fmt(rs[3], '8.2f')}  "
                  + " ".join(fmt(r, ".2f") for r in per_round))


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, "meta.json")))
    runs = {}
    for cpu_path in sorted(glob.glob(os.path.join(d, "r*-*-*.cpu.json"))):
        cpu = json.load(open(cpu_path))
        fio_path = cpu_path[: -len(".cpu.json")] + ".json"
        if not os.path.exists(fio_path):
            continue
        runs.setdefault((cpu["workload"], cpu["server"]), []).append(one_job(fio_path, cpu_path))
    summary = {}
    for (w, s), js in runs.items():
        summary.setdefault(w, {})[s] = {k: median([j[k] for j in js])
                                        for k in ("iops", "mbps", "p99_us", "flush_p99_us",
                                                  "cpu_s_per_gib")}
        summary[w][s]["rounds"] = len(js)
    servers = [s for s in meta["servers"]]
    print(f"FireBreak A/B benchmark, {meta['date_utc']}: fio nbd engine, 1 connection, "
          f"{meta['runtime']} s + {meta['ramp']} s ramp, {meta['size'] >> 20} MiB image, "
          f"{meta['transport']}, warm={meta['warm']}, rounds={meta['rounds']} (medians), "
          f"{meta['nproc']} CPUs, kernel {meta['kernel']}")
    print(f"versions: {meta['versions']}")
    print()
    hdr = (f"{'workload':<22} {'server':<21} {'IOPS':>9} {'MB/s':>8} {'p99 us':>9} "
           f"{'flush p99':>10} {'CPU s/GiB':>10}")
    print(hdr)
    print("-" * len(hdr))
    for w in meta["workloads"]:
        for s in servers:
            m = summary.get(w, {}).get(s)
            if not m:
                continue
            print(f"{w + ' ' + WORKLOAD_NAMES.get(w, ''):<22} {s:<21} {fmt(m['iops'], '9.0f')} "
                  f"{fmt(m['mbps'], '8.1f')} {fmt(m['p99_us'], '9.0f')} "
                  f"{fmt(m['flush_p99_us'], '10.0f')} {fmt(m['cpu_s_per_gib'], '10.2f')}")
    peers = [p for p in PEERS if p in servers]
    if "firebreak" in servers and peers:
        print()
        print("firebreak / peer ratios (IOPS and MB/s: >1 is better; p99 and CPU/GiB: <1 is "
              "better). 'best' = the best peer on that metric.")
        cols = [f"vs {p}" for p in peers] + ["vs best"]
        hdr = f"{'workload':<22} {'metric':<10} " + " ".join(f"{c:>12}" for c in cols)
        print(hdr)
        print("-" * len(hdr))
        for w in meta["workloads"]:
            fb = summary.get(w, {}).get("firebreak")
            if not fb:
                continue
            for metric, higher_better in (("iops", True), ("p99_us", False),
                                          ("flush_p99_us", False), ("cpu_s_per_gib", False)):
                vals = [summary.get(w, {}).get(p, {}).get(metric) for p in peers]
                present = [v for v in vals if v is not None]
                if fb.get(metric) is None:
                    continue
                best = (max(present) if higher_better else min(present)) if present else None
                rs = [ratio(fb[metric], v) for v in vals] + [ratio(fb[metric], best)]
                label = {"iops": "IOPS", "p99_us": "p99", "flush_p99_us": "flush p99",
                         "cpu_s_per_gib": "CPU/GiB"}[metric]
                print(f"{w + ' ' + WORKLOAD_NAMES.get(w, ''):<22} {label:<10} "
                      + " ".join(f"{fmt(r, '12.2f')}" for r in rs))
    pair_table(meta, runs, summary, "firebreak-repl", ["firebreak"],
               "firebreak-repl / firebreak: every write mirrored to a second node before its ack "
               "vs the same server unreplicated. Target: IOPS >= 0.60 on c, reads unchanged.")
    pair_table(meta, runs, summary, "firebreak-repl", ["firebreak-attach", "firebreak-attach-unix"],
               "firebreak-attach / firebreak-repl: the same 2-node cluster through `firebreak "
               "attach` vs straight to the primary (CPU/GiB counts attach + the primary against the primary alone). "
               "Target: IOPS >= 0.90 on b and c.", via_is_numerator=True)
    print()
    print("Compare ratios within this run only; absolute numbers drift between runs "
          "(docs/ANCHORS.md).")
    json.dump({"meta": meta, "summary": summary}, open(os.path.join(d, "summary.json"), "w"),
              indent=1)


if __name__ == "__main__":
    main()
