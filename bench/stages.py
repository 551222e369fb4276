#!/usr/bin/env python3
"""Per-stage CPU cost of one fhirgate request from a perf profile (bench/profile).

Reads `perf script` output (call stacks, leaf first) on stdin. Each sample is given to the
stage of the innermost fhirgate frame that names a stage (walking from the leaf towards
the root), so a sample inside the compartment post-filter counts for the filter although
the audit and cache layers are further up its stack. Samples with no stage frame are
classed by the library that runs them (hyper server, hyper/reqwest client, tokio).

Usage: perf script ... | stages.py CPU_SECONDS REQUESTS
Prints a Markdown table: stage, share of fhirgate's CPU samples, µs of CPU per request.
"""
import collections
import re
import sys

# Stage frames, looked for innermost first: (stage, pattern on a frame's symbol).
STAGES = [
    ("body rewrite (Bundle links)", r"fhirgate_adapters::fhir::(bundle|response::rewrite_body)"),
    ("compartment post-filter", r"fhirgate::auth::filter"),
    ("upstream call (fhir adapter, reqwest/hyper client)", r"fhirgate_adapters::fhir|reqwest::"),
    ("policy: scopes, compartment narrowing", r"fhirgate::auth::(enforce|narrow|access|protect|scope)"),
    ("token validation", r"fhirgate::auth::(Auth::authenticate|validate)|fhirgate::policy::principal::identify"),
    ("rate limit", r"fhirgate::policy::ratelimit"),
    ("cache", r"fhirgate::policy::cache"),
    ("audit (record, HMAC chain, write)", r"fhirgate::policy::audit"),
    ("observe (request id, access log, metrics)", r"fhirgate::observe"),
    ("edge (parse, route, respond)", r"fhirgate::edge|fhirgate::error"),
]
# Stacks with no stage frame: the first of these found anywhere in the stack.
FALLBACK = [
    ("upstream call (fhir adapter, reqwest/hyper client)", r"hyper_util::client|hyper::client"),
    ("observe (request id, access log, metrics)", r"tracing_subscriber|metrics_exporter"),
    ("HTTP server (hyper/axum: read, parse, write)", r"hyper::|hyper_util::|axum::|tower::"),
    ("tokio runtime (scheduling, epoll, timers)", r"tokio::"),
]
COMPILED = [(name, re.compile(p)) for name, p in STAGES]
FALLBACK_COMPILED = [(name, re.compile(p)) for name, p in FALLBACK]
OTHER = "other (allocator, libc, kernel outside a stage)"


def stage_of(frames):
    for sym in frames:
        for name, pattern in COMPILED:
            if pattern.search(sym):
                return name
    for name, pattern in FALLBACK_COMPILED:
        if any(pattern.search(sym) for sym in frames):
            return name
    if any("[unknown]" not in f for f in frames):
        return OTHER
    return "unresolved stacks"


def samples(lines):
    frames, comm = [], None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                yield comm, frames
            frames, comm = [], None
            continue
        if not line.startswith((" ", "\t")):
            comm = line.split()[0]
            continue
        parts = line.strip().split(None, 1)
        sym = parts[1] if len(parts) > 1 else "[unknown]"
        frames.append(re.sub(r"\+0x[0-9a-f]+", "", sym))
    if comm is not None:
        yield comm, frames


def main():
    cpu_seconds, requests = float(sys.argv[1]), float(sys.argv[2])
    counts = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    total = 0
    for _comm, frames in samples(sys.stdin):
        stage = stage_of(frames)
        counts[stage] += 1
        leaves[stage][frames[0] if frames else "?"] += 1
        total += 1
    if not total:
        sys.exit("no samples")
    per_request_us = cpu_seconds / requests * 1e6
    print(f"CPU per request: {per_request_us:.1f} µs ({cpu_seconds:.2f} s of fhirgate CPU, "
          f"{requests:,.0f} requests, {total:,} samples)")
    print()
    print("| stage | share of CPU | µs per request |")
    print("|---|---:|---:|")
    order = list(dict.fromkeys([n for n, _ in STAGES] + [n for n, _ in FALLBACK] + [OTHER, "unresolved stacks"]))
    for name in order:
        if counts[name]:
            share = counts[name] / total
            print(f"| {name} | {share * 100:.1f} % | {share * per_request_us:.1f} |")
    if len(sys.argv) > 3 and sys.argv[3] == "--detail":
        for name in order:
            if counts[name]:
                print(f"\n{name}:", file=sys.stderr)
                for sym, n in leaves[name].most_common(12):
                    print(f"  {n / total * 100:5.1f} %  {sym[:150]}", file=sys.stderr)


if __name__ == "__main__":
    main()
