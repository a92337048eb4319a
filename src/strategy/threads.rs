//! `threads`: the blog's threading version, without a GIL. `std::thread::scope` starts K
//! threads, each on a contiguous range of search positions; an `AtomicBool` stop flag is
//! checked before each file (and between chunks of big ones). The flag only says "stop":
//! each thread's find and counts come back through its join handle.

use super::{split_ranges, Outcome, Strategy, StrategyConfig};
use crate::scan::{should_stop, Job, Scanner, Tally};
use anyhow::anyhow;
use std::sync::atomic::{AtomicBool, Ordering};

/// K scoped threads on contiguous ranges.
pub struct Threads {
    workers: usize,
}

impl Threads {
    /// Threads are started per hunt, inside the timing: that is the model's cost.
    pub fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Threads {
            workers: config.workers.get(),
        })
    }
}

impl Strategy for Threads {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let ranges = split_ranges(job.len(), self.workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = ranges
                .into_iter()
                .filter(|r| !r.is_empty())
                .map(|range| {
                    let stop = &stop;
                    std::thread::Builder::new()
                        .name("hunt-worker".into())
                        .spawn_scoped(s, move || {
                            let mut scanner = Scanner::new(job);
                            for pos in range {
                                if should_stop(stop) {
                                    break;
                                }
                                if scanner.visit(pos, stop) {
                                    break;
                                }
                            }
                            scanner.tally
                        })
                })
                .collect();
            let mut tallies: Vec<Tally> = Vec::with_capacity(handles.len());
            let mut failures = Vec::new();
            for h in handles {
                match h {
                    Ok(h) => match h.join() {
                        Ok(t) => tallies.push(t),
                        Err(_) => failures.push("a worker thread panicked".to_string()),
                    },
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        failures.push(format!("could not start a thread: {e}"));
                    }
                }
            }
            let mut outcome = Outcome::from_tallies(tallies);
            outcome.worker_failures = failures;
            if outcome.found().is_none() && !outcome.worker_failures.is_empty() {
                return Err(anyhow!(outcome.worker_failures.join("; ")));
            }
            Ok(outcome)
        })
    }

    fn workers(&self) -> usize {
        self.workers
    }
}
