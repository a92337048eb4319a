#!/usr/bin/env bash
# Two builds of hunt, interleaved: each round runs every strategy at 2 workers once with
# each binary, in a rotating order, the treasure at a position drawn afresh each round
# (the same for both binaries), and takes the hunt's own `elapsed_s` from `--json` (the
# private broker's start is setup, not hunt). Every answer is checked against the data
# set's manifest. Prints a markdown table: each strategy's median with each binary and
# the median of the per-round ratio new/old. For a refactor that should change no speed.
# Each binary is its own HUNT_EXE, so spawn's and the brokers' workers are of its build.
# Usage: scripts/before-after.sh OLD_HUNT NEW_HUNT [DIR] [ROUNDS]
#        (default DIR target/before-after-data, made with NEW_HUNT; ROUNDS 20)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: scripts/before-after.sh OLD_HUNT NEW_HUNT [DIR] [ROUNDS]}
new=${2:?usage: scripts/before-after.sh OLD_HUNT NEW_HUNT [DIR] [ROUNDS]}
dir=${3:-target/before-after-data}
rounds=${4:-20}
strategies=${STRATEGIES:-sequential,threads,rayon,fork,async,uring,queue,spawn,redis,sqlite}
if [ ! -f "$dir/manifest.json" ]; then
    "$new" generate --dir "$dir" --seed 7 >/dev/null
fi
/usr/bin/python3 - "$old" "$new" "$dir" "$rounds" "$strategies" <<'PY'
import json, os, random, statistics, subprocess, sys
old, new, d, rounds, strategies = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split(",")
manifest = json.load(open(f"{d}/manifest.json"))
files, treasure = manifest["files"], manifest["treasure_index"]
bins = {"old": old, "new": new}
got = {(s, b): [] for s in strategies for b in bins}
rng = random.Random(1)
runs = [(s, b) for s in strategies for b in bins]
for r in range(rounds + 1):  # round 0 warms up
    pos = rng.randrange(files)
    rotate = (treasure - pos) % files  # the treasure at search position `pos`
    order = runs[r % len(runs):] + runs[:r % len(runs)]
    for s, b in order:
        p = subprocess.run([bins[b], "search", "--dir", d, "-s", s, "-j", "2",
                            "--rotate", str(rotate), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env={**os.environ, "HUNT_EXE": bins[b]})
        if p.returncode != 0:
            sys.exit(f"{b} {s}: exit {p.returncode}: {p.stderr.decode().strip()}")
        rep = json.loads(p.stdout)
        if rep["index"] != treasure:
            sys.exit(f"{b} {s}: found index {rep['index']}, the manifest says {treasure}")
        if r > 0:
            got[(s, b)].append(rep["elapsed_s"] * 1e3)
print(f"{rounds} interleaved rounds on {d} ({files} files), 2 workers, the hunt's elapsed_s:\n")
print("| strategy | old median | new median | per-round ratio new/old, median | rounds new faster |")
print("|:---|---:|---:|---:|---:|")
for s in strategies:
    o, n = got[(s, "old")], got[(s, "new")]
    ratios = [b / a for a, b in zip(o, n)]
    wins = sum(x < 1 for x in ratios)
    print(f"| {s} | {statistics.median(o):.1f} ms | {statistics.median(n):.1f} ms | "
          f"{statistics.median(ratios):.3f} | {wins} of {rounds} |")
PY
