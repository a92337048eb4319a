//! `spawn`: worker processes started the way Python's multiprocessing `spawn` start
//! method starts them: a fresh run of the program, told what to do on its command line
//! and its stdin, inheriting nothing but the environment and the working folder. Each of
//! K workers is `hunt worker --dir D --from A --to B ...` on a contiguous range of search
//! positions (as `fork`'s children are).
//!
//! The needle does not go on the command line: the kernel caps one argument at 128 KiB
//! and all of them together (`E2BIG`), and a needle may be larger than that. The parent
//! writes it, hex-encoded, as the first line on the worker's stdin:
//!
//! ```text
//! <needle as hex>\n                         first and only line the parent writes
//! ```
//!
//! after which that pipe carries only the stop signal (below). The worker reads that line
//! before anything else, loads the data set itself, scans its range, and reports over its
//! stdout pipe, one line per message:
//!
//! ```text
//! found <index>                            the treasure is in file <index>
//! error <index> <code>                     a file could not be read (errno, -1: not regular)
//! done <files> <bytes> <after_find> <errors>   the worker's counts; it exits 0 next
//! fatal <message>                          the worker could not run; it exits 2 next
//! ```
//!
//! # Stopping
//! The parent holds each worker's stdin pipe. When one reports `found`, the parent closes
//! every other worker's stdin; a thread in each worker blocks reading its stdin (after
//! the needle line) and raises the worker's stop flag at end-of-file (or on a `stop`
//! line), and the worker
//! checks that flag before each file and between chunks of big ones, as `threads` does.
//! Closing a pipe costs the parent nothing per file and reaches a worker within one file.
//!
//! # Leaving nothing behind
//! - Each worker asks the kernel for `SIGKILL` when its parent dies (`PR_SET_PDEATHSIG`,
//!   set between fork and exec), then checks that its parent is still the process that
//!   started it, which closes the race of a parent that died before the request. The
//!   signal follows the *thread* that spawned the worker, so workers are spawned from
//!   the thread that calls `hunt` and reaped before it returns.
//! - On every way out of `hunt` (success, an error, a panic) a guard kills and reaps
//!   every worker not yet reaped.
//! - A parent interrupted by Ctrl-C (the flag of [`crate::interrupt`], also when the
//!   signal reached the parent alone, as `kill -INT` sends it) stops waiting on the
//!   pipes within [`POLL`], kills and reaps every worker, and returns
//!   [`crate::interrupt::Interrupted`]; one killed by `SIGKILL` takes its workers with
//!   it through the death signal.
//!
//! A worker that dies (a signal, a non-zero exit), says `fatal`, writes a line that is
//! not in the protocol, or ends without its `done` line is a failure naming its range;
//! when nothing was found, the answer is then unknown and `hunt` exits 2.
//!
//! # What it costs
//! K process starts: an exec, the dynamic loader, reading the manifest (or listing the
//! folder again: a listed folder is walked by every worker, which checks it holds as
//! many files as the parent saw). The find's time is when the parent read the `found`
//! line, so it includes the pipe's latency.

use super::fork::describe_failure;
use super::{split_ranges, Outcome, Strategy, StrategyConfig};
use crate::exit::ExitCode;
use crate::fileset;
use crate::scan::{FileError, Found, Job, Reader, ScanError, Scanner, Tally};
use anyhow::{bail, Context, Result};
use memchr::memmem::Finder;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Environment variable naming the `hunt` binary to spawn workers from.
pub const EXE_ENV: &str = "HUNT_EXE";
/// Environment variable for fault-injection tests: the worker with this number kills
/// itself with SIGKILL before scanning, exactly as `kill -9` from outside would.
pub const KILL_WORKER_ENV: &str = "HUNT_TEST_KILL_SPAWN_WORKER";
/// Environment variable for tests only: each worker sleeps this many milliseconds before
/// each file, so a test can act in the middle of a hunt on a small data set.
pub const SLOW_WORKER_ENV: &str = "HUNT_TEST_SPAWN_WORKER_DELAY_MS";
/// Failed files each worker itemises; later ones are only counted.
const LISTED_ERRORS: usize = 16;
/// How often the parent, waiting on its workers' pipes, looks at the Ctrl-C flag: a
/// signal that came just before it went to sleep is seen within this time.
const POLL: Duration = Duration::from_millis(20);

/// K worker processes running `hunt worker`.
pub struct Spawn {
    exe: PathBuf,
    workers: usize,
}

impl Spawn {
    /// Finds the binary to spawn (setup); the processes start per hunt, inside the
    /// timing: that is the model's cost.
    pub fn new(config: &StrategyConfig) -> Result<Self> {
        Ok(Spawn {
            exe: hunt_exe()?,
            workers: config.workers.get(),
        })
    }
}

