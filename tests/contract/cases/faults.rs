//! Faults: a worker killed, paused or slow (its lease taken over, or renewed), the dead
//! letter (files that fail every attempt, workers that die too often), a worker whose
//! folder holds another data set, garbage in the queue, and the broker going away.

use super::{
    assert_counted_once, broker_and_set, coordinator, not_for, of_kind, remote, slow_pair,
    slow_worker, stop,
};
use crate::adversary::{alive, kill, mkfifo, run, start};
use crate::broker::{
    holder, newest_tasks, set, status, task_at, wait_for, worker_command, Backend,
};
use hunt::hooks::{FAIL_WORKER_ENV, NO_WORKER_ENV, SLOW_FILE_ENV};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The worker holding the treasure's task is killed (SIGKILL); the other takes the
/// task over when its lease runs out and finds the treasure; nothing is counted twice.
pub fn a_killed_workers_task_is_taken_over_after_the_lease(b: &dyn Backend) {
    let (server, url, _tmp, dir) = broker_and_set(b, 30, 4, 4, 12);
    let (w1, w2) = slow_pair(&url, &dir, "200");
    let coord = start(remote(b, &dir, &url, &["--lease", "1", "--batch", "5"]));
    // File 12 is in task 2 (files 10..15).
    let victim = wait_for(&url, Duration::from_secs(30), "task 2 running", |h| {
        holder(task_at(h, 12)?, 1)
    });
    let (victim_run, other) = if victim == "w1" { (w1, w2) } else { (w2, w1) };
    let survivor = if victim == "w1" { "w2" } else { "w1" };
    kill(victim_run.pid(), libc::SIGKILL);
    let r = coord.wait(Duration::from_secs(60));
    r.no_panic();
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 12, "{j}");
    assert!(
        j["found_by"].as_str().unwrap().starts_with(survivor),
        "the killed worker cannot have found it: {j}"
    );
    assert!(j["tasks"]["retries"].as_u64().unwrap() >= 1, "{j}");
    let st = status(&url);
    let t2 = &newest_tasks(&st)[2];
    assert_eq!(t2["state"], "Completed", "{st}");
    assert_eq!(t2["attempts"], 2, "{st}");
    match server.events() {
        Ok(ev) => {
            let started: Vec<&Value> = of_kind(&ev, "started")
                .into_iter()
                .filter(|e| e["task"] == 2)
                .collect();
            assert_eq!(started.len(), 2, "{ev:?}");
            assert_eq!(started[1]["attempt"], 2);
            assert!(started[1]["worker"].as_str().unwrap().starts_with(survivor));
            assert_counted_once(&j, &ev);
            assert!(
                !of_kind(&ev, "finished").iter().any(|e| e["worker"]
                    .as_str()
                    .unwrap()
                    .starts_with(&victim)
                    && e["task"] == 2),
                "{ev:?}"
            );
        }
        Err(why) => not_for(b, "the events", why),
    }
    let w = stop(other);
    assert_eq!(w.code, Some(0), "warm shutdown: {w:?}");
    let _ = victim_run.wait(Duration::from_secs(5));
}

/// A worker paused (SIGSTOP) past its lease loses its task to the other; resumed, it
/// learns so and reports nothing that counts (a `stale` event): every file is read
/// exactly once, and the answer is "not found".
pub fn a_paused_worker_comes_back_harmlessly(b: &dyn Backend) {
    let (server, url, _tmp, dir) = broker_and_set(b, 20, 4, 5, 5);
    let (w1, w2) = slow_pair(&url, &dir, "150");
    let coord = start(remote(
        b,
        &dir,
        &url,
        &["--batch", "10", "--lease", "1", "--needle", "Gold"],
    ));
    // Both tasks held; pause the holder of task 0.
    let paused = wait_for(&url, Duration::from_secs(30), "both tasks running", |h| {
        holder(&h["tasks"][1], 1)?;
        holder(&h["tasks"][0], 1)
    });
    let paused_run = if paused == "w1" { &w1 } else { &w2 };
    kill(paused_run.pid(), libc::SIGSTOP);
    let taker = wait_for(&url, Duration::from_secs(30), "task 0 taken over", |h| {
        holder(&h["tasks"][0], 2)
    });
    assert_ne!(taker, paused);
    kill(paused_run.pid(), libc::SIGCONT);
    let r = coord.wait(Duration::from_secs(60));
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(j["files_scanned"], 20, "every file read exactly once: {j}");
    assert_eq!(j["tasks"]["completed"], 2, "{j}");
    assert_eq!(j["tasks"]["retries"], 1, "{j}");
    let st = status(&url);
    assert_eq!(st["hunts"][0]["state"], "not found", "{st}");
    assert_eq!(st["hunts"][0]["tasks"][0]["state"], "Completed", "{st}");
    match server.events() {
        Ok(_) => {
            // The paused worker's report comes in after it wakes: fenced off.
            let deadline = Instant::now() + Duration::from_secs(20);
            let ev = loop {
                let ev = server.events().unwrap();
                if of_kind(&ev, "stale").iter().any(|e| e["task"] == 0) {
                    break ev;
                }
                assert!(Instant::now() < deadline, "no stale report: {ev:?}");
                std::thread::sleep(Duration::from_millis(50));
            };
            let stale = of_kind(&ev, "stale");
            assert!(
                stale[0]["worker"].as_str().unwrap().starts_with(&paused),
                "{ev:?}"
            );
            assert_counted_once(&j, &ev);
            let fin = of_kind(&ev, "finished");
            assert!(fin
                .iter()
                .all(|e| !(e["task"] == 0 && e["worker"].as_str().unwrap().starts_with(&paused))));
        }
        Err(why) => not_for(b, "the events", why),
    }
    for w in [w1, w2] {
        assert!(alive(w.pid()), "a paused worker lives on");
        let done = stop(w);
        assert_eq!(done.code, Some(0), "{done:?}");
        done.no_panic();
    }
}

