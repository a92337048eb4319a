//! `uring`: real asynchronous file I/O, the thing asyncio cannot give. K worker threads,
//! each on a contiguous range of search positions (the same ranges as `threads`, so the
//! two differ only in how they call the kernel), each with its own io_uring built in
//! `new` (setup, outside the hunt timing).
//!
//! # The pipeline
//! A worker keeps up to `--queue-depth` files in flight, one slot each (a read buffer
//! of 256 KiB made in `new`, the file's name for `openat`, a `statx` buffer, and a
//! [`crate::scan::ChunkedSearch`]). Each file goes through `openat` (relative to the
//! data set's folder descriptor for a generated set, the path as listed otherwise) ->
//! `statx` of the descriptor -> `read` (repeated at later offsets while the buffer
//! comes back full, the needle's overlap carried over) -> `close`, one operation in
//! flight per slot. Every round the worker queues the next operation of every slot that
//! had a completion, plus `openat`s for free slots, and hands them all to the kernel in
//! one `io_uring_enter`, waiting for at least one completion. On cached files most
//! operations complete inline during that call, so a round costs one system call for up
//! to `--queue-depth` operations, where `threads` pays one per operation.
//!
//! The `statx` is there because an io_uring `read` of a named pipe planted in a data
//! file's place ignores the offset and takes the pipe's bytes (a `pread` fails with
//! `ESPIPE` first): it would steal them from the pipe's real reader and could report the
//! pipe as the treasure. So the type is checked before any byte is read, at the cost of
//! one more ring operation per file (not one more system call: it goes in the same
//! `io_uring_enter` as other slots' operations).
//!
//! Operations are chained by the worker rather than linked in the kernel
//! (`IOSQE_IO_LINK` with direct descriptors): the `statx` and the reads need the
//! descriptor the open returns, and a big file needs a variable number of reads.
//!
//! # Stopping
//! The stop flag is checked every round: once up, no file is opened; a file whose open
//! completes is closed unread; a file in the middle of reading is closed after the
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
//! `kernel.io_uring_disabled` or a seccomp filter, `EPERM`), or lacks one of the four
//! operations (before 5.6), `new` fails with one line saying so; the `read` reader is
//! the only reader, since the ring is the I/O path (`--reader mmap` is an error). A
//! build without the `uring` feature says how to rebuild (the registry's answer).

use super::knob::{Kind, Knob};
use super::pool::{self, Failed};
use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig};
use crate::fileset::OPEN_FLAGS;
use crate::hooks;
use crate::scan::{
    is_regular, should_stop, Chunk, ChunkedSearch, FileScan, Job, Reader, ScanError, Tally,
    CHUNK,
};
use anyhow::anyhow;
use io_uring::{opcode, types, IoUring, Probe};
use std::ops::Range;
use std::os::fd::{BorrowedFd, RawFd};
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

/// The bytes a worker keeps in flight at most (see `Worker::in_flight_limit`).
const IN_FLIGHT_BYTES: u64 = 1 << 20;
/// Files in flight before the first file tells their size.
const INITIAL_IN_FLIGHT: usize = 8;

/// K threads, one io_uring each.
pub struct Uring {
    lanes: Vec<Lane>,
    queue_depth: usize,
}

/// One worker's ring and its slots' read buffers, made once in `new` so a hunt
/// allocates nothing (and never zeroes `--queue-depth` buffers again).
struct Lane {
    ring: IoUring,
    bufs: Vec<Vec<u8>>,
}

impl Registered for Uring {
    const READERS: &'static [Reader] = &[Reader::Read];
    const KNOBS: &'static [&'static Knob] = &[&QUEUE_DEPTH];

    /// Builds one ring per worker, sized for `--queue-depth` operations, and checks
    /// the kernel supports `openat`, `read` and `close` on it.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let queue_depth = config.knobs.count(&QUEUE_DEPTH) as usize;
        let entries = u32::try_from(queue_depth)?;
        let mut lanes = Vec::with_capacity(config.workers.get());
        for _ in 0..config.workers.get() {
            let ring = IoUring::new(entries)
                .map_err(|e| unavailable(&format!("io_uring_setup: {e}")))?;
            if lanes.is_empty() {
                check_opcodes(&ring)?;
            }
            // Zeroed pages are mapped lazily: a slot that only ever reads 15 kB
            // files touches 15 kB of its buffer.
            let bufs = (0..queue_depth).map(|_| vec![0; CHUNK]).collect();
            lanes.push(Lane { ring, bufs });
        }
        Ok(Uring { lanes, queue_depth })
    }
}

