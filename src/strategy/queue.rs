//! `queue`: the blog's "conventional task queue", in memory. A producer thread cuts the
//! search positions into tasks of `--batch` files and feeds them into a bounded
//! crossbeam channel (capacity 2 x workers, as fd does: enough that no consumer waits
//! for the producer, small enough that little is queued when the treasure turns up);
//! K consumer threads take tasks and scan them.
//!
//! A task is a range of search positions, not a list of paths: the queue moves 16 bytes
//! per task whatever `--batch` is, so the model's cost is the channel's hand-offs (one
//! per task), which `--batch` trades against balance (big tasks leave a consumer working
//! alone at the end).
//!
//! The tasks' states are counted as a task-queue system would show them (queued,
//! running, done) and come back in [`QueueStats`]. When the treasure is found, the stop
//! flag goes up: the producer queues nothing more, consumers stop inside their task and
//! then drain what is left in the channel without scanning it, so the producer, blocked
//! on a full channel, is released and everyone ends.

use super::{Outcome, Strategy, StrategyConfig};
use crate::scan::{should_stop, Job, Scanner, Tally};
use anyhow::anyhow;
use crossbeam_channel::bounded;
use serde::Serialize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A task queue: one producer, K consumers.
pub struct Queue {
    workers: usize,
    batch: u64,
}

impl Queue {
    /// Threads and the channel are made per hunt, inside the timing: that is the model's
    /// cost.
    pub fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Queue {
            workers: config.workers.get(),
            batch: config.batch.get(),
        })
    }
}

/// What became of the tasks of one `queue` hunt. Every queued task was either started or
/// drained; every started task ended done or cut short.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Files per task (`--batch`).
    pub batch: u64,
    /// Capacity of the channel, in tasks.
    pub capacity: u64,
    /// Tasks the whole file list makes.
    pub tasks: u64,
    /// Tasks the producer put on the queue (the rest were never queued: the treasure was
    /// found first).
    pub queued: u64,
    /// Tasks a consumer took off the queue and ran.
    pub started: u64,
    /// Most tasks running at once.
    pub peak_running: u64,
    /// Tasks run to their end (or to the find).
    pub done: u64,
    /// Tasks left part-way because another consumer found the treasure.
    pub cut_short: u64,
    /// Tasks taken off the queue after the find and dropped unscanned.
    pub drained: u64,
}

/// The live counters behind [`QueueStats`].
#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    started: AtomicU64,
    running: AtomicU64,
    peak_running: AtomicU64,
    done: AtomicU64,
    cut_short: AtomicU64,
    drained: AtomicU64,
}

impl Strategy for Queue {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let counters = Counters::default();
        let capacity = 2 * self.workers;
        let (tx, rx) = bounded::<Range<u64>>(capacity);
        let n = job.len();
        let batch = self.batch;
        let tasks = n.div_ceil(batch);
        let (tallies, failures) = std::thread::scope(|s| {
            let (stop, counters) = (&stop, &counters);
            // The producer owns the only sender: when it ends, the channel closes and the
            // consumers' `recv` ends.
            let producer = std::thread::Builder::new()
                .name("hunt-queue-producer".into())
                .spawn_scoped(s, move || {
                    let mut start = 0u64;
                    while start < n && !should_stop(stop) {
                        let end = start.saturating_add(batch).min(n);
                        if tx.send(start..end).is_err() {
                            break; // every consumer is gone
                        }
                        counters.queued.fetch_add(1, Ordering::Relaxed);
                        start = end;
                    }
                });
            let consumers: Vec<_> = (0..self.workers)
                .map(|_| {
                    let rx = rx.clone();
                    std::thread::Builder::new()
                        .name("hunt-queue-worker".into())
                        .spawn_scoped(s, move || consume(job, &rx, stop, counters))
                })
                .collect();
            drop(rx);
            let mut tallies: Vec<Tally> = Vec::with_capacity(consumers.len());
            let mut failures = Vec::new();
            for c in consumers {
                match c {
                    Ok(h) => match h.join() {
                        Ok(t) => tallies.push(t),
                        Err(_) => failures.push("a queue consumer panicked".to_string()),
                    },
                    Err(e) => failures.push(format!("could not start a queue consumer: {e}")),
                }
            }
            match producer {
                Ok(h) => {
                    if h.join().is_err() {
                        failures.push("the queue producer panicked".to_string());
                    }
                }
                Err(e) => failures.push(format!("could not start the queue producer: {e}")),
            }
            (tallies, failures)
        });
        let mut outcome = Outcome::from_tallies(tallies);
        outcome.worker_failures = failures;
        if outcome.found().is_none() && !outcome.worker_failures.is_empty() {
            return Err(anyhow!(outcome.worker_failures.join("; ")));
        }
        let c = &counters;
        outcome.queue = Some(QueueStats {
            batch,
            capacity: capacity as u64,
            tasks,
            queued: c.queued.load(Ordering::Relaxed),
            started: c.started.load(Ordering::Relaxed),
            peak_running: c.peak_running.load(Ordering::Relaxed),
            done: c.done.load(Ordering::Relaxed),
            cut_short: c.cut_short.load(Ordering::Relaxed),
            drained: c.drained.load(Ordering::Relaxed),
        });
        Ok(outcome)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// One consumer: takes tasks until the channel closes; after the find, drains unscanned.
fn consume(
    job: &Job<'_>,
    rx: &crossbeam_channel::Receiver<Range<u64>>,
    stop: &AtomicBool,
    counters: &Counters,
) -> Tally {
    let mut scanner = Scanner::new(job);
    for task in rx.iter() {
        if should_stop(stop) {
            counters.drained.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        counters.started.fetch_add(1, Ordering::Relaxed);
        let running = counters.running.fetch_add(1, Ordering::Relaxed) + 1;
        counters.peak_running.fetch_max(running, Ordering::Relaxed);
        let mut finished = true;
        for pos in task {
            if should_stop(stop) {
                finished = false;
                break;
            }
            if scanner.visit(pos, stop) {
                break;
            }
        }
        counters.running.fetch_sub(1, Ordering::Relaxed);
        let state = if finished {
            &counters.done
        } else {
            &counters.cut_short
        };
        state.fetch_add(1, Ordering::Relaxed);
    }
    scanner.tally
}
