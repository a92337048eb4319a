//! The Redis strategy and `hunt worker` against real `redis-server`s the tests start on
//! loopback: answers for every task size, exactly one answer, early stop across
//! processes, a worker killed, paused, slow or cut off, the dead letter, refused data
//! sets, the broker going away, hunts kept apart and expired, bad input, warm and cold
//! shutdown, and `hunt status`. The table-driven tests (tests/strategies.rs) run the
//! strategy on its private server like every other strategy.
#![cfg(feature = "redis")]

mod adversary;
mod broker;
use adversary::*;
use broker::{set, status, wait_running, worker_command, Redis};
use hunt::hooks::{KEEP_ENV, NO_WORKER_ENV, SLOW_FILE_ENV};
use std::time::{Duration, Instant};

fn redis() -> bool {
    broker::have("redis-server")
}

/// `hunt search --json --strategy redis` on `dir` with `extra`.
fn coordinator(dir: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec!["search", "--json", "--strategy", "redis", "--dir", s(dir)];
    args.extend_from_slice(extra);
    hunt(&args)
}

#[test]
fn task_sizes_of_one_seven_and_more_than_the_set_give_the_answer() {
    if !redis() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 40, 5, 1, 29);
    for batch in ["1", "7", "1000"] {
        for workers in ["1", "3"] {
            let r = run(coordinator(&dir, &["--batch", batch, "-j", workers]));
            assert_eq!(r.code, Some(0), "batch {batch} x{workers}: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], 29, "batch {batch}: {j}");
            let by = j["found_by"].as_str().unwrap_or("");
            assert!(by.contains('@'), "the answer names worker@host: {j}");
            let r = run(coordinator(
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

#[test]
fn one_answer_when_every_file_holds_the_needle() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 60, 3, 2, 5);
    let url = server.url();
    // "Not" is on every line of every file: every task finds it.
    let r = run(coordinator(
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
}

/// Fencing at the broker itself: a report from a worker whose lease was taken over,
/// and a repeated report, change nothing; the first find is the answer.
#[test]
fn a_late_report_and_a_repeated_one_change_nothing() {
    use hunt::broker::{Done, Event, HuntSpec, Me, Take, WireTally};
    use hunt::tasks::{Finished, Task};
    if !redis() {
        return;
    }
    let server = Redis::start();
    let mut b = hunt::broker::connect(&server.url()).unwrap();
    let spec = HuntSpec {
        format: hunt::broker::SPEC_FORMAT,
        id: hunt::broker::new_hunt_id(),
        identity: hunt::dataset::identity::Identity {
            digest: "0".repeat(32),
            summary: "test".into(),
        },
        files: 4,
        needle_hex: "54".into(),
        reader: hunt::scan::Reader::Read,
        rotate: 0,
        batch: 2,
        lease_ms: 100,
        max_attempts: 5,
        coordinator: "here".into(),
        options: Default::default(),
        trace: false,
    };
    let tasks = [Task { id: 0, range: 0..2 }, Task { id: 1, range: 2..4 }];
    b.publish(&spec, &tasks).unwrap();
    let me = |n: &str| Me {
        worker: n.into(),
        host: "h".into(),
        consumer: format!("{n}/0"),
    };
    let (a, bb, c) = (me("a"), me("b"), me("c"));
    let take = |b: &mut Box<dyn hunt::broker::Broker>, m: &Me| match b.take(&spec.id, m).unwrap() {
        Take::Task(l) => l,
        other => panic!("{} got {other:?}", m.worker),
    };
    let la = take(&mut b, &a);
    assert_eq!(la.task.id, 0);
    let lc = take(&mut b, &c);
    assert_eq!(lc.task.id, 1);
    std::thread::sleep(Duration::from_millis(250));
    // a's lease ran out: b takes task 0 over (c's too; b takes the first it finds).
    let lb = take(&mut b, &bb);
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
        !b.renew(&spec.id, stale_owner.0, stale_owner.1).unwrap(),
        "the old owner's lease is gone"
    );
    assert_eq!(
        b.finish(&spec.id, stale_owner.0, stale_owner.1, &found(1))
            .unwrap(),
        Finished::Stale,
        "a late report counts for nothing"
    );
    assert!(b.renew(&spec.id, &bb, &lb).unwrap(), "the new owner renews");
    assert_eq!(
        b.finish(&spec.id, &bb, &lb, &found(1)).unwrap(),
        Finished::Answered
    );
    assert_eq!(
        b.finish(&spec.id, &bb, &lb, &found(1)).unwrap(),
        Finished::Stale,
        "a repeated report counts for nothing"
    );
    let events = b.events(&spec.id, Duration::from_millis(100)).unwrap();
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
    assert!(matches!(b.take(&spec.id, &me("d")).unwrap(), Take::Over));
}

#[test]
fn every_worker_stops_soon_after_the_find() {
    if !redis() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 60, 3, 3, 8);
    let mut c = coordinator(&dir, &["-j", "3", "--batch", "4"]);
    c.env(SLOW_FILE_ENV, "100");
    let r = run(c);
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 8);
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

/// Two workers of the test's own, serving the broker at `url`.
fn two_workers(url: &str, dir: &std::path::Path, slow_ms: &str) -> (Started, Started) {
    let start_one = |name: &str| {
        let mut c = worker_command(url, dir, name, &["-j", "1"]);
        c.env(SLOW_FILE_ENV, slow_ms);
        start(c)
    };
    (start_one("w1"), start_one("w2"))
}

#[test]
fn a_killed_workers_task_is_taken_over_after_the_lease() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 40, 3, 4, 22);
    let (w1, w2) = two_workers(&url, &dir, "100");
    let coord = start(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--lease",
            "1",
            "--batch",
            "5",
        ],
    ));
    let holder =
        wait_running(&url, 22, Duration::from_secs(20)).expect("someone takes the treasure's task");
    let (victim, other) = if holder.starts_with("w1@") {
        (w1, w2)
    } else {
        (w2, w1)
    };
    kill(victim.pid(), libc::SIGKILL);
    let r = coord.wait(Duration::from_secs(30));
    r.no_panic();
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 22, "{j}");
    assert!(
        !j["found_by"].as_str().unwrap().starts_with(&holder[..2]),
        "the killed worker cannot have found it: {j}"
    );
    assert!(j["tasks"]["retries"].as_u64().unwrap() >= 1, "{j}");
    kill(other.pid(), libc::SIGTERM);
    let w = other.wait(Duration::from_secs(10));
    assert_eq!(w.code, Some(0), "warm shutdown: {w:?}");
    let _ = victim.wait(Duration::from_secs(5));
}

