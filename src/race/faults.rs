//! `hunt race --fault KIND`: the race's side of a fault. In every timed round each
//! contender runs twice, in the round's shuffled order: once plain, once with the fault
//! armed (the child gets [`crate::fault::FAULT_ENV`] naming the treasure's file index).
//! A faulted run is watched from outside: when its worker announces that it holds the
//! treasure's unread file, the race sends it `SIGKILL` (or, after the pause, `SIGCONT`);
//! past the race's deadline the child is killed and the run counts as hung. Each run's
//! answer is sorted into one of four outcomes ([`Answer`]) rather than failing the
//! contender, and compared with the plain run of the same round.

use super::runner::{self, RunSpec};
use super::stats::{self, Ratio, Summary};
use crate::fault::{FaultKind, WorkerHost};
use crate::strategy::{Knobs, StrategyKind};
use serde::Serialize;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an in-process or process worker is paused by `pause-worker` (a broker's
/// worker is paused for twice its lease instead).
pub const FIXED_PAUSE: Duration = Duration::from_secs(1);

/// A faulted run not done this long after the longest pause of the race counts as hung.
pub const DEADLINE_BASE: Duration = Duration::from_secs(30);

/// What one faulted run answered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// The manifest's file (exit 0).
    Right,
    /// An honest "cannot tell" (exit 2).
    Unknown,
    /// "Not found" while the treasure exists (exit 1), or another file.
    Wrong,
    /// Not done by the deadline: killed.
    Hung,
}

/// One faulted run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultSample {
    /// Timed round, from 1 (the plain run of the same round is its pair).
    pub round: u64,
    /// What it answered.
    pub answer: Answer,
    /// Whether the fault fired (a worker opened the treasure's file).
    pub fired: bool,
    /// Whole-process wall time, spawn to reaped (to the kill, when hung).
    pub wall_s: f64,
    /// From the hunt's start to the find, from its report (none when nothing was
    /// found). A broker's answer can be in long before the process ends: its coordinator
    /// waits for a paused worker to stop.
    pub time_to_find_s: Option<f64>,
    /// Files read, from its report (none when hung).
    pub files_scanned: Option<u64>,
    /// Task takes beyond the first (retries, takeovers), for task-queue strategies.
    pub retries: Option<u64>,
    /// Files read by those later takes, from its report: the work done again. 0 for
    /// a strategy whose workers are threads or processes of the hunt itself, which
    /// never read a range again (a dead worker's range is reported lost, which is why
    /// they answer "unknown"); none when hung, or where the report does not say (a
    /// peer's pool).
    pub files_again: Option<u64>,
    /// The child's first stderr lines, when it did not answer right.
    pub said: Option<String>,
}

/// The four outcome counts of a contender's faulted runs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// Answered the manifest's file.
    pub right: u64,
    /// Answered "unknown" (exit 2).
    pub unknown: u64,
    /// Answered "not found" or another file.
    pub wrong: u64,
    /// Killed at the deadline.
    pub hung: u64,
}

impl Outcomes {
    /// Counts the answers of `samples`.
    pub fn of(samples: &[FaultSample]) -> Outcomes {
        let mut o = Outcomes::default();
        for s in samples {
            *match s.answer {
                Answer::Right => &mut o.right,
                Answer::Unknown => &mut o.unknown,
                Answer::Wrong => &mut o.wrong,
                Answer::Hung => &mut o.hung,
            } += 1;
        }
        o
    }
}

/// A contender's survival: its faulted runs against its plain runs of the same rounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultResult {
    /// The fault.
    pub kind: FaultKind,
    /// How it was done to this contender's workers (`SIGKILL from outside`, `thread
    /// dies`).
    pub how: &'static str,
    /// The pause of `pause-worker`, seconds.
    pub pause_s: Option<f64>,
    /// Faulted runs in which the fault fired.
    pub fired: u64,
    /// Wall time of the faulted runs that were not hung, seconds.
    pub wall: Option<Summary>,
    /// The median time to the find of the faulted runs that found it, seconds.
    pub find_median_s: Option<f64>,
    /// Mean faulted wall time over mean plain wall time, over the rounds both ran (and
    /// the faulted run was not hung): how many times longer the answer took.
    pub slowdown: Option<Ratio>,
    /// Mean task retries and takeovers per faulted run (task-queue strategies).
    pub retries: Option<f64>,
    /// Mean files read again per faulted run: what the takes after a task's first read,
    /// as their reports count them ([`FaultSample::files_again`]).
    pub files_again: Option<f64>,
    /// Every faulted run.
    pub samples: Vec<FaultSample>,
}

