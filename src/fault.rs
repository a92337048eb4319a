//! `hunt race --fault`: the faults a race injects into its runs, and the child's side of
//! them.
//!
//! The race knows the treasure's file index (the manifest) and hands each faulted
//! `hunt search` child the environment variable [`FAULT_ENV`] naming that index. The
//! first worker to open that file, while its bytes are still unread, meets the fault:
//! - a worker *process* (a `fork` child, a `spawn` worker, a broker's `hunt worker`)
//!   writes its pid to the file the variable names (created exclusively, so only one
//!   worker of the run fires, even after a takeover) and stops itself with `SIGSTOP`. The
//!   race, polling for that file, then sends the stopped process `SIGKILL`
//!   (`kill-worker`: a death from outside) or, after the pause, `SIGCONT`
//!   (`pause-worker`). Stopping first is what makes "the moment that matters" exact.
//! - a worker *thread* of an in-process strategy cannot be killed alone. Its closest
//!   honest equivalent: `kill-worker` unwinds the thread mid-file (it dies, and the join
//!   reports it as a dead worker, [`THREAD_DIED`]); `pause-worker` sleeps the thread for
//!   the pause. It writes the same file, so the race knows the fault fired. A worker
//!   whose kernel operations write into its memory (`uring`'s ring) first makes the
//!   kernel let go of all of them ([`Armed::at_open_letting_go`]), then dies the same
//!   way.
//!
//! Unset in normal use: then nothing here runs but one `Option` check per file.
//!
//! # The fault's file, and the trace
//! Its first line is the worker's `PID TID NS` (`NS`: `CLOCK_MONOTONIC` when it met the
//! fault); whoever finishes the fault (the race after its `SIGKILL`, its `SIGCONT` or
//! the broker's restart; a sleeping thread when it wakes) appends `done NS` just before.
//! A traced `hunt search` reads the file when it writes its trace and puts the fault
//! on the hunt's track as a [`crate::trace::Kind::Fault`] span ([`trace_event`]), so
//! the report's timeline of a faulted run shows the fault beside the takeover. All on
//! one host, so one monotonic clock.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The armed fault of a `hunt search` child: `KIND INDEX HOST PAUSE_MS PATH`.
pub const FAULT_ENV: &str = "HUNT_FAULT";

/// What a thread killed by `kill-worker` reports as its failure.
pub const THREAD_DIED: &str =
    "died mid-file (hunt race --fault kill-worker: the thread dies, the closest an in-process worker comes to SIGKILL)";

/// A fault `hunt race --fault` injects.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The worker holding the treasure's unread file dies: SIGKILL for a process, an
    /// ended thread for an in-process worker.
    KillWorker,
    /// The worker holding the treasure's unread file is stopped (SIGSTOP) for longer
    /// than a broker's lease, then resumed (SIGCONT); an in-process worker sleeps.
    PauseWorker,
    /// Broker strategies only: while a worker holds the treasure's unread file, the
    /// race's private broker server is killed (SIGKILL) and started again on its data.
    KillBroker,
}

impl FaultKind {
    /// `kill-worker` or `pause-worker`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillWorker => "kill-worker",
            FaultKind::PauseWorker => "pause-worker",
            FaultKind::KillBroker => "kill-broker",
        }
    }

    fn from_name(s: &str) -> Option<FaultKind> {
        [
            FaultKind::KillWorker,
            FaultKind::PauseWorker,
            FaultKind::KillBroker,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }
}

/// Where a strategy's workers live, which decides how a fault reaches them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerHost {
    /// Threads (or the calling thread) of the `hunt search` process.
    Thread,
    /// Processes the strategy starts for each hunt.
    Process,
    /// `hunt worker` processes sharing a broker's task queue, with leases.
    Broker,
}

impl WorkerHost {
    fn name(self) -> &'static str {
        match self {
            WorkerHost::Thread => "thread",
            WorkerHost::Process => "process",
            WorkerHost::Broker => "broker",
        }
    }
}

/// How `kind` is done to a worker living in `host`, as the race's output says it.
pub fn how(kind: FaultKind, host: WorkerHost) -> &'static str {
    match (kind, host) {
        (FaultKind::KillWorker, WorkerHost::Thread) => "thread dies",
        (FaultKind::KillWorker, _) => "SIGKILL from outside",
        (FaultKind::PauseWorker, WorkerHost::Thread) => "thread sleeps",
        (FaultKind::PauseWorker, _) => "SIGSTOP, SIGCONT",
        (FaultKind::KillBroker, _) => "server SIGKILL, restart",
    }
}

/// The fault armed in this process, read from [`FAULT_ENV`].
#[derive(Debug)]
pub struct Armed {
    kind: FaultKind,
    index: u64,
    host: WorkerHost,
    pause: Duration,
    /// Where the worker that meets the fault writes its pid.
    path: CString,
    /// In-process: the fault fires once.
    fired: AtomicBool,
}

