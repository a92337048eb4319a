//! `uring`: real asynchronous file I/O, the thing asyncio cannot give. K worker threads,
//! each on a contiguous range of search positions (the same ranges as `threads`, so the
//! two differ only in how they call the kernel), each with its own io_uring built in
//! `new` (setup, outside the hunt timing).
//!
//! # The pipeline
//! A worker keeps up to `--queue-depth` files in flight, one slot each (a page-aligned
//! read buffer of 256 KiB and a page, [`crate::scan::PageBuf`], made in `new`; the
//! file's name for `openat`; and a [`crate::scan::ChunkedSearch`]). Each file goes
//! through `openat` (relative to the data set's folder descriptor, or the listed root's) -> a type check -> `read`
//! (repeated at later offsets while the buffer comes back full, the needle's overlap
//! carried over) -> `close`. Every round the worker queues what each slot with a
//! completion needs next, plus `openat`s for free slots, and hands them all to the
//! kernel in one `io_uring_enter`, waiting for at least one completion. On cached files
//! most operations complete inline during that call, so a round costs one system call
//! for many operations, where `threads` pays one per operation.
//!
//! # The type check
//! An io_uring `read` of a named pipe planted in a data file's place ignores the offset
//! and takes the pipe's bytes (a `pread` fails with `ESPIPE` first, which is what the
//! blocking readers rely on): it would steal them from the pipe's real reader. So each
//! file is checked before any byte is read, with `fadvise(POSIX_FADV_NORMAL)`, which
//! changes nothing for a regular file and fails with `ESPIPE` on a pipe, and which the
//! kernel runs inline. A device that allows reads at an offset passes `fadvise`, as it
//! passes `pread`; its first read comes back empty or full, and then the type is
//! checked with `fstat`, exactly as the `read` reader does
//! ([`crate::scan::ChunkedSearch::type_unknown`]). The check used to be a `statx` of the
//! descriptor, which io_uring always hands to a kernel worker thread: that one
//! operation made `uring` 1.14-1.19x slower than `threads` and `fork`
//! (results/uring-features.md, `--ring statx`).
//!
//! # Features (`--ring`)
//! Each can be switched on its own, to measure what it gives (scripts/uring-features.sh
//! writes results/uring-features.md):
//! - `fixed-files`: each slot opens into its own entry of the ring's file table (a
//!   direct descriptor), so no operation looks the file up in the process's table and
//!   no descriptor is shared with other threads. The rare `fstat` and `fcntl` on a
//!   direct descriptor go through `fixed_fd_install` (Linux 6.8), which lends a plain
//!   descriptor for the moment. The kernel refuses `O_CLOEXEC` on a direct open; a
//!   direct descriptor is never inherited anyway.
//! - `link` (needs `fixed-files`, since the read must name the descriptor before the
//!   open returns it): open -> fadvise -> read go in as one soft-linked chain, so a
//!   small file needs two rounds (chain, close) instead of four. A failed open cancels
//!   the check and the read; a failed check (a pipe) cancels the read, so still no byte
//!   is taken. The close is not linked: the read's result decides whether another read
//!   or the close comes next.
//! - `fixed-buffers`: the slots' buffers are registered with the ring and read with
//!   `read_fixed`. Registering pins every page of every buffer (16 MiB a worker at the
//!   default depth), in `new`, and counts against `ulimit -l` for a user without
//!   `CAP_IPC_LOCK`.
//! - `coop-taskrun`: `IORING_SETUP_COOP_TASKRUN`, no interrupt to run completion work.
//! - `statx`: the old check, for comparison.
//!
//! Not offered: `SINGLE_ISSUER` / `DEFER_TASKRUN`, because the rings are made in `new`
//! and driven by a hunt's worker threads, which are new threads for every hunt (a
//! benchmark runs many hunts on one strategy), and a single-issuer ring only accepts
//! the thread that made or enabled it. Making the rings inside each hunt would put
//! their setup inside the timing.
//!
//! The default is `fixed-files`. Every variant but `statx` and `fixed-buffers` lands
//! within a few percent of the others, but in every interleaved run on two days
//! `fixed-files` alone was as fast as or faster than with `link` added (on the default
//! set 0.92x against 0.95x the best blocking strategy on 2026-12-02 and 0.97x against
//! 0.99x on 2026-12-03; on the blog preset level), so the chain saves nothing
//! measurable (results/uring-features.md, results/uring-features-2026-12-03.md;
//! results/uring-paired.md has the default against `fork` and `threads`). `fixed-buffers` adds the cost of pinning its pages to
//! every process, for no gain in the hunt itself. On a kernel
//! without `fixed_fd_install` (before 6.8) the default falls back to `plain`; a
//! `--ring` given by hand is refused there instead, with one line saying why.
//!
//! # Stopping
//! The stop flag is checked every round: once up, no file is opened; a file whose open
//! completes is closed unread (with `link` its read was queued with the open, and what
//! it reads is dropped uncounted); a file in the middle of reading is closed after the
//! chunk in flight ([`crate::scan::FileScan::Stopped`]). The worker returns when nothing is in
//! flight, so no operation outlives the buffers it writes into.
//!
//! # `hunt race --fault kill-worker`
//! A worker meets the fault when the treasure's file's open completes. Like every
//! in-process worker its thread then dies mid-file ([`crate::fault::THREAD_DIED`]),
//! but first it makes the kernel let go of everything it has in flight: it cancels
//! every operation on its ring, waits until each one has completed (a cancelled read
//! that was already running may still land), and closes the files left open. Only
//! then does the unwind free its slots, and the buffers stay whole for a later hunt.
//!
//! # Tracing
//! A traced worker records a span per file from its `openat` to its `close`; with many
//! files in flight the spans overlap, so each is drawn on the row of its slot (the
//! event's `lane`).
//!
//! # Where it is refused
//! Where the kernel refuses `io_uring_setup` (too old, `ENOSYS`; turned off by
//! `kernel.io_uring_disabled` or a seccomp filter, `EPERM`), or lacks an operation the
//! features need (`fixed_fd_install` before 6.8: try `--ring plain`), `new` fails with
//! one line saying so; the `read` reader is
//! the only reader, since the ring is the I/O path (`--reader mmap` is an error). A
//! build without the `uring` feature says how to rebuild (the registry's answer).
//!
//! # Files
//! This one: the strategy, its knobs and its rings' setup. `ring.rs`: the features and
//! each worker's ring and buffers; `worker.rs`: one worker's slots and loop; `ops.rs`:
//! what a slot queues next; `complete.rs`: what each completion means for its slot.

