//! `hunt search --trace FILE` through the real binary, for every strategy and reader
//! this build can run (`runnable_pairs()`, `redis` on its private server where
//! `redis-server` is installed): the file is Chrome trace JSON with one track per worker,
//! one span per file read (as many as the report's `files_scanned`), the find on the
//! finder's track, the stop signal, each worker's stop, and the metadata; and the file
//! rules (`--force`).
mod common;
use common::*;
use hunt::strategy::{runnable_pairs, StrategyKind};
use hunt::trace::{chrome, End, Kind};
use std::collections::BTreeSet;
use std::path::Path;

const FILES: u64 = 48;
const TREASURE: u64 = 29;

/// Runs one traced search; returns the report and the raw trace.
fn traced(
    dir: &Path,
    trace: &Path,
    extra: &[&str],
) -> (serde_json::Value, serde_json::Value, String) {
    let mut args = search_json_args(dir, &["--trace", s(trace)]);
    args.extend_from_slice(extra);
    let r = run(&args);
    assert!(r.code == Some(0) || r.code == Some(1), "{extra:?}: {r:?}");
    r.no_panic();
    let text =
        std::fs::read_to_string(trace).unwrap_or_else(|e| panic!("{extra:?}: no trace: {e}"));
    let raw: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{extra:?}: not JSON: {e}"));
    (r.json(), raw, text)
}

#[test]
fn every_strategy_writes_one_track_per_worker_and_one_span_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 30, Some(TREASURE));
    let mut checked = 0;
    for (strategy, reader) in runnable_pairs() {
        if strategy == StrategyKind::Redis && !have("redis-server") {
            continue;
        }
        for (case, needle) in [("found", None), ("absent", Some("Gold"))] {
            let what = format!("{strategy}/{}/{case}", reader.name());
            let trace = tmp
                .path()
                .join(format!("{}-{}-{case}.json", strategy, reader.name()));
            let mut extra = strategy_flags(strategy, reader, "3").to_vec();
            extra.extend(["--batch", "8", "--rotate", "5"]);
            if let Some(n) = needle {
                extra.extend(["--needle", n]);
            }
            let (report, raw, text) = traced(&dir, &trace, &extra);
            check(&what, &report, &raw, &text);
            checked += 1;
        }
    }
    eprintln!("checked {checked} traced runs");
    assert!(checked >= 10, "only {checked} runs checked");
}

