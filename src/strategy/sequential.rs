//! `sequential`: the blog's plain loop. One thread, one reusable buffer, files in search
//! order until the needle turns up. The baseline every speedup is measured against.

use super::pool::{self, Share};
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerRule};
use crate::scan::{Job, Scanner};
use std::sync::atomic::AtomicBool;

/// One loop on the calling thread.
pub struct Sequential {
    pool: pool::Pool,
}

impl Registered for Sequential {
    const WORKERS: WorkerRule = WorkerRule::One;

    /// Nothing to set up.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Sequential {
            pool: config.pool.clone(),
        })
    }
}

impl Strategy for Sequential {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        // Raised by no one else; `visit` needs one, and the loop also sees Ctrl-C.
        let stop = AtomicBool::new(false);
        let share = Share {
            index: 0,
            lost: super::positions(&(0..job.len())),
        };
        Ok(self.pool.on_this_thread(share, || {
            let mut scanner = Scanner::new(job);
            pool::scan_positions(&mut scanner, 0..job.len(), &stop);
            Ok(scanner.finish())
        }))
    }

    fn workers(&self) -> usize {
        1
    }
}
