#!/usr/bin/env bash
# Puts hunt's strategies beside ripgrep, grep and the Python versions of the blog's hunts,
# whole process as a user runs them, with hyperfine. See usage() for what is compared and
# how the treasure is put at the same place for every contender.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
default_dir=$target/hunt-peers-data

usage() {
    cat <<EOF
Usage: scripts/compare-peers.sh [OPTIONS]

Times, with hyperfine -N (no shell), on one data set and at one treasure position:
  hunt search -s S -j K --rotate R   for every strategy S that hunt lists
  rg -q -F -j K                      (--no-ignore --hidden, manifest.json excluded)
  grep -rqF                          (manifest.json excluded)
  scripts/python/{sequential,threads,multiprocessing_hunt}.py
The Python hunts take seconds, so they get their own hyperfine run with fewer runs, each
beside hunt's strategy of the same model (sequential, threads, fork for multiprocessing);
both runs export markdown.

The treasure is put at the same place for everyone: its position in grep's visiting
order (grep -r reads a folder in directory order, which no flag changes) is measured,
and hunt and the Python hunts are given the --rotate that puts it at that same position
of their order. rg's own order is printed too: with several threads it is only close.
manifest.json is excluded from rg and grep because it names the needle.

Options:
  --dir DIR          data set folder [default: \$CARGO_TARGET_DIR/hunt-peers-data, or
                     target/hunt-peers-data]; generated when it holds no data set
  --files N          files when generating [default: 10000]
  --lines N          lines per file when generating [default: 1000]
  --position PCT     where the treasure should sit in the search order, percent
                     [default: 45; 50 would sit on the first file of the second half,
                     which every contiguous-range strategy finds at once]
  --regenerate       move the treasure (hunt generate --force --treasure-at) in a --dir
                     you gave; the default folder is always fair game
  --absent           full scan: search for a needle that no file holds (exit code 1)
  --needle TEXT      the absent needle [default: Doubloon]
  --workers K        workers for hunt, rg and the parallel Python hunts [default: cores]
  --strategies LIST  comma-separated hunt strategies [default: every one hunt lists]
  --runs N           hyperfine runs for hunt, rg and grep [default: 10]
  --warmup N         hyperfine warm-up runs for them [default: 3]
  --python-runs N    hyperfine runs for the Python hunts [default: 3]
  --python-warmup N  warm-up runs for the Python hunts [default: 1]
  --no-python        leave the Python hunts out
  --export FILE      (or --export-markdown) markdown table of hunt, rg and grep; the
                     Python table goes to FILE with -python before .md
                     [default: \$CARGO_TARGET_DIR or target, /hunt-peers/peers-<mode>.md]
  -h, --help         this text

Needs hyperfine, grep, and cargo (to build hunt in release); rg and python3 are skipped
with a note when missing. It installs nothing. HUNT=/path/to/hunt uses that binary.
PYTHON=/path/to/python3 picks the interpreter [default: python3 on PATH]. Either way the
interpreter is resolved to its real executable (sys.executable) before timing, so a
version manager's shim (pyenv's python3 is a shell script that costs ~50 ms a run) is
not counted as Python's time; the path and version are printed with the table.
Every contender is run once and its answer checked before anything is timed.
EOF
}

prog=compare-peers
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

dir=""
files=10000
lines=1000
position=45
regenerate=0
absent=0
needle=Doubloon
workers=$(nproc 2>/dev/null || echo 1)
strategies=""
runs=10
warmup=3
py_runs=3
py_warmup=1
python=1
export_md=""
while (($#)); do
    case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift ;;
    --files) need_int "$1" "${2:-}"; files=$2; shift ;;
    --lines) need_int "$1" "${2:-}"; lines=$2; shift ;;
    --position) need_int "$1" "${2:-}"; position=$2; shift ;;
    --regenerate) regenerate=1 ;;
    --absent) absent=1 ;;
    --needle) needle=${2:?--needle needs a text}; shift ;;
    --workers | -j) need_int "$1" "${2:-}"; workers=$2; shift ;;
    --strategies) strategies=${2:?--strategies needs a list}; shift ;;
    --runs) need_int "$1" "${2:-}"; runs=$2; shift ;;
    --warmup) need_int "$1" "${2:-}"; warmup=$2; shift ;;
    --python-runs) need_int "$1" "${2:-}"; py_runs=$2; shift ;;
    --python-warmup) need_int "$1" "${2:-}"; py_warmup=$2; shift ;;
    --no-python) python=0 ;;
    --export | --export-markdown) export_md=${2:?--export needs a file}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1': see --help" ;;
    esac
    shift
done
((position <= 100)) || die "--position is a percentage, 0 to 100 (got $position)"
((workers >= 1)) || die "--workers must be at least 1"
((runs >= 2 && py_runs >= 2)) || die "--runs and --python-runs must be at least 2 (hyperfine's minimum)"

# --- tools: say what is missing and how to get it; install nothing -----------------
missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine (apt-get install hyperfine, or cargo install hyperfine)")
command -v grep >/dev/null || missing+=("grep (apt-get install grep)")
if [[ -z ${HUNT:-} ]] && ! command -v cargo >/dev/null; then
    missing+=("cargo, to build hunt (https://rustup.rs), or set HUNT=/path/to/hunt")
