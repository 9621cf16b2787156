#!/usr/bin/env python3
# Turns one bench/run.sh results directory (fio JSON + server CPU samples) into the comparison
# table: per workload and server IOPS, MB/s, p99 latency, server CPU seconds per GiB moved, and
# firebreak/peer ratios (and firebreak-attach/firebreak-repl when both ran). Medians over
# rounds. Also writes summary.json next to the inputs.
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
    attaches = [s for s in ("firebreak-attach", "firebreak-attach-unix") if s in servers]
    if attaches and "firebreak-repl" in servers:
        print()
        print("firebreak-attach / firebreak-repl: the same 2-node cluster through `firebreak "
              "attach` vs straight to the primary (IOPS and MB/s: >1 is better; p99: <1 is better; "
              "CPU/GiB counts attach + n1 against n1 alone). Target: IOPS >= 0.90 on b and c.")
        hdr = f"{'workload':<22} {'through':<22} {'IOPS':>8} {'MB/s':>8} {'p99':>8} {'CPU/GiB':>8}"
        print(hdr)
        print("-" * len(hdr))
        for w in meta["workloads"]:
            straight = summary.get(w, {}).get("firebreak-repl")
            for s in attaches:
                via = summary.get(w, {}).get(s)
                if not via or not straight:
                    continue
                rs = [ratio(via[m], straight[m]) for m in ("iops", "mbps", "p99_us", "cpu_s_per_gib")]
                print(f"{w + ' ' + WORKLOAD_NAMES.get(w, ''):<22} {s:<22} "
                      + " ".join(f"{fmt(r, '8.2f')}" for r in rs))
    print()
    print("Compare ratios within this run only; absolute numbers drift between runs "
          "(docs/ANCHORS.md).")
    json.dump({"meta": meta, "summary": summary}, open(os.path.join(d, "summary.json"), "w"),
              indent=1)


if __name__ == "__main__":
    main()
