//! `spawn`: worker processes started the way Python's multiprocessing `spawn` start
//! method starts them: a fresh run of the program, told what to do on its command line
//! and its stdin, inheriting nothing but the environment and the working folder. Each of
//! K workers is `hunt worker --pipe --dir D` on a contiguous range of search positions
//! (as `fork`'s children are).
//!
//! The request, the messages and the stop signal are the pipe protocol of
//! [`crate::worker::protocol`]: the request goes as the first line on the worker's
//! stdin, the worker answers on its stdout, and closing its stdin tells it to stop.
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
//! - Each worker dies with its parent ([`crate::sys::process::die_with_parent`]); workers
//!   are spawned from the thread that calls `hunt` and reaped before it returns.
//! - On every way out of `hunt` (success, an error, a panic) the
//!   [`crate::sys::process::Children`] guard kills and reaps every worker not yet reaped.
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

use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig, WorkerFailure};
use crate::sys::process::{self, Children};
use crate::scan::{FileError, Found, Job, ScanError, Tally};
use crate::sys::hex::hex;
use crate::worker::protocol::{Msg, Request};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How often the parent, waiting on its workers' pipes, looks at the Ctrl-C flag: a
/// signal that came just before it went to sleep is seen within this time.
const POLL: Duration = Duration::from_millis(20);

/// K worker processes running `hunt worker --pipe`.
pub struct Spawn {
    exe: PathBuf,
    workers: usize,
}

impl Registered for Spawn {
    const HOST: crate::fault::WorkerHost = crate::fault::WorkerHost::Process;
    /// Finds the binary to spawn (setup); the processes start per hunt, inside the
    /// timing: that is the model's cost.
    fn new(config: &StrategyConfig) -> Result<Self> {
        Ok(Spawn {
            exe: crate::sys::process::hunt_exe()?,
            workers: config.workers.get(),
        })
    }
}

/// What the parent learned from one worker.
#[derive(Default)]
struct Report {
    tally: Tally,
    done: bool,
    trouble: Option<String>,
    /// Its timeline, for a traced hunt.
    events: Vec<crate::trace::Event>,
}

/// What the parent heard on its workers' pipes.
struct Heard {
    /// One per worker, in the requests' order.
    reports: Vec<Report>,
    /// The first find, and the worker that made it.
    found: Option<(Found, usize)>,
    /// When the other workers were told to stop.
    stop_signal_at: Option<Instant>,
}

impl Strategy for Spawn {
    /// Start the workers, listen to them until each has closed its output, reap them.
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        let requests = requests(job, self.workers);
        let mut workers = self.start(job, &requests)?;
        let heard = listen(job, &requests, &mut workers)?;
        Ok(reap(job, &requests, &mut workers, heard))
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// One request per worker with a non-empty range.
fn requests(job: &Job<'_>, workers: usize) -> Vec<Request> {
    split_ranges(job.len(), workers)
        .into_iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(worker, Range { start, end })| Request {
            worker,
            from: start,
            to: end,
            files: job.len(),
            reader: job.reader,
            rotate: job.rotate,
            needle_hex: hex(job.finder.needle()),
            trace_epoch_ns: job.trace.map(|c| c.epoch_ns),
        })
        .collect()
}

impl Spawn {
    /// Starts a worker per request, each dying with this process.
    fn start(&self, job: &Job<'_>, requests: &[Request]) -> Result<Children> {
        let mut workers = Children::default();
        for req in requests {
            let mut cmd = Command::new(&self.exe);
            cmd.args(["worker", "--pipe", "--dir"])
                .arg(job.files.root())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            process::die_with_parent(&mut cmd);
            let child = cmd.spawn().with_context(|| {
                format!(
                    "could not start spawn worker {} ({}) from {}",
                    req.worker,
                    range(req),
                    self.exe.display()
                )
            })?;
            workers.0.push(child);
        }
        Ok(workers)
    }
}

