//! `rayon`: work stealing. A local pool per worker count is built in `new` (the global
//! pool can be configured only once per process), and the hunt is a short-circuiting
//! `find_any` over search positions. Our own stop flag is raised too, so a worker deep in
//! a big file stops between chunks.

use super::{Outcome, Strategy, StrategyConfig};
use crate::scan::{should_stop, Job, Scanner};
use anyhow::Context;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// A rayon pool of K threads.
pub struct Rayon {
    pool: rayon::ThreadPool,
    workers: usize,
}

impl Rayon {
    /// Builds the pool (outside the hunt: a benchmark can time either).
    pub fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let workers = config.workers.get();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("hunt-rayon-{i}"))
            .build()
            .context("could not build the rayon pool")?;
        Ok(Rayon { pool, workers })
    }
}

impl Strategy for Rayon {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        // One scanner per pool thread, indexed by the thread's index: each lock is only
        // ever taken by its own thread, so it is never contended.
        let scanners: Vec<Mutex<Scanner>> = (0..self.workers)
            .map(|_| Mutex::new(Scanner::new(job)))
            .collect();
        self.pool.install(|| {
            (0..job.len()).into_par_iter().find_any(|&pos| {
                if should_stop(&stop) {
                    return false;
                }
                let i = rayon::current_thread_index().unwrap_or(0) % scanners.len();
                let mut scanner = scanners[i].lock().unwrap_or_else(|e| e.into_inner());
                scanner.visit(pos, &stop)
            })
        });
        Ok(Outcome::from_tallies(scanners.into_iter().map(|m| {
            m.into_inner().unwrap_or_else(|e| e.into_inner()).tally
        })))
    }

    fn workers(&self) -> usize {
        self.workers
    }
}
