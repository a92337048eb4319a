//! The task layer: the blog's "conventional task queue" as one small trait, its task
//! states, and the one consumer loop every task-queue worker runs.
//!
//! A task is a range of search positions, never a list of paths: it moves 16 bytes
//! whatever its size, and no task can point a worker outside its folder. A producer
//! cuts the search order into tasks of `--batch` files ([`cut`]) and [`TaskQueue::put`]s
//! them; consumers [`TaskQueue::take`] one at a time, run the worker loop over its
//! range ([`consume`]), and [`TaskQueue::finish`] it with its counts (and the find, if
//! any); a consumer that cannot run a task [`TaskQueue::fail`]s it. Each task's state is
//! one of the blog's four ([`TaskState`]), which [`TaskQueue::states`] reports.
//!
//! Backends:
//! - [`memory`]: a bounded crossbeam channel inside one process (`--strategy queue`);
//! - the brokers of [`crate::broker`] (one per line of its backends table), shared by worker processes on
//!   this host or others, with leases, retries and a dead letter.

pub mod memory;
pub mod walk;

use crate::knob::{Kind, Knob};
use crate::scan::{Scanner, Tally};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::atomic::AtomicBool;
use walk::End;

/// `--batch`: files per task, for every strategy that runs on a task queue.
pub static BATCH: Knob = Knob {
    name: "batch",
    value_name: "N",
    help:
        "Files per task of the task-queue strategies (queue and every broker strategy), at least 1",
    kind: Kind::Count {
        default: 64,
        min: 1,
        max: u64::MAX,
        why_max: "",
    },
};

/// A task's state, named as the blog names them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    /// Queued (or not yet queued), not taken by any worker.
    NotStarted,
    /// A worker holds it.
    Running,
    /// Finished: read to its end, or cut short because the treasure was found.
    Completed,
    /// Given up: it failed `--max-attempts` times (the dead letter), or could not run.
    Failed,
}

impl TaskState {
    /// Every state, in the order tables list them.
    pub const ALL: [TaskState; 4] = [
        TaskState::NotStarted,
        TaskState::Running,
        TaskState::Completed,
        TaskState::Failed,
    ];

    /// The blog's name.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::NotStarted => "NotStarted",
            TaskState::Running => "Running",
            TaskState::Completed => "Completed",
            TaskState::Failed => "Failed",
        }
    }

    /// Parses [`TaskState::name`].
    pub fn from_name(name: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One task: a range of search positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Its number, from 0 in search order.
    pub id: u64,
    /// The search positions it covers.
    pub range: Range<u64>,
}

impl Task {
    /// `task 3 (search positions 192..256)`.
    pub fn describe(&self) -> String {
        format!("task {}, {}", self.id, positions(&self.range))
    }
}

/// `search positions 6..12`.
pub fn positions(range: &Range<u64>) -> String {
    format!("search positions {}..{}", range.start, range.end)
}

/// The search positions of task `id` when `0..n` is cut into tasks of `batch`: the one
/// formula every queue and broker uses (a backend's scripts repeat it, checked by a test).
pub fn range(id: u64, batch: u64, n: u64) -> Range<u64> {
    let start = id.saturating_mul(batch);
    start..start.saturating_add(batch).min(n)
}

/// The tasks that cover search positions `0..n` in order, `batch` positions each (the
/// last one shorter).
pub fn cut(n: u64, batch: u64) -> impl Iterator<Item = Task> {
    let batch = batch.max(1);
    (0..n.div_ceil(batch)).map(move |id| Task {
        id,
        range: range(id, batch, n),
    })
}

/// A task taken by one worker, until it finishes or fails it.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The task.
    pub task: Task,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The backend's handle on this delivery (a stream entry id, a row version), which
    /// fences a worker whose lease was taken over.
    pub token: String,
}

/// What running one task gave.
#[derive(Clone, Debug)]
pub struct TaskReport {
    /// The counts of this task alone, and its find.
    pub tally: Tally,
    /// How the walk over its range ended.
    pub end: End,
    /// When the hunt is traced: this task's events (its files, then the task's own
    /// span), which a broker worker sends with its report; empty otherwise. The
    /// worker's own timeline keeps them too.
    pub trace: Vec<crate::trace::Event>,
}

