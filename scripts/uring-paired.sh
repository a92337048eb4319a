#!/usr/bin/env bash
# uring against fork and threads on one data set (default: the blog preset), paired:
# each round runs the three once, in a rotating order, and counts the rounds where uring
# was faster than each. Full scans, warm cache, 2 workers, the hunt's own elapsed_s.
# Usage: scripts/uring-paired.sh [DIR] [ROUNDS]; prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
hunt=$PWD/target/release/hunt
dir=${1:-target/blog-data}
rounds=${2:-60}
/usr/bin/python3 - "$hunt" "$dir" "$rounds" <<'PY'
import json, statistics, subprocess, sys
hunt, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = ["fork", "threads", "uring"]
got = {n: [] for n in names}
for r in range(rounds + 3):
    order = names[r % 3:] + names[:r % 3]
    this = {}
    for n in order:
        p = subprocess.run([hunt, "search", "--json", "--dir", d, "-j", "2", "-s", n,
                            "--needle", "Doubloon"], capture_output=True, text=True)
        if p.returncode != 1:
            sys.exit(f"{n}: expected exit 1, got {p.returncode}: {p.stderr}")
        this[n] = json.loads(p.stdout)["elapsed_s"] * 1e3
    if r >= 3:
        for n in names:
            got[n].append(this[n])
print(f"{rounds} paired rounds on {d}, medians of the hunt's elapsed_s:\n")
print("| strategy -j 2 | median | uring / it, median of the per-round ratios | rounds uring was faster |")
print("|:---|---:|---:|---:|")
for n in names:
    ratios = [u / o for u, o in zip(got["uring"], got[n])]
    wins = sum(u < o for u, o in zip(got["uring"], got[n]))
    print(f"| {n} | {statistics.median(got[n]):.1f} ms | {statistics.median(ratios):.3f} | "
          f"{wins} of {rounds} |" if n != "uring" else
          f"| {n} | {statistics.median(got[n]):.1f} ms | 1 | |")
PY