fn unavailable(why: &str) -> anyhow::Error {
    anyhow!("io_uring is not available here ({why}): use another --strategy")
}

fn check_opcodes(ring: &IoUring) -> anyhow::Result<()> {
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| unavailable(&format!("cannot probe its operations: {e}")))?;
    for (code, name) in [
        (opcode::OpenAt::CODE, "openat"),
        (opcode::Statx::CODE, "statx"),
        (opcode::Read::CODE, "read"),
        (opcode::Close::CODE, "close"),
    ] {
        if !probe.is_supported(code) {
            return Err(unavailable(&format!("the kernel's io_uring has no {name}")));
        }
    }
    Ok(())
}

impl Strategy for Uring {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let stop = AtomicBool::new(false);
        let ranges = split_ranges(job.len(), self.lanes.len());
        let queue_depth = self.queue_depth;
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
            let worker = Worker::new(job, &mut lane, queue_depth).map_err(failed)?;
            worker.run(ranges[i].clone(), &stop).map_err(failed)
        }))
    }

    fn workers(&self) -> usize {
        self.lanes.len()
    }
}

/// The one operation a slot has in flight.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Free,
    Open,
    Stat,
    Read,
    Close,
}

/// One file in flight.
struct Slot {
    op: Op,
    index: u64,
    /// The descriptor once open; -1 before.
    fd: RawFd,
    /// The file's name for an indexed set's `openat`: must stay put until the open
    /// completes, so it lives here rather than on the stack.
    name: [u8; 32],
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
    bufs: &'r mut Vec<Vec<u8>>,
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
    fn new(job: &'j Job<'j>, lane: &'r mut Lane, queue_depth: usize) -> Result<Self, String> {
        if lane.bufs.len() != queue_depth {
            return Err("its ring failed in an earlier hunt".to_string());
        }
        // The carried-over tail must leave room for new bytes.
        let buf_len = CHUNK.max(2 * job.needle_len());
        for buf in lane.bufs.iter_mut().filter(|b| b.len() < buf_len) {
            buf.resize(buf_len, 0);
        }
        let slots = (0..queue_depth)
            .map(|_| Slot {
                op: Op::Free,
                index: 0,
                fd: -1,
                name: [0; 32],
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
            slots,
            free: (0..queue_depth).rev().collect(),
            in_flight: 0,
            tally: Tally::default(),
            completions: Vec::with_capacity(queue_depth),
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
                let (slot, res) = self.completions[i];
                self.in_flight -= 1;
                self.complete(slot as usize, res, stop);
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
        self.slots[slot].op = op;
        let entry = entry.user_data(slot as u64);
        // The queue has room for every slot's one operation, and a slot has at
        // most one queued; should it still be full, submitting empties it.
        // SAFETY: every pointer in `entry` (a name or a statx in `self.slots`, a buffer in
        // `self.bufs`) stays put and alive while an operation is in flight: neither
        // vector is resized during a hunt, and a hunt returns with nothing in flight
        // (or, after a ring failure, leaks the buffers).
        while unsafe { self.ring.submission().push(&entry) }.is_err() {
            let _ = self.ring.submit();
        }
        self.in_flight += 1;
    }

    fn start_open(&mut self, slot: usize, index: u64) {
        let s = &mut self.slots[slot];
        s.index = index;
        s.fd = -1;
        s.result = None;
        s.search = ChunkedSearch::new(self.job.needle_len());
        let target = self
            .job
            .files
            .open_at(index, &mut s.name)
            .map(|(dirfd, name)| (dirfd, name.as_ptr()));
        let Some((dirfd, name)) = target else {
            self.tally.errors.push(crate::scan::FileError {
                index,
                error: ScanError::Os(libc::ENOENT),
            });
            self.free.push(slot);
            return;
        };
        let entry = opcode::OpenAt::new(types::Fd(dirfd), name)
            .flags(OPEN_FLAGS)
            .build();
        self.push(slot, Op::Open, entry);
    }

    fn start_stat(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        let entry = opcode::Statx::new(
            types::Fd(s.fd),
            c"".as_ptr(),
            (&mut s.stat as *mut libc::statx).cast(),
        )
        .flags(libc::AT_EMPTY_PATH)
        .mask(libc::STATX_TYPE)
        .build();
        self.push(slot, Op::Stat, entry);
    }

    fn start_read(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        let room = s.search.room(&mut self.bufs[slot]);
        let entry = opcode::Read::new(types::Fd(s.fd), room.as_mut_ptr(), room.len() as u32)
            .offset(s.search.offset())
            .build();
        self.push(slot, Op::Read, entry);
    }

    fn start_close(&mut self, slot: usize, result: Result<FileScan, ScanError>) {
        let s = &mut self.slots[slot];
        s.result = Some(result);
        let entry = opcode::Close::new(types::Fd(s.fd)).build();
        self.push(slot, Op::Close, entry);
    }

    /// Moves slot `slot` on after its operation completed with `res`.
    fn complete(&mut self, slot: usize, res: i32, stop: &AtomicBool) {
        match self.slots[slot].op {
            Op::Open if res < 0 => self.finish(slot, Err(ScanError::from_errno(-res)), stop),
            Op::Open => {
                self.slots[slot].fd = res;
                // Tests only: the whole lane waits, as a `threads` worker would.
                hooks::pause(self.slow, stop);
                if should_stop(stop) {
                    // Opened too late: close it unread, uncounted.
                    self.slots[slot].result = None;
                    let entry = opcode::Close::new(types::Fd(res)).build();
                    self.push(slot, Op::Close, entry);
                } else {
                    self.start_stat(slot);
                }
            }
            Op::Stat if res < 0 => self.start_close(slot, Err(ScanError::from_errno(-res))),
            Op::Stat => {
                let mode = u32::from(self.slots[slot].stat.stx_mode);
                match mode & libc::S_IFMT {
                    libc::S_IFREG => self.start_read(slot),
                    // What a read of it would say, as the other strategies do.
                    libc::S_IFDIR => self.start_close(slot, Err(ScanError::Os(libc::EISDIR))),
                    _ => self.start_close(slot, Err(ScanError::NotRegular)),
                }
            }
            Op::Read if res == -libc::EINTR => self.start_read(slot),
            Op::Read if res == -libc::EAGAIN => self.read_blocking_from_now(slot),
            Op::Read if res < 0 => self.start_close(slot, Err(ScanError::from_errno(-res))),
            Op::Read => {
                let n = res as usize;
                self.tally.bytes_scanned += n as u64;
                self.slots[slot].traced.2 += n as u64;
                // The `statx` showed a regular file: no type check on the reads.
                let s = &mut self.slots[slot];
                let buf = &mut self.bufs[slot];
                match s.search.take(buf, n, self.job.finder) {
                    Chunk::Found => self.start_close(slot, Ok(FileScan::Found)),
                    Chunk::Absent => self.start_close(slot, Ok(FileScan::Absent)),
                    Chunk::More if should_stop(stop) => {
                        self.start_close(slot, Ok(FileScan::Stopped))
                    }
                    Chunk::More => self.start_read(slot),
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
            Op::Free => {}
        }
    }

    /// Our files are opened `O_NONBLOCK` (so a pipe put in a file's place cannot hang
    /// the open), and some kernels (before 5.12ish, or on filesystems without
    /// non-blocking reads) then answer a read of uncached data with `EAGAIN`
    /// instead of waiting for the disk. A regular file gets its `O_NONBLOCK`
    /// cleared and the read goes again; anything else is refused, as the `read`
    /// reader refuses it.
    fn read_blocking_from_now(&mut self, slot: usize) {
        let fd = self.slots[slot].fd;
        // SAFETY: the descriptor is open until this slot's close.
        match is_regular(unsafe { BorrowedFd::borrow_raw(fd) }) {
            Ok(true) => {}
            Ok(false) => return self.start_close(slot, Err(ScanError::NotRegular)),
            Err(e) => return self.start_close(slot, Err(e)),
        }
        // SAFETY: plain fcntl calls on a descriptor we own.
        let cleared = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
        };
        if cleared {
            self.start_read(slot);
        } else {
            self.start_close(slot, Err(ScanError::Os(libc::EAGAIN)));
        }
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

    fn free_slot(&mut self, slot: usize) {
        self.slots[slot].op = Op::Free;
        self.free.push(slot);
    }
}
