//! The benches take the standard harness flags: `cargo bench -- --list` once stopped
//! `benches/sqlite.rs` with a panic ("unknown option --list"). Its parser is tested here;
//! the criterion benches get the same flags from criterion.

#[path = "../benches/common/flags.rs"]
mod flags;
use flags::Harness;

const PARTS: [&str; 4] = ["claims", "polling/idle", "polling/answer", "batch"];
const OWN: [&str; 2] = ["--sizes", "--runs"];

fn parse(args: &[&str]) -> Harness {
    Harness::parse(args.iter().map(|a| a.to_string()), &OWN)
}

#[test]
fn cargo_bench_list_lists_every_part() {
    let h = parse(&["--bench", "--list"]);
    assert!(h.list && h.bench);
    assert_eq!(
        h.listing(&PARTS),
        "claims: benchmark\npolling/idle: benchmark\npolling/answer: benchmark\nbatch: benchmark\n"
    );
}

#[test]
fn a_filter_picks_parts_as_libtest_does() {
    let h = parse(&["--bench", "polling"]);
    let run: Vec<_> = PARTS.iter().filter(|p| h.selects(p)).collect();
    assert_eq!(run, [&"polling/idle", &"polling/answer"]);
    let exact = parse(&["--bench", "--exact", "polling"]);
    assert!(!PARTS.iter().any(|p| exact.selects(p)));
    let exact = parse(&["--bench", "claims", "--exact"]);
    assert!(exact.selects("claims") && !exact.selects("batch"));
    let skip = parse(&["--bench", "--skip", "polling"]);
    assert!(skip.selects("claims") && !skip.selects("polling/idle"));
}

#[test]
fn ignored_selects_nothing_and_lists_nothing() {
    let h = parse(&["--bench", "--ignored", "--list"]);
    assert_eq!(h.listing(&PARTS), "");
    assert!(!PARTS.iter().any(|p| h.selects(p)));
}

#[test]
fn test_mode_is_no_measurement() {
    assert!(!parse(&[]).measures(), "cargo test passes no --bench");
    assert!(!parse(&["--bench", "--test"]).measures());
    assert!(parse(&["--bench"]).measures());
}

#[test]
fn other_harness_flags_are_ignored_with_their_values() {
    let h = parse(&[
        "--bench",
        "--format",
        "terse",
        "--color=never",
        "--nocapture",
        "--quiet",
        "--save-baseline",
        "main",
        "--sample-size",
        "10",
        "--whatever",
        "batch",
    ]);
    assert_eq!(h.filters, ["batch"]);
    assert!(h.own.is_empty());
}

#[test]
fn the_benchs_own_options_keep_their_values() {
    let h = parse(&["--bench", "claims", "--sizes", "10,20", "--runs=3"]);
    assert_eq!(h.filters, ["claims"]);
    assert_eq!(
        h.own,
        [
            ("--sizes".to_string(), "10,20".to_string()),
            ("--runs".to_string(), "3".to_string())
        ]
    );
}
