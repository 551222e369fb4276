#!/usr/bin/env python3
"""Turns bench/run's raw figures (target/bench/results.tsv: kind, target, round, value)
into the summary table (Markdown on stdout): medians over the interleaved rounds, ratios
taken round by round (both sides of a ratio saw the same moment's noise), and each
issue 10 target marked met or not.

Usage: summarize.py RESULTS_TSV
"""
import collections
import os
import platform
import statistics
import subprocess
import sys

TARGET_RATIO = {"system": 0.8, "patient": 0.5, "cache": 1.5}
TARGET_ADDED_P50_MS = 0.3
TARGET_ADDED_P99_MS = 2.0
LABELS = {
    "nginx": "(a) nginx proxy_pass",
    "system": "(b) fhirgate, system/ token",
    "patient": "(b) fhirgate, patient/ token (post-filter)",
    "cache": "(c) fhirgate, cache hit",
    "floor": "(d) stack floor: bare axum + reqwest pass-through",
    "static": "(e) stack floor: bare axum, the Bundle from memory",
}
# Every target of the proxy section, in table order; (d) and (e) only with the floor.
PROXY_TARGETS = ("nginx", "system", "patient", "cache", "floor", "static")
# fhirgate's target against the floor that does the same hop without fhirgate's work.
FLOOR_OF = {"system": "floor", "patient": "floor", "cache": "static"}


def round_ratio(a, b):
    """Median over rounds of a[r] / b[r] (both measured in the same round)."""
    ratios = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    return statistics.median(ratios) if ratios else None


def floor_note(p, rows, nginx):
    """What the crates fhirgate is built on reach with none of its work, against the targets."""
    for t, floor in FLOOR_OF.items():
        v, f = floats(rows, "rps", t), floats(rows, "rps", floor)
        if not v or not f:
            continue
        floor_ratio = round_ratio(f, nginx)
        share = round_ratio(v, f)
        if floor_ratio is None or share is None:
            continue
        goal = TARGET_RATIO[t]
        verdict = ("above what the stack reaches with no work at all: no change to fhirgate's own "
                   "work can meet it" if floor_ratio < goal else
                   "within what the stack reaches: fhirgate's own work per request is what stands "
                   "in the way")
        p(f"- {LABELS[t]} reaches {share:.2f}× of its floor {LABELS[floor][:3]}, which itself "
          f"reaches {floor_ratio:.2f}× nginx; the goal {goal:.1f}× nginx is {verdict}.")
    p("")


def load(path):
    rows = collections.defaultdict(dict)
    info = {}
    mappings = []
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        kind, target, rnd, value = parts
        if kind == "info":
            info[(target, rnd)] = value
        elif kind == "mappings":
            mappings.append((target, value))
        else:
            rows[(kind, target)].setdefault(rnd, []).append(value)
    return rows, info, mappings


def floats(rows, kind, target):
    return {r: float(v[0]) for r, v in rows.get((kind, target), {}).items() if v[0] not in ("", None)}