pub fn a_slow_live_worker_renews_its_lease_and_keeps_its_task(b: &dyn Backend) {
    let (_server, url, _tmp, dir) = broker_and_set(b, 10, 3, 6, 0);
    // Each task takes 5 x 400 ms = 2 s, twice the lease.
    let (w1, w2) = slow_pair(&url, &dir, "400");
    let r = run(remote(
        b,
        &dir,
        &url,
        &["--lease", "1", "--batch", "5", "--needle", "Gold"],
    ));
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(j["tasks"]["retries"], 0, "no task was taken over: {j}");
    assert_eq!(j["files_scanned"], 10, "{j}");
    let st = status(&url);
    for t in newest_tasks(&st) {
        assert_eq!(t["attempts"], 1, "{t}");
        assert_eq!(t["state"], "Completed", "{t}");
    }
    for w in [w1, w2] {
        assert_eq!(stop(w).code, Some(0));
    }
}

/// A file that cannot be read (a folder, then a named pipe, in its place), in every
/// attempt: the task is Failed with its last attempt's counts, the answer unknown
/// (exit 2), never "not found"; a treasure found elsewhere still counts.
pub fn a_task_that_fails_every_attempt_is_failed_and_the_answer_unknown(b: &dyn Backend) {
    let server = b.start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    // Tasks of 4 files, 2 attempts each, 2 workers of the coordinator's own.
    let flags = [
        "--broker",
        url.as_str(),
        "--batch",
        "4",
        "--max-attempts",
        "2",
        "-j",
        "2",
    ];
    for (i, kind) in ["a folder", "a named pipe"].into_iter().enumerate() {
        let dir = set(tmp.path(), &format!("set{i}"), 20, 3, 7, 15);
        let bad = dir.join("file_3.txt");
        std::fs::remove_file(&bad).unwrap();
        if i == 0 {
            std::fs::create_dir(&bad).unwrap();
        } else {
            mkfifo(&bad);
        }
        let r = run(coordinator(
            b,
            &dir,
            &[&flags[..], &["--needle", "Gold"]].concat(),
        ));
        assert_eq!(
            r.code,
            Some(2),
            "{kind}: never 'not found' while a range went unsearched: {r:?}"
        );
        assert!(r.stderr.contains("may be there"), "{kind}: {r:?}");
        let j = r.json();
        assert_eq!(j["tasks"]["failed"], 1, "{kind}: {j}");
        assert_eq!(j["tasks"]["retries"], 1, "{kind}: {j}");
        assert_eq!(j["errors"], 1, "{kind}: {j}");
        let messages = j["error_messages"].to_string();
        assert!(messages.contains("file_3.txt"), "{kind}: {j}");
        if i == 0 {
            assert!(messages.contains("file_3.txt: Is a directory"), "{j}");
        }
        let st = status(&url);
        let failed: Vec<_> = newest_tasks(&st)
            .into_iter()
            .filter(|t| t["state"] == "Failed")
            .collect();
        assert_eq!(failed.len(), 1, "{kind}: {st}");
        assert_eq!(failed[0]["id"], 0, "{kind}: {st}");
        assert_eq!(failed[0]["attempts"], 2, "{kind}: {st}");
        let note = failed[0]["note"].as_str().unwrap();
        assert!(note.starts_with("attempt 2 of 2"), "{kind}: {st}");
        assert!(note.contains("file_3.txt"), "{kind}: {st}");
        assert_eq!(st["hunts"][0]["state"], "unknown", "{kind}: {st}");
        match server.events() {
            Ok(ev) => {
                let failed = of_kind(&ev, "failed");
                assert_eq!(failed.len(), 1, "{kind}: {ev:?}");
                assert!(failed[0]["tally"]["files"].is_number(), "{kind}: {ev:?}");
                assert_eq!(of_kind(&ev, "retried").len(), 1, "{kind}: {ev:?}");
            }
            Err(why) => not_for(b, "the events", why),
        }
        // The treasure found elsewhere still counts.
        let r = run(coordinator(b, &dir, &flags));
        assert_eq!(r.code, Some(0), "{kind}: {r:?}");
        assert_eq!(r.json()["index"], 15);
    }
}