#[test]
fn a_paused_worker_comes_back_harmlessly() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 40, 3, 5, 0);
    let (w1, w2) = two_workers(&url, &dir, "100");
    // A full scan: every file must be counted exactly once.
    let coord = start(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--lease",
            "1",
            "--batch",
            "5",
            "--needle",
            "Gold",
        ],
    ));
    let holder = wait_running(&url, 12, Duration::from_secs(20)).expect("a task runs");
    let paused = if holder.starts_with("w1@") { &w1 } else { &w2 };
    kill(paused.pid(), libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(2500)); // past the lease: taken over
    kill(paused.pid(), libc::SIGCONT);
    let r = coord.wait(Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(
        j["files_scanned"], 40,
        "no file counted twice, none missed: {j}"
    );
    assert_eq!(j["tasks"]["completed"], 8, "{j}");
    assert!(j["tasks"]["retries"].as_u64().unwrap() >= 1, "{j}");
    for w in [w1, w2] {
        let pid = w.pid();
        assert!(alive(pid), "a paused worker lives on");
        kill(pid, libc::SIGTERM);
        let done = w.wait(Duration::from_secs(10));
        assert_eq!(done.code, Some(0), "{done:?}");
        done.no_panic();
    }
}

#[test]
fn a_slow_live_worker_renews_its_lease_and_keeps_its_task() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 10, 3, 6, 0);
    // Each task takes 5 x 400 ms = 2 s, twice the lease.
    let (w1, w2) = two_workers(&url, &dir, "400");
    let r = run(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--lease",
            "1",
            "--batch",
            "5",
            "--needle",
            "Gold",
        ],
    ));
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(j["tasks"]["retries"], 0, "no task was taken over: {j}");
    assert_eq!(j["files_scanned"], 10, "{j}");
    let st = status(&url);
    for t in broker::newest_tasks(&st) {
        assert_eq!(t["attempts"], 1, "{t}");
        assert_eq!(t["state"], "Completed", "{t}");
    }
    for w in [w1, w2] {
        kill(w.pid(), libc::SIGTERM);
        assert_eq!(w.wait(Duration::from_secs(10)).code, Some(0));
    }
}