/// The race-wide settings of a fault.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultInfo {
    /// The fault.
    pub kind: FaultKind,
    /// A faulted run not done by then is killed and counted as hung, seconds.
    pub deadline_s: f64,
}

/// How long `strategy`'s worker is paused: twice the lease for a broker, else
/// [`FIXED_PAUSE`].
pub fn pause_for(strategy: StrategyKind, knobs: &Knobs) -> Duration {
    match strategy.facts().host {
        WorkerHost::Broker => knobs.seconds(&crate::broker::LEASE) * 2,
        _ => FIXED_PAUSE,
    }
}

/// The race's deadline for a faulted run.
pub fn deadline(strategies: &[StrategyKind], knobs: &Knobs) -> Duration {
    let longest = strategies
        .iter()
        .map(|&s| pause_for(s, knobs).max(lease_of(s, knobs)))
        .max()
        .unwrap_or_default();
    DEADLINE_BASE + longest * 3
}

fn lease_of(strategy: StrategyKind, knobs: &Knobs) -> Duration {
    match strategy.facts().host {
        WorkerHost::Broker => knobs.seconds(&crate::broker::LEASE),
        _ => Duration::ZERO,
    }
}

/// The line a strategy sits the race out with, when `kind` cannot be done to it.
pub fn sit_out(kind: FaultKind, strategy: StrategyKind) -> Option<&'static str> {
    match kind {
        FaultKind::KillWorker => strategy.facts().cannot_die,
        FaultKind::PauseWorker => None,
        FaultKind::KillBroker if strategy.facts().host != WorkerHost::Broker => {
            Some("its workers share no broker to kill")
        }
        // A broker strategy sits out when its race service cannot restart (no server
        // of its own, or a --broker given): see `rounds::sign_up`.
        FaultKind::KillBroker => None,
    }
}

/// The race's opening note on a fault.
pub fn note(kind: FaultKind, deadline: Duration) -> String {
    let what = match kind {
        FaultKind::KillWorker => "the worker that has opened the treasure's file, before it reads a byte, dies: a process (fork, spawn, a broker's hunt worker) stops itself at that moment and announces its pid, and the race sends it SIGKILL from outside; an in-process worker's thread dies (it ends mid-file and is reported as a dead worker), the closest it comes",
        FaultKind::PauseWorker => "the worker that has opened the treasure's file, before it reads a byte, is stopped with SIGSTOP and resumed with SIGCONT by the race (a broker's worker after twice its lease, any other after 1 s); an in-process worker's thread sleeps as long",
        FaultKind::KillBroker => "while the worker that has opened the treasure's file is stopped before it reads a byte, the race turns the private broker's persistence on, kills its server with SIGKILL and starts it again on its data, then resumes the worker",
    };
    format!(
        "note: --fault {}: each contender runs twice per timed round, plain and faulted, in a shuffled order; {what}. A faulted run not done in {:.0} s counts as hung and is killed.",
        kind.name(),
        deadline.as_secs_f64()
    )
}