/// The value of [`FAULT_ENV`] for a child.
pub fn env_value(
    kind: FaultKind,
    index: u64,
    host: WorkerHost,
    pause: Duration,
    path: &std::path::Path,
) -> String {
    format!(
        "{} {index} {} {} {}",
        kind.name(),
        host.name(),
        pause.as_millis(),
        path.display()
    )
}

fn parse(v: &str) -> Option<Armed> {
    let mut it = v.splitn(5, ' ');
    let kind = FaultKind::from_name(it.next()?)?;
    let index = it.next()?.parse().ok()?;
    let host = match it.next()? {
        "thread" => WorkerHost::Thread,
        "process" => WorkerHost::Process,
        "broker" => WorkerHost::Broker,
        _ => return None,
    };
    let pause = Duration::from_millis(it.next()?.parse().ok()?);
    let path = CString::new(it.next()?).ok()?;
    Some(Armed {
        kind,
        index,
        host,
        pause,
        path,
        fired: AtomicBool::new(false),
    })
}

/// The armed fault, if any. Read once; call it before any fork (reading the
/// environment allocates), as [`crate::scan::Scanner::new`] does.
pub fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var(FAULT_ENV).ok().and_then(|v| parse(&v)))
        .as_ref()
}

/// The payload a thread killed by `kill-worker` unwinds with.
pub struct ThreadDied;

impl Armed {
    /// Called by every worker once it has opened file `index` and before it reads a
    /// byte of it. Allocation-free on the process path, so a forked child may call it.
    pub fn at_open(&self, index: u64) {
        self.at_open_letting_go(index, || {});
    }

    /// [`Armed::at_open`] for a worker thread that must let go of something before it
    /// may die (an io_uring worker: every operation the kernel has in flight into its
    /// buffers): `let_go` runs just before the thread unwinds under `kill-worker`, and
    /// never otherwise.
    pub fn at_open_letting_go(&self, index: u64, let_go: impl FnOnce()) {
        if index != self.index || self.fired.swap(true, Ordering::SeqCst) {
            return;
        }
        if !self.announce() {
            return; // another worker process of this run met it first
        }
        match (self.host, self.kind) {
            (WorkerHost::Thread, FaultKind::KillWorker) => {
                let_go();
                // Unwinds without the panic hook: no "panicked" line, the join reads
                // the payload and reports a dead worker.
                std::panic::resume_unwind(Box::new(ThreadDied))
            }
            (WorkerHost::Thread, FaultKind::PauseWorker) => {
                std::thread::sleep(self.pause);
                self.finished();
            }
            // Never sent to in-process workers (the strategy sits out).
            (WorkerHost::Thread, FaultKind::KillBroker) => {}
            // The race sends SIGKILL or, after the pause, SIGCONT.
            // SAFETY: raising a signal on ourselves.
            _ => unsafe {
                libc::raise(libc::SIGSTOP);
            },
        }
    }

    /// Writes this worker's `PID TID NS` line to the fault's file, if no one has; true
    /// when this call made it.
    fn announce(&self) -> bool {
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe {
            libc::open(
                self.path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            )
        };
        if fd < 0 {
            return false;
        }
        // SAFETY: getpid and gettid cannot fail.
        let (pid, tid) = unsafe {
            (
                libc::getpid() as u64,
                libc::syscall(libc::SYS_gettid) as u64,
            )
        };
        let mut line = Line::default();
        line.number(pid);
        line.byte(b' ');
        line.number(tid);
        line.byte(b' ');
        line.number(crate::trace::now_ns());
        line.byte(b'\n');
        line.write_to(fd);
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        true
    }

    /// Appends `done NS` to the fault's file: the fault is over (a sleeping thread woke).
    fn finished(&self) {
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe {
            libc::open(
                self.path.as_ptr(),
                libc::O_WRONLY | libc::O_APPEND | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return;
        }
        done_line().write_to(fd);
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
    }
}

/// One line of the fault's file, made without allocating (a forked child writes it).
struct Line {
    bytes: [u8; 80],
    len: usize,
}

impl Default for Line {
    fn default() -> Line {
        Line {
            bytes: [0; 80],
            len: 0,
        }
    }
}

impl Line {
    fn byte(&mut self, b: u8) {
        if self.len < self.bytes.len() {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            self.byte(d);
        }
    }

    /// One `write`: whole lines of an `O_APPEND` file do not interleave.
    fn write_to(&self, fd: libc::c_int) {
        // SAFETY: `bytes` is valid for `len`; fd is the caller's.
        unsafe { libc::write(fd, self.bytes.as_ptr().cast(), self.len) };
    }
}

/// `done NS\n`, now.
fn done_line() -> Line {
    let mut line = Line::default();
    for &b in b"done " {
        line.byte(b);
    }
    line.number(crate::trace::now_ns());
    line.byte(b'\n');
    line
}

/// The race's side: appends `done NS` to the fault's file at `path`, just before it
/// sends the signal that ends the fault (or after the broker is back), so a traced
/// child that outlives the fault finds the line.
pub fn mark_done(path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let line = done_line();
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)?
        .write_all(&line.bytes[..line.len])
}

