#!/usr/bin/env bash
# What a task-queue broker costs, in two parts (both by default):
#   --round-trips: a worker's calls per task, against the server's own round trip. For
#      each broker a private server (redis-server, PostgreSQL, rabbitmq-server) in a folder this
#      script owns and removes, and side by side in one run, each of --runs rounds: the
#      single-client round trip rate (redis-benchmark -c 1 PING; pgbench -c 1 `SELECT 1`;
#      RabbitMQ: one client's publish-consume round trip, examples/amqp_round_trip.rs, on
#      a classic queue and on a quorum queue), then full scans of --files one-line files
#      (20,000; PostgreSQL --pg-files, RabbitMQ --rmq-files, 2,000 each) at --batch 1
#      (one file per task) with one worker and with eight; and the calls per task,
#      counted on the server (Redis `INFO commandstats`, PostgreSQL `pg_stat_statements`;
#      RabbitMQ n/a: its node's messages per task instead), for the workers and the
#      coordinator apart, and the server's time in the workers' calls. Medians; the rates
#      as ratios to the round trip rate measured beside them (the host is shared).
#      --before BINARY: an older hunt run round by round beside this one, a row each.
#      --rabbitmq URL: that RabbitMQ server instead of a private node.
#   --cpu-split (only when asked): one Redis worker's one-file tasks, --runs rounds, and
#      the CPU a task of the worker, the coordinator and redis-server, each apart.
#   --idle (only when asked): four idle `hunt worker`s for 10 s: PostgreSQL's
#      transactions and statements (LISTEN/NOTIFY) against SQLite's (polled, --poll).
#   --scans: against the in-memory queue, on one data set (warm cache), each figure the
#      median of --runs fresh `hunt search --json` processes:
#      1. the cost per task: a full scan at --batch 1 .. the whole set, for each broker
#         strategy and `queue` (time to the answer "not found", and tasks per second);
#      2. recovering from a killed worker: local worker 0 of the hunt dies at its first
#         task (the test hook HUNT_TEST_FAIL_WORKER), and the others take its task over
#         once its --lease runs out: the hunt's time against --lease.
# Needs redis-server for `redis` (a private one is started per hunt). Prints Markdown.
# HUNT=/path/to/hunt measures that build (an older one, say) instead of a release build.
#
# Usage: scripts/broker-costs.sh [--round-trips | --scans | --cpu-split | --idle] [--dir D] [--runs N]
#            [--workers K] [--strategies LIST] [--files N] [--pg-files N] [--rmq-files N]
#            [--rabbitmq URL] [--before BINARY]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
prog=broker-costs
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

dir=$target/readme-data
runs=5
workers=2
strategies=redis,sqlite
strategies_given=
parts=round-trips,scans
rt_files=20000
rt_pg_files=2000
rt_rmq_files=2000
rabbitmq=
before=
while (($#)); do
    case $1 in
    --round-trips) parts=round-trips ;;
    --cpu-split) parts=cpu-split ;;
    --idle) parts=idle ;;
    --scans) parts=scans ;;
    --files) need_int "$1" "${2:-}"; rt_files=$2; shift ;;
    --pg-files) need_int "$1" "${2:-}"; rt_pg_files=$2; shift ;;
    --rmq-files) need_int "$1" "${2:-}"; rt_rmq_files=$2; shift ;;
    --rabbitmq) rabbitmq=${2:?--rabbitmq needs an amqp:// URL}; shift ;;
    --before) before=${2:?--before needs a hunt binary}; shift ;;
    --dir) dir=${2:?--dir needs a folder}; shift ;;
    --runs) need_int "$1" "${2:-}"; runs=$2; shift ;;
    --workers | -j) need_int "$1" "${2:-}"; workers=$2; shift ;;
    --strategies) strategies=${2:?}; strategies_given=1; shift ;;
    -h | --help) sed -n '2,33p' "$0"; exit 0 ;;
    *) die "unknown option '$1': see --help" ;;
    esac
    shift
done
find_hunt
available=$(COLUMNS=1000 "$hunt" search -h | sed -n 's/.*--strategy.*\[possible values: \([^]]*\)\].*/\1/p')
available=${available// /}
if [[ ,$parts, == *,round-trips,* || $parts == cpu-split || $parts == idle ]]; then
    # shellcheck source=scripts/round-trips.sh
    source "$root/scripts/round-trips.sh"
    if [[ $parts == cpu-split ]]; then cpu_split; exit 0; fi
    if [[ $parts == idle ]]; then idle_costs; exit 0; fi
    round_trips
fi
[[ ,$parts, == *,scans,* ]] || exit 0
[[ -f $dir/manifest.json ]] || "$hunt" generate --dir "$dir" --seed 2026 >&2
files=$(sed -n 's/^ *"files": *\([0-9]*\).*/\1/p' "$dir/manifest.json")
IFS=, read -r -a brokers <<<"$strategies"

json_num() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<<"$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
measure() { # expected exit, then search flags -> median elapsed_s (s)
    local want=$1
    shift
    local times=() out code
    for ((r = 0; r <= runs; r++)); do
        code=0
        out=$("$hunt" search --json --dir "$dir" -j "$workers" "$@" 2>/dev/null) || code=$?
        ((code == want)) || die "hunt search $* exited $code, expected $want: $out"
        ((r == 0)) && continue
        times+=("$(json_num elapsed_s "$out")")
    done
    median "${times[@]}"
}

echo "## Cost per task: full scans of $files files, $workers workers, median of $runs"
echo
echo "| strategy | --batch | tasks | median [ms] | tasks/s |"
echo "|:---|---:|---:|---:|---:|"
for s in queue "${brokers[@]}"; do
    [[ ,$available, == *",$s,"* ]] || { echo "$prog: $s is not in this build" >&2; continue; }
    for batch in 1 8 64 512 "$files"; do
        t=$(measure 1 -s "$s" --batch "$batch" --needle Doubloon)
        awk -v s="$s" -v b="$batch" -v n="$files" -v t="$t" 'BEGIN {
            tasks = int((n + b - 1) / b); printf "| %s | %d | %d | %.1f | %.0f |\n", s, b, tasks, t * 1e3, tasks / t }'
    done
done
echo
echo "## Recovering from a killed worker (worker 0 dies holding its first task), $workers workers"
echo
echo "| strategy | --lease [s] | median [ms] | without the kill [ms] |"
echo "|:---|---:|---:|---:|"
for s in "${brokers[@]}"; do
    [[ ,$available, == *",$s,"* ]] || continue
    base=$(measure 1 -s "$s" --needle Doubloon)
    for lease in 0.5 1 2 4; do
        t=$(HUNT_TEST_FAIL_WORKER="$s:0" measure 1 -s "$s" --lease "$lease" --needle Doubloon)
        awk -v s="$s" -v l="$lease" -v t="$t" -v b="$base" 'BEGIN { printf "| %s | %s | %.0f | %.0f |\n", s, l, t * 1e3, b * 1e3 }'
    done
done
