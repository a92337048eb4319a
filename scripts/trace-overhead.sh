#!/usr/bin/env bash
# What tracing costs, and that it costs nothing when off. For each strategy, a full
# scan of the data set (a needle no file holds, so every run reads every file) by:
#   before  the hunt binary built without tracing (BASE, e.g. built at the commit before),
#   off     this build, no --trace,
#   on      this build with --trace FILE,
# interleaved in one hyperfine run per strategy (whole process, trace writing included),
# then the hunt's own time (elapsed_s of --json: the hunt alone, the trace written after
# it) over ROUNDS rounds, the three variants run in turn each round.
#
# usage: scripts/trace-overhead.sh BASE [DIR] [ROUNDS] > results/trace-overhead.md
# BASE: a hunt binary without tracing (git worktree add /tmp/base BASE_COMMIT && cargo
# build --release there). DIR: the data set [target/readme-data]. ROUNDS [20].
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/trace-overhead.sh BASE [DIR] [ROUNDS]}
dir=${2:-target/readme-data}
rounds=${3:-20}
new=target/release/hunt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strategies=${STRATEGIES:-"sequential:1 threads:2 rayon:2 fork:2 async:2 uring:2 queue:2 spawn:2 redis:2"}

echo "# What tracing costs"
echo
echo "\`scripts/trace-overhead.sh $base $dir $rounds\` on $(date -u +%Y-%m-%d), $(nproc) cores,"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)."
echo "A full scan (\`--needle Doubloon\`, in no file) of $(jq -r '"\(.files) files, \(.total_bytes) bytes"' "$dir/manifest.json" 2>/dev/null || echo "$dir")."
echo "The machine is shared and noisy: compare the columns of one row, not rows."
echo
echo "## Whole process (hyperfine -N --warmup 3 --runs 20, the three interleaved per strategy)"
echo
for spec in $strategies; do
    s=${spec%%:*}
    j=${spec##*:}
    args="search --dir $dir --strategy $s --workers $j --needle Doubloon"
    hyperfine -N -i --warmup 3 --runs 20 --style none --export-markdown "$tmp/$s.md" \
        -n "$s x$j before" "$base $args" \
        -n "$s x$j off" "$new $args" \
        -n "$s x$j on" "$new $args --trace $tmp/t.json --force" >/dev/null 2>&1
    tail -n +3 "$tmp/$s.md" >>"$tmp/all.md"
done
echo "| run | mean [ms] | min [ms] | max [ms] | relative |"
echo "|:---|---:|---:|---:|---:|"
cat "$tmp/all.md"
echo
echo "## The hunt's own time (median elapsed_s of --json over $rounds rounds, interleaved)"
echo
python3 - "$base" "$new" "$dir" "$rounds" "$tmp" $strategies <<'EOF'
import json, statistics, subprocess, sys
base, new, d, rounds, tmp = sys.argv[1:6]
print("| strategy | before | off | on | off / before | on / off | trace size |")
print("|:---|---:|---:|---:|---:|---:|---:|")
for spec in sys.argv[6:]:
    s, j = spec.split(":")
    args = ["search", "--json", "--dir", d, "--strategy", s, "--workers", j, "--needle", "Doubloon"]
    runs = {"before": [base] + args, "off": [new] + args,
            "on": [new] + args + ["--trace", f"{tmp}/t.json", "--force"]}
    got = {k: [] for k in runs}
    for _ in range(int(rounds)):
        for k, cmd in runs.items():
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            got[k].append(json.loads(out)["elapsed_s"])
    m = {k: statistics.median(v) * 1e3 for k, v in got.items()}
    size = len(open(f"{tmp}/t.json", "rb").read())
    print(f"| {s} x{j} | {m['before']:.2f} ms | {m['off']:.2f} ms | {m['on']:.2f} ms "
          f"| {m['off'] / m['before']:.3f} | {m['on'] / m['off']:.3f} | {size / 1e6:.1f} MB |")
EOF
echo
echo "## Instructions (valgrind --tool=callgrind: user-space instructions, which the machine's noise does not change)"
echo
echo "| strategy | before | off | off - before, per file | on | on - off, per file | of which in the hunt | and writing the trace |"
echo "|:---|---:|---:|---:|---:|---:|---:|---:|"
files=$(jq -r .files "$dir/manifest.json")
ir_strategies=${IR_STRATEGIES:-"sequential:1 threads:2 rayon:2 queue:2"}
for spec in $ir_strategies; do
    s=${spec%%:*}
    j=${spec##*:}
    args="search --dir $dir --strategy $s --workers $j --needle Doubloon"
    # A full scan answers "not found": exit 1 is the expected end.
    ir() { { valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "${@:2}" 2>&1 || true; } | sed -n 's/.*Collected : //p'; }
    b=$(ir before $base $args)
    o=$(ir off $new $args)
    n=$(ir on $new $args --trace "$tmp/t.json" --force)
    w=$(callgrind_annotate --inclusive=yes "$tmp/cg.on" 2>/dev/null |
        awk '/trace::chrome::write \[/ && !done { gsub(",", "", $1); print $1; done = 1 }')
    per() { awk -v d="$1" -v f="$files" 'BEGIN { printf "%.1f", d / f }'; }
    echo "| $s x$j | $b | $o | $(per $((o - b))) | $n | $(per $((n - o))) | $(per $((n - o - w))) | $(per "$w") |"
done
