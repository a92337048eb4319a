//! Helpers shared by the integration tests: run the real `hunt` binary (to the end, or
//! started and watched under a deadline), make small data sets in temporary folders,
//! take snapshots of folders, and look at processes through /proc. Each helper is
//! written here once; `tests/adversary/mod.rs` includes this file and re-exports what
//! its suites use.
#![allow(dead_code)] // each test file uses a different subset

use hunt::scan::Reader;
use hunt::strategy::StrategyKind;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `hunt` binary cargo built for these tests.
pub fn hunt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hunt"))
}

/// A `Command` for `hunt` with `args`, stdin closed, and `HUNT_EXE` naming this build so
/// `--strategy spawn` starts its workers from it.
pub fn hunt(args: &[&str]) -> Command {
    let mut c = Command::new(hunt_bin());
    c.args(args)
        .stdin(Stdio::null())
        .env("HUNT_EXE", hunt_bin())
        // Test hooks from the environment the tests run in never leak into a run; a
        // test that wants one sets it on the returned command.
        .env_remove(hunt::hooks::SLOW_FILE_ENV)
        .env_remove(hunt::hooks::FAIL_WORKER_ENV)
        .env_remove(hunt::fault::FAULT_ENV);
    c
}

/// What one run of the binary printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as the `--json` report.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?} / stderr {:?}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts no panic, no backtrace (nor the hint to get one) on stderr, and no death
    /// by a signal.
    pub fn no_panic(&self) -> &Self {
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!self.stderr.contains(bad), "{bad}: {self:?}");
        }
        assert!(self.signal.is_none(), "killed by a signal: {self:?}");
        self
    }
}

impl Run {
    fn new(status: std::process::ExitStatus, stdout: &[u8], stderr: &[u8]) -> Run {
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        }
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run::new(o.status, &o.stdout, &o.stderr)
    }
}

/// Runs `hunt` with `args` in `cwd` and waits.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    hunt(args)
        .current_dir(cwd)
        .output()
        .expect("hunt runs")
        .into()
}

/// Runs `hunt` with `args` and waits.
pub fn run(args: &[&str]) -> Run {
    hunt(args).output().expect("hunt runs").into()
}

/// Generates a data set with the real binary; panics unless it succeeds.
pub fn generate(dir: &Path, files: u64, lines: u64, treasure_at: Option<u64>) {
    let files_s = files.to_string();
    let lines_s = lines.to_string();
    let mut args = vec![
        "generate",
        "--dir",
        dir.to_str().expect("utf-8 temp path"),
        "--files",
        &files_s,
        "--lines",
        &lines_s,
        "--seed",
        "7",
    ];
    let at;
    if let Some(t) = treasure_at {
        at = t.to_string();
        args.extend(["--treasure-at", &at]);
    }
    let r = run(&args);
    assert_eq!(r.code, Some(0), "generate failed: {r:?}");
}

/// `search --json --dir DIR` plus `extra`: the argument list of a `--json` search.
pub fn search_json_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["search", "--json", "--dir", s(dir)];
    args.extend_from_slice(extra);
    args
}

/// `race --dir DIR --runs 1 --warmup 0 --seed SEED` plus `extra`: the argument list of
/// a quick race, one round and no warm-up, the treasure's places drawn from `seed`.
pub fn quick_race_args<'a>(dir: &'a Path, seed: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "race",
        "--dir",
        s(dir),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    args
}

/// Searches `dir` with `--json` plus `extra` flags.
pub fn search_json(dir: &Path, extra: &[&str]) -> Run {
    run(&search_json_args(dir, extra))
}

/// `--strategy S --reader R --workers K`: the flags that pick how a hunt runs, plus
/// [`broker_flags`] for a strategy whose private server is slow to start.
pub fn strategy_flags(s: StrategyKind, r: Reader, workers: &str) -> Vec<&str> {
    let mut flags = vec![
        "--strategy",
        s.name(),
        "--reader",
        r.name(),
        "--workers",
        workers,
    ];
    flags.extend(broker_flags(s));
    flags
}

