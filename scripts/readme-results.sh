#!/usr/bin/env bash
# Re-makes the race, peer and bench figures of docs/RESULTS.md into results/ (one file per
# measurement), on this machine. Run it on a quiet machine: it takes about 25 minutes on 2
# cores, cargo bench included (--no-bench skips that part). It installs nothing;
# compare-peers.sh says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results
mkdir -p "$out"
bench=1
[ "${1:-}" = "--no-bench" ] && bench=0

cargo build --release --quiet
hunt=$PWD/target/release/hunt
# The interpreter itself, never a version manager's shim in front of it (see compare-peers.sh).
python=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
data=$PWD/target/readme-data
data100k=$PWD/target/readme-data-100k

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cores: $(nproc)"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -sr)"
    echo "hunt: $("$hunt" --version)"
    command -v rg >/dev/null && echo "ripgrep: $(rg --version | head -1)"
    command -v hyperfine >/dev/null && echo "hyperfine: $(hyperfine --version)"
    echo "python: $("$python" --version 2>&1) ($python)"
} >"$out/machine.txt"

[ -f "$data/manifest.json" ] || "$hunt" generate --dir "$data" --seed 2026
[ -f "$data100k/manifest.json" ] || "$hunt" generate --dir "$data100k" --files 100000 --seed 2026

echo "== race, treasure at a random place each round"
"$hunt" race --dir "$data" --runs 10 --seed 1 --force \
    --export-markdown "$out/race-find.md" --export-json "$out/race-find.json" \
    --plot "$out/race-find.svg" | tee "$out/race-find.txt"
echo "== race, full scan"
"$hunt" race --dir "$data" --runs 10 --seed 1 --full-scan --force \
    --export-markdown "$out/race-full-scan.md" --plot "$out/race-full-scan.svg" | tee "$out/race-full-scan.txt"
echo "== race, full scan, mmap reader"
"$hunt" race --dir "$data" --runs 5 --seed 1 --full-scan --reader mmap --force \
    --export-markdown "$out/race-full-scan-mmap.md" | tee "$out/race-full-scan-mmap.txt"
echo "== race, cold cache, full scan"
"$hunt" race --dir "$data" --runs 3 --seed 1 --full-scan --cache cold --force \
    --export-markdown "$out/race-cold.md" | tee "$out/race-cold.txt"
echo "== the time hunt race --runs 5 takes"
{ /usr/bin/time -f "hunt race --runs 5: %e s wall" "$hunt" race --dir "$data" --runs 5 >/dev/null; } 2>&1 | tail -1 | tee "$out/race-duration.txt"

echo "== peers"
HUNT=$hunt PYTHON=$python scripts/compare-peers.sh --dir "$data" --regenerate --export "$out/peers-find.md"
HUNT=$hunt PYTHON=$python scripts/compare-peers.sh --dir "$data" --absent --export "$out/peers-full-scan.md"

echo "== generate, hunt against plain Python"
gen=$(mktemp -d)
hyperfine -N --warmup 1 --runs 5 --export-markdown "$out/generate.md" \
    --prepare "rm -rf $gen/h $gen/p" \
    "$hunt generate --dir $gen/h --seed 1" \
    "$python scripts/python/generate.py $gen/p --seed 1"
rm -rf "$gen"

echo "== peak memory against the number of files (manifest sets)"
{
    for d in "$data" "$data100k"; do
        n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$d/manifest.json")
        for s in sequential threads rayon fork; do
            /usr/bin/time -f "$n files, $s x2: peak RSS %M KiB" "$hunt" search --dir "$d" -s "$s" -j 2 --needle Doubloon >/dev/null || true
        done
    done
} 2>&1 | grep 'peak RSS' | tee "$out/memory.txt"

echo "== system calls per file (strace -c, full scan, one worker)"
if command -v strace >/dev/null; then
    strace -f -c -o "$out/strace-hunt.txt" "$hunt" search --dir "$data" -s sequential --needle Doubloon >/dev/null || true
    if command -v rg >/dev/null; then
        strace -f -c -o "$out/strace-rg.txt" rg -q -F -j1 --no-ignore --hidden -g '!manifest.json' Doubloon "$data" || true
    fi
fi

echo "== scaling"
HUNT=$hunt scripts/scaling.sh --sizes 1000,10000,100000 --runs 5 --export "$out/scaling.md"

if [ "$bench" = 1 ]; then
    echo "== cargo bench"
    cargo bench --bench hunt 2>&1 | grep -E '^(treasure|absent|build|floor)|time:|thrpt:' |
        grep -v '%' | tee "$out/bench.txt"
fi
echo "== the kernel's floor beside the sequential strategy, one criterion run"
cargo bench --bench hunt -- '^(floor/|absent-full-scan/sequential)' 2>&1 |
    grep -E '^(absent|floor)|time:|thrpt:' | grep -v '%' | tee "$out/bench-floor.txt"
echo "done: results in $out/"
