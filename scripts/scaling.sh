#!/usr/bin/env bash
# How the cost of a hunt grows with the work: full scans of data sets of 1,000 to
# 1,000,000 small files and of the blog preset, reported as time per file and per byte.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

usage() {
    cat <<EOF
Usage: scripts/scaling.sh [OPTIONS]

For each data set size, runs every hunt strategy as a full scan (a needle no file
holds, so every file is read and the treasure's place cannot matter): one warm-up run,
then --runs runs of 'hunt search --json', each a fresh process. It reports the medians
of the hunt's own time (elapsed_s: workers' start to the last stop; building the
strategy and reading the manifest are outside it) and of the whole process, and divides
the hunt's time by the files and bytes it scanned, and reports the largest peak
resident memory of the runs (GNU time's %M: the process and the children it reaped,
the largest single one; '-' where /usr/bin/time is missing). The page cache is warm.

Options:
  --sizes LIST       comma-separated file counts, and 'blog' for the blog preset
                     (10,000 files of 10,000 lines, 1.5 GB)
                     [default: 1000,10000,100000,1000000,blog]
  --quick            the same as --sizes 1000,10000
  --lines N          lines per file of the small-file sets [default: 10, 150 bytes]
  --runs N           timed runs per strategy and size [default: 5]
  --workers K        workers [default: cores]
  --strategies LIST  comma-separated strategies [default: every one hunt lists]
  --work DIR         where the data sets live, one folder each, kept for the next run
                     [default: \$CARGO_TARGET_DIR/hunt-scaling, or target/hunt-scaling]
  --export FILE      (or --export-markdown) also write the markdown table to FILE
  -h, --help         this text

Space and time: every file takes at least one filesystem block (4 kB on most), so
1,000,000 small files take about 4 GB of disk and a few minutes to generate, and the
blog preset takes 1.5 GB. The script checks the free space before generating and
refuses when it is short. Data sets are generated once and reused; delete the --work
folder to get the space back.

Needs cargo (to build hunt in release) or HUNT=/path/to/hunt, and bash 5. It installs
nothing.
EOF
}

prog=scaling
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

sizes=1000,10000,100000,1000000,blog
lines=10
runs=5
workers=$(nproc 2>/dev/null || echo 1)
strategies=""
work=$target/hunt-scaling
export_md=""
while (($#)); do
    case $1 in
    --sizes) sizes=${2:?--sizes needs a list}; shift ;;
    --quick) sizes=1000,10000 ;;
    --lines) need_int "$1" "${2:-}"; lines=$2; shift ;;
    --runs) need_int "$1" "${2:-}"; runs=$2; shift ;;
    --workers | -j) need_int "$1" "${2:-}"; workers=$2; shift ;;
    --strategies) strategies=${2:?--strategies needs a list}; shift ;;
    --work) work=${2:?--work needs a folder}; shift ;;
    --export | --export-markdown) export_md=${2:?--export needs a file}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1': see --help" ;;
    esac
    shift
