//! Helpers for the adversarial suites (hostile folders, signals, stress): run the real
//! binary with a deadline (a hang is a failure, never a stuck test), find its child
//! processes through /proc, and build hostile folder entries.
#![allow(dead_code)] // each test file uses a different subset

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this is a hang.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[path = "../common/mod.rs"]
mod common;
pub use common::mkfifo;

/// [`common::hunt`] (the built binary, `HUNT_EXE` set, test hooks cleared) with stdout
/// and stderr piped, for runs watched under a deadline.
pub fn hunt(args: &[&str]) -> Command {
    let mut c = common::hunt(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// How one run ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// The stdout parsed as the `--json` report.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts no panic and no backtrace hint on stderr.
    pub fn no_panic(&self) -> &Self {
        assert!(!self.stderr.contains("panicked"), "panic: {self:?}");
        assert!(
            !self.stderr.contains("RUST_BACKTRACE"),
            "backtrace: {self:?}"
        );
        assert!(self.signal.is_none(), "killed by a signal: {self:?}");
        self
    }
}

/// A started run whose output is collected in the background.
pub struct Started {
    pub child: Child,
    started: Instant,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
}

impl Started {
    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits at most `limit` from now; on timeout kills the run (and its children) and
    /// panics.
    pub fn wait(mut self, limit: Duration) -> Run {
        use std::os::unix::process::ExitStatusExt;
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let kids = descendants(self.pid());
                let _ = self.child.kill();
                for k in kids {
                    kill(k, libc::SIGKILL);
                }
                let _ = self.child.wait();
                panic!("hunt did not finish within {limit:?}: a hang");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = self.started.elapsed();
        let stdout = self.out.join().unwrap_or_default();
        let stderr = self.err.join().unwrap_or_default();
        Run {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            took,
        }
    }
}

/// Starts `cmd`, collecting whatever of stdout and stderr it pipes.
pub fn start(mut cmd: Command) -> Started {
    let started = Instant::now();
    let mut child = cmd.spawn().expect("hunt starts");
    let so = child.stdout.take();
    let se = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut so) = so {
            let _ = so.read_to_end(&mut v);
        }
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut se) = se {
            let _ = se.read_to_end(&mut v);
        }
        v
    });
    Started {
        child,
        started,
        out,
        err,
    }
}

/// Runs `cmd` to the end, within [`DEADLINE`].
pub fn run(cmd: Command) -> Run {
    start(cmd).wait(DEADLINE)
}

/// `hunt search --json --dir DIR` plus `extra`, within the deadline.
pub fn search(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "search",
        "--json",
        "--dir",
        dir.to_str().expect("utf-8 temp path"),
    ];
    args.extend_from_slice(extra);
    run(hunt(&args))
}

/// Generates a data set with the real binary (see [`common::generate`]).
pub fn generate(dir: &Path, files: u64, lines: u64, treasure_at: u64) {
    common::generate(dir, files, lines, Some(treasure_at));
}

/// The direct children of `pid` (every thread's), from /proc.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// Every descendant of `pid`.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut all = Vec::new();
    let mut todo = children(pid);
    while let Some(p) = todo.pop() {
        todo.extend(children(p));
        all.push(p);
    }
    all
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Sends `sig` to `pid`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: sending a signal; a stale pid only yields ESRCH.
    unsafe { libc::kill(pid, sig) };
}

/// Polls `cond` every 5 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// True when `pid` or one of its descendants has `path` open (an fd) or mapped.
pub fn tree_uses(pid: i32, path: &Path) -> bool {
    let mut pids = vec![pid];
    pids.extend(descendants(pid));
    let want = path.as_os_str().as_bytes();
    pids.iter().any(|p| {
        let fds = std::fs::read_dir(format!("/proc/{p}/fd"))
            .map(|d| {
                d.flatten().any(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| l.as_os_str().as_bytes() == want)
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        let maps = std::fs::read(format!("/proc/{p}/maps"))
            .map(|m| m.windows(want.len()).any(|w| w == want))
            .unwrap_or(false);
        fds || maps
    })
}

/// Opens a named pipe read-write (never blocks on Linux) and writes `data` into it: a
/// writer that keeps the pipe open, with bytes waiting, for as long as the file lives.
pub fn fifo_with_writer(path: &Path, data: &[u8]) -> std::fs::File {
    use std::io::Write;
    mkfifo(path);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open fifo O_RDWR");
    f.write_all(data).expect("write into fifo");
    f
}

/// Binds a unix socket at `path` (kept alive by the returned listener).
pub fn socket(path: &Path) -> std::os::unix::net::UnixListener {
    std::os::unix::net::UnixListener::bind(path).expect("bind socket")
}

/// Makes a character device like /dev/null; `false` when not permitted (not root).
pub fn char_device(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path; makedev(1, 3) is /dev/null's number.
    unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) == 0 }
}

/// Names, kinds and contents of everything under `dir`, for before/after comparisons.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            let (kind, content) = if t.is_symlink() {
                (
                    "symlink".into(),
                    std::fs::read_link(&p)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec(),
                )
            } else if t.is_dir() {
                todo.push(p.clone());
                ("dir".into(), Vec::new())
            } else if t.is_file() {
                ("file".into(), std::fs::read(&p).unwrap())
            } else {
                (format!("{t:?}"), Vec::new())
            };
            out.push((p, kind, content));
        }
    }
    out.sort();
    out
}
