//! What only Redis can have, against real `redis-server`s the tests start on loopback:
//! a persistent broker (its append-only file) killed and started again mid-hunt loses
//! nothing. The rules every backend keeps are the contract suite's
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
    if !redis() {
        return;
    }
    let server = Redis::start_with(None, false);
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 60, 3, 14, 59);
    // 40 ms a one-file task: well under an eighth of the lease, so the thread sends ahead.
    let mut wc = worker_command(&url, &dir, "w1", &["-j", "1"]);
    wc.env(SLOW_FILE_ENV, "40");
    let w1 = start(wc);
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
    kill(w1.pid(), libc::SIGKILL);
    assert!(both, "one thread never held a lease in each lane");
    let w2 = start(worker_command(&url, &dir, "w2", &["-j", "1"]));
    let r = coord.wait(Duration::from_secs(60));
    assert_eq!(r.code, Some(1), "not found, every file read: {r:?}");
    let j = r.json();
    assert_eq!(j["found"], Value::Null, "{j}");
    assert_eq!(j["files_scanned"], 60, "every file counted once: {j}");
    assert_eq!(j["tasks"]["completed"], 60, "{j}");
    assert_eq!(
        j["tasks"]["retries"], 2,
        "the two tasks the killed thread held, each taken over once: {j}"
    );
    kill(w2.pid(), libc::SIGTERM);
    assert_eq!(w2.wait(Duration::from_secs(10)).code, Some(0));
    let _ = w1.wait(Duration::from_secs(5));
}