/// What the fault's file at `path` says: the worker's pid and thread, when it met the
/// fault and when the fault was over, both on `CLOCK_MONOTONIC` (only whole lines).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Struck {
    /// The worker's process.
    pub pid: u64,
    /// The worker's thread (its Linux thread id).
    pub tid: u64,
    /// `CLOCK_MONOTONIC` when it met the fault, ns.
    pub at_ns: u64,
    /// `CLOCK_MONOTONIC` when the fault was over (killed, resumed, broker back), ns.
    pub done_ns: Option<u64>,
}

/// Reads the fault's file: `None` until its first line is whole.
pub fn struck(path: &std::path::Path) -> Option<Struck> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
    let mut first = lines.next()?.trim_end().split(' ');
    let mut n = || first.next()?.parse::<u64>().ok();
    let (pid, tid, at_ns) = (n()?, n()?, n()?);
    let done_ns = lines
        .filter_map(|l| l.trim_end().strip_prefix("done ")?.parse().ok())
        .next();
    Some(Struck {
        pid,
        tid,
        at_ns,
        done_ns,
    })
}

/// The code of a fault done a given way, in a [`crate::trace::Kind::Fault`] event's
/// `b`: the kind times four plus where the worker lives.
pub fn code(kind: FaultKind, host: WorkerHost) -> u64 {
    let k = match kind {
        FaultKind::KillWorker => 0,
        FaultKind::PauseWorker => 1,
        FaultKind::KillBroker => 2,
    };
    let h = match host {
        WorkerHost::Thread => 0,
        WorkerHost::Process => 1,
        WorkerHost::Broker => 2,
    };
    k * 4 + h
}

/// The inverse of [`code`].
pub fn from_code(code: u64) -> Option<(FaultKind, WorkerHost)> {
    let kind = [
        FaultKind::KillWorker,
        FaultKind::PauseWorker,
        FaultKind::KillBroker,
    ]
    .get(usize::try_from(code / 4).ok()?)?;
    let host = [WorkerHost::Thread, WorkerHost::Process, WorkerHost::Broker]
        .get(usize::try_from(code % 4).ok()?)?;
    Some((*kind, *host))
}

/// The armed fault as an event on the hunt's track, placed on `clock` (a traced child
/// calls it when it writes its trace): a span from the moment the worker met the fault
/// to its end (an instant where it has none, as a thread that died). `None` when no
/// fault is armed or it did not fire.
pub fn trace_event(clock: crate::trace::Clock) -> Option<crate::trace::Event> {
    let a = armed()?;
    let s = struck(std::path::Path::new(a.path.to_str().ok()?))?;
    let start = s.at_ns.saturating_sub(clock.epoch_ns);
    Some(crate::trace::Event {
        kind: crate::trace::Kind::Fault,
        end: crate::trace::End::Done,
        lane: 0,
        index: s.pid,
        start,
        dur: s.done_ns.map_or(0, |d| d.saturating_sub(s.at_ns)),
        a: s.tid,
        b: code(a.kind, a.host),
    })
}

/// A failure the join reads from a worker thread's unwind payload: the fault's label,
/// or "panicked".
pub fn unwind_why(payload: &(dyn std::any::Any + Send)) -> String {
    if payload.is::<ThreadDied>() {
        THREAD_DIED.to_string()
    } else {
        "panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_value_reads_back() {
        let v = env_value(
            FaultKind::PauseWorker,
            42,
            WorkerHost::Broker,
            Duration::from_millis(1500),
            std::path::Path::new("/tmp/a b/pid"),
        );
        assert_eq!(v, "pause-worker 42 broker 1500 /tmp/a b/pid");
        let a = parse(&v).unwrap();
        assert_eq!(
            (a.kind, a.index, a.host, a.pause),
            (
                FaultKind::PauseWorker,
                42,
                WorkerHost::Broker,
                Duration::from_millis(1500)
            )
        );
        assert_eq!(a.path.to_str().unwrap(), "/tmp/a b/pid");
        assert!(parse("explode 1 thread 0 /x").is_none());
    }

    #[test]
    fn the_fault_file_and_its_code_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pid");
        // Half a line is not yet an announce.
        std::fs::write(&path, "42 43 10").unwrap();
        assert_eq!(struck(&path), None);
        std::fs::write(&path, "42 43 1000\n").unwrap();
        let s = struck(&path).unwrap();
        assert_eq!((s.pid, s.tid, s.at_ns, s.done_ns), (42, 43, 1000, None));
        mark_done(&path).unwrap();
        let done = struck(&path).unwrap().done_ns.unwrap();
        assert!(done >= 1000, "{done}");
        let kinds = [
            FaultKind::KillWorker,
            FaultKind::PauseWorker,
            FaultKind::KillBroker,
        ];
        let hosts = [WorkerHost::Thread, WorkerHost::Process, WorkerHost::Broker];
        for k in kinds {
            for h in hosts {
                assert_eq!(from_code(code(k, h)), Some((k, h)));
            }
        }
        assert_eq!(from_code(3), None);
        assert_eq!(from_code(12), None);
    }
}
