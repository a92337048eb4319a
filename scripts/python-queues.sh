#!/usr/bin/env bash
# Celery, RQ and hunt's redis broker side by side (issue 25): one race each for the time
# to find, the full scan and one-file tasks, the survival races, and the pools' memory.
# hunt's redis runs with workers already serving (--remote-workers), as the Python pools
# do. Needs a release build, redis-server and .venv (scripts/install-python-deps.sh).
#   scripts/python-queues.sh DATA_DIR OUT_DIR [RUNS]
set -euo pipefail
dir="$1"; out="$2"; runs="${3:-5}"
root="$(cd "$(dirname "$0")/.." && pwd)"
hunt="$root/target/release/hunt"
mkdir -p "$out"
tmp="$(mktemp -d)"
sock="$tmp/redis.sock"
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
    --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
server=$!
workers=()
cleanup() {
    for p in "${workers[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${workers[@]}"; do wait "$p" 2>/dev/null || true; done
    # The pools a --python-pool hunt leaves serving end with their server.
    kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
url="redis+unix://$sock"
for i in 1 2; do
    "$hunt" worker --quiet --broker "$url" --dir "$dir" -j 1 --name "w$i" &
    workers+=($!)
done
py=celery,celery-reliable,rq
common=(--dir "$dir" -j 2 --seed 2026 --broker "$url" --remote-workers)
echo "== time to find"
"$hunt" race "${common[@]}" --strategies "sequential,redis,$py" --runs "$runs" \
    --export-markdown "$out/find.md" --export-json "$out/find.json"
echo "== full scan"
"$hunt" race "${common[@]}" --strategies "sequential,redis,$py" --runs "$runs" --full-scan \
    --export-markdown "$out/scan.md" --export-json "$out/scan.json"
echo "== one-file tasks (full scan, --batch 1)"
"$hunt" race "${common[@]}" --strategies "redis,$py" --runs 2 --full-scan --batch 1 \
    --export-markdown "$out/tasks.md" --export-json "$out/tasks.json"
echo "== pool memory (after a hunt, -j 2)"
for s in celery celery-reliable rq; do
    "$hunt" search --dir "$dir" -j 2 --strategy "$s" --python-pool "$url" >/dev/null
done
for q in celery-2 celery-reliable-2 rq-2; do
    kb=0
    for e in /proc/[0-9]*/environ; do
        if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qx "HUNT_QUEUE=hunt-$q-5000"; then
            p="${e#/proc/}"; p="${p%/environ}"
            kb=$((kb + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
        fi
    done
    echo "$q: pool and client RSS $((kb / 1024)) MiB"
done
kb=0
for p in "${workers[@]}"; do kb=$((kb + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status"))); done
echo "redis (2 hunt worker processes): RSS $((kb / 1024)) MiB"
for f in kill-worker pause-worker kill-broker; do
    echo "== --fault $f (hunt's redis with local workers: a remote worker never sees the fault)"
    "$hunt" race --dir "$dir" -j 2 --seed 2026 --strategies "redis,$py" --runs 3 --fault "$f" \
        --export-markdown "$out/$f.md" --export-json "$out/$f.json"
done
"$root/.venv/bin/python" -c 'import celery, kombu, rq, redis; print(f"celery {celery.__version__}, kombu {kombu.__version__}, rq {rq.__version__}, redis-py {redis.__version__}")'
redis-server --version
