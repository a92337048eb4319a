//! What only Redis can have, against real `redis-server`s the tests start on loopback:
//! a persistent broker (its append-only file) killed and started again mid-hunt loses
//! nothing. The rules every backend keeps are the contract suite's
//! (`tests/contract/`, `redis::CASE`); the table-driven tests (tests/strategies.rs) run
//! the strategy on its private server like every other strategy.
#![cfg(feature = "redis")]

mod adversary;
mod broker;
use adversary::*;
use broker::{remote_coordinator, set, wait_running, worker_command, Redis};
use hunt::hooks::SLOW_FILE_ENV;
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
