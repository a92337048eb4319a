//! Helpers for the broker tests: the test side of a backend ([`Backend`], [`Server`]:
//! a private broker of the test's own, made to go away and come back where it can, its
//! events and records read where `hunt status` does not show them), `hunt worker`
//! processes, and `hunt status --json` with waits on its task table. Each backend's
//! side is its own file here (`redis.rs`, `sqlite.rs`, `postgres.rs`); the contract suite
//! (`tests/contract/`) runs every case once per backend.
//!
//! Where `redis-server` is missing the tests are skipped with a line saying so, unless
//! `HUNT_REQUIRE_SERVERS=1` (set by `scripts/test.sh` and CI, which install it): then a
//! missing server fails the test.
#![allow(dead_code)] // each test file uses a different subset

use crate::adversary::s;
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[cfg(feature = "redis")]
#[allow(unused_imports)] // the Redis-only tests use it
pub use self::redis::Redis;
#[allow(unused_imports)] // the Redis tests use it
pub use crate::adversary::have;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A backend as the tests drive it: what each contract case needs to know of it beyond
/// its URL. Implemented once per backend, in its own file beside this one.
pub trait Backend {
    /// Its strategy name (`--strategy NAME`), which is also its test module's name.
    fn name(&self) -> &'static str;
    /// True when it can run here; prints why not otherwise (the test is skipped), or
    /// panics where servers are required (`HUNT_REQUIRE_SERVERS=1`).
    fn here(&self) -> bool;
    /// A private broker of the test's own, empty.
    fn start(&self) -> Box<dyn Server>;
    /// A private broker that needs `password`; `Err(why)` where the backend has no
    /// passwords.
    fn start_with_password(&self, password: &str) -> Result<Box<dyn Server>, &'static str>;
    /// URLs of this backend hunt refuses, each with a phrase of the one-line message
    /// that refuses it. `locked` is a broker that needs the password `s3cret-pw`, where
    /// the backend has passwords: the refusals then include a wrong password
    /// (`wrong-pw`) and none.
    fn bad_urls(&self, locked: Option<&dyn Server>) -> Vec<(String, &'static str)>;
    /// A URL of another backend, which `--strategy NAME` refuses.
    fn other_url(&self) -> &'static str;
    /// The flags of its slowest poll (a backend option that changes the pace, never the
    /// answers); `Err(why)` where it has none.
    fn slow_poll(&self) -> Result<Vec<&'static str>, &'static str>;
    /// `Ok` where a broker gone away ([`Server::go_away`]) is lost to the processes
    /// using it, so the hunt in flight ends; `Err(why)` where they carry on.
    fn lost_mid_hunt(&self) -> Result<(), &'static str>;
}

/// One broker a test started; stopped and its files removed when dropped.
pub trait Server {
    /// Its `--broker` URL, with the password where it has one.
    fn url(&self) -> String;
    /// What hunt's messages name it by (`127.0.0.1:PORT`, the file's path).
    fn named(&self) -> String;
    /// Makes the broker go away under the processes using it (a server killed, a
    /// queue's folder removed).
    fn go_away(&mut self);
    /// Brings it back at the same URL (with what it kept, if anything).
    fn come_back(&mut self);
    /// The newest hunt's events, in order, as JSON; `Err(why)` where the broker keeps
    /// none once the coordinator has read them.
    fn events(&self) -> Result<Vec<Value>, &'static str>;
    /// Puts entries that are not tasks of `hunt` where workers take tasks; returns how
    /// many (each must be refused, named, and never crash a worker). Entries that a
    /// worker meets before the real tasks left, where the backend orders its queue.
    fn add_garbage(&self, hunt: &str) -> usize;
    /// Every hunt the broker holds any record of now (its index, its rows), unpruned.
    fn hunt_ids(&self) -> Vec<String>;
    /// The hunts the broker counts as running.
    fn active(&self) -> Vec<String>;
    /// The names of `hunt`'s records still stored (keys, rows).
    fn records(&self, hunt: &str) -> Vec<String>;
    /// Each of `hunt`'s records that carries its own expiry, with the milliseconds it
    /// has left, -1 for one that never expires (records deleted with another are left
    /// out).
    fn expiries(&self, hunt: &str) -> Vec<(String, i64)>;
}

/// A free TCP port on loopback (bound and released; the race with another process
/// taking it is acceptable for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `hunt worker --broker URL --dir DIR --name NAME` plus `extra`, output collected.
pub fn worker_command(url: &str, dir: &Path, name: &str, extra: &[&str]) -> Command {
    let mut args = vec!["worker", "--broker", url, "--dir", s(dir), "--name", name];
    args.extend_from_slice(extra);
    crate::adversary::hunt(&args)
}

/// `hunt search --json --strategy NAME --dir DIR --broker URL --remote-workers` plus
/// `extra`: a coordinator that starts no workers of its own, leaving the tasks to the
/// test's.
pub fn remote_coordinator(strategy: &str, dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut args = vec![
        "search",
        "--json",
        "--strategy",
        strategy,
        "--dir",
        s(dir),
        "--broker",
        url,
        "--remote-workers",
    ];
    args.extend_from_slice(extra);
    crate::adversary::hunt(&args)
}

/// `hunt status --broker URL --json`, parsed.
pub fn status(url: &str) -> Value {
    let r = crate::adversary::run(crate::adversary::hunt(&[
        "status", "--broker", url, "--json",
    ]));
    assert_eq!(r.code, Some(0), "status: {r:?}");
    r.json()
}

/// The status, or `None` while there is no queue yet (an SQLite file no worker has
/// made).
pub fn status_once_made(url: &str) -> Option<Value> {
    let r = crate::adversary::run(crate::adversary::hunt(&[
        "status", "--broker", url, "--json",
    ]));
    if r.code == Some(2) && r.stderr.contains("there is no queue at") {
        return None;
    }
    assert_eq!(r.code, Some(0), "status: {r:?}");
    Some(r.json())
}

/// The tasks of the newest hunt in `status`.
pub fn newest_tasks(status: &Value) -> Vec<Value> {
    status["hunts"][0]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls the status until `pick` finds something in the newest hunt, for `limit` at
/// most; panics naming `what` otherwise.
pub fn wait_for<T>(
    url: &str,
    limit: Duration,
    what: &str,
    pick: impl Fn(&Value) -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let st = status_once_made(url).unwrap_or_default();
        if let Some(v) = st["hunts"].get(0).and_then(&pick) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {limit:?}: {st}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// The task of `hunt` (one of `status`'s hunts) whose range holds search position `pos`.
pub fn task_at(hunt: &Value, pos: u64) -> Option<&Value> {
    hunt["tasks"].as_array()?.iter().find(|t| {
        let (a, b) = (t["range"]["start"].as_u64(), t["range"]["end"].as_u64());
        matches!((a, b), (Some(a), Some(b)) if (a..b).contains(&pos))
    })
}

/// The name (`--name`, without `@HOST`) of the worker holding task `t` now, when it is
/// Running its attempt `attempt`.
pub fn holder(t: &Value, attempt: u64) -> Option<String> {
    (t["state"] == "Running" && t["attempts"] == attempt).then(|| {
        let w = t["worker"].as_str().unwrap_or("");
        w.split('@').next().unwrap_or("").to_string()
    })
}

/// Waits up to `limit` for the newest hunt's task holding search position `pos` to be
/// Running; returns the worker holding it (`NAME@HOST`).
pub fn wait_running(url: &str, pos: u64, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(st) = status_once_made(url) {
            if let Some(t) = task_at(&st["hunts"][0], pos) {
                if t["state"] == "Running" {
                    return t["worker"].as_str().map(String::from);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A fresh temp folder holding a data set of `files` x `lines`, seed `seed`, the
/// treasure at `at`.
pub fn set(root: &Path, name: &str, files: u64, lines: u64, seed: u64, at: u64) -> PathBuf {
    let dir = root.join(name);
    let r = crate::adversary::run(crate::adversary::hunt(&[
        "generate",
        "--dir",
        s(&dir),
        "--files",
        &files.to_string(),
        "--lines",
        &lines.to_string(),
        "--seed",
        &seed.to_string(),
        "--treasure-at",
        &at.to_string(),
    ]));
    assert_eq!(r.code, Some(0), "generate: {r:?}");
    dir
}
