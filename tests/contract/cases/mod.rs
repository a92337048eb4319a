//! The contract's cases, each a function of the backend under test, and what they
//! share: the coordinator's command line, the counts-once check on a broker's events,
//! and the line a case prints where a backend cannot have part of it.

mod answers;
mod faults;
mod round_trip;
mod sessions;

pub use answers::*;
pub use faults::*;
pub use round_trip::*;
pub use sessions::*;

use crate::adversary::{hunt, kill, s, start, Run, Started};
use crate::broker::{remote_coordinator, set, worker_command, Backend, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `hunt search --json --strategy NAME --dir DIR` plus `extra`.
pub(crate) fn coordinator(b: &dyn Backend, dir: &Path, extra: &[&str]) -> Command {
    let mut args = vec!["search", "--json", "--strategy", b.name(), "--dir", s(dir)];
    args.extend_from_slice(extra);
    hunt(&args)
}

/// A private broker of `b`'s, its URL, and beside it a data set `set` of `files` x
/// `lines`, seed `seed`, the treasure at `at`, in a temp folder that lives as long as
/// the returned `TempDir`.
pub(crate) fn broker_and_set(
    b: &dyn Backend,
    files: u64,
    lines: u64,
    seed: u64,
    at: u64,
) -> (Box<dyn Server>, String, tempfile::TempDir, PathBuf) {
    let server = b.start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", files, lines, seed, at);
    (server, url, tmp, dir)
}

/// A coordinator of `b` on the broker at `url` that leaves the tasks to the test's
/// own workers (`--remote-workers`), plus `extra`.
pub(crate) fn remote(b: &dyn Backend, dir: &Path, url: &str, extra: &[&str]) -> Command {
    remote_coordinator(b.name(), dir, url, extra)
}

/// Two workers of the test's own, `w1` and `w2`, as [`slow_worker`] makes them.
pub(crate) fn slow_pair(url: &str, dir: &Path, slow_ms: &str) -> (Started, Started) {
    (
        slow_worker(url, dir, "w1", slow_ms),
        slow_worker(url, dir, "w2", slow_ms),
    )
}

/// Stops a worker warm (SIGTERM) and waits for it, 10 s at most.
pub(crate) fn stop(w: Started) -> Run {
    kill(w.pid(), libc::SIGTERM);
    w.wait(Duration::from_secs(10))
}

/// A worker of the test's own, `-j 1`, each file slowed by `slow_ms`.
pub(crate) fn slow_worker(url: &str, dir: &Path, name: &str, slow_ms: &str) -> Started {
    let mut c = worker_command(url, dir, name, &["-j", "1"]);
    c.env(hunt::hooks::SLOW_FILE_ENV, slow_ms);
    start(c)
}

/// Says that `b` cannot have part of a case, and why (printed, as a skipped test is).
pub(crate) fn not_for(b: &dyn Backend, what: &str, why: &str) {
    eprintln!("skipped for {}: {what}: {why}", b.name());
}

/// The events of `kind` in `ev`.
pub(crate) fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["event"] == kind).collect()
}

/// No task finished twice, and the report's files are exactly those of the finished
/// reports: nothing counted twice.
pub(crate) fn assert_counted_once(report: &Value, ev: &[Value]) {
    let finished = of_kind(ev, "finished");
    let mut tasks: Vec<u64> = finished
        .iter()
        .map(|e| e["task"].as_u64().unwrap())
        .collect();
    tasks.sort_unstable();
    let n = tasks.len();
    tasks.dedup();
    assert_eq!(tasks.len(), n, "a task finished twice: {ev:?}");
    let files: u64 = finished
        .iter()
        .map(|e| e["tally"]["files"].as_u64().unwrap())
        .sum();
    assert_eq!(report["files_scanned"], files, "{report}\n{ev:?}");
}

/// A hunt's spec for the cases that drive a broker through the library's `Broker`:
/// built from JSON, so the fields a backend adds or moves (its own options) take their
/// defaults.
pub(crate) fn library_spec(
    files: u64,
    batch: u64,
    lease_ms: u64,
    max_attempts: u32,
) -> hunt::broker::HuntSpec {
    serde_json::from_value(serde_json::json!({
        "format": hunt::broker::SPEC_FORMAT,
        "id": hunt::broker::new_hunt_id(),
        "identity": { "digest": "0".repeat(32), "summary": "test" },
        "files": files,
        "needle_hex": "54",
        "reader": "read",
        "rotate": 0,
        "batch": batch,
        "lease_ms": lease_ms,
        "max_attempts": max_attempts,
        "coordinator": "here",
        "trace": false,
    }))
    .expect("a spec")
}

/// Worker thread `n/0` on host `h`.
pub(crate) fn library_me(n: &str) -> hunt::broker::Me {
    hunt::broker::Me {
        worker: n.into(),
        host: "h".into(),
        consumer: format!("{n}/0"),
    }
}
