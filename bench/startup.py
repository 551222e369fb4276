#!/usr/bin/env python3
"""Milliseconds from exec to fhirgate's ready line (`fhirgate listening on http://…`).

Usage: startup.py BINARY CONFIG DATA_DIR RUNS
Starts `BINARY serve --config CONFIG --listen 127.0.0.1:0` with FHIRGATE_DATA_DIR=DATA_DIR
RUNS times (the first start seeds the store and is not counted), stops each with SIGTERM,
and prints one line per counted run (`ms`), then `median MS`.
"""
import os
import signal
import statistics
import subprocess
import sys
import time


def once(binary, config, env):
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--config", config, "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = proc.stdout.readline().decode()
    elapsed = (time.perf_counter() - started) * 1000
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    if not line.startswith("fhirgate listening on http://"):
        sys.exit(f"no ready line: {line!r}")
    return elapsed


def main():
    binary, config, data_dir, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    env = dict(os.environ, FHIRGATE_DATA_DIR=data_dir)
    seed = once(binary, config, env)
    print(f"seeding start (not counted): {seed:.0f} ms", file=sys.stderr)
    times = [once(binary, config, env) for _ in range(runs)]
    for t in times:
        print(f"{t:.1f}")
    print(f"median {statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
