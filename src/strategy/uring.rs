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

use super::knob::{Kind, Knob};
use super::pool::{self, Failed};
use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig};
use crate::fileset::OPEN_FLAGS;
use crate::hooks;
use crate::scan::{
    is_regular, should_stop, Chunk, ChunkedSearch, FileScan, Job, PageBuf, Reader, ScanError,
    Tally, CHUNK, PAGE,
};
use anyhow::{anyhow, bail};
use io_uring::squeue::Flags;
use io_uring::{opcode, types, IoUring, Probe};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

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

/// The bytes a worker keeps in flight at most (see `Worker::in_flight_limit`).
const IN_FLIGHT_BYTES: u64 = 1 << 20;
/// Files in flight before the first file tells their size.
const INITIAL_IN_FLIGHT: usize = 8;

/// The io_uring features a hunt uses (`--ring`). See the module doc for what each does
/// and results/uring-features.md for what each was measured to give.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Features {
    /// Check the type with `statx` (always run on a kernel worker thread) instead of
    /// `fadvise` (run inline).
    statx: bool,
    /// Open into the ring's own file table (direct descriptors) instead of the
    /// process's.
    fixed_files: bool,
    /// Queue open -> fadvise -> read as one linked chain.
    link: bool,
    /// Read into buffers registered with the ring.
    fixed_buffers: bool,
    /// `IORING_SETUP_COOP_TASKRUN`: no interrupt to run completion work.
    coop_taskrun: bool,
}

impl Features {
    /// The default: what measured best on both data sets.
    const DEFAULT: Features = Features {
        statx: false,
        fixed_files: true,
        link: false,
        fixed_buffers: false,
        coop_taskrun: false,
    };

    fn parse(text: Option<&str>) -> anyhow::Result<Features> {
        let Some(text) = text else {
            return Ok(Features::DEFAULT);
        };
        let mut f = Features::default();
        for word in text.split(',').map(str::trim) {
            match word {
                "plain" => {}
                "statx" => f.statx = true,
                "fixed-files" => f.fixed_files = true,
                "link" => f.link = true,
                "fixed-buffers" => f.fixed_buffers = true,
                "coop-taskrun" => f.coop_taskrun = true,
                _ => bail!(
                    "--ring {text:?}: unknown feature {word:?}; use a comma-separated list of \
                     fixed-files, link, fixed-buffers, coop-taskrun, statx, or plain"
                ),
            }
        }
        if f.link && !f.fixed_files {
            bail!("--ring link needs fixed-files (the read names the descriptor before the open returns it): add fixed-files");
        }
        if f.statx && f.fixed_files {
            bail!("--ring statx cannot check a direct descriptor: drop statx or fixed-files");
        }
        Ok(f)
    }
}

/// K threads, one io_uring each.
pub struct Uring {
    lanes: Vec<Lane>,
    queue_depth: usize,
    features: Features,
}

/// One worker's ring and its slots' read buffers, made once in `new` so a hunt
/// allocates nothing (and never zeroes `--queue-depth` buffers again).
struct Lane {
    ring: IoUring,
    bufs: Vec<PageBuf>,
    /// The length of each buffer registered with the ring (`fixed-buffers`); 0 for none.
    registered: usize,
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
        })
    }
}

impl Lane {
    fn register_buffers(&mut self) -> anyhow::Result<()> {
        if self.registered != 0 {
            let _ = self.ring.submitter().unregister_buffers();
            self.registered = 0;
        }
        let iovecs: Vec<libc::iovec> = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: the buffers live in `self.bufs`, are never resized without
        // registering again, and outlive the ring's use of them (a hunt returns with
        // nothing in flight).
        unsafe { self.ring.submitter().register_buffers(&iovecs) }.map_err(|e| {
            anyhow!(
                "io_uring cannot register its read buffers ({e}): raise `ulimit -l` \
                 or drop fixed-buffers from --ring"
            )
        })?;
        self.registered = self.bufs.first().map_or(0, |b| b.len());
        Ok(())
    }
}

fn unavailable(why: &str) -> anyhow::Error {
    anyhow!("io_uring is not available here ({why}): use another --strategy")
}

