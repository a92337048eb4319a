//! Answers: right for every task size, exactly one however many tasks find, fenced
//! reports at the broker itself, an early stop across processes, and a backend's
//! slowest pace.

use super::{assert_counted_once, broker_and_set, coordinator, not_for, of_kind};
use crate::adversary::{run, Run};
use crate::broker::{set, status, Backend};
use hunt::hooks::SLOW_FILE_ENV;
use std::time::Duration;

pub fn task_sizes_of_one_seven_and_more_than_the_set_give_the_answer(b: &dyn Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 40, 5, 1, 29);
    for batch in ["1", "7", "1000"] {
        for workers in ["1", "3"] {
            let r = run(coordinator(b, &dir, &["--batch", batch, "-j", workers]));
            assert_eq!(r.code, Some(0), "batch {batch} x{workers}: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], 29, "batch {batch}: {j}");
            let by = j["found_by"].as_str().unwrap_or("");
            assert!(by.contains('@'), "the answer names worker@host: {j}");
            let r = run(coordinator(
                b,
                &dir,
                &["--batch", batch, "-j", workers, "--needle", "Gold"],
            ));
            assert_eq!(r.code, Some(1), "batch {batch} x{workers}: {r:?}");
            let j = r.json();
            assert_eq!(j["files_scanned"], 40, "every file once: {j}");
            let tasks = 40u64.div_ceil(batch.parse::<u64>().unwrap());
            assert_eq!(j["tasks"]["tasks"], tasks, "{j}");
            assert_eq!(j["tasks"]["completed"], tasks, "{j}");
            assert_eq!(j["tasks"]["failed"], 0, "{j}");
        }
    }
}

