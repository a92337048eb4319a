//! What only Redis can have, against real `redis-server`s the tests start on loopback:
//! a persistent broker (its append-only file) killed and started again mid-hunt loses
//! nothing; a worker thread holds a task in each of two lanes (leases are Redis's own
//! keys here, so the test can see both), and killed or paused holding both, loses nothing and counts nothing twice. The rules every backend keeps are the contract suite's
//! (`tests/contract/`, `redis::CASE`); the table-driven tests (tests/strategies.rs) run
//! the strategy on its private server like every other strategy.
#![cfg(feature = "redis")]

mod adversary;
mod broker;
use adversary::*;
use broker::{remote_coordinator, set, wait_running, worker_command, Redis, Server};
use hunt::hooks::SLOW_FILE_ENV;
use serde_json::Value;
use std::time::Duration;

fn redis() -> bool {
    broker::have("redis-server")
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
    let coord = start(remote_coordinator(
        "redis",
        &dir,
        &url,
        &["--batch", "3", "--lease", "1"],
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

/// A worker thread whose tasks run quickly holds two at once, one per lane (the
/// consumers `w1/0` and `w1/0.1`, each with a lease of its own in `:leases`), and a
/// worker killed holding both loses neither: another worker takes both over once the
/// lease runs out, each as a second attempt, and every file is counted once. The needle
/// is in no file, so the hunt needs every task, those two included, to say "not found".
#[test]
fn a_quick_thread_holds_two_leased_tasks_and_its_kill_loses_neither() {
    a_quick_thread_holding_two_tasks_under(libc::SIGKILL);
}

/// As above, the worker paused (SIGSTOP) past its lease instead, and resumed while the
/// other worker still hunts: both of its tasks are taken over, its late reports are
/// fenced off, it serves on, and every file is still counted once.
#[test]
fn a_quick_thread_paused_with_two_tasks_counts_nothing_twice() {
    a_quick_thread_holding_two_tasks_under(libc::SIGSTOP);
}

/// Worker `w1`, one thread sending ahead, gets `fault` once it holds a lease in each
/// lane; worker `w2` then serves the hunt (40 ms a file, so it still runs when a paused
/// `w1` resumes 1.5 s later, past the lease of 1 s).
fn a_quick_thread_holding_two_tasks_under(fault: i32) {
    if !redis() {
        return;
    }
    let server = Redis::start_with(None, false);
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 60, 3, 14, 59);
    // 40 ms a one-file task: well under an eighth of the lease, so a thread sends ahead.
    let slow = |name: &str| {
        let mut wc = worker_command(&url, &dir, name, &["-j", "1"]);
        wc.env(SLOW_FILE_ENV, "40");
        start(wc)
    };
    let w1 = slow("w1");
    let coord = start(remote_coordinator(
        "redis",
        &dir,
        &url,
        &["--batch", "1", "--lease", "1", "--needle", "Gold"],
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let lanes = ["w1/0".to_string(), "w1/0.1".to_string()];
    let both = loop {
        let leases: Vec<String> = server
            .hunt_ids()
            .first()
            .map(|h| server.zrange(&format!("hunt:{h}:leases")))
            .unwrap_or_default();
        if lanes.iter().all(|l| leases.contains(l)) {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    kill(w1.pid(), fault);
    assert!(both, "one thread never held a lease in each lane");
    let w2 = slow("w2");
    if fault == libc::SIGSTOP {
        std::thread::sleep(Duration::from_millis(1500));
        kill(w1.pid(), libc::SIGCONT);
    }
    let r = coord.wait(Duration::from_secs(60));
    assert_eq!(r.code, Some(1), "not found, every file read: {r:?}");
    let j = r.json();
    assert_eq!(j["found"], Value::Null, "{j}");
    assert_eq!(j["files_scanned"], 60, "every file counted once: {j}");
    assert_eq!(j["tasks"]["completed"], 60, "{j}");
    assert_eq!(
        j["tasks"]["retries"], 2,
        "the two tasks w1 held, each taken over once: {j}"
    );
    kill(w2.pid(), libc::SIGTERM);
    let done = w2.wait(Duration::from_secs(10));
    assert_eq!(done.code, Some(0), "w2 stops warm: {done:?}");
    if fault == libc::SIGSTOP {
        kill(w1.pid(), libc::SIGTERM);
        let done = w1.wait(Duration::from_secs(10));
        assert_eq!(done.code, Some(0), "the resumed w1 served on: {done:?}");
    } else {
        let _ = w1.wait(Duration::from_secs(5));
    }
}
