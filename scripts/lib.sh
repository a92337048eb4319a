# shellcheck shell=bash disable=SC2154,SC2034 # prog, root, target, strategies come from, and strategy_list goes to, the sourcing script
# Shared by the scripts in this folder; sourced, never run. The sourcing script sets
# `prog` (its name, for messages), `root` (the repository) and `target` (cargo's target
# folder) first.

die() {
    echo "$prog: $*" >&2
    exit 2
}

need_int() { # name value
    [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a whole number (got '$2')"
}

# Sets `hunt` to $HUNT, or to a release build made now, and exports HUNT_EXE so the
# strategies that re-run hunt (spawn) find it.
find_hunt() {
    if [[ -n ${HUNT:-} ]]; then
        hunt=$HUNT
    else
        command -v cargo >/dev/null || die "cargo is missing: install Rust (https://rustup.rs), or set HUNT=/path/to/hunt"
        echo "$prog: cargo build --release (a no-op when hunt is up to date)" >&2
        (cd "$root" && cargo build --release --quiet --bin hunt)
        hunt=$target/release/hunt
    fi
    [[ -x $hunt ]] || die "no hunt binary at $hunt"
    export HUNT_EXE=$hunt
}

# Sets `strategy_list` from `strategies` (comma-separated), or from every strategy
# `hunt search -h` lists when it is empty: the registry, not a list kept here.
list_strategies() {
    if [[ -z $strategies ]]; then
        strategies=$(COLUMNS=1000 "$hunt" search -h |
            sed -n 's/.*--strategy.*\[possible values: \([^]]*\)\].*/\1/p' | tr -d ' ')
        [[ -n $strategies ]] || die "could not read the strategies from 'hunt search -h': pass --strategies"
    fi
    IFS=, read -r -a strategy_list <<<"$strategies"
}
