#!/usr/bin/env bash
# The figures of the task-queue wave and of the big-file work (issues 9, 10 and 13), into
# results/: before/after the redesign, the brokers raced against the local queue and
# spawn, what a task costs, and hunt against ripgrep on the blog preset and a real folder.
# Run on a quiet machine with hyperfine, ripgrep and redis-server installed; about 10
# minutes on 2 cores. Usage: scripts/wave-results.sh [OLD_HUNT_BINARY]
# ONLY=rg runs only the three tables against ripgrep (blog preset, default set, a real
# folder), about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results
hunt=$PWD/target/release/hunt
old=${1:-}
data=$PWD/target/readme-data
blog=$PWD/target/blog-data
reg=$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)
cargo build --release --quiet
[[ -f $data/manifest.json ]] || "$hunt" generate --dir "$data" --seed 2026
[[ -f $blog/manifest.json ]] || "$hunt" generate --dir "$blog" --preset blog --seed 2026
# hyperfine -i accepts any exit code, so each command is first run once and must answer
# "not found" (exit 1): a command that fails would otherwise be timed as a fast one.
hf() {
    local a skip=0
    for a in "$@"; do
        ((skip)) && { skip=0; continue; }
        case $a in -n | --export-markdown) skip=1; continue ;; esac
        local code=0
        $a >/dev/null 2>&1 || code=$?
        ((code == 1)) || { echo "wave-results: '$a' exited $code, not 1 (not found)" >&2; exit 1; }
    done
    hyperfine -N -i --warmup 2 --runs "${RUNS:-10}" --style basic "$@"
}

if [[ ${ONLY:-} != rg ]]; then
if [[ -n $old ]]; then
    echo "== before/after the redesign: full scans, 2 workers, default set"
    args=()
    for s in threads fork queue spawn; do
        args+=(-n "before $s" "$old search --dir $data -s $s -j 2 --needle Doubloon")
        args+=(-n "after $s" "$hunt search --dir $data -s $s -j 2 --needle Doubloon")
    done
    hf --export-markdown $out/redesign-before-after.md "${args[@]}"
fi

echo "== the brokers raced against queue and spawn"
"$hunt" race --dir "$data" --strategies queue,spawn,redis,sqlite -j 1,2,4 --runs 10 --force \
    --export-markdown $out/race-brokers.md --export-json $out/race-brokers.json | tee $out/race-brokers.txt
"$hunt" race --dir "$data" --strategies queue,spawn,redis,sqlite -j 2 --runs 10 --full-scan --force \
    --export-markdown $out/race-brokers-full-scan.md | tee $out/race-brokers-full-scan.txt

echo "== the cost per task and recovery against --lease"
scripts/broker-costs.sh --dir "$data" --runs 3 | tee $out/broker-costs.md
fi

echo "== the blog preset against ripgrep (full scans, 2 workers)"
hf --export-markdown $out/blog-vs-rg.md \
    -n "rg -j2" "rg -q -F -j2 Doubloon $blog" \
    -n "fork x2 read" "$hunt search --dir $blog -s fork -j 2 --needle Doubloon" \
    -n "fork x2 mmap" "$hunt search --dir $blog -s fork -j 2 --reader mmap --needle Doubloon" \
    -n "threads x2 read" "$hunt search --dir $blog -s threads -j 2 --needle Doubloon" \
    -n "uring x2" "$hunt search --dir $blog -s uring -j 2 --needle Doubloon"

echo "== the default set: uring against the blocking strategies (full scans, 2 workers)"
hf --export-markdown $out/uring-default.md \
    -n "rg -j2" "rg -q -F -j2 Doubloon $data" \
    -n "fork x2" "$hunt search --dir $data -s fork -j 2 --needle Doubloon" \
    -n "threads x2" "$hunt search --dir $data -s threads -j 2 --needle Doubloon" \
    -n "uring x2" "$hunt search --dir $data -s uring -j 2 --needle Doubloon"

echo "== a real folder without a manifest: $reg"
# The same answers: ripgrep lists as many files, and hunt's find for a needle in a few
# files is one of the files ripgrep names.
registry_answers() {
    echo "files: $(find "$reg" -type f | wc -l), rg --files: $(rg -uuu --files "$reg" | wc -l), bytes: $(du -sb "$reg" | cut -f1)"
    local found
    found=$("$hunt" search --dir "$reg" -s fork -j 2 --needle 'ChaCha20Rng::from_seed' --json |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["found"])')
    echo "hunt found $found; rg -l lists:"
    rg -uuu -l -F -j2 'ChaCha20Rng::from_seed' "$reg" | sort
    rg -uuu -l -F -j2 'ChaCha20Rng::from_seed' "$reg" | grep -qxF "$found" ||
        { echo "wave-results: hunt's find $found is not among ripgrep's" >&2; exit 1; }
}
registry_answers | tee $out/registry-vs-rg.txt
hf --export-markdown $out/registry-vs-rg.md \
    -n "rg -uuu -j2" "rg -uuu -q -F -j2 Doubloon $reg" \
        -n "rayon x2" "$hunt search --dir $reg -s rayon -j 2 --needle Doubloon" \
    -n "fork x2" "$hunt search --dir $reg -s fork -j 2 --needle Doubloon" \
    -n "threads x2" "$hunt search --dir $reg -s threads -j 2 --needle Doubloon"
"$hunt" search --dir "$reg" -s rayon -j 2 --needle Doubloon --json | tee -a $out/registry-vs-rg.txt || true