/// For a strategy whose private server takes seconds to start
/// ([`hunt::strategy::Facts::slow_private`]), the flags (`--broker URL`) that point its
/// hunt at one server this test binary shares, started on first use as a race starts
/// it; nothing for the others, which start their own per hunt. A hunt given `--broker`
/// without `--remote-workers` still starts its own local workers, which serve only its
/// hunt, so sharing the server changes no test's meaning.
pub fn broker_flags(s: StrategyKind) -> Vec<&'static str> {
    if !s.facts().slow_private {
        return Vec::new();
    }
    shared_broker::flags(s)
}

/// The servers this test binary shares, one per slow strategy: each is started and kept
/// by a thread of its own that lives until the binary exits (a server asking the kernel
/// for a signal when its parent dies gets it when the thread that started it ends, and
/// libtest ends each test's thread), and stopped at exit.
mod shared_broker {
    use hunt::strategy::{Knobs, RaceService, StrategyKind};
    use std::sync::mpsc::{channel, Receiver, Sender};
    use std::sync::{Mutex, Once};
    use std::time::Duration;

    /// Each started strategy's flags, and the line to its keeper thread: a message (or
    /// the line's end) tells it to stop the server, and it answers once stopped.
    struct Kept {
        kind: StrategyKind,
        flags: Vec<&'static str>,
        stop: Sender<()>,
        stopped: Receiver<()>,
    }

    static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

    /// The flags of `s`'s shared server, starting it on first use.
    pub fn flags(s: StrategyKind) -> Vec<&'static str> {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = kept.iter().find(|k| k.kind == s) {
            return k.flags.clone();
        }
        let (flags_tx, flags_rx) = channel::<Result<Vec<String>, String>>();
        let (stop, stop_rx) = channel::<()>();
        let (stopped_tx, stopped) = channel::<()>();
        std::thread::Builder::new()
            .name(format!("shared-{}", s.name()))
            .spawn(move || {
                let service = match s.race_service(&Knobs::default()) {
                    Ok(RaceService::Shared(service)) => service,
                    // Sits out (not installed): no flags, so each hunt says why itself.
                    Ok(_) => {
                        let _ = flags_tx.send(Ok(Vec::new()));
                        return;
                    }
                    Err(e) => {
                        let _ = flags_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let args = service
                    .knobs()
                    .iter()
                    .flat_map(|(k, v)| k.args(v))
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                let _ = flags_tx.send(Ok(args));
                let _ = stop_rx.recv();
                drop(service);
                let _ = stopped_tx.send(());
            })
            .expect("a thread for the shared server");
        let flags: Vec<&'static str> = match flags_rx.recv() {
            Ok(Ok(args)) => args
                .into_iter()
                .map(|a| &*Box::leak(a.into_boxed_str()))
                .collect(),
            Ok(Err(e)) => panic!("the shared {s} server did not start: {e}"),
            Err(_) => panic!("the shared {s} server's thread ended"),
        };
        static AT_EXIT: Once = Once::new();
        // SAFETY: registers a plain function, called once at exit.
        AT_EXIT.call_once(|| unsafe {
            libc::atexit(stop_all);
        });
        kept.push(Kept {
            kind: s,
            flags: flags.clone(),
            stop,
            stopped,
        });
        flags
    }

    /// At exit: stops every shared server and waits (a while) until each is gone.
    extern "C" fn stop_all() {
        // A test still starting one holds the lock: never wait on it at exit.
        let kept = match KEPT.try_lock() {
            Ok(mut k) => std::mem::take(&mut *k),
            Err(std::sync::TryLockError::Poisoned(e)) => std::mem::take(&mut *e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        for k in &kept {
            let _ = k.stop.send(());
        }
        for k in &kept {
            let _ = k.stopped.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// Asserts a bad-input run: exit 2, one line on stderr containing `expect`, no panic.
pub fn assert_bad_input(r: &Run, expect: &str) {
    assert_eq!(r.code, Some(2), "exit code: {r:?}");
    assert!(
        r.stderr.contains(expect),
        "stderr lacks {expect:?}: {:?}",
        r.stderr
    );
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "not one line: {:?}",
        r.stderr
    );
    r.no_panic();
}

/// A temp path as `&str`, for argument lists.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The names of those of `kinds` this build has, for a `--strategies` list.
pub fn compiled_names(kinds: &[StrategyKind]) -> Vec<&'static str> {
    kinds
        .iter()
        .filter(|k| k.compiled_in())
        .map(|k| k.name())
        .collect()
}

/// Runs `hunt generate --dir dir` with `extra` flags.
pub fn generate_with(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["generate", "--dir", s(dir)];
    args.extend_from_slice(extra);
    run(&args)
}

/// The data set's `manifest.json`, parsed without the library (so a bug there cannot
/// hide behind it).
pub fn read_manifest(dir: &Path) -> serde_json::Value {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The manifest's treasure: its index and the treasure file's path inside `dir`.
pub fn manifest_treasure(dir: &Path) -> (u64, PathBuf) {
    let m = read_manifest(dir);
    let index = m["treasure_index"].as_u64().expect("treasure_index");
    let file = m["treasure_file"].as_str().expect("treasure_file");
    (index, dir.join(file))
}

/// One entry of a [`snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The path below the snapshot's folder.
    pub path: PathBuf,
    /// `file`, `dir`, `symlink`, or the file type's debug form (pipe, socket, device).
    pub kind: String,
    /// A regular file's bytes, a symlink's target; empty for the rest.
    pub content: Vec<u8>,
}

impl Entry {
    /// True for a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }
}

/// Everything below `dir` (recursively, symlinks not followed): names, kinds and
/// contents, sorted by path, for before/after comparisons.
pub fn snapshot(dir: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let e = e.expect("dir entry");
            let p = e.path();
            let t = e.file_type().expect("file type");
            let (kind, content) = if t.is_symlink() {
                let target = std::fs::read_link(&p).expect("read_link");
                ("symlink".into(), target.as_os_str().as_bytes().to_vec())
            } else if t.is_dir() {
                todo.push(p.clone());
                ("dir".into(), Vec::new())
            } else if t.is_file() {
                ("file".into(), std::fs::read(&p).expect("read"))
            } else {
                (format!("{t:?}"), Vec::new())
            };
            let path = p.strip_prefix(dir).expect("below dir").to_path_buf();
            out.push(Entry {
                path,
                kind,
                content,
            });
        }
    }
    out.sort();
    out
}