#[test]
fn a_task_that_fails_every_attempt_is_failed_and_the_answer_unknown() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 20, 3, 7, 15);
    std::fs::remove_file(dir.join("file_3.txt")).unwrap();
    std::fs::create_dir(dir.join("file_3.txt")).unwrap();
    let r = run(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--batch",
            "4",
            "--max-attempts",
            "2",
            "--needle",
            "Gold",
            "-j",
            "2",
        ],
    ));
    assert_eq!(
        r.code,
        Some(2),
        "never 'not found' while a range went unsearched: {r:?}"
    );
    assert!(r.stderr.contains("may be there"), "{r:?}");
    let j = r.json();
    assert_eq!(j["tasks"]["failed"], 1, "{j}");
    assert_eq!(j["errors"], 1, "{j}");
    assert!(
        j["error_messages"]
            .to_string()
            .contains("file_3.txt: Is a directory"),
        "{j}"
    );
    let st = status(&url);
    let failed: Vec<_> = broker::newest_tasks(&st)
        .into_iter()
        .filter(|t| t["state"] == "Failed")
        .collect();
    assert_eq!(failed.len(), 1, "{st}");
    assert_eq!(failed[0]["attempts"], 2, "{st}");
    assert!(
        failed[0]["note"].as_str().unwrap().contains("file_3.txt"),
        "{st}"
    );
    assert_eq!(st["hunts"][0]["state"], "unknown", "{st}");
    // The treasure found elsewhere still counts, with a warning.
    let r = run(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--batch",
            "4",
            "--max-attempts",
            "2",
            "-j",
            "2",
        ],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 15);
}

