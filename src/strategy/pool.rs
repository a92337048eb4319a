//! The in-process workers' one loop and one join, shared by every strategy whose
//! workers are threads or the calling thread.
//!
//! - [`scan_positions`] is the loop: check the stop flag, take the next search
//!   position, scan it, tally. `sequential`, `threads`, the `queue` and broker
//!   consumers (through [`crate::tasks::consume`]), the `spawn` worker process and the
//!   `fork` child all run it; `rayon` runs its body per position; `async` and `uring`
//!   do their own I/O and share only the tally.
//! - [`Pool::on_threads`] and [`Pool::on_this_thread`] are the join: they run the
//!   workers, catch a panic, and turn what each worker gave back into one [`Outcome`]
//!   under one failure rule: a worker that fails (an error, a panic, a thread that
//!   would not start) is reported in [`Outcome::worker_failures`] with the part of the
//!   search it lost, its partial counts are kept, and the hunt still reports. When nothing was found and a
//!   worker failed, the answer is unknown (exit 2), never "not found". A traced
//!   worker's timeline (its tally's track, see [`crate::scan::Scanner::finish`]) is
//!   named after the worker here.
//! - [`Pool`] brings each strategy its registered name and its test hooks, so the
//!   failure tests reach every strategy that runs its workers here.

use super::{Outcome, WorkerFailure};
use crate::scan::Tally;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::tasks::walk::{scan_positions, End};

/// A worker that could not do its part, with the counts it got so far.
#[derive(Debug, Default)]
pub struct Failed {
    /// What it scanned before failing (kept in the hunt's totals).
    pub tally: Tally,
    /// The part of the search it lost, if more precise than its share.
    pub lost: Option<String>,
    /// What happened.
    pub why: String,
}

/// What one worker gives back.
pub type WorkerResult = Result<Tally, Box<Failed>>;

/// One worker to run: its number and its share of the search, for messages.
pub struct Share {
    /// The worker's number (`threads worker 1`).
    pub index: usize,
    /// Its part of the search (`search positions 6..12`), named when it fails.
    pub lost: String,
}

/// A strategy's workers as the pool runs them, made by the registry
/// ([`super::StrategyKind::build`]) for the strategy it builds: the strategy's name (which
/// names its threads and its workers in reports) and the test hook that tells one of its
/// workers to fail ([`crate::hooks::FAIL_WORKER_ENV`]). No strategy names itself or reads
/// the hook by hand: a strategy reaches the join only through its `Pool`, which applies
/// the hook, so a new strategy cannot escape the failure tests.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    name: &'static str,
    /// The worker the hook tells to fail, if any (read once, before any fork).
    failing: Option<usize>,
}

impl Pool {
    /// The pool of the strategy registered as `name`.
    pub(crate) fn new(name: &'static str) -> Pool {
        Pool {
            name,
            failing: crate::hooks::failing_worker(name),
        }
    }

    /// The strategy's name, as registered.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How reports name worker `i` (`threads worker 1`).
    pub fn worker(&self, i: usize) -> String {
        format!("{} worker {i}", self.name)
    }

    /// The worker the test hook tells to fail, for the strategies whose workers fail in
    /// their own way: a `rayon` lane on its first position, an `async` task, a forked
    /// child that kills itself. [`Pool::on_threads`] and [`Pool::on_this_thread`] apply
    /// it themselves.
    pub fn failing(&self) -> Option<usize> {
        self.failing
    }

    /// Runs `body` on the calling thread as worker `share.index`, catching a panic; a
    /// worker the test hook tells to fail fails as it starts.
    pub fn on_this_thread(&self, share: Share, body: impl FnOnce() -> WorkerResult) -> Outcome {
        let told = self.failing == Some(share.index);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if told {
                return Err(failed_on_purpose());
            }
            body()
        }));
        join(self.name, vec![(share, result.map_err(|p| unwound(&*p)))])
    }

    /// Runs one scoped thread per share, named `hunt-{strategy}`, worker `i` running
    /// `body(i)`, and joins them into one [`Outcome`]. A thread that cannot start raises
    /// `stop`, so the others end soon, and is reported with its share. A worker the test
    /// hook tells to fail fails as it starts.
    pub fn on_threads<F>(&self, shares: Vec<Share>, stop: &AtomicBool, body: F) -> Outcome
    where
        F: Fn(usize) -> WorkerResult + Sync,
    {
        self.on_threads_told(shares, stop, |i, told| {
            if told {
                return Err(failed_on_purpose());
            }
            body(i)
        })
    }

    /// [`Pool::on_threads`] for workers that fail in their own way when the test hook
    /// tells them to (a task-queue consumer fails holding a task): worker `i` runs
    /// `body(i, told_to_fail)`.
    pub fn on_threads_told<F>(&self, shares: Vec<Share>, stop: &AtomicBool, body: F) -> Outcome
    where
        F: Fn(usize, bool) -> WorkerResult + Sync,
    {
        let body = &body;
        let failing = self.failing;
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    let i = share.index;
                    let h = std::thread::Builder::new()
                        .name(format!("hunt-{}", self.name))
                        .spawn_scoped(s, move || body(i, failing == Some(i)));
                    (share, h)
                })
                .collect();
            handles
                .into_iter()
                .map(|(share, h)| match h {
                    Ok(h) => (share, h.join().map_err(|p| unwound(&*p))),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        let failed = Box::new(Failed {
                            why: format!("could not start its thread ({e})"),
                            ..Failed::default()
                        });
                        (share, Ok(Err(failed)))
                    }
                })
                .collect::<Vec<_>>()
        });
        join(self.name, results)
    }
}

