//! `hunt race` through the real binary: a small race whose every export is parsed and
//! checked against what the race must have done, failures that must not stop it, and
//! bad flags that must stop it before any run.
mod common;
use common::*;
use std::path::Path;

const FILES: u64 = 60;
const TREASURE: u64 = 41;

#[test]
fn small_race_writes_every_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, Some(TREASURE));
    let (json, csv, md, svg) = (
        tmp.path().join("r.json"),
        tmp.path().join("r.csv"),
        tmp.path().join("r.md"),
        tmp.path().join("r.svg"),
    );
    let r = run(&[
        "race",
        "--dir",
        s(&dir),
        "--strategies",
        "sequential,threads",
        "--workers",
        "1,2",
        "--runs",
        "2",
        "--warmup",
        "1",
        "--seed",
        "9",
        "--export-json",
        s(&json),
        "--export-csv",
        s(&csv),
        "--export-markdown",
        s(&md),
        "--plot",
        s(&svg),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    // The table: one row per contender, sequential only once.
    assert!(r.stdout.contains("mean ± σ"), "{}", r.stdout);
    // The terminal table fits a terminal; the exports keep every column.
    for l in r.stdout.lines().skip(3).take_while(|l| !l.is_empty()) {
        assert!(l.chars().count() <= 130, "{l}");
    }
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("sequential ") || l.starts_with("threads "))
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|w| w.parse::<u32>().is_ok())
        })
        .collect();
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    assert_short_summary(&r.stdout);

    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["seed"], 9);
    assert_eq!(j["rounds_done"], 2);
    assert_eq!(j["baseline"], "sequential");
    assert_eq!(j["full_scan"], false);
    assert_eq!(j["needle"], "Treasure");
    let cs = j["contenders"].as_array().unwrap();
    let names: Vec<(String, u64)> = cs
        .iter()
        .map(|c| {
            (
                c["strategy"].as_str().unwrap().to_string(),
                c["workers"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("sequential".into(), 1),
            ("threads".into(), 1),
            ("threads".into(), 2)
        ]
    );
    let mut round_place = std::collections::HashMap::new();
    for c in cs {
        assert_eq!(c["runs"], 2, "{c}");
        assert!(c["failed"].is_null(), "{c}");
        assert!(c["hunt"]["median"].as_f64().unwrap() > 0.0);
        assert!(c["peak_rss_kib"].as_u64().unwrap() > 0);
        let samples = c["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 2);
        for smp in samples {
            let position = smp["position"].as_u64().unwrap();
            let rotate = smp["rotate"].as_u64().unwrap();
            // The rotation puts the manifest's treasure at the round's position...
            assert_eq!((position + rotate) % FILES, TREASURE, "{smp}");
            // ... the same one for every contender in the round ...
            let round = smp["round"].as_u64().unwrap();
            assert_eq!(
                *round_place.entry(round).or_insert(position),
                position,
                "{smp}"
            );
            // ... and the process took longer than the hunt inside it.
            assert!(
                smp["wall_s"].as_f64().unwrap() > smp["hunt_s"].as_f64().unwrap(),
                "{smp}"
            );
            if c["strategy"] == "sequential" {
                // One loop in search order reads exactly the positions up to the find.
                assert_eq!(
                    smp["files_scanned"].as_u64().unwrap(),
                    position + 1,
                    "{smp}"
                );
            }
        }
    }
    assert_eq!(cs[0]["speedup"]["value"], 1.0);
    assert!(cs[2]["speedup"]["value"].as_f64().unwrap() > 0.0);

    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "strategy");
    assert!(header.iter().any(|h| h == "hunt_median_s"));
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(
        (&records[2][0], &records[2][1], &records[2][2]),
        ("threads", "2", "2")
    );

    let md = std::fs::read_to_string(&md).unwrap();
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(table[0].starts_with("| strategy | workers |"), "{md}");
    assert!(table[1].starts_with("|:---|---:|"), "{md}");
    assert_eq!(table.len(), 2 + 3, "{md}");

    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..60]
    );
    assert!(svg.contains("speedup against sequential"));
}

#[test]
fn a_failing_contender_is_reported_and_the_race_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, Some(TREASURE));
    let json = tmp.path().join("r.json");
    // With one fork worker killed, nothing can be found: that child exits 2.
    let r: Run = hunt(&[
        "race",
        "--dir",
        s(&dir),
        "--strategies",
        "fork,sequential",
        "--workers",
        "1",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--seed",
        "1",
        "--export-json",
        s(&json),
    ])
    .env(hunt::hooks::FAIL_WORKER_ENV, "fork:0")
    .output()
    .unwrap()
    .into();
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("fork x1 failed in round 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("1 of 2 contenders failed"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("fork x1 failed: round 1: hunt search failed (exit 2)"),
        "{}",
        r.stdout
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cs = j["contenders"].as_array().unwrap();
    assert_eq!(cs[0]["strategy"], "fork");
    assert!(
        cs[0]["failed"].as_str().unwrap().contains("fork worker 0"),
        "{}",
        cs[0]
    );
    assert_eq!(cs[0]["runs"], 0);
    assert_eq!(cs[1]["strategy"], "sequential");
    assert_eq!(cs[1]["runs"], 2);
}