#[test]
fn a_worker_whose_folder_differs_refuses_and_a_regenerated_copy_serves() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let ours = set(tmp.path(), "ours", 20, 3, 11, 9);
    let theirs = set(tmp.path(), "theirs", 20, 3, 12, 9);
    let w = start(worker_command(&url, &theirs, "stranger", &["-j", "1"]));
    let mut c = coordinator(&ours, &["--broker", &url, "--remote-workers"]);
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
        broker::newest_tasks(&st).iter().all(|t| t["attempts"] == 0),
        "it scanned nothing: {st}"
    );
    kill(w.pid(), libc::SIGTERM);
    let wr = w.wait(Duration::from_secs(10));
    assert!(wr.stderr.contains("refused hunt"), "{wr:?}");
    // Provisioning a second host: the same flags and seed make the same set.
    let copy = set(tmp.path(), "copy", 20, 3, 11, 9);
    let w = start(worker_command(&url, &copy, "copy", &["-j", "1"]));
    let r = run(coordinator(&ours, &["--broker", &url, "--remote-workers"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 9);
    assert!(r.json()["found_by"].as_str().unwrap().starts_with("copy@"));
    kill(w.pid(), libc::SIGTERM);
    let wr = w.wait(Duration::from_secs(10));
    assert!(
        wr.stderr.contains("served hunt"),
        "one line per hunt served: {wr:?}"
    );
}

#[test]
fn the_broker_going_away_ends_the_hunt_in_one_line_and_workers_reconnect() {
    if !redis() {
        return;
    }
    let mut server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 30, 3, 13, 25);
    let mut wc = worker_command(&url, &dir, "survivor", &["-j", "1"]);
    wc.env(SLOW_FILE_ENV, "100");
    let w = start(wc);
    let coord = start(coordinator(
        &dir,
        &["--broker", &url, "--remote-workers", "--batch", "3"],
    ));
    assert!(
        wait_running(&url, 0, Duration::from_secs(20)).is_some()
            || wait_running(&url, 3, Duration::from_secs(5)).is_some()
    );
    let killed = Instant::now();
    server.kill();
    let r = coord.wait(Duration::from_secs(30));
    r.no_panic();
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        killed.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        killed.elapsed()
    );
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{}", server.port)),
        "names the broker: {r:?}"
    );
    assert!(!r.stdout.contains("\"index\":25"), "no answer: {r:?}");
    assert!(alive(w.pid()), "the worker waits for the broker");
    server.restart();
    // The worker reconnects and serves the next hunt.
    let r = run(coordinator(&dir, &["--broker", &url, "--remote-workers"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 25);
    kill(w.pid(), libc::SIGTERM);
    let wr = w.wait(Duration::from_secs(10));
    assert_eq!(wr.code, Some(0), "{wr:?}");
    assert!(
        wr.stderr.contains("reconnecting") && wr.stderr.contains("reconnected"),
        "{wr:?}"
    );
}

#[test]
fn a_persistent_broker_restarted_mid_hunt_loses_nothing() {
    if !redis() {
        return;
    }
    let mut server = Redis::start_with(None, true);
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 30, 3, 14, 28);
    let mut wc = worker_command(&url, &dir, "w", &["-j", "2"]);
    wc.env(SLOW_FILE_ENV, "100");
    let w = start(wc);
    let coord = start(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--batch",
            "3",
            "--lease",
            "1",
        ],
    ));
    assert!(wait_running(&url, 0, Duration::from_secs(20)).is_some());
    std::thread::sleep(Duration::from_millis(1500)); // the append-only file is synced each second
    server.restart();
    let r = coord.wait(Duration::from_secs(40));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 28, "the right answer after the restart");
    kill(w.pid(), libc::SIGTERM);
    let _ = w.wait(Duration::from_secs(10));
}

#[test]
fn hunts_on_one_broker_stay_apart_and_their_keys_expire() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<(u64, Started)> = [3u64, 17, 38]
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let dir = set(tmp.path(), &format!("set{i}"), 40, 3, 20 + i as u64, at);
            let mut c = coordinator(&dir, &["--broker", &url, "-j", "2", "--batch", "3"]);
            c.env(KEEP_ENV, "800").env(SLOW_FILE_ENV, "20");
            (at, start(c))
        })
        .collect();
    let mut ids = Vec::new();
    for (at, run) in runs {
        let r = run.wait(Duration::from_secs(30));
        assert_eq!(r.code, Some(0), "{r:?}");
        assert_eq!(r.json()["index"], at, "each hunt its own answer: {r:?}");
    }
    let mut conn = server.conn();
    let all: Vec<String> = redis::cmd("ZRANGE")
        .arg("hunt:index")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    ids.extend(all);
    assert_eq!(ids.len(), 3, "{ids:?}");
    let gone = wait_until(Duration::from_secs(5), || {
        ids.iter()
            .all(|id| broker::hunt_keys(&mut conn, id).is_empty())
    });
    assert!(gone, "a finished hunt's keys expire");
    let active: Vec<String> = redis::cmd("ZRANGE")
        .arg("hunt:active")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert!(active.is_empty(), "{active:?}");
    let st = status(&url);
    assert_eq!(st["hunts"].as_array().unwrap().len(), 0, "{st}");
    // Without the test hook the records stay for the keep time, then go.
    let dir = tmp.path().join("set0");
    let r = run(coordinator(&dir, &["--broker", &url]));
    assert_eq!(r.code, Some(0));
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg("hunt:index")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    for key in broker::hunt_keys(&mut conn, &ids[0]) {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
        assert!(ttl > 0 && ttl <= 600_000, "{key}: {ttl}");
    }
}

