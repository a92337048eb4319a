#!/usr/bin/env bash
# What a one-file task costs redis-server, in instructions: noise-free where times are not
# (this machine is shared; a time per task wanders by 30 %, an instruction count by well
# under 1 %). A private redis-server runs under `valgrind --tool=callgrind`, which counts
# the instructions it executes in user space (the kernel's share of a round trip, the
# loopback network, is not counted). Two hunts of one-file tasks (--batch 1), of --small
# and --large files (1,000 and 3,000), each with one `hunt worker -j 1` and a
# `--remote-workers` coordinator on a fresh server; the difference, divided by the
# difference in tasks, is what one more task costs the server, everything included (the
# coordinator's enqueue and event reads, the worker's one script call, the lease scans).
# Beside it, the same difference for PINGs from `redis-benchmark -c 1`: what the
# baseline of the issue's round-trip target costs the server.
#   --before BINARY: an older hunt measured the same way, a row before this one's.
# Needs redis-server, redis-benchmark and valgrind. Prints Markdown.
#
# Usage: scripts/redis-instructions.sh [--before BINARY] [--small N] [--large N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
prog=redis-instructions
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

before=
small=1000
large=3000
while (($#)); do
    case $1 in
    --before) before=${2:?--before needs a hunt binary}; shift ;;
    --small) need_int "$1" "${2:-}"; small=$2; shift ;;
    --large) need_int "$1" "${2:-}"; large=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown option '$1': see --help" ;;
    esac
    shift
done
((large > small)) || die "--large must be more than --small"
for tool in redis-server redis-benchmark valgrind callgrind_annotate; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install redis-server valgrind"
done
find_hunt

tmp=$(mktemp -d /tmp/hunt-redis-instructions.XXXXXX)
server=
cleanup() {
    if [[ -n $server ]]; then { kill "$server" && wait "$server"; } 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Starts redis-server under callgrind; `stop` ends it and prints its instruction count.
start() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
        redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/log" >/dev/null 2>&1 &
    server=$!
    local i
    for ((i = 0; i < 300; i++)); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "redis-server under valgrind did not answer in 30 s"
}
stop() {
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$server" 2>/dev/null || true
    server=
    callgrind_annotate "$tmp/callgrind.out" 2>/dev/null |
        sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}

data() { # files: a set of one-line files, made once
    local d=$target/round-trip-data-$1
    [[ -f $d/manifest.json ]] || "$hunt" generate --dir "$d" --files "$1" --lines 1 --seed 2026 >&2
    echo "$d"
}

hunt_total() { # exe files: the server's instructions for one hunt of `files` one-file tasks
    local exe=$1 dir w out
    dir=$(data "$2")
    start
    HUNT_EXE=$exe "$exe" worker --broker "redis://127.0.0.1:$port" --dir "$dir" -j 1 --name instructions 2>/dev/null &
    w=$!
    out=$(HUNT_EXE=$exe "$exe" search --json -s redis --broker "redis://127.0.0.1:$port" \
        --remote-workers --dir "$dir" --batch 1 --needle Doubloon 2>&1) || true
    { kill -TERM "$w" && wait "$w"; } 2>/dev/null || true
    [[ $out == *'"tasks":{"tasks":'"$2"* ]] || die "the hunt of $2 files did not run all its tasks: $out"
    stop
}

ping_total() { # n: the server's instructions for n PINGs (PING_MBULK) from one client
    start
    redis-benchmark -p "$port" -c 1 -n "$1" -t ping_mbulk >/dev/null 2>&1
    stop
}

echo "## Instructions redis-server executes a one-file task (callgrind)"
echo
echo "\`scripts/redis-instructions.sh${before:+ --before $before}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(redis-server --version | sed 's/ sha=.*//')): the difference between hunts of $large and $small one-file tasks (one worker), per task; a PING is the same difference for $((large * 10)) and $((small * 10)) PINGs."
echo
echo "| what | instructions a task (a PING) | x a PING |"
echo "|:---|---:|---:|"
a=$(ping_total $((small * 10)))
b=$(ping_total $((large * 10)))
ping=$(((b - a) / ((large - small) * 10)))
echo "| PING (redis-benchmark -c 1) | $ping | 1 |"
row() { # label exe
    local x y per
    x=$(hunt_total "$2" "$small")
    y=$(hunt_total "$2" "$large")
    per=$(((y - x) / (large - small)))
    echo "| $1 | $per | $(awk -v a="$per" -v b="$ping" 'BEGIN { printf "%.0f", a / b }') |"
}
[[ -n $before ]] && row "hunt before ($before)" "$before"
row "hunt ($("$hunt" --version))" "$hunt"
echo