fn check_opcodes(ring: &IoUring, features: Features) -> anyhow::Result<()> {
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| unavailable(&format!("cannot probe its operations: {e}")))?;
    let check = if features.statx {
        (opcode::Statx::CODE, "statx")
    } else {
        (opcode::Fadvise::CODE, "fadvise")
    };
    let read = if features.fixed_buffers {
        (opcode::ReadFixed::CODE, "read_fixed")
    } else {
        (opcode::Read::CODE, "read")
    };
    let mut needed = vec![(opcode::OpenAt::CODE, "openat"), check, read];
    needed.push((opcode::Close::CODE, "close"));
    if features.fixed_files {
        // Turns a direct descriptor into a plain one for the rare `fstat` and `fcntl`.
        needed.push((opcode::FixedFdInstall::CODE, "fixed_fd_install (Linux 6.8)"));
    }
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Err(unavailable(&format!(
                "the kernel's io_uring has no {name}; try --ring plain"
            )));
        }
    }
    Ok(())
}

impl Strategy for Uring {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let ranges = split_ranges(job.len(), self.lanes.len());
        let queue_depth = self.queue_depth;
        let features = self.features;
        let fail = hooks::failing_worker("uring");
        // One lock per lane, only ever taken by its own thread.
        let lanes: Vec<Mutex<&mut Lane>> = self.lanes.iter_mut().map(Mutex::new).collect();
        let shares = super::threads::range_shares(&ranges);
        Ok(pool::on_threads("uring", shares, &stop, |i| {
            if fail == Some(i) {
                return Err(pool::failed_on_purpose());
            }
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

/// An operation, as tagged in the low byte of its `user_data` (the slot is above).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Open = 1,
    /// The type check: `fadvise`, or `statx` with `--ring statx`.
    Check,
    Read,
    /// `fixed_fd_install`, for a type check or an `EAGAIN` on a direct descriptor.
    Install,
    Close,
}

impl Op {
    fn from_tag(tag: u8) -> Option<Op> {
        [Op::Open, Op::Check, Op::Read, Op::Install, Op::Close]
            .into_iter()
            .find(|op| *op as u8 == tag)
    }
}

/// Why a slot asked for a plain descriptor of its direct one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Install {
    /// The first read of this many bytes came back empty or full: check the type.
    TypeCheck(usize),
    /// A read said `EAGAIN`: clear `O_NONBLOCK`.
    Blocking,
}

/// One file in flight.
struct Slot {
    index: u64,
    /// Operations queued and not yet completed.
    pending: u8,
    /// The descriptor once open (the slot's own number for a direct one); -1 before.
    fd: RawFd,
    /// A linked chain's first error, reported once its read comes back cancelled.
    chain_error: Option<ScanError>,
    /// The open completed after the stop: close it unread, uncounted.
    discard: bool,
    install: Install,
    /// The file's name for an indexed set's `openat`: must stay put until the open
    /// completes, so it lives here rather than on the stack.
    name: [u8; 32],
    /// The folder a path longer than `PATH_MAX` is opened from: must stay open until
    /// the open completes, so it lives here until the slot's next file.
    parent: Option<OwnedFd>,
    /// Where the `statx` of the open file lands: must stay put until it completes.
    stat: libc::statx,
    search: ChunkedSearch,
    /// What reading the file gave, reported when its close completes.
    result: Option<Result<FileScan, ScanError>>,
    /// A traced hunt's: the file's search position, when its open was queued, and the
    /// bytes read.
    traced: (u64, u64, u64),
}

/// One worker thread's ring, slots and counts.
struct Worker<'j, 'r> {
    job: &'j Job<'j>,
    ring: &'r mut IoUring,
    /// Slot `i` reads into `bufs[i]`.
    bufs: &'r mut Vec<PageBuf>,
    features: Features,
    slots: Vec<Slot>,
    free: Vec<usize>,
    in_flight: usize,
    tally: Tally,
    completions: Vec<(u64, i32)>,
    /// The test-only pause after each open ([`crate::hooks::SLOW_FILE_ENV`]).
    slow: Option<Duration>,
    /// This worker's timeline, when the hunt is traced.
    trace: Option<crate::trace::Recorder>,
}

impl<'j, 'r> Worker<'j, 'r> {
    fn new(
        job: &'j Job<'j>,
        lane: &'r mut Lane,
        queue_depth: usize,
        features: Features,
    ) -> Result<Self, String> {
        if lane.bufs.len() != queue_depth {
            return Err("its ring failed in an earlier hunt".to_string());
        }
        // The carried-over tail must leave a whole chunk of room for new bytes.
        let buf_len = ChunkedSearch::head(job.needle_len()) + CHUNK;
        let mut grown = false;
        for buf in lane.bufs.iter_mut().filter(|b| b.len() < buf_len) {
            *buf = ChunkedSearch::buffer(job.needle_len());
            grown = true;
        }
        if features.fixed_buffers && (grown || lane.registered == 0) {
            lane.register_buffers().map_err(|e| e.to_string())?;
        }
        let slots = (0..queue_depth)
            .map(|_| Slot {
                index: 0,
                pending: 0,
                fd: -1,
                chain_error: None,
                discard: false,
                install: Install::Blocking,
                name: [0; 32],
                parent: None,
                // SAFETY: statx is plain data; all zeroes is a valid value.
                stat: unsafe { std::mem::zeroed() },
                search: ChunkedSearch::new(job.needle_len()),
                result: None,
                traced: (0, 0, 0),
            })
            .collect();
        Ok(Worker {
            job,
            ring: &mut lane.ring,
            bufs: &mut lane.bufs,
            features,
            slots,
            free: (0..queue_depth).rev().collect(),
            in_flight: 0,
            tally: Tally::default(),
            completions: Vec::with_capacity(queue_depth * 3),
            slow: hooks::slow_file(),
            trace: job.trace.map(|c| crate::trace::Recorder::new(c, 1024)),
        })
    }

    fn run(mut self, range: Range<u64>, stop: &AtomicBool) -> Result<Tally, String> {
        let mut next = range.start;
        loop {
            if !should_stop(stop) {
                let limit = self.in_flight_limit();
                while next < range.end && self.slots.len() - self.free.len() < limit {
                    let Some(slot) = self.free.pop() else { break };
                    if let Some(t) = &self.trace {
                        self.slots[slot].traced = (next, t.now(), 0);
                    }
                    self.start_open(slot, self.job.index_at(next));
                    next += 1;
                }
            }
            if self.in_flight == 0 {
                if let Some(t) = self.trace.take() {
                    self.tally.tracks.push(t.finish());
                }
                return Ok(self.tally);
            }
            if let Err(e) = self.submit_and_wait() {
                // The kernel may still write into the slots' buffers: never free
                // them. This is a broken ring, not a bad file, and should not happen.
                std::mem::forget(std::mem::take(self.bufs));
                return Err(format!("io_uring_enter failed: {e}"));
            }
            self.completions.clear();
            self.completions
                .extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            for i in 0..self.completions.len() {
                let (data, res) = self.completions[i];
                let slot = (data >> 8) as usize;
                self.in_flight -= 1;
                self.slots[slot].pending -= 1;
                if let Some(op) = Op::from_tag(data as u8) {
                    self.complete(slot, op, res, stop);
                }
            }
        }
    }

    /// How many files may be in flight: `--queue-depth`, or fewer when files are big,
    /// so the bytes being read stay within [`IN_FLIGHT_BYTES`] and in the CPU's caches
    /// until they are searched (64 slots of 150 kB files would stream 10 MB through
    /// memory twice: into the buffers, then out for the search). The free list is a
    /// stack, so the few slots in use are the recently used, warm ones.
    fn in_flight_limit(&self) -> usize {
        let depth = self.slots.len();
        let files = self.tally.files_scanned;
        if files == 0 {
            return depth.min(INITIAL_IN_FLIGHT);
        }
        let per_file = (self.tally.bytes_scanned / files).max(1);
        ((IN_FLIGHT_BYTES / per_file) as usize).clamp(1, depth)
    }

    fn submit_and_wait(&mut self) -> std::io::Result<()> {
        loop {
            match self.ring.submit_and_wait(1) {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                // The completion queue is full: reaping it makes room.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn push(&mut self, slot: usize, op: Op, entry: io_uring::squeue::Entry) {
        self.slots[slot].pending += 1;
        let entry = entry.user_data((slot as u64) << 8 | op as u64);
        // The queue has room for every slot's chain, and a slot has at most one chain
        // queued; should it still be full, submitting empties it.
        // SAFETY: every pointer in `entry` (a name or a statx in `self.slots`, a buffer in
        // `self.bufs`) stays put and alive while an operation is in flight: neither
        // vector is resized during a hunt, and a hunt returns with nothing in flight
        // (or, after a ring failure, leaks the buffers).
        while unsafe { self.ring.submission().push(&entry) }.is_err() {
            let _ = self.ring.submit();
        }
        self.in_flight += 1;
    }

    /// The slot's file as an operation's target: its direct descriptor or its fd.
    fn target(&self, slot: usize) -> Target {
        if self.features.fixed_files {
            Target::Fixed(slot as u32)
        } else {
            Target::Fd(self.slots[slot].fd)
        }
    }

    fn start_open(&mut self, slot: usize, index: u64) {
        let s = &mut self.slots[slot];
        s.index = index;
        s.fd = -1;
        s.result = None;
        s.chain_error = None;
        s.discard = false;
        s.search = ChunkedSearch::new(self.job.needle_len());
        let target = self
            .job
            .files
            .open_at(index, &mut s.name, &mut s.parent)
            .map(|(dirfd, name)| (dirfd, name.as_ptr()));
        let (dirfd, name) = match target {
            Ok(t) => t,
            Err(errno) => {
                self.tally.errors.push(crate::scan::FileError {
                    index,
                    error: ScanError::Os(errno),
                });
                self.free.push(slot);
                return;
            }
        };
        let mut open = opcode::OpenAt::new(types::Fd(dirfd), name).flags(OPEN_FLAGS);
        if self.features.fixed_files {
            // The slot's own entry in the ring's file table; its last file was closed.
            // A direct descriptor is never inherited, and the kernel refuses
            // `O_CLOEXEC` on one.
            open = open.flags(OPEN_FLAGS & !libc::O_CLOEXEC);
            open = open.file_index(types::DestinationSlot::try_from_slot_target(slot as u32).ok());
        }
        if !self.features.link {
            return self.push(slot, Op::Open, open.build());
        }
        // A soft link: a failed open cancels the check and the read, and a failed
        // check (a pipe's ESPIPE) cancels the read, so no byte is taken from a pipe.
        self.push(slot, Op::Open, open.build().flags(Flags::IO_LINK));
        let check = self.check_entry(slot).flags(Flags::IO_LINK);
        self.push(slot, Op::Check, check);
        let read = self.read_entry(slot);
        self.push(slot, Op::Read, read);
    }

    /// The type check. `fadvise` of a pipe fails with `ESPIPE`, as `pread` does, and
    /// runs inline; `statx` (`--ring statx`) is always sent to a kernel worker thread.
    fn check_entry(&mut self, slot: usize) -> io_uring::squeue::Entry {
        if self.features.statx {
            let s = &mut self.slots[slot];
            return opcode::Statx::new(
                types::Fd(s.fd),
                c"".as_ptr(),
                (&mut s.stat as *mut libc::statx).cast(),
            )
            .flags(libc::AT_EMPTY_PATH)
            .mask(libc::STATX_TYPE)
            .build();
        }
        match self.target(slot) {
            Target::Fixed(i) => opcode::Fadvise::new(types::Fixed(i), 0, libc::POSIX_FADV_NORMAL),
            Target::Fd(fd) => opcode::Fadvise::new(types::Fd(fd), 0, libc::POSIX_FADV_NORMAL),
        }
        .build()
    }

    fn read_entry(&mut self, slot: usize) -> io_uring::squeue::Entry {
        let target = self.target(slot);
        let s = &mut self.slots[slot];
        let offset = s.search.offset();
        let room = s.search.room(&mut self.bufs[slot]);
        let (ptr, len) = (room.as_mut_ptr(), room.len() as u32);
        match (target, self.features.fixed_buffers) {
            (Target::Fixed(i), true) => {
                opcode::ReadFixed::new(types::Fixed(i), ptr, len, slot as u16).offset(offset).build()
            }
            (Target::Fixed(i), false) => {
                opcode::Read::new(types::Fixed(i), ptr, len).offset(offset).build()
            }
            (Target::Fd(fd), true) => {
                opcode::ReadFixed::new(types::Fd(fd), ptr, len, slot as u16).offset(offset).build()
            }
            (Target::Fd(fd), false) => opcode::Read::new(types::Fd(fd), ptr, len).offset(offset).build(),
        }
    }

    fn start_read(&mut self, slot: usize) {
        let entry = self.read_entry(slot);
        self.push(slot, Op::Read, entry);
    }

    fn start_close(&mut self, slot: usize, result: Option<Result<FileScan, ScanError>>) {
        self.slots[slot].result = result;
        let entry = match self.target(slot) {
            Target::Fixed(i) => opcode::Close::new(types::Fixed(i)).build(),
            Target::Fd(fd) => opcode::Close::new(types::Fd(fd)).build(),
        };
        self.push(slot, Op::Close, entry);
    }

    fn start_install(&mut self, slot: usize, why: Install) {
        self.slots[slot].install = why;
        let entry = opcode::FixedFdInstall::new(types::Fixed(slot as u32), 0).build();
        self.push(slot, Op::Install, entry);
    }

    /// Moves slot `slot` on after its operation `op` completed with `res`.
    fn complete(&mut self, slot: usize, op: Op, res: i32, stop: &AtomicBool) {
        let linked = self.features.link;
        let fail = |e: i32| Err(ScanError::from_errno(-e));
        match op {
            Op::Open if res < 0 && linked => self.slots[slot].chain_error = Some(ScanError::from_errno(-res)),
            Op::Open if res < 0 => self.finish(slot, fail(res), stop),
            Op::Open => {
                self.slots[slot].fd = if self.features.fixed_files { slot as RawFd } else { res };
                // Tests only: the whole lane waits, as a `threads` worker would.
                hooks::pause(self.slow, stop);
                if should_stop(stop) {
                    // Opened too late: close it unread, uncounted (a linked read
                    // still lands, and is dropped when it does).
                    if linked {
                        self.slots[slot].discard = true;
                    } else {
                        self.start_close(slot, None);
                    }
                } else if !linked {
                    let entry = self.check_entry(slot);
                    self.push(slot, Op::Check, entry);
                }
            }
            // The open failed: its error waits for the cancelled read.
            Op::Check if res == -libc::ECANCELED && linked => {}
            Op::Check if res < 0 && linked => {
                self.slots[slot].chain_error = Some(ScanError::from_errno(-res))
            }
            Op::Check if res < 0 => self.start_close(slot, Some(fail(res))),
            Op::Check if self.features.statx => {
                let mode = u32::from(self.slots[slot].stat.stx_mode);
                match mode & libc::S_IFMT {
                    libc::S_IFREG => self.start_read(slot),
                    // What a read of it would say, as the other strategies do.
                    libc::S_IFDIR => self.start_close(slot, Some(Err(ScanError::Os(libc::EISDIR)))),
                    _ => self.start_close(slot, Some(Err(ScanError::NotRegular))),
                }
            }
            Op::Check if linked => {}
            Op::Check => self.start_read(slot),
            // The chain broke at its open or its check: report why, closing what opened.
            Op::Read if res == -libc::ECANCELED && linked => {
                let s = &self.slots[slot];
                let e = Err(s.chain_error.unwrap_or(ScanError::Os(libc::ECANCELED)));
                if s.fd < 0 {
                    self.finish(slot, e, stop)
                } else {
                    self.start_close(slot, Some(e))
                }
            }
            Op::Read if self.slots[slot].discard => self.start_close(slot, None),
            Op::Read if res == -libc::EINTR => self.start_read(slot),
            Op::Read if res == -libc::EAGAIN => self.read_blocking_from_now(slot),
            Op::Read if res < 0 => self.start_close(slot, Some(fail(res))),
            Op::Read => {
                let n = res as usize;
                self.tally.bytes_scanned += n as u64;
                self.slots[slot].traced.2 += n as u64;
                let buf_len = self.bufs[slot].len();
                // An empty or full first read cannot tell a file from a device that
                // allows reads at an offset (`fadvise` passes those): check its type,
                // as the `read` reader does. `statx` already did.
                if !self.features.statx && self.slots[slot].search.type_unknown(buf_len, n) {
                    if self.features.fixed_files {
                        return self.start_install(slot, Install::TypeCheck(n));
                    }
                    // SAFETY: the descriptor is open until this slot's close.
                    let fd = unsafe { BorrowedFd::borrow_raw(self.slots[slot].fd) };
                    return self.search_if_regular(slot, n, is_regular(fd), stop);
                }
                self.search_read(slot, n, stop);
            }
            Op::Install if res < 0 => self.start_close(slot, Some(fail(res))),
            Op::Install => {
                // SAFETY: the kernel just gave us this descriptor; it is ours to close.
                let fd = unsafe { OwnedFd::from_raw_fd(res) };
                match self.slots[slot].install {
                    Install::TypeCheck(n) => {
                        self.search_if_regular(slot, n, is_regular(fd.as_fd()), stop)
                    }
                    Install::Blocking => self.read_again_if(slot, clear_nonblock(fd.as_fd())),
                }
            }
            // A failed close of a file only read changes nothing we report.
            Op::Close => {
                let result = self.slots[slot].result.take();
                match result {
                    Some(r) => self.finish(slot, r, stop),
                    None => self.free_slot(slot),
                }
            }
        }
    }

    /// After a type check of the file whose first read gave `n` bytes: searches them if
    /// it is a regular file, closes it with the reason otherwise.
    fn search_if_regular(
        &mut self,
        slot: usize,
        n: usize,
        regular: Result<bool, ScanError>,
        stop: &AtomicBool,
    ) {
        match regular {
            Ok(true) => self.search_read(slot, n, stop),
            Ok(false) => self.start_close(slot, Some(Err(ScanError::NotRegular))),
            Err(e) => self.start_close(slot, Some(Err(e))),
        }
    }

    /// Reads again once `O_NONBLOCK` is cleared, or closes the file with the reason.
    fn read_again_if(&mut self, slot: usize, cleared: Result<(), ScanError>) {
        match cleared {
            Ok(()) => self.start_read(slot),
            Err(e) => self.start_close(slot, Some(Err(e))),
        }
    }

    /// Searches the `n` bytes slot `slot` just read and queues what follows.
    fn search_read(&mut self, slot: usize, n: usize, stop: &AtomicBool) {
        let s = &mut self.slots[slot];
        let buf = &mut self.bufs[slot];
        match s.search.take(buf, n, self.job.finder) {
            Chunk::Found => self.start_close(slot, Some(Ok(FileScan::Found))),
            Chunk::Absent => self.start_close(slot, Some(Ok(FileScan::Absent))),
            Chunk::More if should_stop(stop) => self.start_close(slot, Some(Ok(FileScan::Stopped))),
            Chunk::More => self.start_read(slot),
        }
    }

    /// Our files are opened `O_NONBLOCK` (so a pipe put in a file's place cannot hang
    /// the open), and some kernels (before 5.12ish, or on filesystems without
    /// non-blocking reads) then answer a read of uncached data with `EAGAIN`
    /// instead of waiting for the disk. A regular file gets its `O_NONBLOCK`
    /// cleared and the read goes again; anything else is refused, as the `read`
    /// reader refuses it. A direct descriptor is first installed as a plain one.
    fn read_blocking_from_now(&mut self, slot: usize) {
        if self.features.fixed_files {
            return self.start_install(slot, Install::Blocking);
        }
        // SAFETY: the descriptor is open until this slot's close.
        let fd = unsafe { BorrowedFd::borrow_raw(self.slots[slot].fd) };
        self.read_again_if(slot, clear_nonblock(fd));
    }

    /// Records what file `slot` gave and frees the slot.
    fn finish(&mut self, slot: usize, result: Result<FileScan, ScanError>, stop: &AtomicBool) {
        let index = self.slots[slot].index;
        if let Some(t) = &mut self.trace {
            let (pos, start, bytes) = self.slots[slot].traced;
            t.file(index, pos, start, bytes, &result, slot as u16);
        }
        self.tally.record(index, result, stop);
        self.free_slot(slot);
    }

    /// Frees the slot once the last operation of its chain is back.
    fn free_slot(&mut self, slot: usize) {
        debug_assert_eq!(self.slots[slot].pending, 0);
        self.free.push(slot);
    }
}

/// What an operation names the slot's file by.
#[derive(Copy, Clone)]
enum Target {
    Fd(RawFd),
    Fixed(u32),
}

/// Clears `O_NONBLOCK` on a regular file; refuses anything else.
fn clear_nonblock(fd: BorrowedFd<'_>) -> Result<(), ScanError> {
    if !is_regular(fd)? {
        return Err(ScanError::NotRegular);
    }
    let fd = fd.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor we hold.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if cleared {
        Ok(())
    } else {
        Err(ScanError::Os(libc::EAGAIN))
    }
}