/// What a queue did with a finished task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Its report counts.
    Accepted,
    /// Its report counts, and its find was committed as the hunt's answer.
    Answered,
    /// The lease had been taken over: nothing of the report counts (the new owner's
    /// will), so no file is counted twice and no second answer is given.
    Stale,
    /// Its files could not all be read: it goes back on the queue for another attempt
    /// (or to the dead letter after the last one).
    Retried,
}

/// One row of the task table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRow {
    /// The task's number.
    pub id: u64,
    /// Its search positions.
    pub range: Range<u64>,
    /// Its state.
    pub state: TaskState,
    /// The worker that holds it or last held it.
    pub worker: Option<String>,
    /// Times a worker took it.
    pub attempts: u32,
    /// Why it failed, or how it ended when that is worth saying.
    pub note: Option<String>,
}

/// The task table's counts, for the report of a hunt on a task queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSummary {
    /// Tasks the search order was cut into.
    pub tasks: u64,
    /// Tasks never taken.
    pub not_started: u64,
    /// Tasks still held when the hunt ended (workers that did not report).
    pub running: u64,
    /// Tasks finished.
    pub completed: u64,
    /// Tasks given up (the dead letter).
    pub failed: u64,
    /// Takes beyond the first of each task: retries and takeovers after a lease ran out.
    pub retries: u64,
    /// Files read by those later takes, as their reports counted them: the work done
    /// again (each re-reads its task's range). `None` where it was not measured: a task
    /// table taken more than once says how often, not what was read.
    #[serde(default)]
    pub files_again: Option<u64>,
}

impl TaskSummary {
    /// Counts a task table.
    pub fn of(rows: &[TaskRow]) -> TaskSummary {
        let mut s = TaskSummary {
            tasks: rows.len() as u64,
            ..TaskSummary::default()
        };
        for r in rows {
            *match r.state {
                TaskState::NotStarted => &mut s.not_started,
                TaskState::Running => &mut s.running,
                TaskState::Completed => &mut s.completed,
                TaskState::Failed => &mut s.failed,
            } += 1;
            s.retries += u64::from(r.attempts.saturating_sub(1));
        }
        // No task taken twice: nothing was read again.
        s.files_again = (s.retries == 0).then_some(0);
        s
    }
}

/// A task queue. Each worker (and the producer) holds its own handle, so a backend may
/// keep a connection per handle.
pub trait TaskQueue {
    /// Queues `tasks`; may block while a bounded queue is full.
    fn put(&mut self, tasks: &[Task]) -> Result<()>;
    /// The next task for this handle's worker, or `None` once the queue has no more for
    /// it (closed and empty, or stopped).
    fn take(&mut self) -> Result<Option<Lease>>;
    /// Reports a task run to its end (or cut short by the stop flag), with its counts
    /// and find; the backend commits a find once, whoever reports it first. `None`: the
    /// report was sent and its outcome is not known yet (a broker worker that runs its
    /// next task while the broker takes the report, `src/worker/serve/queue.rs`).
    fn finish(&mut self, lease: &Lease, report: &TaskReport) -> Result<Option<Finished>>;
    /// Gives up on a task this worker could not run, saying why.
    fn fail(&mut self, lease: &Lease, why: &str) -> Result<()>;
    /// Stops the queue: nothing more is handed out.
    fn stop(&mut self) -> Result<()>;
    /// Every task's row.
    fn states(&mut self) -> Result<Vec<TaskRow>>;
}

/// Why [`consume`] ended before the queue ran dry.
#[derive(Debug)]
pub enum ConsumeError {
    /// The worker failed on a task (the test hook, a panic); the task was failed.
    Failed {
        /// The task it lost.
        lost: String,
        /// What happened.
        why: String,
    },
    /// The queue itself failed (a broker went away).
    Queue(anyhow::Error),
}

/// What one consumer did.
#[derive(Debug, Default)]
pub struct Consumed {
    /// Its counts over every task it ran.
    pub tally: Tally,
    /// Why it ended early, if it did.
    pub error: Option<ConsumeError>,
}

