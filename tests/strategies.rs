//! Every strategy gives the right answer, through the real binary:
//! - the table-driven test of issue 2: every strategy x reader x workers {1, 2, 3, 7} x
//!   the treasure first, in the middle, last in search order, and absent, each answer
//!   checked against the data set's manifest;
//! - a first end-to-end check: generate, then find the treasure with each strategy's
//!   default reader;
//! - the treasure rotated first, middle and last in an odd-sized set, and absent;
//! - the needle deep in files bigger than the read buffer, and every byte read once
//!   when it is absent.
//!
//! The strategies and readers come from the registry (`runnable_pairs()`: every pair
//! this build can run), so a strategy added there is tested here without a change.
mod common;
use common::*;
use hunt::scan::Reader;
use hunt::strategy::{runnable_pairs, StrategyKind};
use std::path::{Path, PathBuf};

const FILES: u64 = 40;
const LINES: u64 = 30;
const WORKERS: [u64; 4] = [1, 2, 3, 7];
/// In no file: the data sets hold only `Not a treasure` and `Treasure` lines.
const ABSENT_NEEDLE: &str = "Gold";

/// One row of the table: a data set, a rotation, and where the treasure then sits.
struct Case {
    /// Where the treasure sits in search order, for messages.
    position: String,
    dir: PathBuf,
    rotate: u64,
    /// The treasure's search position: the sequential baseline reads exactly this many
    /// files before it, which shows that the rotation really moved it.
    pos: u64,
    /// `None`: search for [`ABSENT_NEEDLE`], which no file holds.
    expect: Option<(u64, PathBuf)>,
}

fn cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    // Without rotation, search position p is file p: put the treasure there.
    for (name, at) in [("first", 0), ("middle", FILES / 2), ("last", FILES - 1)] {
        let dir = root.join(format!("at_{at}"));
        generate(&dir, FILES, LINES, Some(at));
        let (index, path) = manifest_treasure(&dir);
        assert_eq!(index, at, "--treasure-at {at} not honoured");
        cases.push(Case {
            position: format!("{name} (file {at}, no rotation)"),
            dir,
            rotate: 0,
            pos: at,
            expect: Some((index, path)),
        });
    }
    // With --rotate K, search position p visits file (p + K) % n: move a treasure that
    // sits at an ordinary index to the first, middle and last position.
    let dir = root.join("rotated");
    generate(&dir, FILES, LINES, Some(13));
    let (t, path) = manifest_treasure(&dir);
    for (name, pos, wraps) in [
        ("first", 0, 0),
        ("middle", FILES / 2, 0),
        ("last", FILES - 1, 0),
        ("last", FILES - 1, 2),
    ] {
        let rotate = (t + FILES - pos) % FILES + wraps * FILES;
        assert_eq!((pos + rotate) % FILES, t);
        cases.push(Case {
            position: format!("{name} (file {t}, --rotate {rotate})"),
            dir: dir.clone(),
            rotate,
            pos,
            expect: Some((t, path.clone())),
        });
    }
    // Make sure the absent needle really is absent, so exit 1 is the right answer.
    for e in snapshot(&dir).iter().filter(|e| e.is_file()) {
        let text = String::from_utf8_lossy(&e.content);
        assert!(
            !text.contains(ABSENT_NEEDLE),
            "{} holds the absent needle",
            e.path.display()
        );
    }
    for rotate in [0, 17] {
        cases.push(Case {
            position: format!("absent (--rotate {rotate})"),
            dir: dir.clone(),
            rotate,
            pos: FILES,
            expect: None,
        });
    }
    cases
}

