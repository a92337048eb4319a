#!/usr/bin/env bash
# What the read buffer's alignment costs (hunt::scan::ReadBuf): hunt before the aligned
# buffers (OLD_HUNT, e.g. built from commit c2fa89f) against this build, and ripgrep, on
# the blog preset and the default set, warm cache, full scans, 2 workers, side by side in
# one hyperfine run per set; then the floor bench's aligned and page-offset-16 reads.
# Writes results/read-alignment.md. About 5 minutes on 2 cores.
# Usage: scripts/read-alignment.sh OLD_HUNT [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: scripts/read-alignment.sh OLD_HUNT [RUNS]}
runs=${2:-20}
hunt=$PWD/target/release/hunt
out=results/read-alignment.md
cargo build --release --quiet
data=$PWD/target/readme-data
blog=$PWD/target/blog-data
[[ -f $data/manifest.json ]] || "$hunt" generate --dir "$data" --seed 2026
[[ -f $blog/manifest.json ]] || "$hunt" generate --dir "$blog" --preset blog --seed 2026
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    echo "# Read buffer alignment, before and after (\`scripts/read-alignment.sh OLD_HUNT $runs\`)"
    echo
    echo "$(date -u +%FT%RZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs),"\
        "Linux $(uname -r), $(rg --version | head -1), $(hyperfine --version)."
    echo "Before: $("$old" --version) built from c2fa89f (buffers from \`vec!\`); after: this build."
    echo "Full scans (needle \"Doubloon\" in no file; each command checked to answer \"not found\" first),"
    echo "warm cache, \`hyperfine -N --warmup 3 --runs $runs\`, one run per set."
} >"$out"
for set in blog data; do
    dir=${!set}
    args=()
    for s in fork threads uring; do
        for who in before after; do
            bin=$hunt
            [[ $who == before ]] && bin=$old
            cmd="$bin search --dir $dir -s $s -j 2 --needle Doubloon"
            code=0; $cmd >/dev/null 2>&1 || code=$?
            ((code == 1)) || { echo "read-alignment: '$cmd' exited $code, not 1" >&2; exit 1; }
            args+=(-n "$who $s -j2" "$cmd")
        done
    done
    args+=(-n "rg -j2" "rg -q -F -j2 Doubloon $dir")
    hyperfine -N -i --warmup 3 --runs "$runs" --style basic --export-markdown "$tmp/$set.md" "${args[@]}"
    title="Default set (10,000 x 15 kB)"
    [[ $set == blog ]] && title="Blog preset (10,000 x 150 kB)"
    { echo; echo "## $title"; echo; cat "$tmp/$set.md"; } >>"$out"
done
{
    echo
    echo "## The floor bench: one thread, the same reads into a page-aligned buffer and one 16 bytes past a page"
    echo
    echo '```'
} >>"$out"
for lines in 1000 10000; do
    echo "HUNT_BENCH_LINES=$lines (files of $((lines * 15 / 1000)) kB):" >>"$out"
    HUNT_BENCH_LINES=$lines cargo bench --quiet --bench floor -- 'floor/(open\+pread\+close|pread-page-offset-16)$' 2>/dev/null |
        grep -E '^floor/|time:' | grep -v '%' >>"$out"
done
echo '```' >>"$out"
echo "read-alignment: wrote $out"
