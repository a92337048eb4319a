//! One hunt on a Python pool: the request hunt sends the long-lived client (every task's
//! files, in hunt's search order), the events it reads back, and the [`Outcome`] they
//! make. hunt trusts the answer no more than any other's: the race checks it against the
//! manifest.

use super::{Flavor, PyQueue};
use crate::scan::{FileError, Found, Job, ScanError, Tally};
use crate::strategy::{Outcome, WorkerFailure};
use crate::tasks::{self, TaskSummary};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// How long the client may take to accept a hunt before hunt says no pool serves.
const NO_CLIENT: Duration = Duration::from_secs(10);

/// What hunt asks the client.
#[derive(Serialize)]
struct Request<'a> {
    id: &'a str,
    /// Each task's files: (file index, path as hex bytes), in search order.
    tasks: Vec<Vec<(u64, String)>>,
    needle_hex: String,
    /// `HUNT_FAULT`'s value, for the task that opens the treasure's file.
    fault: Option<String>,
    lease_s: f64,
}

/// What the client tells.
#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Said {
    Accepted,
    Found { index: u64, worker: String },
    Done { tasks: Vec<TaskEnd>, unsettled: u64 },
    Error { why: String },
}

/// How one task ended: Celery's state (`SUCCESS`, `FAILURE`, `REVOKED`) or RQ's
/// (`SUCCESS`, `FAILED`, `STOPPED`, `CANCELED`).
#[derive(Deserialize)]
struct TaskEnd {
    task: u64,
    state: String,
    result: Option<TaskResult>,
    why: Option<String>,
}

/// What a task returns.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TaskResult {
    scanned: u64,
    bytes: u64,
    /// (file index, hunt's error code: an errno, or -1 for not a regular file).
    errors: Vec<(u64, i32)>,
}

/// Runs one hunt on the pool.
pub(super) fn hunt<F: Flavor>(q: &mut PyQueue<F>, job: &Job<'_>, name: &str) -> Result<Outcome> {
    let id = crate::broker::new_hunt_id();
    let cut: Vec<tasks::Task> = tasks::cut(job.len(), q.batch).collect();
    let request = Request {
        id: &id,
        tasks: cut
            .iter()
            .map(|t| {
                t.range
                    .clone()
                    .map(|p| {
                        let i = job.index_at(p);
                        (
                            i,
                            crate::sys::hex::hex(job.files.path(i).as_os_str().as_bytes()),
                        )
                    })
                    .collect()
            })
            .collect(),
        needle_hex: crate::sys::hex::hex(job.finder.needle()),
        fault: std::env::var(crate::fault::FAULT_ENV).ok(),
        lease_s: q.lease.as_secs_f64(),
    };
    q.lists
        .push(&q.requests, &serde_json::to_string(&request)?)?;
    let reply = format!("hunt:py:reply:{id}");
    let asked = Instant::now();
    let mut accepted = false;
    let mut found: Option<(u64, String, Instant)> = None;
    loop {
        if crate::interrupt::requested() {
            // The tasks read the found key: it stops them as a find would.
            let _ = q.lists.set(
                &format!("hunt:py:found:{id}"),
                "1",
                Duration::from_secs(600),
            );
            return Err(crate::interrupt::Interrupted.into());
        }
        let Some(raw) = q.lists.pop(&reply, Duration::from_millis(100))? else {
            if !accepted && asked.elapsed() > NO_CLIENT {
                bail!(
                    "no {name} pool took hunt {id} within {} s: its client is gone (see the pool's log); search again without --python-pool to start a fresh one",
                    NO_CLIENT.as_secs()
                );
            }
            continue;
        };
        match serde_json::from_str::<Said>(&raw)? {
            Said::Accepted => accepted = true,
            Said::Found { index, worker } => {
                found.get_or_insert((index, worker, Instant::now()));
            }
            Said::Error { why } => bail!("the {name} client failed: {why}"),
            Said::Done { tasks, unsettled } => {
                return Ok(outcome(name, &cut, tasks, unsettled, found));
            }
        }
    }
}

/// The outcome of the tasks' ends.
fn outcome(
    name: &str,
    cut: &[tasks::Task],
    ends: Vec<TaskEnd>,
    unsettled: u64,
    found: Option<(u64, String, Instant)>,
) -> Outcome {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let (mut completed, mut failed, mut stopped) = (0, 0, 0);
    for end in ends {
        if let Some(r) = &end.result {
            tally.files_scanned += r.scanned;
            tally.bytes_scanned += r.bytes;
            tally
                .errors
                .extend(r.errors.iter().map(|&(index, code)| FileError {
                    index,
                    error: ScanError::from_code(code),
                }));
        }
        match end.state.as_str() {
            "SUCCESS" => completed += 1,
            // Stopped after the find, as asked.
            "REVOKED" | "STOPPED" | "CANCELED" if found.is_some() => stopped += 1,
            _ => {
                failed += 1;
                let range = cut
                    .get(end.task as usize)
                    .map(|t| t.range.clone())
                    .unwrap_or(0..0);
                failures.push(WorkerFailure::range(
                    format!("{name} task {}", end.task),
                    &range,
                    format!(
                        "ended {} ({})",
                        end.state,
                        end.why.as_deref().unwrap_or("no reason given")
                    ),
                ));
            }
        }
    }
    if unsettled > 0 {
        if found.is_some() {
            notes.push(format!(
                "{unsettled} task(s) were still held a lease after the find (a worker paused?)"
            ));
        } else {
            failures.push(WorkerFailure {
                worker: format!("{name} pool"),
                lost: format!("{unsettled} unsettled tasks"),
                why: "never settled".into(),
            });
        }
    }
    let stopped_at = Instant::now();
    let mut out = Outcome {
        worker_failures: failures,
        notes,
        stopped_at: Some(stopped_at),
        stop_signal_at: found.as_ref().map(|f| f.2),
        ..Outcome::default()
    };
    out.tasks = Some(TaskSummary {
        tasks: cut.len() as u64,
        not_started: stopped,
        running: unsettled,
        completed,
        failed,
        retries: 0,
        // The peer's pool may run a task again (Celery's requeue): not measured.
        files_again: None,
    });
    if let Some((index, worker, at)) = found {
        tally.found = Some(Found { index, at });
        out.found_by = Some(worker);
    }
    out.tally = tally;
    out
}