fi
if ((${#missing[@]})); then
    printf 'compare-peers: missing: %s\n' "${missing[@]}" >&2
    exit 2
fi
have_rg=1
if ! command -v rg >/dev/null; then
    have_rg=0
    echo "compare-peers: rg not found, leaving ripgrep out (apt-get install ripgrep)" >&2
fi
python_exe=""
if ((python)); then
    # The real interpreter, not a shim in front of it: hyperfine -N times what it starts.
    if python_exe=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)' 2>/dev/null) &&
        [[ -x $python_exe ]]; then
        python_version=$("$python_exe" -c 'import platform; print(platform.python_version())')
    else
        python=0
        echo "compare-peers: ${PYTHON:-python3} not found or not working, leaving the Python hunts out (apt-get install python3, or set PYTHON=/path/to/python3)" >&2
    fi
fi

# --- hunt, in release ----------------------------------------------------------------
find_hunt
list_strategies

# --- the data set ----------------------------------------------------------------------
owned=0
if [[ -z $dir ]]; then
    dir=$default_dir
    owned=1
fi
((regenerate)) && owned=1
dir=${dir%/}
manifest_field() { # name: a number from the pretty-printed manifest, or empty
    sed -n "s/^ *\"$1\": *\"\{0,1\}\([0-9A-Za-z]*\).*/\1/p" "$dir/manifest.json" | head -n 1
}
if [[ ! -f $dir/manifest.json ]]; then
    if [[ -d $dir ]] && [[ -n $(ls -A "$dir") ]]; then
        die "$dir holds files but no manifest.json: pass a data set folder, or a new one with --dir"
    fi
    "$hunt" generate --dir "$dir" --files "$files" --lines "$lines" --seed 1
fi
n=$(manifest_field files)
treasure=$(manifest_field treasure_index)
[[ -n $n && -n $treasure ]] || die "$dir/manifest.json lacks files or treasure_index: regenerate it with hunt generate --force --dir $dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# grep's visiting order: every non-empty file matches the empty pattern, listed in turn.
grep_order() {
    grep -rlF --exclude=manifest.json -e '' "$dir" >"$tmp/order" || true
}
position_of() { # basename -> 0-based position in $tmp/order, or empty
    awk -F/ -v f="$1" '$NF == f { print NR - 1; exit }' "$tmp/order"
}

rotate=0
where=""
if ((!absent)); then
    grep_order
    listed=$(wc -l <"$tmp/order")
    want=$((listed * position / 100))
    ((want < listed)) || want=$((listed - 1))
    at=$(position_of "file_$treasure.txt")
    [[ -n $at ]] || die "grep does not list file_$treasure.txt in $dir: is the data set complete?"
    if ((at != want)); then
        # The data file at grep's position `want`, or the next one.
        index=$(awk -F/ -v w="$want" 'NR > w && $NF ~ /^file_[0-9]+\.txt$/ { sub(/^file_/, "", $NF); sub(/\.txt$/, "", $NF); print $NF; exit }' "$tmp/order")
        if ((owned)) && [[ -n $index ]]; then
            echo "compare-peers: moving the treasure to file_$index.txt, position $want of $listed in grep's order" >&2
            preset=()
            [[ $(manifest_field preset) == blog ]] && preset=(--preset blog)
            "$hunt" generate --dir "$dir" --files "$n" --lines "$(manifest_field lines)" \
                --seed "$(manifest_field seed)" --treasure-at "$index" "${preset[@]}" --force
            treasure=$index
            # Rewriting files in place keeps their directory entries, so the order holds;
            # check rather than trust it.
            grep_order
            at=$(position_of "file_$treasure.txt")
            ((at == want)) || echo "compare-peers: warning: the filesystem reordered the folder; the treasure is at grep position $at" >&2
        else
            echo "compare-peers: the treasure is at position $at of $listed in grep's order, not $want; using it (--regenerate moves it)" >&2
        fi
    fi
    # Search position p visits file (p + rotate) % n: this puts the treasure at `at`.
    rotate=$(((treasure - at % n + n) % n))
    where="treasure file_$treasure.txt at position $at of $listed ($((100 * at / listed))%) in grep's order; hunt and Python --rotate $rotate"
    if ((have_rg)); then
        rg -j1 --no-ignore --hidden -l -F -g '!manifest.json' '' "$dir" >"$tmp/order" || true
        rg_at=$(position_of "file_$treasure.txt")
        where+="; position ${rg_at:-?} in rg -j1's order"
    fi
fi

# --- the contenders ----------------------------------------------------------------
q() { printf '%q' "$1"; }
search_needle=$needle
mode=absent
if ((!absent)); then
    search_needle=$(manifest_field needle)
    [[ -n $search_needle ]] || search_needle=Treasure
    mode=found
fi
hunt_args="--dir $(q "$dir") --rotate $rotate"
py_args="$(q "$dir") --rotate $rotate"
if ((absent)); then
    hunt_args+=" --needle $(q "$needle")"
    py_args+=" --needle $(q "$needle")"
fi

names=()
commands=()
expect=() # what the check run must print: a file name, "" for rg -q, "-" for exit 1
add() { # name command expected
    names+=("$1")
    commands+=("$2")
    expect+=("$3")
}
expected_file=file_$treasure.txt
quiet_expect="" # rg -q and grep -q: exit 0, nothing printed
if ((absent)); then
    expected_file=-
    quiet_expect=-
fi
for s in "${strategy_list[@]}"; do
    # Name it by the workers it really uses (sequential has one whatever -j says).
    json=$(eval "$(q "$hunt") search --json -s $s -j $workers $hunt_args" 2>&1) || true
    used=$(sed -n 's/.*"workers": *\([0-9]*\).*/\1/p' <<<"$json")
    [[ -n $used ]] || die "hunt search -s $s did not answer in JSON: $json"
    add "hunt $s x$used" "$(q "$hunt") search -s $s -j $workers $hunt_args" "$expected_file"
done
if ((have_rg)); then
    add "rg -j$workers" "rg -q -F -j $workers --no-ignore --hidden -g !manifest.json $(q "$search_needle") $(q "$dir")" "$quiet_expect"
fi
add "grep -r" "grep -rqF --exclude=manifest.json $(q "$search_needle") $(q "$dir")" "$quiet_expect"
py_names=()
py_commands=()
py_expect=()
if ((python)); then
    # Each Python model beside hunt's strategy of the same model, so one table shows how
    # far behind each is: sequential/sequential, threads/threads, multiprocessing/fork.
    py=$root/scripts/python
    for pair in sequential:sequential threads:threads fork:multiprocessing_hunt; do
        s=${pair%%:*}
        script=${pair#*:}
        jobs="-j $workers"
        [[ $script == sequential ]] && jobs=""
        for i in "${!names[@]}"; do
            if [[ ${names[$i]} == "hunt $s x"* ]]; then
                py_names+=("${names[$i]}")
                py_commands+=("${commands[$i]}")
                py_expect+=("$expected_file")
            fi
        done
        py_names+=("python ${script%_hunt}${jobs:+ x$workers}")
        py_commands+=("$(q "$python_exe") $(q "$py/$script.py") $jobs $py_args")
        py_expect+=("$expected_file")
    done
fi

# --- check every answer once, outside the timing -------------------------------------
check() { # name command expected
    local out code=0
    out=$(eval "$2" 2>&1) || code=$?
    if [[ $3 == - ]]; then
        ((code == 1)) || die "$1 should find nothing (exit 1) but exited $code: $out"
    elif ((code != 0)); then
        die "$1 should find the treasure (exit 0) but exited $code: $out"
    elif [[ -n $3 && $out != *"/$3 "* && $out != *"/$3" ]]; then
        die "$1 found the wrong file (expected $3): $out"
    fi
}
for i in "${!names[@]}"; do check "${names[$i]}" "${commands[$i]}" "${expect[$i]}"; done
for i in "${!py_names[@]}"; do check "${py_names[$i]}" "${py_commands[$i]}" "${py_expect[$i]}"; done
# rg -q and grep -q print nothing: list the matches once to check they name the treasure.
if ((!absent)); then
    if ((have_rg)); then
        got=$(rg -l -F --no-ignore --hidden -g '!manifest.json' "$search_needle" "$dir" || true)
        [[ $got == */$expected_file ]] || die "rg finds '$got', not $expected_file"
    fi
    got=$(grep -rlF --exclude=manifest.json "$search_needle" "$dir" || true)
    [[ $got == */$expected_file ]] || die "grep finds '$got', not $expected_file"
fi

# --- time ------------------------------------------------------------------------------
if [[ -z $export_md ]]; then
    mkdir -p "$target/hunt-peers"
    export_md=$target/hunt-peers/peers-$mode.md
fi
py_md=${export_md%.md}-python.md
ignore=()
((absent)) && ignore=(-i) # "not found" exits 1, as it should; the check above vouched for it

echo "compare-peers: $n files in $dir, $mode mode, $workers workers${where:+; $where}" >&2
run_hyperfine() { # runs warmup export names-array commands-array
    local r=$1 w=$2 out=$3
    local -n ns=$4 cs=$5
    local args=(-N --warmup "$w" --runs "$r" --export-markdown "$out" "${ignore[@]}")
    for i in "${!ns[@]}"; do args+=(--command-name "${ns[$i]}" "${cs[$i]}"); done
    hyperfine "${args[@]}"
}
run_hyperfine "$runs" "$warmup" "$export_md" names commands
if ((python)); then
    run_hyperfine "$py_runs" "$py_warmup" "$py_md" py_names py_commands
fi

echo
echo "## hunt, rg and grep ($mode; $n files; $workers workers${where:+; $where})"
cat "$export_md"
echo "(markdown in $export_md)"
if ((python)); then
    echo
    echo "## Python hunts beside hunt's strategy of the same model ($mode; Python $python_version, $python_exe)"
    cat "$py_md"
    echo "(markdown in $py_md)"
fi
