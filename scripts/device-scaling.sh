#!/usr/bin/env bash
# One prepared run for a many-core machine (the "device" of this project's workplace):
# builds hunt, then races every strategy at 1, 2, 4, 8 and 16 workers (capped at the
# machine's cores) on the default data set, a full scan and a find, and on the blog
# preset (150 kB files), a full scan. Everything it measures goes into one folder with
# the machine named (lscpu, memory, kernel) and the commands, within about 8 minutes on
# 16 cores. It installs nothing and starts no service: `redis` sits out where
# redis-server is missing, as in any race.
#
# Usage: scripts/device-scaling.sh [--out DIR] [--runs N] [--budget SECONDS]
#   --out DIR        where the results go [default: $OUT/device-scaling if $OUT is set,
#                    else results/device-scaling-HOST]
#   --runs N         timed rounds per race [default: 3]
#   --budget S       stop racing after S seconds, keeping what was measured [default: 420]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
prog=device-scaling
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

out=""
runs=3
budget=420
while (($#)); do
    case $1 in
    --out) out=${2:?--out needs a folder}; shift ;;
    --runs) need_int "$1" "${2:-}"; runs=$2; shift ;;
    --budget) need_int "$1" "${2:-}"; budget=$2; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option '$1': see --help" ;;
    esac
    shift
done
host=$(hostname 2>/dev/null || echo machine)
if [[ -z $out ]]; then
    if [[ -n ${OUT:-} ]]; then out=$OUT/device-scaling; else out=$root/results/device-scaling-$host; fi
fi
mkdir -p "$out"
started=$(date +%s)
left() { echo $((budget - ($(date +%s) - started))); }

find_hunt
cores=$(nproc)
workers=""
for k in 1 2 4 8 16; do ((k <= cores)) && workers+="${workers:+,}$k"; done
{
    echo "machine: $host, $(date -u +%FT%TZ)"
    echo "cores: $cores"
    lscpu 2>/dev/null | grep -E '^(Model name|Socket|Core|Thread|NUMA node\(s\)|L[23] cache)' || true
    free -h | head -2
    uname -srvm
    "$hunt" --version
    command -v redis-server >/dev/null && redis-server --version || echo "redis-server: not installed (redis sits out)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

data=$target/device-data
blog=$target/device-blog
[[ -f $data/manifest.json ]] || "$hunt" generate --dir "$data" --seed 2026 >&2
[[ -f $blog/manifest.json ]] || "$hunt" generate --dir "$blog" --preset blog --seed 2026 >&2

race() { # name, then race flags
    local name=$1
    shift
    local t
    t=$(left)
    if ((t < 30)); then
        echo "$prog: skipping $name: the budget is spent" >&2
        return 0
    fi
    local cmd=("$hunt" race --workers "$workers" --runs "$runs" --warmup 1 --seed 1 --force
        --export-json "$out/$name.json" --export-markdown "$out/$name.md" --plot "$out/$name.svg" "$@")
    echo "${cmd[*]}" >>"$out/commands.txt"
    echo "$prog: $name ($t s of budget left)" >&2
    # A race keeps its exports after every round, so a timeout loses only the last one.
    timeout --signal=INT "$t" "${cmd[@]}" >"$out/$name.txt" 2>"$out/$name.log" || echo "$prog: $name ended early (exit $?); its exports hold the rounds done" >&2
}
race full-scan --dir "$data" --full-scan
race find --dir "$data"
race blog-full-scan --dir "$blog" --full-scan
echo "$prog: done in $(($(date +%s) - started)) s; results in $out" >&2