def cmd(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "n/a"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, Linux {platform.release()}; "
            f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")


def mark(ok):
    return "met" if ok else "**not met**"


def fmt_range(values):
    return f"{min(values):,.0f}–{max(values):,.0f}"


def main():
    rows, info, mappings = load(sys.argv[1])
    out = []
    p = out.append
    p("# fhirgate benchmark summary")
    p("")
    p(f"- run: {info.get(('mode', 'run'), '?')}; git {cmd(['git', 'rev-parse', '--short', 'HEAD'])}")
    p(f"- machine: {machine()}")
    p(f"- tools: {cmd(['nginx', '-v'])}; {cmd(['wrk', '-v'])}; {cmd(['oha', '--version'])}")
    if ("bundle", "bytes") in info:
        p(f"- upstream answer: searchset Bundle of {info[('bundle', 'entries')]} Observations, "
          f"{int(info[('bundle', 'bytes')]):,} bytes")
    if ("fsync", "p50") in info:
        p(f"- disk: fdatasync of a 1 kB append p50 {info[('fsync', 'p50')]} ms, p99 {info[('fsync', 'p99')]} ms "
          f"(the audit trail fsyncs each batch; with audit.release=stored answers wait for it)")
    p("")
    nginx = floats(rows, "rps", "nginx")
    if nginx:
        p("## Proxy hop: max req/s at 64 connections (wrk -t2 -c64)")
        p("")
        p("| target | median req/s | rounds (min–max) | ratio to nginx (median of rounds) | goal | met? |")
        p("|---|---:|---:|---:|---:|---|")
        for t in PROXY_TARGETS:
            v = floats(rows, "rps", t)
            if not v:
                continue
            ratio = round_ratio(v, nginx)
            ratio = float("nan") if ratio is None else ratio
            goal = TARGET_RATIO.get(t)
            p(f"| {LABELS[t]} | {statistics.median(v.values()):,.0f} | {fmt_range(v.values())} | "
              f"{ratio:.2f}× | {'≥ %.1f×' % goal if goal else '—'} | "
              f"{mark(ratio >= goal) if goal else ''} |")
        p("")
        floor_note(p, rows, nginx)
    p50n = floats(rows, "p50", "nginx")
    if p50n:
        p99n = floats(rows, "p99", "nginx")
        rate = info.get(("latency", "rate"), "?")
        p(f"## Added latency at a fixed rate of {rate} req/s (half nginx's max; oha -q, latency-corrected)")
        p("")
        p("| target | p50 ms | p99 ms | achieved req/s | added p50 ms | added p99 ms | goals (≤ 0.3 / ≤ 2 ms) |")
        p("|---|---:|---:|---:|---:|---:|---|")
        overloaded = []
        for t in PROXY_TARGETS:
            a50, a99 = floats(rows, "p50", t), floats(rows, "p99", t)
            got = floats(rows, "achieved", t)
            if not a50:
                continue
            added50 = statistics.median(a50[r] - p50n[r] for r in a50 if r in p50n) * 1000
            added99 = statistics.median(a99[r] - p99n[r] for r in a99 if r in p99n) * 1000
            verdict = ""
            if t in TARGET_RATIO:
                verdict = f"p50 {mark(added50 <= TARGET_ADDED_P50_MS)}, p99 {mark(added99 <= TARGET_ADDED_P99_MS)}"
            if rate != "?" and statistics.median(got.values()) < 0.95 * float(rate):
                overloaded.append(LABELS[t])
            p(f"| {LABELS[t]} | {statistics.median(a50.values()) * 1000:.3f} | "
              f"{statistics.median(a99.values()) * 1000:.3f} | {statistics.median(got.values()):,.0f} | "
              f"{'—' if t == 'nginx' else f'{added50:+.3f}'} | {'—' if t == 'nginx' else f'{added99:+.3f}'} | {verdict} |")
        p("")
        if overloaded:
            p(f"Overloaded at this rate (achieved below 95 % of it): {'; '.join(overloaded)}. "
              "Their rows measure queueing, not the hop's own latency; the light-load table below does.")
            p("")
    if floats(rows, "p50light", "nginx"):
        n50, n99 = floats(rows, "p50light", "nginx"), floats(rows, "p99light", "nginx")
        p(f"## Latency at a light load ({info.get(('latency', 'light'), '?')} req/s, which every target sustains)")
        p("")
        p("| target | p50 ms | p99 ms | added p50 ms | added p99 ms |")
        p("|---|---:|---:|---:|---:|")
        for t in PROXY_TARGETS:
            a50, a99 = floats(rows, "p50light", t), floats(rows, "p99light", t)
            if not a50:
                continue
            d50 = statistics.median(a50[r] - n50[r] for r in a50 if r in n50) * 1000
            d99 = statistics.median(a99[r] - n99[r] for r in a99 if r in n99) * 1000
            p(f"| {LABELS[t]} | {statistics.median(a50.values()) * 1000:.3f} | "
              f"{statistics.median(a99.values()) * 1000:.3f} | "
              f"{'—' if t == 'nginx' else f'{d50:+.3f}'} | {'—' if t == 'nginx' else f'{d99:+.3f}'} |")
        p("")
        if floats(rows, "p50light", "static"):
            p("(e) answers from memory with no upstream hop, so its \"added\" latency is below nginx's: negative.")
            p("")
    instr = {t: floats(rows, "instr", t).get("0") for t in LABELS}
    if any(instr.values()):
        p("## Instructions per request (valgrind callgrind, user space; exact for an A/B of two commits)")
        p("")
        p("| target | instructions per request | ratio to nginx |")
        p("|---|---:|---:|")
        for t in PROXY_TARGETS:
            if instr.get(t):
                ratio = f"{instr[t] / instr['nginx']:.1f}×" if instr.get("nginx") else "—"
                p(f"| {LABELS[t]} | {instr[t]:,.0f} | {'—' if t == 'nginx' else ratio} |")
        p("")
        for t in ("system", "patient", "cache"):
            path = rows.get(("instrtop", t), {}).get("0", [None])[0]
            if path and os.path.isfile(path):
                p(f"### Where {LABELS[t]} spends them (self cost per function)")
                p("")
                p(open(path, encoding="utf-8").read().rstrip())
                p("")
    rss = {t: floats(rows, "rss", t).get("0") for (k, t) in rows if k == "rss"}
    if rss.get("idle"):
        p("## Memory (RSS of one fhirgate process, MiB)")
        p("")
        p("| state | RSS MiB |")
        p("|---|---:|")
        names = [
            ("idle", "idle, just started"),
            ("idle-10k-connections", f"{info.get(('idle', 'opened'), '?')} idle keep-alive connections open"),
            ("before-mixed-load", "before the mixed load (connections closed)"),
            ("after-mixed-load", "right after the mixed load"),
            ("after-mixed-load-5s-idle", "5 s after the mixed load"),
            ("peak", "peak during the run (VmHWM)"),
        ]
        for key, label in names:
            if rss.get(key) is not None:
                p(f"| {label} | {rss[key] / 1024:.1f} |")
        if rss.get("idle-10k-connections") and info.get(("idle", "opened")):
            per = (rss["idle-10k-connections"] - rss["idle"]) / int(info[("idle", "opened")])
            p(f"| per idle connection (kB) | {per:.1f} |")
        p("")
        series = sorted((int(r), v / 1024) for r, v in floats(rows, "rss-series", "mixed").items())
        if series:
            p("RSS during the mixed load (s → MiB): "
              + ", ".join(f"{t} → {mib:.1f}" for t, mib in series))
            p("")
        if ("mixed", "rps") in info:
            p(f"Mixed load: {info[('mixed', 'rps')]} req/s, non-2xx answers: "
              f"{info.get(('mixed', 'non2xx')) or 0}; the response cache is bounded at 64 MiB "
              f"(cache.max_bytes) and the verified-token cache at 100,000 entries.")
            p("")
    starts = [float(x) for vals in rows.get(("startup", "ms"), {}).values() for x in vals]
    if starts:
        p("## Startup (shipped gateway.yaml, seeded SQLite store)")
        p("")
        p(f"exec → ready line: median **{statistics.median(starts):.0f} ms** "
          f"(min {min(starts):.0f}, max {max(starts):.0f}, {len(starts)} starts)")
        p("")
    stage_files = [(t, rows[("stages", t)]["0"][0]) for t in ("system", "patient", "cache")
                   if ("stages", t) in rows]
    if stage_files:
        p("## CPU per request by stage (perf, DWARF call stacks, wrk -c64)")
        p("")
        for t, path in stage_files:
            p(f"### {LABELS[t]}")
            p("")
            p(open(path, encoding="utf-8").read().rstrip() if os.path.isfile(path) else "(no profile)")
            p("")
    if mappings:
        p("## Mappings (cargo bench -p fhirgate-mappings)")
        p("")
        for name, value in mappings:
            if os.path.isfile(value):
                p(f"### {name}")
                p("")
                p("```")
                p(open(value, encoding="utf-8").read().rstrip())
                p("```")
            else:
                p(f"- {name}: {value}")
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