/// `HUNT_EXE` if set, else this program when it is `hunt`, else the `hunt` that cargo
/// builds beside a test or bench binary (those live in `target/<profile>/deps/`, the
/// `hunt` binary one folder up), so library callers under `cargo test` and `cargo bench`
/// need no set-up.
fn hunt_exe() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(EXE_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!(
                "{EXE_ENV}={} is not a file: point it at the hunt binary, or unset it",
                p.display()
            );
        }
        return Ok(p);
    }
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    if exe.file_stem().is_some_and(|n| n == "hunt") {
        return Ok(exe);
    }
    if let Some(deps) = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
    {
        let beside = deps.with_file_name("hunt");
        if beside.is_file() {
            return Ok(beside);
        }
    }
    bail!(
        "--strategy spawn re-runs the hunt binary, but this program is {}: set {EXE_ENV} to the path of `hunt`",
        exe.display()
    )
}

/// The hidden `hunt worker` command line: what one spawned worker is asked to do.
#[derive(Clone, Debug, clap::Args)]
pub struct WorkerRequest {
    /// The folder to search, as the parent was given it.
    #[arg(long)]
    pub dir: PathBuf,
    /// This worker's number, for messages and fault injection.
    #[arg(long)]
    pub worker: usize,
    /// First search position of this worker's range.
    #[arg(long)]
    pub from: u64,
    /// One past its last search position.
    #[arg(long)]
    pub to: u64,
    /// Files the parent saw in the set; a worker that sees another count refuses to run.
    #[arg(long)]
    pub files: u64,
    /// How each file is read.
    #[arg(long, value_enum)]
    pub reader: Reader,
    /// Rotation of the search order.
    #[arg(long)]
    pub rotate: u64,
}

impl WorkerRequest {
    fn args(&self) -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = vec!["worker".into(), "--dir".into()];
        a.push(self.dir.clone().into_os_string());
        for (flag, value) in [
            ("--worker", self.worker.to_string()),
            ("--from", self.from.to_string()),
            ("--to", self.to.to_string()),
            ("--files", self.files.to_string()),
            ("--reader", self.reader.name().to_string()),
            ("--rotate", self.rotate.to_string()),
        ] {
            a.push(flag.into());
            a.push(value.into());
        }
        a
    }

    fn range(&self) -> String {
        format!("search positions {}..{}", self.from, self.to)
    }
}

/// One line of the protocol.
#[derive(Debug, PartialEq, Eq)]
enum Msg {
    Found(u64),
    Error(u64, i32),
    Done {
        files: u64,
        bytes: u64,
        after_find: u64,
        errors: u64,
    },
    Fatal(String),
}

impl Msg {
    fn parse(line: &str) -> Option<Msg> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let nums = || -> Option<Vec<u64>> { rest.split(' ').map(|x| x.parse().ok()).collect() };
        match word {
            "found" => Some(Msg::Found(rest.parse().ok()?)),
            "error" => {
                let (i, c) = rest.split_once(' ')?;
                Some(Msg::Error(i.parse().ok()?, c.parse().ok()?))
            }
            "done" => match nums()?.as_slice() {
                &[files, bytes, after_find, errors] => Some(Msg::Done {
                    files,
                    bytes,
                    after_find,
                    errors,
                }),
                _ => None,
            },
            "fatal" => Some(Msg::Fatal(rest.to_string())),
            _ => None,
        }
    }
}

/// Every worker started and not yet reaped; dropping it kills and reaps them, so no way
/// out of `hunt` leaves a process behind.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // std remembers a reaped child and never signals its (reusable) pid again.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the parent learned from one worker.
#[derive(Default)]
struct Report {
    tally: Tally,
    done: bool,
    trouble: Option<String>,
}