/// Workers that die holding a task (SIGKILL, as they start), more often than
/// `--max-attempts`: the task is Failed and the answer "unknown" (exit 2).
pub fn max_attempts_lead_to_failed_and_unknown(b: &dyn Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 20, 4, 8, 5);
    let mut c = coordinator(
        b,
        &dir,
        &[
            "-j",
            "2",
            "--batch",
            "2",
            "--max-attempts",
            "1",
            "--lease",
            "0.3",
            "--needle",
            "Gold",
        ],
    );
    c.env(SLOW_FILE_ENV, "50")
        .env(FAIL_WORKER_ENV, format!("{}:0", b.name()));
    let r = run(c);
    assert_eq!(r.code, Some(2), "{r:?}");
    let j = r.json();
    assert_eq!(j["tasks"]["failed"], 1, "{j}");
    assert!(j["found"].is_null());
    assert!(!j["worker_failures"].as_array().unwrap().is_empty(), "{j}");
    assert!(r.stderr.contains("may be there"), "{r:?}");
}

pub fn a_worker_whose_folder_differs_refuses_and_a_regenerated_copy_serves(b: &dyn Backend) {
    let server = b.start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let ours = set(tmp.path(), "ours", 20, 3, 11, 9);
    let theirs = set(tmp.path(), "theirs", 20, 3, 12, 9);
    let w = start(worker_command(&url, &theirs, "stranger", &["-j", "1"]));
    let mut c = remote(b, &ours, &url, &[]);
    c.env(NO_WORKER_ENV, "2000");
    let r = run(c);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "one line: {r:?}");
    assert!(r.stderr.contains("no worker took a task"), "{r:?}");
    assert!(
        r.stderr.contains("stranger@") && r.stderr.contains("refused"),
        "names the worker and why: {r:?}"
    );
    assert!(
        r.stderr.contains("seed 12") && r.stderr.contains("seed 11"),
        "{r:?}"
    );
    let st = status(&url);
    assert!(
        newest_tasks(&st).iter().all(|t| t["attempts"] == 0),
        "the refusal took nothing: {st}"
    );
    let wr = stop(w);
    assert!(wr.stderr.contains("refused hunt"), "{wr:?}");
    // Provisioning a second host: the same flags and seed make the same set.
    let copy = set(tmp.path(), "copy", 20, 3, 11, 9);
    let w = start(worker_command(&url, &copy, "copy", &["-j", "1"]));
    let r = run(remote(b, &ours, &url, &[]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 9);
    assert!(r.json()["found_by"].as_str().unwrap().starts_with("copy@"));
    let wr = stop(w);
    assert!(
        wr.stderr.contains("served hunt"),
        "one line per hunt served: {wr:?}"
    );
}