done
((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 (for \$EPOCHREALTIME); this is $BASH_VERSION"
((lines >= 1 && runs >= 1 && workers >= 1)) || die "--lines, --runs and --workers must be at least 1"
IFS=, read -r -a size_list <<<"$sizes"
for s in "${size_list[@]}"; do
    [[ $s == blog || ($s =~ ^[0-9]+$ && $s -ge 1) ]] || die "--sizes takes file counts and 'blog' (got '$s')"
done

find_hunt
list_strategies

# --- data sets: reuse, or generate after checking the space ----------------------------
mkdir -p "$work"
folder_of() { # size -> folder
    if [[ $1 == blog ]]; then echo "$work/blog"; else echo "$work/${1}x$lines"; fi
}
field() { # folder name -> a value from its manifest, or empty
    [[ -f $1/manifest.json ]] || return 0
    sed -n "s/^ *\"$2\": *\"\{0,1\}\([0-9A-Za-z]*\).*/\1/p" "$1/manifest.json" | head -n 1
}
ready() { # size -> true when its folder holds the right data set
    local d
    d=$(folder_of "$1")
    if [[ $1 == blog ]]; then
        [[ $(field "$d" preset) == blog ]]
    else
        [[ $(field "$d" files) == "$1" && $(field "$d" lines) == "$lines" ]]
    fi
}
block=$(stat -f -c %S "$work" 2>/dev/null || echo 4096)
need=0
for s in "${size_list[@]}"; do
    ready "$s" && continue
    if [[ $s == blog ]]; then
        echo "scaling: the blog preset needs 1.5 GB and takes a while to generate" >&2
        need=$((need + 10000 * ((150000 + block - 1) / block) * block))
    else
        ((s >= 1000000)) && echo "scaling: $s files take about $((s * ((lines * 15 + block - 1) / block) * block / 1000000000)) GB on disk (one $block-byte block or more each) and minutes to generate" >&2
        need=$((need + s * ((lines * 15 + block - 1) / block) * block))
    fi
done
if ((need > 0)); then
    avail=$(df -P -B1 "$work" | awk 'NR == 2 { print $4 }')
    if [[ -n $avail ]] && ((need > avail)); then
        die "the data sets need about $((need / 1000000)) MB but $work has $((avail / 1000000)) MB free: choose fewer --sizes or another --work"
    fi
fi
for s in "${size_list[@]}"; do
    ready "$s" && continue
    d=$(folder_of "$s")
    # --force replaces only an earlier hunt data set in this script's own folder.
    force=()
    [[ -e $d/manifest.json || -e $d/.hunt-partial.json ]] && force=(--force)
    if [[ $s == blog ]]; then
        "$hunt" generate --dir "$d" --preset blog --seed 1 "${force[@]}"
    else
        "$hunt" generate --dir "$d" --files "$s" --lines "$lines" --seed 1 "${force[@]}"
    fi
done

# --- measure -----------------------------------------------------------------------------
needle=Doubloon # in no file: a full scan
json_num() { # field json -> number
    sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<<"$2"
}
median() { # numbers... -> median
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
table=$(mktemp)
rss_file=$(mktemp)
trap 'rm -f "$table" "$rss_file"' EXIT
gnu_time=""
[[ -x /usr/bin/time ]] && /usr/bin/time -f %M true 2>/dev/null && gnu_time=/usr/bin/time
{
    echo "| files | bytes | strategy | workers | hunt median [ms] | process median [ms] | per file [µs] | per byte [ns] | GB/s | peak memory [MiB] |"
    echo "|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|"
} >"$table"
for s in "${size_list[@]}"; do
    d=$(folder_of "$s")
    for strat in "${strategy_list[@]}"; do
        elapsed=()
        wall=()
        files=0
        bytes=0
        used=0
        peak=0
        for ((r = 0; r <= runs; r++)); do # run 0 warms the cache and is not counted
            code=0
            t0=$EPOCHREALTIME
            if [[ -n $gnu_time ]]; then
                out=$("$gnu_time" -o "$rss_file" -f %M "$hunt" search --json --dir "$d" -s "$strat" -j "$workers" --needle "$needle" 2>&1) || code=$?
            else
                out=$("$hunt" search --json --dir "$d" -s "$strat" -j "$workers" --needle "$needle" 2>&1) || code=$?
            fi
            t1=$EPOCHREALTIME
            # GNU time exits with the command's code, and writes "Command exited with
            # non-zero status 1" before the figure: take the last line.
            if [[ -n $gnu_time ]]; then
                kib=$(tail -n 1 "$rss_file")
                [[ $kib =~ ^[0-9]+$ ]] && ((kib > peak)) && peak=$kib
            fi
            ((code == 1)) || die "hunt search -s $strat on $d should find nothing (exit 1) but exited $code: $out"
            ((r == 0)) && continue
            elapsed+=("$(json_num elapsed_s "$out")")
            wall+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
            files=$(json_num files_scanned "$out")
            bytes=$(json_num bytes_scanned "$out")
            used=$(json_num workers "$out")
        done
        e=$(median "${elapsed[@]}")
        w=$(median "${wall[@]}")
        mem="-"
        [[ -n $gnu_time ]] && mem=$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')
        awk -v n="$files" -v b="$bytes" -v s="$strat" -v k="$used" -v e="$e" -v w="$w" -v m="$mem" 'BEGIN {
            printf "| %d | %d | %s | %d | %.2f | %.2f | %.3f | %.3f | %.2f | %s |\n",
                n, b, s, k, e * 1e3, w * 1e3, e / n * 1e6, e / b * 1e9, b / e / 1e9, m
        }' >>"$table"
        echo "scaling: $s $strat x$used: hunt $(awk -v e="$e" 'BEGIN { printf "%.2f", e * 1e3 }') ms" >&2
    done
done

echo
echo "## Full scans by data set size ($workers workers requested, median of $runs runs, warm cache)"
cat "$table"
if [[ -n $export_md ]]; then
    cp "$table" "$export_md"
    echo "(markdown in $export_md)"
fi
