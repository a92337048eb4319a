//! `sequential`: the blog's plain loop. One thread, one reusable buffer, files in search
//! order until the needle turns up. The baseline every speedup is measured against.

use super::pool::{self, Share};
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerRule};
use crate::scan::{Job, Scanner};
use std::sync::atomic::AtomicBool;

/// One loop on the calling thread.
pub struct Sequential;

impl Registered for Sequential {
    const WORKERS: WorkerRule = WorkerRule::One;

    /// Nothing to set up.
    fn new(_config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Sequential)
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
        Ok(pool::on_this_thread("sequential", share, || {
            if crate::hooks::failing_worker("sequential") == Some(0) {
                return Err(pool::failed_on_purpose());
            }
            let mut scanner = Scanner::new(job);
            pool::scan_positions(&mut scanner, 0..job.len(), &stop);
            Ok(scanner.finish())
        }))
    }

    fn workers(&self) -> usize {
        1
    }
}