/// Adds up what the workers gave back; the earliest find wins and names its worker.
fn join(strategy: &str, results: Vec<(Share, Result<WorkerResult, String>)>) -> Outcome {
    let mut outcome = Outcome::default();
    let mut first: Option<(std::time::Instant, usize)> = None;
    for (share, result) in results {
        let name = format!("{strategy} worker {}", share.index);
        let mut tally = match result {
            Ok(Ok(t)) => t,
            Ok(Err(failed)) => {
                outcome.worker_failures.push(WorkerFailure {
                    worker: name.clone(),
                    lost: failed.lost.unwrap_or(share.lost),
                    why: failed.why,
                });
                failed.tally
            }
            Err(why) => {
                outcome.worker_failures.push(WorkerFailure {
                    worker: name.clone(),
                    lost: share.lost,
                    why,
                });
                Tally::default()
            }
        };
        if let Some(f) = tally.found {
            if first.is_none_or(|(at, _)| f.at < at) {
                first = Some((f.at, share.index));
            }
        }
        for track in &mut tally.tracks {
            track.name(&name);
        }
        outcome.tally.absorb(tally);
    }
    outcome.found_by = first.map(|(_, i)| format!("{strategy} worker {i}"));
    outcome
}

/// Why a worker thread unwound: a thread killed by `hunt race --fault kill-worker`
/// ([`crate::fault`]) says so; anything else panicked.
fn unwound(payload: &(dyn std::any::Any + Send)) -> String {
    crate::fault::unwind_why(payload)
}

/// The failure a worker told to fail by [`crate::hooks::FAIL_WORKER_ENV`] reports.
pub(crate) fn failed_on_purpose() -> Box<Failed> {
    Box::new(Failed {
        why: crate::hooks::FAILED_ON_PURPOSE.to_string(),
        ..Failed::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(n: usize) -> Vec<Share> {
        (0..n)
            .map(|index| Share {
                index,
                lost: format!("part {index}"),
            })
            .collect()
    }

    #[test]
    fn failures_and_panics_are_reported_with_their_share_and_counts_kept() {
        let stop = AtomicBool::new(false);
        let outcome = Pool::new("test").on_threads(shares(3), &stop, |i| match i {
            0 => Ok(Tally {
                files_scanned: 5,
                ..Tally::default()
            }),
            1 => Err(Box::new(Failed {
                tally: Tally {
                    files_scanned: 2,
                    ..Tally::default()
                },
                lost: None,
                why: "broke".into(),
            })),
            _ => panic!("worker 2 panics (this message is expected in the test output)"),
        });
        assert_eq!(outcome.tally.files_scanned, 7);
        let msgs: Vec<String> = outcome
            .worker_failures
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            msgs,
            [
                "test worker 1 (part 1) broke; that range went unsearched",
                "test worker 2 (part 2) panicked; that range went unsearched",
            ]
        );
        assert_eq!(outcome.found_by, None);
    }

    #[test]
    fn the_earliest_find_names_its_worker() {
        let now = std::time::Instant::now();
        let stop = AtomicBool::new(false);
        let outcome = Pool::new("test").on_threads(shares(2), &stop, |i| {
            Ok(Tally {
                found: Some(crate::scan::Found {
                    index: i as u64,
                    at: now + std::time::Duration::from_millis(10 - i as u64),
                }),
                ..Tally::default()
            })
        });
        assert_eq!(outcome.found().map(|f| f.index), Some(1));
        assert_eq!(outcome.found_by.as_deref(), Some("test worker 1"));
    }
}