/// Runs one faulted `hunt search` and sorts its answer. The error is a crash or a
/// report that cannot be read: a defect, not an outcome.
pub fn run(
    exe: &std::path::Path,
    spec: &RunSpec<'_>,
    treasure: u64,
    (kind, pause, deadline): (FaultKind, Duration, Duration),
    restart: &mut dyn FnMut() -> Result<(), String>,
) -> Result<FaultSample, String> {
    let host = spec.strategy.facts().host;
    let folder = tempfile::Builder::new()
        .prefix("hunt-fault-")
        .tempdir()
        .map_err(|e| format!("cannot make a folder for the fault's pid file: {e}"))?;
    let path = folder.path().join("pid");
    let stdout = runner::memfd("hunt-race-stdout")?;
    let stderr = runner::memfd("hunt-race-stderr")?;
    let mut cmd = Command::new(exe);
    cmd.args(runner::search_args(spec))
        .env(
            crate::fault::FAULT_ENV,
            crate::fault::env_value(kind, treasure, host, pause, &path),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(runner::dup(&stdout)?))
        .stderr(Stdio::from(runner::dup(&stderr)?));
    crate::sys::process::die_with_parent(&mut cmd);
    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let pid = child.id() as libc::pid_t;
    let watched = watch(pid, &path, (host, kind, pause, start + deadline), restart);
    if watched.is_err() {
        // The broker could not come back: end the run before saying so.
        // SAFETY: our child; then reap it.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = crate::sys::process::reap(pid);
    }
    let (status, fired) = watched?;
    let wall_s = start.elapsed().as_secs_f64();
    // Already reaped by the watch.
    drop(child);
    // A quick child may end before the watch looked: an in-process fault leaves its file.
    let fired = fired || announced(&path).is_some();
    let Some(status) = status else {
        return Ok(FaultSample {
            round: 0,
            answer: Answer::Hung,
            fired,
            wall_s,
            time_to_find_s: None,
            files_scanned: None,
            retries: None,
            files_again: None,
            said: Some(format!("killed at the deadline ({wall_s:.1} s)")),
        });
    };
    let mut sample = sort(
        status,
        &stdout_err(stdout, stderr)?,
        treasure,
        fired,
        wall_s,
    )?;
    if host != WorkerHost::Broker {
        // Nothing of a local strategy takes a dead worker's range over: none of it is
        // read again (its in-memory queue's report says so itself).
        sample.files_again = sample.files_again.or(Some(0));
    }
    Ok(sample)
}

/// The child's stdout and stderr, read back.
fn stdout_err(stdout: std::fs::File, stderr: std::fs::File) -> Result<(Vec<u8>, Vec<u8>), String> {
    Ok((runner::read_all(stdout)?, runner::read_all(stderr)?))
}

/// Waits for the child `pid` while it runs: does the fault to the worker that announces
/// itself in `path` (`kill-broker`: `restart` the broker while it is stopped), and
/// kills the child (and that worker) at `deadline`. Its wait status (`None`: killed at
/// the deadline), and whether the fault fired.
fn watch(
    pid: libc::pid_t,
    path: &std::path::Path,
    (host, kind, pause, deadline): (WorkerHost, FaultKind, Duration, Instant),
    restart: &mut dyn FnMut() -> Result<(), String>,
) -> Result<(Option<libc::c_int>, bool), String> {
    let mut fired = false;
    let mut worker: Option<libc::pid_t> = None;
    let mut resume_at: Option<Instant> = None;
    let status = loop {
        let mut st: libc::c_int = 0;
        // SAFETY: `pid` is our child; `st` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            break Some(st);
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(format!(
                "cannot wait for hunt search: {}",
                std::io::Error::last_os_error()
            ));
        }
        if !fired {
            if let Some(w) = announced(path) {
                fired = true;
                if host != WorkerHost::Thread {
                    worker = Some(w);
                    match kind {
                        FaultKind::KillWorker => {
                            // The line first: a traced child that sees the death finds it.
                            done(path);
                            // SAFETY: sending a signal to a process of this race's tree.
                            unsafe { libc::kill(w, libc::SIGKILL) };
                        }
                        FaultKind::PauseWorker => resume_at = Some(Instant::now() + pause),
                        FaultKind::KillBroker => {
                            let restarted = restart();
                            done(path);
                            // SAFETY: as above.
                            unsafe { libc::kill(w, libc::SIGCONT) };
                            restarted.map_err(|e| {
                                format!("the broker could not be killed and started again: {e}")
                            })?;
                        }
                    }
                }
            }
        }
        if let (Some(at), Some(w)) = (resume_at, worker) {
            if Instant::now() >= at {
                done(path);
                // SAFETY: as above.
                unsafe { libc::kill(w, libc::SIGCONT) };
                resume_at = None;
            }
        }
        let interrupted = crate::interrupt::requested();
        if interrupted || Instant::now() > deadline {
            // SAFETY: as above; then reap the child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                if let Some(w) = worker {
                    libc::kill(w, libc::SIGKILL);
                }
            }
            let _ = crate::sys::process::reap(pid);
            if interrupted {
                return Err("interrupted".into());
            }
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok((status, fired))
}