pub fn one_answer_when_every_file_holds_the_needle(b: &dyn Backend) {
    let server = b.start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 60, 3, 2, 5);
    let url = server.url();
    // "Not" is on every line of every file: every task finds it.
    let r = run(coordinator(
        b,
        &dir,
        &[
            "--broker", &url, "--batch", "1", "-j", "4", "--needle", "Not",
        ],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    let index = j["index"].as_u64().unwrap();
    let st = status(&url);
    let hunt = &st["hunts"][0];
    assert_eq!(hunt["state"], "found", "{st}");
    assert_eq!(
        hunt["answer"]["index"], index,
        "the committed answer is the reported one"
    );
    assert_eq!(hunt["answer"]["worker"], j["found_by"], "{st}");
    // The password-free URL shows as given.
    assert_eq!(st["broker"], url);
    match server.events() {
        Ok(ev) => {
            assert_eq!(of_kind(&ev, "answer").len(), 1, "{ev:?}");
            assert_counted_once(&j, &ev);
        }
        Err(why) => not_for(b, "the events", why),
    }
}

/// Five files hold the treasure: one of them is the answer, committed once.
pub fn several_finds_give_one_answer(b: &dyn Backend) {
    let (server, url, _tmp, dir) = broker_and_set(b, 30, 4, 3, 21);
    let holders = [3u64, 9, 12, 21, 27];
    for i in holders {
        std::fs::write(dir.join(format!("file_{i}.txt")), "Treasure\n").unwrap();
    }
    let r = run(coordinator(
        b,
        &dir,
        &["--broker", &url, "-j", "3", "--batch", "1"],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    let index = j["index"].as_u64().unwrap();
    assert!(holders.contains(&index), "{j}");
    let st = status(&url);
    assert_eq!(st["hunts"][0]["state"], "found", "{st}");
    assert_eq!(st["hunts"][0]["answer"]["index"], index, "{st}");
    match server.events() {
        Ok(ev) => {
            let answers = of_kind(&ev, "answer");
            assert_eq!(answers.len(), 1, "{ev:?}");
            assert_eq!(answers[0]["index"], index);
            assert_counted_once(&j, &ev);
        }
        Err(why) => not_for(b, "the events", why),
    }
}

/// Fencing at the broker itself, through the library's `Broker`: a report from a
/// worker whose lease was taken over, and a repeated report, change nothing; the first
/// find is the answer.
pub fn a_late_report_and_a_repeated_one_change_nothing(b: &dyn Backend) {
    use hunt::broker::{Done, Event, Me, Take, WireTally};
    use hunt::tasks::{Finished, Task};
    let server = b.start();
    let mut q = hunt::broker::connect(&server.url()).unwrap();
    let spec = super::library_spec(4, 2, 100, 5);
    let tasks = [Task { id: 0, range: 0..2 }, Task { id: 1, range: 2..4 }];
    q.publish(&spec, &tasks).unwrap();
    let me = super::library_me;
    let (a, bb, c) = (me("a"), me("b"), me("c"));
    let take = |q: &mut Box<dyn hunt::broker::Broker>, m: &Me| match q.take(&spec.id, m).unwrap() {
        Take::Task(l) => l,
        other => panic!("{} got {other:?}", m.worker),
    };
    let la = take(&mut q, &a);
    assert_eq!(la.task.id, 0);
    let lc = take(&mut q, &c);
    assert_eq!(lc.task.id, 1);
    std::thread::sleep(Duration::from_millis(250));
    // a's lease ran out: b takes task 0 over (c's too; b takes the first it finds).
    let lb = take(&mut q, &bb);
    assert_eq!(lb.attempt, 2, "a takeover is a second attempt");
    let found = |i| Done {
        tally: WireTally {
            files: 2,
            ..WireTally::default()
        },
        found: Some(i),
        cut_short: false,
        why: String::new(),
    };
    let stale_owner = if lb.task.id == 0 {
        (&a, &la)
    } else {
        (&c, &lc)
    };
    assert!(
        !q.renew(&spec.id, stale_owner.0, stale_owner.1).unwrap(),
        "the old owner's lease is gone"
    );
    assert_eq!(
        q.finish(&spec.id, stale_owner.0, stale_owner.1, &found(1))
            .unwrap(),
        Finished::Stale,
        "a late report counts for nothing"
    );
    assert!(q.renew(&spec.id, &bb, &lb).unwrap(), "the new owner renews");
    assert_eq!(
        q.finish(&spec.id, &bb, &lb, &found(1)).unwrap(),
        Finished::Answered
    );
    assert_eq!(
        q.finish(&spec.id, &bb, &lb, &found(1)).unwrap(),
        Finished::Stale,
        "a repeated report counts for nothing"
    );
    let events = q.events(&spec.id, Duration::from_millis(100)).unwrap();
    let answers = events
        .iter()
        .filter(|e| matches!(e, Event::Answer(_)))
        .count();
    assert_eq!(answers, 1, "{events:?}");
    let stale = events
        .iter()
        .filter(|e| matches!(e, Event::Stale { .. }))
        .count();
    assert_eq!(stale, 2, "{events:?}");
    let finished = events
        .iter()
        .filter(|e| matches!(e, Event::Finished { .. }))
        .count();
    assert_eq!(finished, 1, "only the owner's report counted: {events:?}");
    // The stop signal is up: nothing more is handed out.
    assert!(matches!(q.take(&spec.id, &me("d")).unwrap(), Take::Over));
}

pub fn every_worker_stops_soon_after_the_find(b: &dyn Backend) {
    let j = slowed_find(b, (60, 3, 3, 8), "3", "100");
    // Every worker read a file a tenth of a second long; a stop that works ends them
    // within a few files, where a hunt that never stopped would read all 60.
    assert!(j["files_scanned"].as_u64().unwrap() < 30, "{j}");
    let latency = j["stop_latency_s"].as_f64().unwrap();
    assert!(
        latency < 3.0,
        "the workers stopped {latency} s after the find: {j}"
    );
    assert!(j["files_after_find"].as_u64().is_some(), "{j}");
}

/// An early find leaves most tasks never started.
pub fn the_find_stops_the_hunt_early(b: &dyn Backend) {
    let j = slowed_find(b, (200, 4, 4, 3), "2", "20");
    let scanned = j["files_scanned"].as_u64().unwrap();
    assert!(
        scanned < 40,
        "read {scanned} of 200 files after an early find: {j}"
    );
    assert!(j["tasks"]["not_started"].as_u64().unwrap() > 40, "{j}");
    assert!(j["stop_latency_s"].is_number(), "{j}");
}

/// A hunt by `workers` of the coordinator's own, tasks of 4 files, each file slowed by
/// `slow_ms`, on a fresh data set `(files, lines, seed, treasure at)`: its report, once
/// it has found the treasure where the set put it.
fn slowed_find(
    b: &dyn Backend,
    (files, lines, seed, at): (u64, u64, u64, u64),
    workers: &str,
    slow_ms: &str,
) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", files, lines, seed, at);
    let mut c = coordinator(b, &dir, &["-j", workers, "--batch", "4"]);
    c.env(SLOW_FILE_ENV, slow_ms);
    let r = run(c);
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], at);
    j
}

/// The backend's slowest poll (SQLite's `--poll 1`: workers look for stop signals once
/// a second) changes the pace, not the answers.
pub fn a_slow_poll_gives_the_same_answers(b: &dyn Backend) {
    let flags = match b.slow_poll() {
        Ok(f) => f,
        Err(why) => return not_for(b, "a slow poll", why),
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 40, 4, 5, 29);
    for (needle, code) in [("Treasure", 0), ("Gold", 1)] {
        let mut extra = vec!["-j", "2", "--batch", "4", "--needle", needle];
        extra.extend(&flags);
        let r: Run = run(coordinator(b, &dir, &extra));
        assert_eq!(r.code, Some(code), "{needle}: {r:?}");
        let j = r.json();
        if code == 0 {
            assert_eq!(j["index"], 29, "{j}");
        } else {
            assert_eq!(j["files_scanned"], 40, "{j}");
        }
        assert!(r.stderr.is_empty(), "{r:?}");
    }
}