/// Checks one run; returns what is wrong with it, if anything.
fn check(case: &Case, strategy: StrategyKind, reader: Reader, workers: u64) -> Result<(), String> {
    let w = workers.to_string();
    let rotate = case.rotate.to_string();
    let mut extra = strategy_flags(strategy, reader, &w).to_vec();
    extra.extend(["--rotate", &rotate]);
    if case.expect.is_none() {
        extra.extend(["--needle", ABSENT_NEEDLE]);
    }
    let r = search_json(&case.dir, &extra);
    let fail = |what: String| Err(format!("{what}\n    run: {r:?}"));
    let want_code = if case.expect.is_some() { 0 } else { 1 };
    if r.code != Some(want_code) {
        return fail(format!("exit {:?}, want {want_code}", r.code));
    }
    if r.stderr.contains("panicked") || !r.stderr.trim().is_empty() {
        return fail("unexpected stderr".into());
    }
    let j: serde_json::Value = match serde_json::from_str(r.stdout.trim()) {
        Ok(j) => j,
        Err(e) => return fail(format!("stdout is not JSON: {e}")),
    };
    if j["strategy"] != strategy.name() || j["reader"] != reader.name() {
        return fail("the report names another strategy or reader".into());
    }
    let used = j["workers"].as_u64().unwrap_or(0);
    if used == 0 || used > workers {
        return fail(format!("report says {used} workers, asked for {workers}"));
    }
    if j["rotate"] != case.rotate {
        return fail("the report names another rotation".into());
    }
    let total = j["files_total"].as_u64();
    let scanned = j["files_scanned"].as_u64().unwrap_or(u64::MAX);
    if total != Some(FILES) {
        return fail(format!("files_total {total:?}, want {FILES}"));
    }
    if j["errors"] != 0 {
        return fail("errors reported on a clean data set".into());
    }
    match &case.expect {
        Some((index, path)) => {
            if j["index"] != *index {
                return fail(format!("index {}, want {index}", j["index"]));
            }
            if j["found"].as_str().map(Path::new) != Some(path.as_path()) {
                return fail(format!("found {}, want {}", j["found"], path.display()));
            }
            if !(1..=FILES).contains(&scanned) {
                return fail(format!("files_scanned {scanned} out of 1..={FILES}"));
            }
            if strategy == StrategyKind::Sequential && scanned != case.pos + 1 {
                return fail(format!(
                    "sequential read {scanned} files, but the treasure is at search position {}",
                    case.pos
                ));
            }
            if j["time_to_find_s"].as_f64().is_none() {
                return fail("time_to_find_s missing on a find".into());
            }
        }
        None => {
            if !j["found"].is_null() || !j["index"].is_null() {
                return fail("found something that is not there".into());
            }
            if scanned != FILES {
                return fail(format!("files_scanned {scanned}, want all {FILES}"));
            }
            if j["files_after_find"] != 0 {
                return fail("files_after_find without a find".into());
            }
        }
    }
    Ok(())
}

#[test]
fn every_strategy_reader_worker_count_and_position_gives_the_manifest_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases(tmp.path());
    let mut failures = Vec::new();
    let mut runs = 0;
    let pairs = runnable_pairs();
    for &(strategy, reader) in &pairs {
        for workers in WORKERS {
            for case in &cases {
                runs += 1;
                if let Err(e) = check(case, strategy, reader, workers) {
                    failures.push(format!(
                        "strategy {strategy}, reader {}, workers {workers}, treasure {}: {e}",
                        reader.name(),
                        case.position
                    ));
                }
            }
        }
    }
    let pairs = pairs.len();
    assert_eq!(runs, pairs * WORKERS.len() * cases.len());
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_strategy_finds_the_generated_treasure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 50, 20, Some(31));
    // Each strategy once, with the default reader (no --reader flag).
    for (s, _) in runnable_pairs()
        .into_iter()
        .filter(|&(_, r)| r == Reader::Read)
    {
        let mut args = vec!["--strategy", s.name(), "--workers", "3"];
        args.extend(broker_flags(s));
        let r = search_json(&dir, &args);
        assert_eq!(r.code, Some(0), "{s}: {r:?}");
        let j = r.json();
        assert_eq!(j["index"], 31, "{s}");
        assert!(j["found"].as_str().unwrap().ends_with("file_31.txt"), "{s}");
    }
}