/// A TCP server that answers anything with an HTTP error: not Redis.
fn not_redis() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten().take(20) {
            let mut buf = [0u8; 256];
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

#[test]
fn bad_brokers_are_refused_in_one_line_and_passwords_never_show() {
    if !redis() {
        return;
    }
    let server = Redis::start_with(Some("s3cret-pw"), false);
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 5, 2, 1, 1);
    let closed = broker::free_port();
    let http = not_redis();
    let cases = [
        (
            "redis://127.0.0.1:notaport".to_string(),
            "is not a Redis URL",
        ),
        ("ftp://somewhere".to_string(), "is not a broker URL"),
        (
            format!("redis://127.0.0.1:{closed}"),
            "cannot reach the broker",
        ),
        (
            format!("redis://:wrong-pw@127.0.0.1:{}", server.port),
            "refused the password",
        ),
        (
            format!("redis://127.0.0.1:{}", server.port),
            "needs a password",
        ),
        (format!("redis://127.0.0.1:{http}"), "does not speak Redis"),
    ];
    for (url, expect) in &cases {
        for args in [
            vec![
                "search",
                "--strategy",
                "redis",
                "--dir",
                s(&dir),
                "--broker",
                url,
            ],
            vec!["worker", "--dir", s(&dir), "--broker", url],
            vec!["status", "--broker", url],
        ] {
            let r = run(hunt(&args));
            r.no_panic();
            assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
            assert_eq!(r.stderr.trim_end().lines().count(), 1, "{args:?}: {r:?}");
            assert!(
                r.stderr.contains(expect),
                "{args:?}: want {expect:?}: {r:?}"
            );
            assert!(
                !r.stderr.contains("wrong-pw") && !r.stderr.contains("s3cret-pw"),
                "{r:?}"
            );
        }
    }
    // The right password works, and shows nowhere.
    let url = server.url();
    let r = run(hunt(&[
        "search",
        "--json",
        "--strategy",
        "redis",
        "--dir",
        s(&dir),
        "--broker",
        &url,
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let r = run(hunt(&["status", "--broker", &url, "--json"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stdout.contains("s3cret-pw"), "{r:?}");
    let r = run(hunt(&["status", "--broker", &url]));
    assert!(
        !r.stdout.contains("s3cret-pw") && r.stdout.contains(":***@"),
        "{r:?}"
    );
    // A broker URL of the other kind.
    let r = run(hunt(&[
        "search",
        "--strategy",
        "redis",
        "--dir",
        s(&dir),
        "--broker",
        "sqlite:/tmp/x.db",
    ]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("is not a redis broker"), "{r:?}");
}

#[test]
fn a_garbage_task_entry_is_refused_and_the_hunt_still_answers() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 20, 3, 15, 19);
    // Task 0 fails its first attempt (a folder in a file's place) and is queued again,
    // behind the garbage added below, so the worker meets the garbage before the hunt
    // is settled.
    std::fs::remove_file(dir.join("file_1.txt")).unwrap();
    std::fs::create_dir(dir.join("file_1.txt")).unwrap();
    let mut wc = worker_command(&url, &dir, "w", &["-j", "1"]);
    wc.env(SLOW_FILE_ENV, "100");
    let w = start(wc);
    let coord = start(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--batch",
            "2",
            "--max-attempts",
            "2",
            "--needle",
            "Gold",
        ],
    ));
    assert!(wait_running(&url, 0, Duration::from_secs(20)).is_some());
    let mut conn = server.conn();
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg("hunt:active")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    let stream = format!("hunt:{}:tasks", ids[0]);
    for fields in [
        vec!["task", "999999", "from", "0", "to", "2"],
        vec!["task", "1", "from", "0", "to", "1000000000"],
        vec!["junk", "../../etc/passwd"],
    ] {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&stream).arg("*");
        for f in fields {
            cmd.arg(f);
        }
        let _: String = cmd.query(&mut conn).unwrap();
    }
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
        3,
        "each garbage entry named: {r:?}"
    );
    assert!(alive(w.pid()), "garbage is refused, never a crash");
    kill(w.pid(), libc::SIGTERM);
    let wr = w.wait(Duration::from_secs(10));
    wr.no_panic();
    assert_eq!(wr.code, Some(0), "{wr:?}");
}