pub fn a_garbage_task_entry_is_refused_and_the_hunt_still_answers(b: &dyn Backend) {
    let (server, url, _tmp, dir) = broker_and_set(b, 20, 3, 15, 19);
    // Task 0 fails its first attempt (a folder in a file's place) and is queued again,
    // behind the garbage added below, so the worker meets the garbage before the hunt
    // is settled.
    std::fs::remove_file(dir.join("file_1.txt")).unwrap();
    std::fs::create_dir(dir.join("file_1.txt")).unwrap();
    let w = slow_worker(&url, &dir, "w", "100");
    let coord = start(remote(
        b,
        &dir,
        &url,
        &["--batch", "2", "--max-attempts", "2", "--needle", "Gold"],
    ));
    // Task 0's first attempt lasts one slowed file, shorter than one look at the status
    // of some brokers (RabbitMQ's asks its coordinator): wait until it has been taken,
    // with tasks still queued for the garbage to go in front of.
    let id = wait_for(
        &url,
        Duration::from_secs(20),
        "task 0 taken, tasks queued",
        |h| {
            let tasks = h["tasks"].as_array()?;
            let queued = tasks.iter().filter(|t| t["state"] == "NotStarted").count();
            (tasks[0]["attempts"].as_u64()? >= 1 && queued >= 2)
                .then(|| h["spec"]["id"].as_str().map(String::from))?
        },
    );
    let garbage = server.add_garbage(&id);
    let r = coord.wait(Duration::from_secs(30));
    r.no_panic();
    // file_1.txt failed both attempts: the answer is unknown, and says why.
    assert_eq!(r.code, Some(2), "{r:?}");
    let j = r.json();
    assert_eq!(j["errors"], 1, "{j}");
    assert_eq!(j["tasks"]["failed"], 1, "{j}");
    assert_eq!(j["files_scanned"], 19, "{j}");
    assert_eq!(
        r.stderr.matches("not a task of this hunt").count(),
        garbage,
        "each garbage entry named: {r:?}"
    );
    assert!(alive(w.pid()), "garbage is refused, never a crash");
    let wr = stop(w);
    wr.no_panic();
    assert_eq!(wr.code, Some(0), "{wr:?}");
}

pub fn the_broker_going_away_ends_the_hunt_in_one_line_and_workers_reconnect(b: &dyn Backend) {
    if let Err(why) = b.lost_mid_hunt() {
        return not_for(b, "a hunt losing its broker", why);
    }
    let (mut server, url, _tmp, dir) = broker_and_set(b, 30, 3, 13, 25);
    let w = slow_worker(&url, &dir, "survivor", "100");
    let coord = start(remote(b, &dir, &url, &["--batch", "3"]));
    // Mid-hunt: a task taken and tasks still queued (one task's 0.3 s can be shorter
    // than one look at a loaded machine's status).
    wait_for(&url, Duration::from_secs(20), "the hunt under way", |h| {
        let tasks = h["tasks"].as_array()?;
        let queued = tasks.iter().filter(|t| t["state"] == "NotStarted").count();
        (tasks.iter().any(|t| t["attempts"].as_u64() >= Some(1)) && queued >= 2).then_some(())
    });
    let gone = Instant::now();
    server.go_away();
    let r = coord.wait(Duration::from_secs(30));
    r.no_panic();
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        gone.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        gone.elapsed()
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "one line: {r:?}");
    assert!(
        r.stderr.contains(&server.named()),
        "names the broker: {r:?}"
    );
    assert!(!r.stdout.contains("\"index\":25"), "no answer: {r:?}");
    assert!(alive(w.pid()), "the worker waits for the broker");
    server.come_back();
    // The worker reconnects and serves the next hunt.
    let r = run(remote(b, &dir, &url, &[]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 25);
    let wr = stop(w);
    assert_eq!(wr.code, Some(0), "{wr:?}");
    assert!(
        wr.stderr.contains("reconnecting") && wr.stderr.contains("reconnected"),
        "{wr:?}"
    );
}

/// The broker goes away under an idle worker and comes back at the same URL (empty,
/// where it keeps nothing): the worker says so, finds it again and serves the next hunt.
pub fn a_worker_serves_its_broker_again_once_it_comes_back(b: &dyn Backend) {
    let (mut server, url, _tmp, dir) = broker_and_set(b, 30, 3, 13, 25);
    let w = start(worker_command(&url, &dir, "survivor", &["-j", "1"]));
    let hunt = || {
        let mut c = remote(b, &dir, &url, &[]);
        c.env(NO_WORKER_ENV, "20000");
        let r = run(c);
        assert_eq!(r.code, Some(0), "{r:?}");
        let j = r.json();
        assert_eq!(j["index"], 25, "{j}");
        assert!(
            j["found_by"].as_str().unwrap().starts_with("survivor@"),
            "{j}"
        );
    };
    hunt();
    server.go_away();
    // Long enough for the worker to look for hunts and fail at least once.
    std::thread::sleep(Duration::from_secs(3));
    server.come_back();
    hunt();
    assert!(alive(w.pid()), "the worker waited for the broker");
    let wr = stop(w);
    wr.no_panic();
    assert_eq!(wr.code, Some(0), "{wr:?}");
    assert!(
        wr.stderr.contains("reconnecting") && wr.stderr.contains("reconnected"),
        "{wr:?}"
    );
}