/// A started run whose output is collected in the background.
pub struct Started {
    pub child: Child,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Drop for Started {
    /// A run dropped before it was waited on (its test panicked, say) is killed with
    /// its children, so a failing test leaves no worker behind to upset the next one.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let kids = descendants(self.pid());
            let _ = self.child.kill();
            for k in kids {
                kill(k, libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
    }
}

impl Started {
    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits at most `limit` from now; on timeout kills the run (and its children) and
    /// panics: a hang (a read blocked on a named pipe, say) fails the test instead of
    /// stalling the suite.
    pub fn wait(mut self, limit: Duration) -> Run {
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
        let stdout = self
            .out
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Run::new(status, &stdout, &stderr)
    }
}

/// Starts `cmd`, collecting whatever of stdout and stderr it pipes.
pub fn start(mut cmd: Command) -> Started {
    let mut child = cmd.spawn().expect("hunt starts");
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut v);
            }
            v
        })
    };
    let out = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let err = collect(child.stderr.take().map(|p| Box::new(p) as _));
    Started {
        child,
        out: Some(out),
        err: Some(err),
    }
}

/// Runs `cmd` with stdout and stderr piped and waits at most `secs` seconds (see
/// [`Started::wait`]).
pub fn output_within(mut cmd: Command, secs: u64) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    start(cmd).wait(Duration::from_secs(secs))
}

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        r,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
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

/// Live processes other than this test whose command line mentions `needle` (a unique
/// temp path, say), as `PID: COMMAND LINE`. Zombies are left out.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && alive(pid as i32) {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

/// True when `program` (a server, a browser) is installed, so the tests that need it
/// may run; prints why not otherwise, and panics where they are required
/// (`HUNT_REQUIRE_SERVERS=1`, set by `scripts/test.sh` and CI, which install them).
pub fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    if !found {
        if std::env::var("HUNT_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
            panic!("{program} is not installed, and HUNT_REQUIRE_SERVERS=1: run scripts/install-test-deps.sh");
        }
        eprintln!("skipped: {program} is not installed (scripts/install-test-deps.sh installs it)");
    }
    found
}
