#!/usr/bin/env bash
# What each io_uring feature gives `uring` (issue 13): full scans (needle "Doubloon" in no
# file) of the default set and the blog preset, warm cache, 2 workers. Each `--ring`
# variant and the blocking strategies run interleaved, one run of each per round
# (ROUNDS, default 30), after 3 warm-up rounds, so the machine's drift falls on all alike.
# Two medians each: the whole process (ring setup and buffer registration included) and
# the hunt's own `elapsed_s` from --json. Writes results/uring-features.md; needs no
# hyperfine; about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
hunt=$PWD/target/release/hunt
data=${DATA:-target/readme-data}
blog=${BLOG:-target/blog-data}
out=${OUT:-results/uring-features.md}
[[ -f $data/manifest.json ]] || "$hunt" generate --dir "$data" --seed 2026
[[ -f $blog/manifest.json ]] || "$hunt" generate --dir "$blog" --preset blog --seed 2026
{
echo "# uring's io_uring features, warm cache, 2 workers, full scans"
echo
echo "Made by \`scripts/uring-features.sh\` on $(uname -n) ($(nproc) cores, Linux $(uname -r)), $(date -u +%F)."
echo "Interleaved rounds: ${ROUNDS:-30}. Ratios are to the faster of threads and fork in the same column."
/usr/bin/python3 - "$hunt" "$data" "$blog" "${ROUNDS:-30}" <<'PY'
import json, statistics, subprocess, sys, time
hunt, data, blog, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
variants = [
    ("threads", ["-s", "threads"]),
    ("fork", ["-s", "fork"]),
    ("uring --ring statx (the old check)", ["-s", "uring", "--ring", "statx"]),
    ("uring --ring plain (fadvise check)", ["-s", "uring", "--ring", "plain"]),
    ("uring --ring coop-taskrun", ["-s", "uring", "--ring", "coop-taskrun"]),
    ("uring --ring fixed-files", ["-s", "uring", "--ring", "fixed-files"]),
    ("uring --ring fixed-files,link", ["-s", "uring", "--ring", "fixed-files,link"]),
    ("uring --ring fixed-buffers", ["-s", "uring", "--ring", "fixed-buffers"]),
    ("uring (default)", ["-s", "uring"]),
]
for name, d in [("default set (10,000 x 15 kB)", data), ("blog preset (10,000 x 150 kB)", blog)]:
    wall = {v: [] for v, _ in variants}
    hunt_s = {v: [] for v, _ in variants}
    for r in range(rounds + 3):
        for v, args in variants:
            cmd = [hunt, "search", "--json", "--dir", d, "-j", "2", "--needle", "Doubloon"] + args
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True)
            w = time.perf_counter() - t
            if p.returncode != 1:
                sys.exit(f"{v}: expected exit 1 (not found), got {p.returncode}: {p.stderr}")
            if r >= 3:
                wall[v].append(w)
                hunt_s[v].append(json.loads(p.stdout)["elapsed_s"])
    mw = {v: statistics.median(x) * 1e3 for v, x in wall.items()}
    mh = {v: statistics.median(x) * 1e3 for v, x in hunt_s.items()}
    bw, bh = min(mw["threads"], mw["fork"]), min(mh["threads"], mh["fork"])
    print(f"\n## {name}\n")
    print("| contender | process, median | ratio | hunt (elapsed_s), median | ratio |")
    print("|:---|---:|---:|---:|---:|")
    for v, _ in variants:
        print(f"| {v} | {mw[v]:.1f} ms | {mw[v] / bw:.2f}x | {mh[v]:.1f} ms | {mh[v] / bh:.2f}x |")
    sys.stdout.flush()
PY
} | tee "$out"