mod complete;
mod ops;
mod ring;
mod worker;

use super::knob::{Kind, Knob};
use super::pool::{self, Failed};
use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig};
use crate::scan::{ChunkedSearch, Job, Reader, PAGE};
use io_uring::IoUring;
use ring::{check_opcodes, unavailable, Features, Lane};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use worker::Worker;

/// `--queue-depth`: files each `uring` worker keeps in flight on its ring.
pub static QUEUE_DEPTH: Knob = Knob {
    name: "queue-depth",
    value_name: "N",
    help: "Files each `uring` worker keeps in flight on its ring, 1 to 1024",
    kind: Kind::Count {
        default: 64,
        min: 1,
        max: 1024,
        why_max: "each file in flight holds a read buffer",
    },
};

/// `--ring`: which io_uring features `uring` uses, to measure what each gives.
pub static RING: Knob = Knob {
    name: "ring",
    value_name: "FEATURES",
    help: "io_uring features for `uring`, comma-separated: fixed-files, link, \
           fixed-buffers, coop-taskrun, statx; `plain` for none [default: fixed-files]",
    kind: Kind::Text,
};

/// K threads, one io_uring each.
pub struct Uring {
    lanes: Vec<Lane>,
    queue_depth: usize,
    features: Features,
    pool: pool::Pool,
}

impl Registered for Uring {
    const READERS: &'static [Reader] = &[Reader::Read];
    const KNOBS: &'static [&'static Knob] = &[&QUEUE_DEPTH, &RING];

    /// Builds one ring per worker, sized for `--queue-depth` operations, and checks
    /// the kernel has the operations and features asked for.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let queue_depth = config.knobs.count(&QUEUE_DEPTH) as usize;
        let asked = config.knobs.text(&RING);
        let mut features = Features::parse(asked.as_deref())?;
        let entries = u32::try_from(queue_depth)?;
        let mut lanes = Vec::with_capacity(config.workers.get());
        for _ in 0..config.workers.get() {
            let mut builder = IoUring::builder();
            if features.coop_taskrun {
                builder.setup_coop_taskrun();
            }
            // Room for a whole linked chain per slot.
            let ring = builder
                .build(entries * 4)
                .map_err(|e| unavailable(&format!("io_uring_setup: {e}")))?;
            if lanes.is_empty() {
                if asked.is_none() && check_opcodes(&ring, features).is_err() {
                    // An older kernel: the default falls back to the plain ring.
                    features = Features::default();
                }
                check_opcodes(&ring, features)?;
            }
            if features.fixed_files {
                ring.submitter()
                    .register_files_sparse(entries)
                    .map_err(|e| unavailable(&format!("cannot register files: {e}")))?;
            }
            // Zeroed pages are mapped lazily: a slot that only ever reads 15 kB
            // files touches 16 kB of its buffer (unless the buffers are registered,
            // which pins every page). Sized for needles of up to a page and a byte;
            // a longer needle grows them in `Worker::new`.
            let bufs = (0..queue_depth).map(|_| ChunkedSearch::buffer(PAGE + 1)).collect();
            let mut lane = Lane {
                ring,
                bufs,
                registered: 0,
            };
            if features.fixed_buffers {
                lane.register_buffers()?;
            }
            lanes.push(lane);
        }
        Ok(Uring {
            lanes,
            queue_depth,
            features,
            pool: config.pool.clone(),
        })
    }
}

impl Strategy for Uring {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let ranges = split_ranges(job.len(), self.lanes.len());
        let queue_depth = self.queue_depth;
        let features = self.features;
        // One lock per lane, only ever taken by its own thread.
        let lanes: Vec<Mutex<&mut Lane>> = self.lanes.iter_mut().map(Mutex::new).collect();
        let shares = super::threads::range_shares(&ranges);
        Ok(self.pool.on_threads(shares, &stop, |i| {
            let mut lane = lanes[i].lock().unwrap_or_else(|e| e.into_inner());
            let failed = |e: String| {
                Box::new(Failed {
                    why: format!("failed ({e})"),
                    ..Failed::default()
                })
            };
            let worker = Worker::new(job, &mut lane, queue_depth, features).map_err(failed)?;
            worker.run(ranges[i].clone(), &stop).map_err(failed)
        }))
    }

    fn workers(&self) -> usize {
        self.lanes.len()
    }
}
