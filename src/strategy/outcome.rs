//! What one hunt did ([`Outcome`]), and how a failed worker is reported
//! ([`WorkerFailure`]): the same way for every strategy.

use crate::scan::{FileError, Found, Tally};
use crate::tasks::TaskSummary;

/// One worker that failed, and the part of the search it lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerFailure {
    /// Which worker: `threads worker 1`, `BROKER worker w2@host`.
    pub worker: String,
    /// What it lost: `search positions 6..12`, `task 3 (search positions 192..256)`.
    pub lost: String,
    /// What happened: `panicked`, `was killed by signal 9 (SIGKILL)`.
    pub why: String,
}

impl WorkerFailure {
    /// A failure that lost the contiguous range `range`.
    pub fn range(worker: String, range: &std::ops::Range<u64>, why: String) -> Self {
        WorkerFailure {
            worker,
            lost: positions(range),
            why,
        }
    }
}

pub use crate::tasks::positions;

impl std::fmt::Display for WorkerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}; that range went unsearched",
            self.worker, self.lost, self.why
        )
    }
}

/// What one hunt did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// All workers' counts added up, and the find if any.
    pub tally: Tally,
    /// Workers that died or failed, each naming the part of the search it lost. When
    /// this is not empty and nothing was found, the answer is unknown.
    pub worker_failures: Vec<WorkerFailure>,
    /// The worker that found the treasure (`threads worker 1`, `w2@host`), if known.
    pub found_by: Option<String>,
    /// The `queue` strategy's channel counts; `None` for every other strategy.
    pub queue: Option<crate::tasks::memory::QueueStats>,
    /// The task table's counts, for strategies that run on a task queue.
    pub tasks: Option<TaskSummary>,
    /// Warnings for the user that are not failures (a worker that refused a hunt).
    pub notes: Vec<String>,
    /// When every worker had stopped, if the strategy knows it better than "when `hunt`
    /// returned" (a coordinator still cleans up after that).
    pub stopped_at: Option<std::time::Instant>,
    /// When the stop signal went out, for a trace, if not at the find (a `spawn` parent
    /// closing its workers' stdin, a coordinator reading the answer).
    pub stop_signal_at: Option<std::time::Instant>,
}

impl Outcome {
    /// The outcome of workers that reported through their tallies.
    pub fn from_tallies(tallies: impl IntoIterator<Item = Tally>) -> Outcome {
        let mut tally = Tally::default();
        for t in tallies {
            tally.absorb(t);
        }
        Outcome {
            tally,
            ..Outcome::default()
        }
    }

    /// The find, if any.
    pub fn found(&self) -> Option<Found> {
        self.tally.found
    }

    /// Files that could not be read.
    pub fn errors(&self) -> &[FileError] {
        &self.tally.errors
    }
}