/// The rotation that puts file `treasure` at search position `pos` of `n`.
fn rotate_for(treasure: u64, pos: u64, n: u64) -> u64 {
    (treasure + n - pos) % n
}

#[test]
fn every_strategy_finds_the_treasure_rotated_first_middle_last_and_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let (n, treasure) = (23u64, 9u64);
    generate(&dir, n, 12, Some(treasure));
    for (s, reader) in runnable_pairs() {
        for workers in ["1", "2", "3", "7"] {
            let flags = strategy_flags(s, reader, workers);
            for (place, pos) in [("first", 0), ("middle", n / 2), ("last", n - 1)] {
                let rotate = rotate_for(treasure, pos, n).to_string();
                let r = search_json(&dir, &[&flags[..], &["--rotate", &rotate]].concat());
                let what = format!("{s} {} x{workers}, treasure {place}", reader.name());
                assert_eq!(r.code, Some(0), "{what}: {r:?}");
                let j = r.json();
                assert_eq!(j["index"], treasure, "{what}");
                assert!(
                    j["found"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!("file_{treasure}.txt")),
                    "{what}"
                );
                assert_eq!(j["strategy"], s.name(), "{what}");
                assert_eq!(j["errors"], 0, "{what}");
                assert!(j["files_scanned"].as_u64().unwrap() >= 1, "{what}");
            }
            let r = search_json(&dir, &[&flags[..], &["--needle", "nope"]].concat());
            let what = format!("{s} {} x{workers}, absent", reader.name());
            assert_eq!(r.code, Some(1), "{what}: {r:?}");
            let j = r.json();
            assert!(j["found"].is_null(), "{what}");
            assert_eq!(j["files_scanned"], n, "{what}: every file read once");
            assert_eq!(j["errors"], 0, "{what}");
        }
    }
}

/// Writes `len` bytes of filler into `path`, with the needle at `at` if given.
fn write_big(path: &Path, len: usize, at: Option<usize>) {
    let mut data: Vec<u8> = b"Not a treasure\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect();
    if let Some(at) = at {
        data[at..at + 8].copy_from_slice(b"Treasure");
    }
    std::fs::write(path, data).unwrap();
}

#[test]
fn every_strategy_finds_the_needle_deep_in_files_bigger_than_the_buffer() {
    const CHUNK: usize = 256 * 1024;
    // After the first chunk; across the first chunk boundary; across the second one
    // (which sits 7 bytes earlier, the carried-over overlap).
    for (case, at) in [
        ("after", 300_000),
        ("straddling", CHUNK - 3),
        ("second", 2 * CHUNK - 7 - 4),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("big");
        std::fs::create_dir(&dir).unwrap();
        write_big(&dir.join("a.txt"), 3 * CHUNK, None);
        write_big(&dir.join("b.txt"), 3 * CHUNK + 11, Some(at));
        write_big(&dir.join("c.txt"), CHUNK, None);
        for (s, reader) in runnable_pairs() {
            let r = search_json(&dir, &strategy_flags(s, reader, "2"));
            let what = format!("{s} {} {case}", reader.name());
            assert_eq!(r.code, Some(0), "{what}: {r:?}");
            assert!(
                r.json()["found"].as_str().unwrap().ends_with("b.txt"),
                "{what}"
            );
        }
        // And not found: every byte of every file read, none twice (each strategy
        // once, with the default reader).
        for (s, _) in runnable_pairs()
            .into_iter()
            .filter(|&(_, r)| r == Reader::Read)
        {
            let mut args = vec!["--strategy", s.name(), "--needle", "nope", "--workers", "2"];
            args.extend(broker_flags(s));
            let r = search_json(&dir, &args);
            assert_eq!(r.code, Some(1), "{s} {case}: {r:?}");
            assert_eq!(
                r.json()["bytes_scanned"],
                (7 * CHUNK + 11) as u64,
                "{s} {case}"
            );
        }
    }
}
