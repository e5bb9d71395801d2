#!/usr/bin/env python3
"""Turns fairway_balancer_benchmark JSON (with repetitions) into the docs/benchmarks.md table.

  build-release/bin/fairway_balancer_benchmark --benchmark_repetitions=3 \
      --benchmark_format=json > /tmp/balancer.json
  tests/bench/balancer_table.py /tmp/balancer.json

Cells are the median CPU time per pick + release on each thread: "1 thread / 2 threads" in ns.
"""
import json
import re
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    m = re.match(r"pick/(\w+)/endpoints:(\d+)/real_time/threads:(\d+)", b["name"])
    if m:
        runs[(m[1], int(m[2]), int(m[3]))].append(b["cpu_time"])

algorithms = list(dict.fromkeys(k[0] for k in runs))
sizes = sorted({k[1] for k in runs})
print("| algorithm | " + " | ".join(f"{n:,} endpoints" for n in sizes) + " | 10,000 vs 10 (1 thread) |")
print("|---|" + "---:|" * (len(sizes) + 1))
for a in algorithms:
    cells = []
    for n in sizes:
        one = statistics.median(runs[(a, n, 1)]) if runs[(a, n, 1)] else float("nan")
        two = statistics.median(runs[(a, n, 2)]) if runs[(a, n, 2)] else float("nan")
        cells.append(f"{one:.0f} / {two:.0f}")
    ratio = statistics.median(runs[(a, 10000, 1)]) / statistics.median(runs[(a, 10, 1)])
    print(f"| `{a}` | " + " | ".join(cells) + f" | {ratio:.1f}x |")
