//! The worker loop: one walk over a range of search positions, checking the stop flag
//! between files. Below every strategy and every queue, so the task layer, the broker
//! workers and the in-process strategies ([`crate::strategy::pool`]) all run this one.

use crate::scan::{should_stop, Scanner};
use std::sync::atomic::AtomicBool;

/// How a worker's walk over its search positions ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// This worker found the needle.
    Found,
    /// Every position was visited.
    Finished,
    /// The stop flag (a find elsewhere, Ctrl-C) ended it early.
    Stopped,
}

/// The loop every worker runs: check `stop`, take the next position, scan, tally.
/// Allocation-free, so a forked child may run it.
pub fn scan_positions(
    scanner: &mut Scanner<'_>,
    positions: impl Iterator<Item = u64>,
    stop: &AtomicBool,
) -> End {
    for pos in positions {
        if should_stop(stop) {
            return End::Stopped;
        }
        if scanner.visit(pos, stop) {
            return End::Found;
        }
    }
    End::Finished
}