/// Sorts a finished child's answer (wait `status`, its `out`put) into an outcome.
fn sort(
    status: libc::c_int,
    (out, err): &(Vec<u8>, Vec<u8>),
    treasure: u64,
    fired: bool,
    wall_s: f64,
) -> Result<FaultSample, String> {
    let says = runner::stderr_summary(err);
    let code =
        crate::sys::process::exit_code(status).map_err(|why| format!("hunt search {why}{says}"))?;
    // What it said first (the dead worker, or the wrong answer), on one line.
    let first = says
        .trim_start_matches(": ")
        .split("; ")
        .next()
        .unwrap_or_default()
        .to_string();
    let report: Option<serde_json::Value> = serde_json::from_slice(out).ok();
    let field = |k: &str| report.as_ref().and_then(|r| r.get(k)).cloned();
    let index = field("index").and_then(|v| v.as_u64());
    let tasks = |k: &str| field("tasks").and_then(|t| t.get(k).and_then(|v| v.as_u64()));
    let answer = match code {
        0 if index == Some(treasure) => Answer::Right,
        0 | 1 => Answer::Wrong,
        2 => Answer::Unknown,
        _ => return Err(format!("hunt search failed (exit {code}){says}")),
    };
    Ok(FaultSample {
        round: 0,
        answer,
        fired,
        wall_s,
        time_to_find_s: field("time_to_find_s").and_then(|v| v.as_f64()),
        files_scanned: field("files_scanned").and_then(|v| v.as_u64()),
        retries: tasks("retries"),
        files_again: tasks("files_again"),
        said: (answer != Answer::Right).then_some(first),
    })
}

/// The pid a worker wrote to the fault's file, once the whole line is there.
fn announced(path: &std::path::Path) -> Option<libc::pid_t> {
    crate::fault::struck(path).and_then(|s| libc::pid_t::try_from(s.pid).ok())
}

/// Marks the fault over in its file, for the traced child's timeline; a failure costs
/// only that mark.
fn done(path: &std::path::Path) {
    let _ = crate::fault::mark_done(path);
}

/// A contender's survival from its faulted runs and its plain runs' wall times by round.
pub fn result(
    kind: FaultKind,
    strategy: StrategyKind,
    pause: Duration,
    samples: &[FaultSample],
    plain: &[super::Sample],
) -> FaultResult {
    let answered: Vec<&FaultSample> = samples
        .iter()
        .filter(|s| s.answer != Answer::Hung)
        .collect();
    let walls: Vec<f64> = answered.iter().map(|s| s.wall_s).collect();
    let (mut faulted, mut base) = (Vec::new(), Vec::new());
    for s in &answered {
        if let Some(p) = plain.iter().find(|p| p.round == s.round) {
            faulted.push(s.wall_s);
            base.push(p.wall_s);
        }
    }
    let mean_of = |count: fn(&FaultSample) -> Option<u64>| {
        stats::mean(
            &samples
                .iter()
                .filter_map(count)
                .map(|n| n as f64)
                .collect::<Vec<f64>>(),
        )
    };
    FaultResult {
        kind,
        how: crate::fault::how(kind, strategy.facts().host),
        pause_s: (kind == FaultKind::PauseWorker).then_some(pause.as_secs_f64()),
        fired: samples.iter().filter(|s| s.fired).count() as u64,
        wall: stats::summarize(&walls),
        find_median_s: stats::median(
            &samples
                .iter()
                .filter_map(|s| s.time_to_find_s)
                .collect::<Vec<f64>>(),
        ),
        slowdown: stats::paired_speedup(&faulted, &base),
        retries: mean_of(|s| s.retries),
        files_again: mean_of(|s| s.files_again),
        samples: samples.to_vec(),
    }
}