#[test]
fn sigterm_finishes_the_task_in_hand_and_ctrl_c_hands_it_back() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 12, 3, 16, 0);
    let mut wc = worker_command(&url, &dir, "warm", &["-j", "1"]);
    wc.env(SLOW_FILE_ENV, "300");
    let warm = start(wc);
    let coord = start(coordinator(
        &dir,
        &[
            "--broker",
            &url,
            "--remote-workers",
            "--batch",
            "3",
            "--needle",
            "Gold",
        ],
    ));
    assert!(wait_running(&url, 0, Duration::from_secs(20)).is_some());
    kill(warm.pid(), libc::SIGTERM);
    let wr = warm.wait(Duration::from_secs(10));
    assert_eq!(wr.code, Some(0), "{wr:?}");
    let st = status(&url);
    let t0 = &broker::newest_tasks(&st)[0];
    assert_eq!(
        t0["state"], "Completed",
        "the task in hand was finished: {st}"
    );
    assert_eq!(t0["attempts"], 1);
    // Ctrl-C: the task in hand goes back at once, without waiting for its lease.
    let mut cc = worker_command(&url, &dir, "cold", &["-j", "1"]);
    cc.env(SLOW_FILE_ENV, "300");
    let cold = start(cc);
    assert!(wait_running(&url, 3, Duration::from_secs(20)).is_some());
    kill(cold.pid(), libc::SIGINT);
    let cr = cold.wait(Duration::from_secs(5));
    assert_eq!(cr.code, Some(130), "{cr:?}");
    let st = status(&url);
    let t1 = &broker::newest_tasks(&st)[1];
    assert_eq!(t1["state"], "NotStarted", "handed back: {st}");
    assert_eq!(
        t1["attempts"], 0,
        "a handed-back task did not use an attempt: {st}"
    );
    // A last worker finishes the hunt with every file read once.
    let last = start(worker_command(&url, &dir, "last", &["-j", "2"]));
    let r = coord.wait(Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json()["files_scanned"], 12, "{r:?}");
    kill(last.pid(), libc::SIGTERM);
    assert_eq!(last.wait(Duration::from_secs(10)).code, Some(0));
}

#[test]
fn status_shows_the_task_table_and_the_live_workers_and_watches() {
    if !redis() {
        return;
    }
    let server = Redis::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 10, 3, 17, 7);
    let w = start(worker_command(&url, &dir, "seen", &["-j", "1"]));
    let r = run(coordinator(
        &dir,
        &["--broker", &url, "--remote-workers", "--batch", "5"],
    ));
    assert_eq!(r.code, Some(0), "{r:?}");
    let r = run(hunt(&["status", "--broker", &url]));
    assert_eq!(r.code, Some(0), "{r:?}");
    for want in [
        "found",
        "answer: file index 7, found by seen@",
        "Completed",
        "NotStarted",
        "search positions",
        "seen",
        "workers heard from in the last minute: 1",
    ] {
        assert!(r.stdout.contains(want), "{want:?} in {}", r.stdout);
    }
    let watch = start(hunt(&["status", "--broker", &url, "--watch"]));
    std::thread::sleep(Duration::from_millis(2300));
    kill(watch.pid(), libc::SIGINT);
    let wr = watch.wait(Duration::from_secs(5));
    assert_eq!(wr.code, Some(130), "{wr:?}");
    let frames = wr.stdout.matches("broker redis://").count();
    assert!(frames >= 2, "refreshed: {frames} frames: {wr:?}");
    kill(w.pid(), libc::SIGTERM);
    assert_eq!(w.wait(Duration::from_secs(10)).code, Some(0));
}
