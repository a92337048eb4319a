//! The in-process workers' one loop and one join, shared by every strategy whose
//! workers are threads or the calling thread.
//!
//! - [`scan_positions`] is the loop: check the stop flag, take the next search
//!   position, scan it, tally. `sequential`, `threads`, the `queue` and broker
//!   consumers (through [`crate::tasks::consume`]), the `spawn` worker process and the
//!   `fork` child all run it; `rayon` runs its body per position; `async` and `uring`
//!   do their own I/O and share only the tally.
//! - [`on_threads`] and [`on_this_thread`] are the join: they run the workers, catch a
//!   panic, and turn what each worker gave back into one [`Outcome`] under one failure
//!   rule: a worker that fails (an error, a panic, a thread that would not start) is
//!   reported in [`Outcome::worker_failures`] with the part of the search it lost, its
//!   partial counts are kept, and the hunt still reports. When nothing was found and a
//!   worker failed, the answer is unknown (exit 2), never "not found". A traced
//!   worker's timeline (its tally's track, see [`crate::scan::Scanner::finish`]) is
//!   named after the worker here.

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

/// Runs `body` on the calling thread as worker 0 of `strategy`, catching a panic.
pub fn on_this_thread(
    strategy: &str,
    share: Share,
    body: impl FnOnce() -> WorkerResult,
) -> Outcome {
    let result = std::panic::catch_unwind(AssertUnwindSafe(body));
    join(strategy, vec![(share, result.map_err(|_| ()))])
}

/// Runs one scoped thread per share, named `hunt-{strategy}`, worker `i` running
/// `body(i)`, and joins them into one [`Outcome`]. A thread that cannot start raises
/// `stop`, so the others end soon, and is reported with its share.
pub fn on_threads<F>(strategy: &str, shares: Vec<Share>, stop: &AtomicBool, body: F) -> Outcome
where
    F: Fn(usize) -> WorkerResult + Sync,
{
    let body = &body;
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let i = share.index;
                let h = std::thread::Builder::new()
                    .name(format!("hunt-{strategy}"))
                    .spawn_scoped(s, move || body(i));
                (share, h)
            })
            .collect();
        handles
            .into_iter()
            .map(|(share, h)| match h {
                Ok(h) => (share, h.join().map_err(|_| ())),
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
    join(strategy, results)
}

/// Adds up what the workers gave back; the earliest find wins and names its worker.
fn join(strategy: &str, results: Vec<(Share, Result<WorkerResult, ()>)>) -> Outcome {
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
            Err(()) => {
                outcome.worker_failures.push(WorkerFailure {
                    worker: name.clone(),
                    lost: share.lost,
                    why: "panicked".to_string(),
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

/// The failure a worker told to fail by [`crate::hooks::FAIL_WORKER_ENV`] reports.
pub fn failed_on_purpose() -> Box<Failed> {
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
        let outcome = on_threads("test", shares(3), &stop, |i| match i {
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
        let outcome = on_threads("test", shares(2), &stop, |i| {
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
