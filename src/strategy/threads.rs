//! `threads`: the blog's threading version, without a GIL. `std::thread::scope` starts K
//! threads, each on a contiguous range of search positions; an `AtomicBool` stop flag is
//! checked before each file (and between chunks of big ones). The flag only says "stop":
//! each thread's find and counts come back through its join handle.

use super::pool::{self, Share};
use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig};
use crate::scan::{Job, Scanner};
use std::sync::atomic::AtomicBool;

/// K scoped threads on contiguous ranges.
pub struct Threads {
    workers: usize,
    pool: pool::Pool,
}

impl Registered for Threads {
    /// Threads are started per hunt, inside the timing: that is the model's cost.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Threads {
            workers: config.workers.get(),
            pool: config.pool.clone(),
        })
    }
}

impl Strategy for Threads {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let ranges = split_ranges(job.len(), self.workers);
        let shares = range_shares(&ranges);
        Ok(self.pool.on_threads(shares, &stop, |i| {
            let mut scanner = Scanner::new(job);
            pool::scan_positions(&mut scanner, ranges[i].clone(), &stop);
            Ok(scanner.finish())
        }))
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// One share per non-empty range, numbered by its place in `ranges`.
pub(super) fn range_shares(ranges: &[std::ops::Range<u64>]) -> Vec<Share> {
    ranges
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(index, r)| Share {
            index,
            lost: super::positions(r),
        })
        .collect()
}
