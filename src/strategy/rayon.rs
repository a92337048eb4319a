//! `rayon`: work stealing. A local pool per worker count is built in `new` (the global
//! pool can be configured only once per process), and the hunt is a short-circuiting
//! `find_any` over search positions. Our own stop flag is raised too, so a worker deep in
//! a big file stops between chunks.
//!
//! A pool thread's work is not a fixed range (stealing moves it), so a failure is caught
//! per position: the position is reported lost and the thread steals on.

use super::pool::Failed;
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerFailure};
use crate::scan::{should_stop, Job, Scanner};
use anyhow::Context;
use rayon::prelude::*;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// A rayon pool of K threads.
pub struct Rayon {
    pool: rayon::ThreadPool,
    workers: usize,
    /// The name and the test hooks (its lanes are not the shared pool's threads).
    hooks: super::pool::Pool,
}

impl Registered for Rayon {
    /// Builds the pool (outside the hunt: a benchmark can time either).
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let workers = config.workers.get();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("hunt-rayon-{i}"))
            .build()
            .context("could not build the rayon pool")?;
        Ok(Rayon {
            pool,
            workers,
            hooks: config.pool.clone(),
        })
    }
}

/// One pool thread's scanner and the failures it met.
struct Lane<'a> {
    scanner: Scanner<'a>,
    failures: Vec<(u64, Failed)>,
    /// The test hook has not fired yet on this thread.
    fail_next: bool,
}

impl Strategy for Rayon {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let fail = self.hooks.failing();
        // One lane per pool thread, indexed by the thread's index: each lock is only
        // ever taken by its own thread, so it is never contended.
        let lanes: Vec<Mutex<Lane>> = (0..self.workers)
            .map(|i| {
                Mutex::new(Lane {
                    scanner: Scanner::new(job),
                    failures: Vec::new(),
                    fail_next: fail == Some(i),
                })
            })
            .collect();
        self.pool.install(|| {
            (0..job.len()).into_par_iter().find_any(|&pos| {
                if should_stop(&stop) {
                    return false;
                }
                let i = rayon::current_thread_index().unwrap_or(0) % lanes.len();
                let mut lane = lanes[i].lock().unwrap_or_else(|e| e.into_inner());
                if std::mem::take(&mut lane.fail_next) {
                    lane.failures.push((pos, *super::pool::failed_on_purpose()));
                    return false;
                }
                match std::panic::catch_unwind(AssertUnwindSafe(|| lane.scanner.visit(pos, &stop))) {
                    Ok(found) => found,
                    Err(p) => {
                        lane.failures.push((
                            pos,
                            Failed {
                                why: crate::fault::unwind_why(&*p),
                                ..Failed::default()
                            },
                        ));
                        false
                    }
                }
            })
        });
        let mut outcome = Outcome::default();
        let mut first: Option<(std::time::Instant, usize)> = None;
        for (i, lane) in lanes.into_iter().enumerate() {
            let mut lane = lane.into_inner().unwrap_or_else(|e| e.into_inner());
            let mut tally = lane.scanner.finish_idle();
            for track in &mut tally.tracks {
                track.name(&self.hooks.worker(i));
            }
            for (pos, failed) in lane.failures {
                outcome.worker_failures.push(WorkerFailure::range(
                    self.hooks.worker(i),
                    &(pos..pos + 1),
                    failed.why,
                ));
            }
            if let Some(f) = tally.found {
                if first.is_none_or(|(at, _)| f.at < at) {
                    first = Some((f.at, i));
                }
            }
            outcome.tally.absorb(tally);
        }
        outcome.found_by = first.map(|(_, i)| self.hooks.worker(i));
        Ok(outcome)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}