impl Strategy for Spawn {
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        let mut needle_line = hex(job.finder.needle()).into_bytes();
        needle_line.push(b'\n');
        let requests: Vec<WorkerRequest> = split_ranges(job.len(), self.workers)
            .into_iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(worker, Range { start, end })| WorkerRequest {
                dir: job.files.root().to_path_buf(),
                worker,
                from: start,
                to: end,
                files: job.len(),
                reader: job.reader,
                rotate: job.rotate,
            })
            .collect();
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        let mut workers = Workers(Vec::with_capacity(requests.len()));
        for req in &requests {
            let mut cmd = Command::new(&self.exe);
            cmd.args(req.args())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            // SAFETY: the closure runs between fork and exec and makes only
            // async-signal-safe calls (prctl, getppid, raise).
            unsafe {
                cmd.pre_exec(move || die_with_parent(parent));
            }
            let child = cmd.spawn().with_context(|| {
                format!(
                    "could not start spawn worker {} ({}) from {}",
                    req.worker,
                    req.range(),
                    self.exe.display()
                )
            })?;
            workers.0.push(child);
        }

        let mut stdins: Vec<Option<ChildStdin>> =
            workers.0.iter_mut().map(|c| c.stdin.take()).collect();
        // Every worker is started before any is written to, so they start up in
        // parallel; a write waits only when the needle outgrows the pipe's buffer.
        for stdin in stdins.iter_mut().flatten() {
            // A worker that died before reading is reported by its exit status below.
            send(stdin, &needle_line)?;
        }
        let stdouts: Vec<_> = workers.0.iter_mut().map(|c| c.stdout.take()).collect();
        let mut reports: Vec<Report> = requests.iter().map(|_| Report::default()).collect();
        let mut found: Option<Found> = None;
        let mut interrupted = false;
        let (tx, rx) = crossbeam_channel::unbounded::<(usize, std::io::Result<String>)>();
        std::thread::scope(|s| {
            for (i, out) in stdouts.into_iter().enumerate() {
                let Some(out) = out else { continue };
                let tx = tx.clone();
                s.spawn(move || {
                    for line in BufReader::new(out).lines() {
                        let stop = line.is_err();
                        if tx.send((i, line)).is_err() || stop {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            loop {
                let (i, line) = match rx.recv_timeout(POLL) {
                    Ok(message) => message,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        if crate::interrupt::requested() {
                            // Killed workers close their pipes, which ends the reader
                            // threads; the guard reaps them on the way out.
                            interrupted = true;
                            for child in &mut workers.0 {
                                let _ = child.kill();
                            }
                            break;
                        }
                        continue;
                    }
                };
                let report = &mut reports[i];
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        report
                            .trouble
                            .get_or_insert(format!("its output could not be read ({e})"));
                        continue;
                    }
                };
                match Msg::parse(&line) {
                    Some(Msg::Found(index)) if index < job.len() => {
                        if found.is_none() {
                            found = Some(Found {
                                index,
                                at: Instant::now(),
                            });
                            // End-of-file on their stdin tells the others to stop.
                            stdins.iter_mut().for_each(|s| drop(s.take()));
                        }
                    }
                    Some(Msg::Error(index, code)) if index < job.len() => {
                        report.tally.errors.push(FileError {
                            index,
                            error: ScanError::from_code(code),
                        })
                    }
                    Some(Msg::Done {
                        files,
                        bytes,
                        after_find,
                        errors,
                    }) if !report.done => {
                        report.done = true;
                        report.tally.files_scanned = files;
                        report.tally.bytes_scanned = bytes;
                        report.tally.files_after_find = after_find;
                        report.tally.errors_unlisted =
                            errors.saturating_sub(report.tally.errors.len() as u64);
                    }
                    Some(Msg::Fatal(why)) => {
                        report
                            .trouble
                            .get_or_insert(format!("could not run: {why}"));
                    }
                    _ => {
                        report
                            .trouble
                            .get_or_insert(format!("sent garbled output {line:?}"));
                    }
                }
            }
        });
        drop(stdins);
        if interrupted {
            return Err(crate::interrupt::Interrupted.into());
        }

        let mut failures = Vec::new();
        let mut tally = Tally::default();
        for ((child, req), report) in workers.0.iter_mut().zip(&requests).zip(reports) {
            let why = match child.wait() {
                Err(e) => Some(format!("could not be reaped: {e}")),
                Ok(status) => match (report.trouble, describe_failure(status.into_raw())) {
                    (Some(said), Some(ended)) => Some(format!("{said}, and {ended}")),
                    (said, ended) => said.or(ended).or_else(|| {
                        (!report.done).then(|| "ended without reporting its counts".to_string())
                    }),
                },
            };
            match why {
                Some(why) => failures.push(format!(
                    "spawn worker {} ({}) {why}; that range went unsearched",
                    req.worker,
                    req.range()
                )),
                None => tally.absorb(report.tally),
            }
        }
        tally.found = found;
        Ok(Outcome {
            tally,
            worker_failures: failures,
            queue: None,
        })
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// Runs in the worker between fork and exec: ask for SIGKILL when the parent dies, and
/// die now if it already has.
fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl, getppid and raise are async-signal-safe.
    unsafe {
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            libc::raise(libc::SIGKILL);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    Ok(())
}

/// Writes `bytes` to a worker's stdin. Unlike `write_all`, a write cut short by Ctrl-C
/// (`EINTR`: the handler has no `SA_RESTART`) returns [`crate::interrupt::Interrupted`]
/// instead of waiting on. A worker that is gone (`EPIPE`) is not an error here.
fn send(stdin: &mut ChildStdin, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        crate::interrupt::check()?;
        match stdin.write(bytes) {
            Ok(0) => return Ok(()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// `hunt worker`: one spawned worker's whole life. Everything it says goes to stdout in
/// the protocol above; it exits 0 after `done`, 2 after `fatal`.
pub fn run_worker(req: &WorkerRequest) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match worker_body(req, &mut out) {
        Ok(()) => ExitCode::Found,
        Err(e) => {
            let why = format!("{e:#}").replace('\n', " ");
            let _ = writeln!(out, "fatal {why}");
            ExitCode::Error
        }
    };
    let _ = out.flush();
    Ok(code)
}

fn worker_body(req: &WorkerRequest, out: &mut impl Write) -> Result<()> {
    let kill: Option<usize> = std::env::var(KILL_WORKER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    if kill == Some(req.worker) {
        // SAFETY: raising a signal on ourselves.
        unsafe { libc::raise(libc::SIGKILL) };
    }
    let delay = std::env::var(SLOW_WORKER_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let needle = read_needle()?;
    let loaded = fileset::load(&req.dir, false)?;
    if loaded.files.len() != req.files || req.to > req.files || req.from > req.to {
        bail!(
            "{} holds {} files now, the parent saw {}: the folder changed during the hunt",
            req.dir.display(),
            loaded.files.len(),
            req.files
        );
    }
    let finder = Finder::new(&needle);
    let job = Job {
        files: &loaded.files,
        finder: &finder,
        reader: req.reader,
        rotate: req.rotate,
    };
    let stop = Arc::new(AtomicBool::new(false));
    watch_stdin(Arc::clone(&stop));
    let mut scanner = Scanner::new(&job);
    for pos in req.from..req.to {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        crate::scan::test_pause(delay, &stop);
        if scanner.visit(pos, &stop) {
            if let Some(f) = scanner.tally.found {
                writeln!(out, "found {}", f.index)?;
                out.flush()?;
            }
            break;
        }
    }
    let t = &scanner.tally;
    for e in t.errors.iter().take(LISTED_ERRORS) {
        writeln!(out, "error {} {}", e.index, e.error.code())?;
    }
    writeln!(
        out,
        "done {} {} {} {}",
        t.files_scanned,
        t.bytes_scanned,
        t.files_after_find,
        t.error_count()
    )?;
    out.flush()?;
    Ok(())
}

/// Reads the needle line the parent writes first on stdin (see the module doc).
fn read_needle() -> Result<Vec<u8>> {
    let mut line = Vec::new();
    std::io::stdin()
        .lock()
        .read_until(b'\n', &mut line)
        .context("cannot read the needle from stdin")?;
    if line.pop() != Some(b'\n') {
        bail!("stdin ended before the needle line: run by `hunt search --strategy spawn`, not by hand");
    }
    let needle = unhex(std::str::from_utf8(&line).unwrap_or("-"))
        .context("the needle line on stdin is not hex")?;
    if needle.is_empty() {
        bail!("the needle line on stdin is empty");
    }
    Ok(needle)
}

/// Raises `stop` when stdin ends (the parent closed it, or died) or says `stop`. The
/// thread is left blocked in `read` when the worker ends; exiting the process ends it.
fn watch_stdin(stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("hunt-worker-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if buf[..n].windows(4).any(|w| w == b"stop") => break,
                    Ok(_) => {}
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    if spawned.is_err() {
        // Without the watcher the worker cannot be told to stop early; it still ends at
        // its range's end, and the parent still kills it on the way out.
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_any_bytes() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&all)).as_deref(), Some(&all[..]));
        assert_eq!(hex(b"Tr"), "5472");
        assert_eq!(unhex("5"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn protocol_lines_parse_and_garbage_does_not() {
        assert_eq!(Msg::parse("found 12"), Some(Msg::Found(12)));
        assert_eq!(Msg::parse("error 3 -1"), Some(Msg::Error(3, -1)));
        assert_eq!(
            Msg::parse("done 1 2 3 4"),
            Some(Msg::Done {
                files: 1,
                bytes: 2,
                after_find: 3,
                errors: 4
            })
        );
        assert_eq!(
            Msg::parse("fatal no data"),
            Some(Msg::Fatal("no data".into()))
        );
        for bad in [
            "",
            "found",
            "found x",
            "done 1 2 3",
            "done 1 2 3 4 5",
            "hello",
            "error 1",
        ] {
            assert_eq!(Msg::parse(bad), None, "{bad:?}");
        }
    }
}
