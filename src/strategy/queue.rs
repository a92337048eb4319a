//! `queue`: the blog's "conventional task queue", in memory. A producer thread cuts the
//! search positions into tasks of `--batch` files and puts them on the in-memory task
//! queue ([`crate::tasks::memory`], a bounded channel of 2 x workers tasks); K consumer
//! threads run the one consumer loop ([`crate::tasks::consume`]) over it.
//!
//! The model's cost is the channel's hand-offs (one per task), which `--batch` trades
//! against balance (big tasks leave a consumer working alone at the end). The tasks'
//! states come back as the task table's counts ([`crate::tasks::TaskSummary`]) and the
//! channel's own ([`crate::tasks::memory::QueueStats`]).

use super::pool::{self, Failed, Share};
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerFailure};
use crate::scan::{Job, Scanner};
use crate::tasks::memory::MemoryQueue;
use crate::tasks::{self, ConsumeError, TaskQueue, TaskSummary, BATCH};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A task queue: one producer, K consumers.
pub struct Queue {
    workers: usize,
    batch: u64,
    pool: pool::Pool,
}

impl Registered for Queue {
    const KNOBS: &'static [&'static super::Knob] = &[&BATCH];

    /// Threads and the channel are made per hunt, inside the timing: that is the model's
    /// cost.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        Ok(Queue {
            workers: config.workers.get(),
            batch: config.knobs.count(&BATCH),
            pool: config.pool.clone(),
        })
    }
}

/// One consumer's place among those still running. When the last consumer ends badly
/// (a failure, or a thread that dies: `hunt race --fault kill-worker` with one worker)
/// nobody is left to empty the channel, and the producer, blocked on a full channel,
/// would wait for ever: that consumer raises the stop flag (the producer queues nothing
/// more) and drains the channel itself, as `take` does after a find. A consumer that
/// ends well ended because the channel closed, so nothing waits on it.
struct LastOut<'a, 's> {
    alive: &'a AtomicUsize,
    queue: &'a MemoryQueue<'s>,
    ended_well: bool,
}

impl Drop for LastOut<'_, '_> {
    fn drop(&mut self) {
        if self.alive.fetch_sub(1, Ordering::SeqCst) == 1 && !self.ended_well {
            let mut drain = self.queue.consumer(usize::MAX);
            let _ = drain.stop();
            let _ = drain.take();
        }
    }
}

impl Strategy for Queue {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let queue = MemoryQueue::new(job.len(), self.batch, 2 * self.workers, &stop);
        let batch = self.batch;
        let alive = AtomicUsize::new(self.workers);
        let mut outcome = std::thread::scope(|s| {
            let mut producer = queue.producer();
            // The producer owns the only sender: when it ends, the queue closes and the
            // consumers' `take` ends.
            let fed = std::thread::Builder::new()
                .name("hunt-queue-producer".into())
                .spawn_scoped(s, move || {
                    let all: Vec<tasks::Task> = tasks::cut(job.len(), batch).collect();
                    producer.put(&all)
                });
            let shares = (0..self.workers)
                .map(|index| Share {
                    index,
                    lost: "the task it held".into(),
                })
                .collect();
            // A consumer told to fail fails holding a task, so the task's range is lost.
            let mut outcome = self.pool.on_threads_told(shares, &stop, |i, told_to_fail| {
                // Dropped last, also when the thread dies (see `LastOut`).
                let mut out = LastOut {
                    alive: &alive,
                    queue: &queue,
                    ended_well: false,
                };
                let mut scanner = Scanner::new(job);
                let mut handle = queue.consumer(i);
                let done = tasks::consume(&mut handle, &mut scanner, &stop, told_to_fail);
                out.ended_well = done.error.is_none();
                match done.error {
                    None => Ok(done.tally),
                    Some(ConsumeError::Failed { lost, why }) => Err(Box::new(Failed {
                        tally: done.tally,
                        lost: Some(lost),
                        why,
                    })),
                    Some(ConsumeError::Queue(e)) => Err(Box::new(Failed {
                        tally: done.tally,
                        lost: None,
                        why: format!("{e:#}"),
                    })),
                }
            });
            let trouble = match fed {
                Ok(h) => match h.join() {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("failed ({e:#})")),
                    Err(_) => Some("panicked".to_string()),
                },
                Err(e) => Some(format!("could not start its thread ({e})")),
            };
            if let Some(why) = trouble {
                outcome.worker_failures.push(WorkerFailure {
                    worker: "queue producer".into(),
                    lost: "the tasks it had not queued".into(),
                    why,
                });
            }
            outcome
        });
        let rows = queue.consumer(usize::MAX).states()?;
        outcome.tasks = Some(TaskSummary::of(&rows));
        outcome.queue = Some(queue.stats());
        Ok(outcome)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}
