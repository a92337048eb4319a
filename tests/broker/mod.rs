//! Helpers for the broker tests: a real `redis-server` each test starts on a free
//! loopback port (killed and its folder removed when dropped), `hunt worker` processes,
//! and `hunt status --json`.
//!
//! Where `redis-server` is missing the tests are skipped with a line saying so, unless
//! `HUNT_REQUIRE_SERVERS=1` (set by `scripts/test.sh` and CI, which install it): then a
//! missing server fails the test.
#![allow(dead_code)] // each test file uses a different subset

use crate::adversary::s;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::adversary::have;

/// A free TCP port on loopback (bound and released; the race with another process
/// taking it is acceptable for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of the test's own.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    pub password: Option<String>,
    pub dir: tempfile::TempDir,
    persistent: bool,
}

impl Redis {
    /// A server on a free loopback port, no persistence.
    pub fn start() -> Redis {
        Redis::start_with(None, false)
    }

    /// A server with `password` (`requirepass`) and, with `persistent`, an append-only
    /// file synced every second.
    pub fn start_with(password: Option<&str>, persistent: bool) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            password: password.map(String::from),
            dir: tempfile::tempdir().expect("tempdir"),
            persistent,
        };
        r.launch();
        r
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", ""])
            .args([
                "--appendonly",
                if self.persistent { "yes" } else { "no" },
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = &self.password {
            cmd.args(["--requirepass", pw]);
        }
        self.child = Some(cmd.spawn().expect("redis-server starts"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server never listened");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://[:PASSWORD@]127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// A connection, for looking at the keys.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("url")
            .get_connection()
            .expect("connect")
    }

    /// `kill -9` the server.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (with its append-only file, if persistent).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `hunt worker --broker URL --dir DIR --name NAME` plus `extra`, output collected.
pub fn worker_command(url: &str, dir: &Path, name: &str, extra: &[&str]) -> Command {
    let mut args = vec!["worker", "--broker", url, "--dir", s(dir), "--name", name];
    args.extend_from_slice(extra);
    crate::adversary::hunt(&args)
}

/// `hunt status --broker URL --json`, parsed.
pub fn status(url: &str) -> serde_json::Value {
    let r = crate::adversary::run(crate::adversary::hunt(&[
        "status", "--broker", url, "--json",
    ]));
    assert_eq!(r.code, Some(0), "status: {r:?}");
    r.json()
}

/// The tasks of the newest hunt in `status`.
pub fn newest_tasks(status: &serde_json::Value) -> Vec<serde_json::Value> {
    status["hunts"][0]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits up to `limit` for the newest hunt's task holding search position `pos` to be
/// Running; returns the worker holding it (`NAME@HOST`).
pub fn wait_running(url: &str, pos: u64, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let s = status(url);
        for t in newest_tasks(&s) {
            let (a, b) = (t["range"]["start"].as_u64(), t["range"]["end"].as_u64());
            if let (Some(a), Some(b)) = (a, b) {
                if (a..b).contains(&pos) && t["state"] == "Running" {
                    return t["worker"].as_str().map(String::from);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The keys of hunt `id` on the server.
pub fn hunt_keys(conn: &mut redis::Connection, id: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("hunt:{id}:*"))
        .query(conn)
        .expect("KEYS")
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
