//! `sequential`: the blog's plain loop. One thread, one reusable buffer, files in search
//! order until the needle turns up. The baseline every speedup is measured against.

use super::{Outcome, Strategy, StrategyConfig};
use crate::scan::{should_stop, Job, Scanner};
use std::sync::atomic::AtomicBool;

/// One loop on the calling thread.
pub struct Sequential;

impl Sequential {
    /// Nothing to set up.
    pub fn new(_config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Sequential)
    }
}

impl Strategy for Sequential {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        // Raised by no one else; `visit` needs one, and `should_stop` also sees Ctrl-C.
        let stop = AtomicBool::new(false);
        let mut scanner = Scanner::new(job);
        for pos in 0..job.len() {
            if should_stop(&stop) || scanner.visit(pos, &stop) {
                break;
            }
        }
        Ok(Outcome::from_tallies([scanner.tally]))
    }

    fn workers(&self) -> usize {
        1
    }
}