/// The one consumer loop: take a task, run the worker loop over its range, report it,
/// until the queue has no more for this worker. `stop` is the flag the worker loop
/// checks between files (raised by a find, or by the backend's stop signal);
/// `fail_first` is the test hook ([`crate::hooks::FAIL_WORKER_ENV`]): fail the first
/// task taken. A traced worker records a span per task around its files' spans, and
/// its timeline ends in the returned tally.
pub fn consume(
    queue: &mut dyn TaskQueue,
    scanner: &mut Scanner<'_>,
    stop: &AtomicBool,
    fail_first: bool,
) -> Consumed {
    let mut done = consume_tasks(queue, scanner, stop, fail_first);
    done.tally.absorb(scanner.finish());
    done
}

fn consume_tasks(
    queue: &mut dyn TaskQueue,
    scanner: &mut Scanner<'_>,
    stop: &AtomicBool,
    fail_first: bool,
) -> Consumed {
    let mut done = Consumed::default();
    let mut fail = fail_first;
    loop {
        let lease = match queue.take() {
            Ok(Some(lease)) => lease,
            Ok(None) => return done,
            Err(e) => {
                done.error = Some(ConsumeError::Queue(e));
                return done;
            }
        };
        if std::mem::take(&mut fail) {
            let why = crate::hooks::FAILED_ON_PURPOSE;
            if let Err(e) = queue.fail(&lease, why) {
                done.error = Some(ConsumeError::Queue(e));
                return done;
            }
            done.error = Some(ConsumeError::Failed {
                lost: lease.task.describe(),
                why: why.to_string(),
            });
            return done;
        }
        let traced = scanner.trace().map(|t| (t.now(), t.events().len()));
        let end = walk::scan_positions(scanner, lease.task.range.clone(), stop);
        let mut trace = Vec::new();
        if let (Some(t), Some((start, mark))) = (scanner.trace(), traced) {
            let how = match end {
                End::Stopped => crate::trace::End::Stopped,
                End::Found => crate::trace::End::Found,
                End::Finished => crate::trace::End::Done,
            };
            t.task(lease.task.id, &lease.task.range, start, how);
            trace = t.events()[mark..].to_vec();
        }
        let report = TaskReport {
            tally: std::mem::take(&mut scanner.tally),
            end,
            trace,
        };
        let finished = queue.finish(&lease, &report);
        done.tally.absorb(report.tally);
        if let Err(e) = finished {
            done.error = Some(ConsumeError::Queue(e));
            return done;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_cover_the_search_order_once() {
        for (n, batch) in [(0u64, 1u64), (1, 1), (10, 3), (40, 7), (40, 1000), (64, 64)] {
            let tasks: Vec<Task> = cut(n, batch).collect();
            assert_eq!(tasks.len() as u64, n.div_ceil(batch));
            let mut next = 0;
            for (i, t) in tasks.iter().enumerate() {
                assert_eq!(t.id, i as u64);
                assert_eq!(t.range.start, next);
                assert!(t.range.end - t.range.start <= batch);
                next = t.range.end;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn states_round_trip_by_name_and_summaries_count_them() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::from_name(s.name()), Some(s));
            // Brokers keep and send the state by this name (a row's JSON, a column).
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        let row = |state, attempts| TaskRow {
            id: 0,
            range: 0..1,
            state,
            worker: None,
            attempts,
            note: None,
        };
        let s = TaskSummary::of(&[
            row(TaskState::Completed, 1),
            row(TaskState::Completed, 2),
            row(TaskState::Failed, 3),
            row(TaskState::NotStarted, 0),
        ]);
        assert_eq!(
            (s.tasks, s.completed, s.failed, s.not_started, s.retries),
            (4, 2, 1, 1, 3)
        );
        // Taken more than once: the table cannot say what was read again.
        assert_eq!(s.files_again, None);
        let once = TaskSummary::of(&[row(TaskState::Completed, 1)]);
        assert_eq!((once.retries, once.files_again), (0, Some(0)));
    }
}