/// Sends each worker its request, then reads every worker's lines until all have
/// closed their output; the first find closes the others' stdin (their stop signal).
/// Ctrl-C kills the workers and returns [`crate::interrupt::Interrupted`].
fn listen(job: &Job<'_>, requests: &[Request], workers: &mut Children) -> Result<Heard> {
    let mut stdins: Vec<Option<ChildStdin>> =
        workers.0.iter_mut().map(|c| c.stdin.take()).collect();
    // Every worker is started before any is written to, so they start up in
    // parallel; a write waits only when the request outgrows the pipe's buffer.
    for (stdin, req) in stdins.iter_mut().zip(requests) {
        if let Some(stdin) = stdin {
            // A worker that died before reading is reported by its exit status later.
            send(stdin, &req.line())?;
        }
    }
    let stdouts: Vec<_> = workers.0.iter_mut().map(|c| c.stdout.take()).collect();
    let mut heard = Heard {
        reports: requests.iter().map(|_| Report::default()).collect(),
        found: None,
        stop_signal_at: None,
    };
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
                        workers.kill_all();
                        break;
                    }
                    continue;
                }
            };
            if heard.hear(job, i, requests[i].worker, line) {
                // End-of-file on their stdin tells the others to stop.
                stdins.iter_mut().for_each(|s| drop(s.take()));
                heard.stop_signal_at = Some(Instant::now());
            }
        }
    });
    drop(stdins);
    if interrupted {
        return Err(crate::interrupt::Interrupted.into());
    }
    Ok(heard)
}

impl Heard {
    /// Takes one line from worker `i` (numbered `worker`); true when it is the hunt's
    /// first find, so the others must be told to stop.
    fn hear(&mut self, job: &Job<'_>, i: usize, worker: usize, line: std::io::Result<String>) -> bool {
        let report = &mut self.reports[i];
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                report
                    .trouble
                    .get_or_insert(format!("its output could not be read ({e})"));
                return false;
            }
        };
        match Msg::parse(&line) {
            Some(Msg::Found(index)) if index < job.len() => {
                if self.found.is_none() {
                    let f = Found {
                        index,
                        at: Instant::now(),
                    };
                    self.found = Some((f, worker));
                    return true;
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
            Some(Msg::Trace(wire)) if job.trace.is_some() && !report.done => {
                match crate::trace::Event::from_wire(&wire, 0) {
                    Some(e) => report.events.push(e),
                    None => {
                        report
                            .trouble
                            .get_or_insert(format!("sent a garbled trace line {line:?}"));
                    }
                }
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
        false
    }
}

/// Reaps every worker and adds up what they said: a worker that died, said something
/// wrong or never said `done` is a failure naming its range, and its counts are left out.
fn reap(job: &Job<'_>, requests: &[Request], workers: &mut Children, heard: Heard) -> Outcome {
    let mut outcome = Outcome {
        stop_signal_at: heard.stop_signal_at,
        ..Outcome::default()
    };
    for ((child, req), mut report) in workers.0.iter_mut().zip(requests).zip(heard.reports) {
        if job.trace.is_some() {
            report.tally.tracks.push(crate::trace::Track {
                worker: format!("spawn worker {}", req.worker),
                process: Some(format!("spawn worker {} (pid {})", req.worker, child.id())),
                events: std::mem::take(&mut report.events),
                dropped: 0,
            });
        }
        let why = match child.wait() {
            Err(e) => Some(format!("could not be reaped: {e}")),
            Ok(status) => match (report.trouble, process::failure(status.into_raw())) {
                (Some(said), Some(ended)) => Some(format!("{said}, and {ended}")),
                (said, ended) => said.or(ended).or_else(|| {
                    (!report.done).then(|| "ended without reporting its counts".to_string())
                }),
            },
        };
        match why {
            Some(why) => {
                // What it did is not counted, but its timeline shows how far it got.
                outcome.tally.tracks.append(&mut report.tally.tracks);
                outcome.worker_failures.push(WorkerFailure::range(
                    format!("spawn worker {}", req.worker),
                    &(req.from..req.to),
                    why,
                ))
            }
            None => outcome.tally.absorb(report.tally),
        }
    }
    if let Some((f, worker)) = heard.found {
        outcome.tally.found = Some(f);
        outcome.found_by = Some(format!("spawn worker {worker}"));
    }
    outcome
}

fn range(req: &Request) -> String {
    super::positions(&(req.from..req.to))
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