#[test]
fn an_export_on_stdout_leaves_stdout_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 20, 5, Some(3));
    let r = run(&[
        "race",
        "--dir",
        s(&dir),
        "--strategies",
        "sequential",
        "--runs",
        "1",
        "--seed",
        "2",
        "--cache",
        "cold",
        "--export-csv",
        "-",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let mut reader = csv::Reader::from_reader(r.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{}", r.stdout);
    assert_eq!(&rows[0][0], "sequential");
    assert!(
        r.stderr.contains("mean ± σ"),
        "the table goes to stderr: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("directory entries and inodes stay cached"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_flags_stop_the_race_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 10, 5, None);
    let d = s(&dir);
    let existing = tmp.path().join("old.csv");
    std::fs::write(&existing, "mine\n").unwrap();
    let missing = tmp.path().join("no/such/r.json");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--runs", "0"], "--runs must be at least 1"),
        (vec!["--workers", "0"], "--workers 0 is out of range"),
        (
            vec!["--workers", "1,2000"],
            "--workers 2000 is out of range",
        ),
        (vec!["--strategies", "sequential,nope"], "nope"),
        (vec!["--reader", "nope"], "nope"),
        (vec!["--export-json", s(&missing)], "does not exist"),
        (
            vec!["--export-csv", s(&existing)],
            "already exists: pass --force",
        ),
        (
            vec!["--plot", "-", "--export-json", "-"],
            "both want stdout",
        ),
        (vec!["--report", s(&existing)], "--report"),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["race", "--dir", d];
        args.extend(extra);
        assert_bad_input(&run(&args), expect);
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine\n");
    assert!(!missing.parent().unwrap().exists());

    for bad_dir in [empty.clone(), tmp.path().join("absent")] {
        let r = run(&["race", "--dir", s(&bad_dir)]);
        assert_bad_input(&r, &format!("hunt generate --dir {}", bad_dir.display()));
    }
}

/// Runs a full-scan race of sequential and threads x2 on `dir`, exporting JSON and CSV.
fn full_scan_race(dir: &Path, json: &Path, csv: &Path) -> Run {
    run(&[
        "race",
        "--dir",
        s(dir),
        "--full-scan",
        "--strategies",
        "sequential,threads",
        "--workers",
        "2",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--seed",
        "5",
        "--export-json",
        s(json),
        "--export-csv",
        s(csv),
    ])
}

#[test]
fn a_full_scan_reads_every_file_in_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, Some(TREASURE));
    let (json, csv) = (tmp.path().join("r.json"), tmp.path().join("r.csv"));
    let r = full_scan_race(&dir, &json, &csv);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .starts_with("hunt race, full scan for \"Doubloon\" (in no file"),
        "{}",
        r.stdout
    );
    assert_short_summary(&r.stdout);

    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["full_scan"], true);
    assert_eq!(j["needle"], "Doubloon");
    let total_bytes = j["total_bytes"].as_u64().unwrap();
    let cs = j["contenders"].as_array().unwrap();
    assert_eq!(cs.len(), 2);
    for c in cs {
        assert!(c["failed"].is_null(), "{c}");
        assert_eq!(c["runs"], 2, "{c}");
        for smp in c["samples"].as_array().unwrap() {
            // Wherever the treasure file sits, nothing is found and everything is read.
            assert_eq!(smp["files_scanned"].as_u64().unwrap(), FILES, "{smp}");
            assert_eq!(smp["bytes_scanned"].as_u64().unwrap(), total_bytes, "{smp}");
            assert!(smp["time_to_find_s"].is_null(), "{smp}");
            assert_eq!(smp["files_after_find"], 0, "{smp}");
        }
    }
    assert!(cs[1]["speedup"]["value"].as_f64().unwrap() > 0.0);

    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = header.iter().position(|h| h == "full_scan").unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| &r[col] == "true"));
}

#[test]
fn a_full_scan_that_finds_its_needle_fails_the_contenders() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 20, Some(TREASURE));
    // Plant the full scan's needle in a line of the same length, so the set still
    // matches its manifest byte for byte in size.
    let planted = dir.join("file_5.txt");
    let text = std::fs::read_to_string(&planted).unwrap();
    let first = text.lines().next().unwrap();
    assert_eq!(first, "Not a treasure");
    std::fs::write(&planted, text.replacen(first, "Doubloon here!", 1)).unwrap();
    let (json, csv) = (tmp.path().join("r.json"), tmp.path().join("r.csv"));
    let r = full_scan_race(&dir, &json, &csv);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stdout.contains(
            "sequential x1 failed: round 1: wrong answer: hunt search found file_5.txt (exit 0), but the full-scan needle \"Doubloon\" is in no file"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("2 of 2 contenders failed"),
        "{}",
        r.stderr
    );
}

/// The summary, in hyperfine's manner: the fastest, then threads at its best worker
/// count against sequential.
fn assert_short_summary(stdout: &str) {
    assert!(stdout.contains("\nFastest: "), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("  threads x") && l.contains(" times ")),
        "{stdout}"
    );
}
