#!/usr/bin/env python3
"""Reads one callgrind dump (bench/instructions.sh) and prints, as a Markdown table, the
functions with the most instructions of their own (self cost, not counting callees) per
request, and the share of SHA-256 compression.

valgrind's CPU model has no SHA extensions, so under callgrind the `sha2` crate compresses
in software (sha2::sha256::soft); on a CPU with SHA-NI (the AMD EPYC and Intel hosts used
here have it) the same work takes a fraction of those instructions. The share is printed
so that counts can be read with and without it.

Usage: callgrind_top.py DUMP REQUESTS [N]
"""
import collections
import re
import sys

NAME = re.compile(r"\((\d+)\)(?: (.*))?")


def self_costs(path):
    names, costs = {}, collections.Counter()
    current, after_call = None, False

    def name(text):
        m = NAME.match(text)
        if not m:
            return text
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), text)

    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            current, after_call = name(line[3:].rstrip("\n")), False
        elif line.startswith("cfn="):
            name(line[4:].rstrip("\n"))  # defines the id for later lines
        elif line.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) >= 2:
                if after_call:
                    after_call = False
                else:
                    costs[current] += int(fields[-1])
    return costs


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    costs = self_costs(path)
    total = sum(costs.values())
    sha = sum(c for f, c in costs.items() if f and "sha256" in f and "compress" in f)
    print(f"{total / requests:,.0f} instructions per request, of which SHA-256 compression "
          f"(in software under valgrind) {sha / requests:,.0f} ({100 * sha / max(total, 1):.1f} %)")
    print()
    print("| instructions per request (self) | share | function |")
    print("|---:|---:|---|")
    for function, cost in costs.most_common(top):
        label = (function or "?").replace("|", "\\|")
        print(f"| {cost / requests:,.0f} | {100 * cost / total:.1f} % | `{label[:110]}` |")


if __name__ == "__main__":
    main()
