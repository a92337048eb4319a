//! The in-memory task queue: a bounded crossbeam channel inside one process, the first
//! backend of [`super::TaskQueue`] (`--strategy queue`).
//!
//! The channel holds 2 x workers tasks (as fd does: enough that no consumer waits for
//! the producer, small enough that little is queued when the treasure turns up). Each
//! worker and the producer hold their own [`Handle`]. The producer's handle owns the
//! only sender: when it is dropped the channel closes and `take` returns `None` once
//! the channel is empty.
//!
//! When the treasure is found the stop flag goes up: the producer queues nothing more,
//! consumers stop inside their task, then `take` drains what is left in the channel
//! without handing it out (so the producer, blocked on a full channel, is released).
//! Leases cannot run out here: a worker that dies takes the whole process with it.

use super::walk::End;
use super::{Finished, Lease, Task, TaskQueue, TaskReport, TaskRow, TaskState};
use anyhow::{bail, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// What became of the tasks of one `queue` hunt. Every queued task was either started or
/// drained; every started task ended done or cut short.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// No worker holds the task.
const NOBODY: usize = usize::MAX;

/// The queue of one hunt.
pub struct MemoryQueue<'s> {
    rx: Receiver<Task>,
    tx: std::sync::Mutex<Option<Sender<Task>>>,
    stop: &'s AtomicBool,
    capacity: usize,
    positions: u64,
    batch: u64,
    counters: Counters,
    states: Vec<AtomicU8>,
    owners: Vec<AtomicUsize>,
}

/// One worker's (or the producer's) way into a [`MemoryQueue`].
pub struct Handle<'q, 's> {
    queue: &'q MemoryQueue<'s>,
    worker: usize,
    tx: Option<Sender<Task>>,
}

impl<'s> MemoryQueue<'s> {
    /// A queue for the tasks of `batch` positions that cover `0..positions` (see
    /// [`super::cut`]), holding at most `capacity` at once, stopped by `stop`.
    pub fn new(positions: u64, batch: u64, capacity: usize, stop: &'s AtomicBool) -> Self {
        let tasks = positions.div_ceil(batch.max(1));
        let (tx, rx) = bounded(capacity);
        MemoryQueue {
            rx,
            tx: std::sync::Mutex::new(Some(tx)),
            stop,
            capacity,
            positions,
            batch: batch.max(1),
            counters: Counters::default(),
            states: (0..tasks).map(|_| AtomicU8::new(0)).collect(),
            owners: (0..tasks).map(|_| AtomicUsize::new(NOBODY)).collect(),
        }
    }

    /// The producer's handle: it holds the only sender, and dropping it closes the
    /// queue. A second call gets a handle that cannot put.
    pub fn producer(&self) -> Handle<'_, 's> {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        Handle {
            queue: self,
            worker: NOBODY,
            tx,
        }
    }

    /// Worker `worker`'s handle.
    pub fn consumer(&self, worker: usize) -> Handle<'_, 's> {
        Handle {
            queue: self,
            worker,
            tx: None,
        }
    }

    /// The channel's counts so far.
    pub fn stats(&self) -> QueueStats {
        let c = &self.counters;
        QueueStats {
            batch: self.batch,
            capacity: self.capacity as u64,
            tasks: self.states.len() as u64,
            queued: c.queued.load(Ordering::Relaxed),
            started: c.started.load(Ordering::Relaxed),
            peak_running: c.peak_running.load(Ordering::Relaxed),
            done: c.done.load(Ordering::Relaxed),
            cut_short: c.cut_short.load(Ordering::Relaxed),
            drained: c.drained.load(Ordering::Relaxed),
        }
    }

    fn set(&self, id: u64, state: TaskState, worker: usize) {
        let code = TaskState::ALL.iter().position(|s| *s == state).unwrap_or(0) as u8;
        if let (Some(s), Some(o)) = (self.states.get(id as usize), self.owners.get(id as usize)) {
            s.store(code, Ordering::Relaxed);
            o.store(worker, Ordering::Relaxed);
        }
    }
}

impl TaskQueue for Handle<'_, '_> {
    fn put(&mut self, tasks: &[Task]) -> Result<()> {
        let Some(tx) = &self.tx else {
            bail!("only the producer's handle puts tasks");
        };
        for task in tasks {
            if crate::scan::should_stop(self.queue.stop) {
                break;
            }
            if tx.send(task.clone()).is_err() {
                break; // every consumer is gone
            }
            self.queue.counters.queued.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn take(&mut self) -> Result<Option<Lease>> {
        let c = &self.queue.counters;
        for task in self.queue.rx.iter() {
            if crate::scan::should_stop(self.queue.stop) {
                c.drained.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            c.started.fetch_add(1, Ordering::Relaxed);
            let running = c.running.fetch_add(1, Ordering::Relaxed) + 1;
            c.peak_running.fetch_max(running, Ordering::Relaxed);
            self.queue.set(task.id, TaskState::Running, self.worker);
            return Ok(Some(Lease {
                task,
                attempt: 1,
                token: String::new(),
            }));
        }
        Ok(None)
    }

    fn finish(&mut self, lease: &Lease, report: &TaskReport) -> Result<Option<Finished>> {
        let c = &self.queue.counters;
        c.running.fetch_sub(1, Ordering::Relaxed);
        let counter = match report.end {
            End::Stopped => &c.cut_short,
            End::Found | End::Finished => &c.done,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.queue
            .set(lease.task.id, TaskState::Completed, self.worker);
        Ok(Some(Finished::Accepted))
    }

    fn fail(&mut self, lease: &Lease, _why: &str) -> Result<()> {
        self.queue.counters.running.fetch_sub(1, Ordering::Relaxed);
        self.queue
            .set(lease.task.id, TaskState::Failed, self.worker);
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        self.queue.stop.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn states(&mut self) -> Result<Vec<TaskRow>> {
        let q = self.queue;
        Ok(q.states
            .iter()
            .zip(&q.owners)
            .enumerate()
            .map(|(id, (s, o))| {
                let state = TaskState::ALL[usize::from(s.load(Ordering::Relaxed)).min(3)];
                let owner = o.load(Ordering::Relaxed);
                TaskRow {
                    id: id as u64,
                    range: super::range(id as u64, q.batch, q.positions),
                    state,
                    worker: (owner != NOBODY).then(|| format!("queue worker {owner}")),
                    attempts: u32::from(state != TaskState::NotStarted),
                    note: None,
                }
            })
            .collect())
    }
}
