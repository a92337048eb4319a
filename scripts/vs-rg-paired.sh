#!/usr/bin/env bash
# hunt against ripgrep, interleaved: each round runs `rg -q -F -j2` and hunt's fork,
# threads and uring at 2 workers once each, in a rotating order, and times every process
# from start to exit (ripgrep has no clock of its own, so hunt is timed the same way).
# Full scans (a needle no file holds), warm cache. Prints a markdown table: each
# contender's median, and the median of its per-round ratio to ripgrep.
# Usage: scripts/vs-rg-paired.sh [DIR] [ROUNDS]   (default: target/blog-data, 60)
set -euo pipefail
cd "$(dirname "$0")/.."
hunt=$PWD/target/release/hunt
dir=${1:-target/blog-data}
rounds=${2:-60}
command -v rg >/dev/null || { echo "vs-rg-paired: ripgrep is not installed: apt-get install ripgrep" >&2; exit 2; }
/usr/bin/python3 - "$hunt" "$dir" "$rounds" <<'PY'
import statistics, subprocess, sys, time
hunt, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
cmds = {"rg -j2": ["rg", "-q", "-F", "-j2", "Doubloon", d]}
for s in ["fork", "threads", "uring"]:
    cmds[f"{s} -j 2"] = [hunt, "search", "--dir", d, "-j", "2", "-s", s, "--needle", "Doubloon"]
names = list(cmds)
got = {n: [] for n in names}
for r in range(rounds + 3):  # the first three rounds warm up
    order = names[r % len(names):] + names[:r % len(names)]
    for n in order:
        t = time.perf_counter()
        p = subprocess.run(cmds[n], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        took = (time.perf_counter() - t) * 1e3
        if p.returncode != 1:  # both answer "not found" with exit 1
            sys.exit(f"{n}: expected exit 1 (not found), got {p.returncode}: {p.stderr.decode()}")
        if r >= 3:
            got[n].append(took)
print(f"{rounds} interleaved rounds on {d}, process wall time:\n")
print("| command | median | per-round ratio to rg, median | rounds faster than rg |")
print("|:---|---:|---:|---:|")
for n in names:
    ratios = [a / b for a, b in zip(got[n], got["rg -j2"])]
    wins = sum(x < 1 for x in ratios)
    print(f"| `{n}` | {statistics.median(got[n]):.1f} ms | "
          + ("1 | |" if n == "rg -j2" else f"{statistics.median(ratios):.3f} | {wins} of {rounds} |"))
PY