fn check(what: &str, report: &serde_json::Value, raw: &serde_json::Value, text: &str) {
    // The raw file: what Perfetto and chrome://tracing read.
    let events = raw["traceEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no traceEvents"));
    for e in events {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("{what}: {e}"));
        assert!(["M", "X", "i"].contains(&ph), "{what}: {e}");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{what}: {e}");
        if ph != "M" {
            assert!(e["ts"].is_number(), "{what}: {e}");
        }
        if ph == "X" {
            assert!(e["dur"].as_f64().unwrap() >= 0.0, "{what}: {e}");
        }
    }
    let o = &raw["otherData"];
    assert_eq!(o["strategy"], report["strategy"], "{what}");
    assert_eq!(o["workers"], report["workers"], "{what}");
    assert_eq!(o["reader"], report["reader"], "{what}");
    assert_eq!(o["data_set"]["dir"], report["dir"], "{what}");
    assert_eq!(o["data_set"]["files"], FILES, "{what}");
    assert!(o["machine"]["cores"].as_u64().unwrap() >= 1, "{what}");
    assert!(
        o["machine"]["kernel"]
            .as_str()
            .unwrap()
            .starts_with("Linux"),
        "{what}"
    );

    // The same file as the library reads it back.
    let t = chrome::read(text).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    let workers = report["workers"].as_u64().unwrap() as usize;
    let names: BTreeSet<&str> = t.tracks.iter().map(|t| t.worker.as_str()).collect();
    assert_eq!(
        names.len(),
        t.tracks.len(),
        "{what}: a worker has two tracks"
    );
    let strategy = report["strategy"].as_str().unwrap();
    if hunt::broker::BACKENDS.iter().any(|b| b.name == strategy) {
        // A broker worker that took no task before the find sent nothing.
        assert!((1..=workers).contains(&t.tracks.len()), "{what}: {names:?}");
        assert!(
            t.tracks
                .iter()
                .all(|t| t.process.as_ref().is_some_and(|p| p.contains('@'))),
            "{what}: broker workers are named with their host"
        );
    } else {
        assert_eq!(t.tracks.len(), workers, "{what}: {names:?}");
    }
    let read: usize = t
        .tracks
        .iter()
        .flat_map(|t| &t.events)
        .filter(|e| e.kind == Kind::File && e.end != End::Failed)
        .count();
    assert_eq!(
        read as u64,
        report["files_scanned"].as_u64().unwrap(),
        "{what}"
    );
    for track in &t.tracks {
        let stops = track
            .events
            .iter()
            .filter(|e| e.kind == Kind::WorkerStop)
            .count();
        assert_eq!(stops, 1, "{what}: {} has {stops} stops", track.worker);
        assert_eq!(track.dropped, 0, "{what}");
        // Task spans hold their files.
        let tasks: Vec<_> = track
            .events
            .iter()
            .filter(|e| e.kind == Kind::Task)
            .collect();
        if !tasks.is_empty() {
            for f in track.events.iter().filter(|e| e.kind == Kind::File) {
                assert!(
                    tasks.iter().any(|t| t.start <= f.start
                        && f.stop() <= t.stop()
                        && (t.a..t.b).contains(&f.a)),
                    "{what}: file at position {} outside its task",
                    f.a
                );
            }
        }
    }
    assert!(t.hunt.iter().any(|e| e.kind == Kind::Hunt), "{what}");
    let finds: Vec<(&str, u64)> = t
        .tracks
        .iter()
        .flat_map(|tr| {
            tr.events
                .iter()
                .filter(|e| e.kind == Kind::Find)
                .map(move |e| (tr.worker.as_str(), e.index))
        })
        .collect();
    match report["index"].as_u64() {
        Some(index) => {
            assert_eq!(index, TREASURE, "{what}");
            assert_eq!(t.meta.found, Some(index), "{what}");
            // The finder's find; another worker may also have found it, in a race
            // the answer's first find won.
            let by = report["found_by"].as_str().unwrap();
            assert!(
                finds.iter().any(|(w, i)| w.contains(by) && *i == index),
                "{what}: {finds:?}, found by {by}"
            );
            assert!(t.stop_signal().is_some(), "{what}: no stop signal");
        }
        None => {
            assert!(finds.is_empty(), "{what}: {finds:?}");
            assert_eq!(read as u64, FILES, "{what}: a full scan reads every file");
        }
    }
}

#[test]
fn a_trace_file_is_new_or_replaced_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 10, 5, Some(3));
    let mine = tmp.path().join("mine.json");
    std::fs::write(&mine, "not hunt's").unwrap();
    let r = run(&search_json_args(&dir, &["--trace", s(&mine)]));
    assert_bad_input(&r, "--trace");
    assert!(r.stderr.contains("already exists: pass --force"), "{r:?}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "not hunt's");
    let r = run(&search_json_args(&dir, &["--trace", s(&mine), "--force"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(chrome::read(&std::fs::read_to_string(&mine).unwrap()).is_ok());
    assert_bad_input(
        &run(&search_json_args(&dir, &["--trace", "-"])),
        "--trace - is not supported",
    );
    let missing = tmp.path().join("no/such/t.json");
    assert_bad_input(
        &run(&search_json_args(&dir, &["--trace", s(&missing)])),
        "does not exist",
    );
    // No --trace, no file: and --force alone means nothing to replace.
    assert_bad_input(&run(&search_json_args(&dir, &["--force"])), "--trace");
}
