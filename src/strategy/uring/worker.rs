//! One worker thread: its slots (a file in flight each), and the loop that keeps files
//! in flight, hands the ring its queued operations and moves each slot on as its
//! operations complete (`complete.rs`); what each operation queues is in `ops.rs`.

use super::complete::Install;
use super::ring::{Features, Lane};
use crate::hooks;
use crate::scan::{should_stop, ChunkedSearch, FileScan, Job, PageBuf, ScanError, Tally, CHUNK};
use io_uring::{opcode, types, IoUring};
use std::ops::Range;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The bytes a worker keeps in flight at most (see `Worker::in_flight_limit`).
const IN_FLIGHT_BYTES: u64 = 1 << 20;
/// Files in flight before the first file tells their size.
const INITIAL_IN_FLIGHT: usize = 8;
/// The `user_data` of the cancel a dying worker sends: no slot's operation (tag 0).
const CANCEL: u64 = 0;

/// An operation, as tagged in the low byte of its `user_data` (the slot is above).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
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

/// One file in flight.
pub(super) struct Slot {
    pub(super) index: u64,
    /// Operations queued and not yet completed.
    pub(super) pending: u8,
    /// The descriptor once open (the slot's own number for a direct one); -1 before.
    pub(super) fd: RawFd,
    /// A linked chain's first error, reported once its read comes back cancelled.
    pub(super) chain_error: Option<ScanError>,
    /// The open completed after the stop: close it unread, uncounted.
    pub(super) discard: bool,
    pub(super) install: Install,
    /// The file's name for an indexed set's `openat`: must stay put until the open
    /// completes, so it lives here rather than on the stack.
    pub(super) name: [u8; 32],
    /// The folder a path longer than `PATH_MAX` is opened from: must stay open until
    /// the open completes, so it lives here until the slot's next file.
    pub(super) parent: Option<OwnedFd>,
    /// Where the `statx` of the open file lands: must stay put until it completes.
    pub(super) stat: libc::statx,
    pub(super) search: ChunkedSearch,
    /// What reading the file gave, reported when its close completes.
    pub(super) result: Option<Result<FileScan, ScanError>>,
    /// A traced hunt's: the file's search position, when its open was queued, and the
    /// bytes read.
    pub(super) traced: (u64, u64, u64),
}

/// One worker thread's ring, slots and counts.
pub(super) struct Worker<'j, 'r> {
    pub(super) job: &'j Job<'j>,
    pub(super) ring: &'r mut IoUring,
    /// Slot `i` reads into `bufs[i]`.
    pub(super) bufs: &'r mut Vec<PageBuf>,
    pub(super) features: Features,
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<usize>,
    pub(super) in_flight: usize,
    pub(super) tally: Tally,
    pub(super) completions: Vec<(u64, i32)>,
    /// How many of this round's `completions` have been handled: the rest are the
    /// kernel's answers a dying worker must still account for (`let_go`).
    pub(super) seen: usize,
    /// The test-only pause after each open ([`crate::hooks::SLOW_FILE_ENV`]).
    pub(super) slow: Option<Duration>,
    /// This worker's timeline, when the hunt is traced.
    pub(super) trace: Option<crate::trace::Recorder>,
}

impl<'j, 'r> Worker<'j, 'r> {
    pub(super) fn new(
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
            seen: 0,
            slow: hooks::slow_file(),
            trace: job.trace.map(|c| crate::trace::Recorder::new(c, 1024)),
        })
    }

    pub(super) fn run(mut self, range: Range<u64>, stop: &AtomicBool) -> Result<Tally, String> {
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
                self.abandon();
                return Err(format!("io_uring_enter failed: {e}"));
            }
            self.completions.clear();
            self.completions
                .extend(self.ring.completion().map(|c| (c.user_data(), c.result())));
            for i in 0..self.completions.len() {
                let (data, res) = self.completions[i];
                self.seen = i + 1;
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

    pub(super) fn push(&mut self, slot: usize, op: Op, entry: io_uring::squeue::Entry) {
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

    /// Records what file `slot` gave and frees the slot.
    pub(super) fn finish(&mut self, slot: usize, result: Result<FileScan, ScanError>, stop: &AtomicBool) {
        let index = self.slots[slot].index;
        if let Some(t) = &mut self.trace {
            let (pos, start, bytes) = self.slots[slot].traced;
            t.file(index, pos, start, bytes, crate::scan::trace_end(&result), slot as u16);
        }
        self.tally.record(index, result, stop);
        self.free_slot(slot);
    }

    /// Frees the slot once the last operation of its chain is back.
    pub(super) fn free_slot(&mut self, slot: usize) {
        debug_assert_eq!(self.slots[slot].pending, 0);
        self.free.push(slot);
    }

    /// After a broken ring: the kernel may still write into the slots' buffers and
    /// read their names, so never free them. This should not happen.
    fn abandon(&mut self) {
        std::mem::forget(std::mem::take(self.bufs));
        std::mem::forget(std::mem::take(&mut self.slots));
    }

    /// `--fault kill-worker`, just before this worker's thread dies mid-file: the
    /// kernel must first let go of everything it holds of ours, since the unwind frees
    /// the slots (the names an `openat` reads, the `statx` it writes) and a later hunt
    /// reuses the buffers its reads write into. Cancels every operation on the ring,
    /// waits for every one of them to complete (a cancel is only a request: a read
    /// already running may still land), then closes the files left open, so the
    /// thread dies holding nothing the kernel could touch.
    pub(super) fn let_go(&mut self) {
        // Reaped with this round, not handled yet.
        let rest = self.completions.split_off(self.seen.min(self.completions.len()));
        for (data, res) in rest {
            self.forgo(data, res);
        }
        if self.in_flight > 0 {
            let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::any())
                .build()
                .user_data(CANCEL);
            // SAFETY: a cancel names none of our memory. A kernel before 5.19 answers
            // it with EINVAL, and then only the wait below lets go.
            while unsafe { self.ring.submission().push(&cancel) }.is_err() {
                let _ = self.ring.submit();
            }
            self.in_flight += 1;
        }
        while self.in_flight > 0 {
            if self.submit_and_wait().is_err() {
                return self.abandon();
            }
            let done: Vec<(u64, i32)> =
                self.ring.completion().map(|c| (c.user_data(), c.result())).collect();
            for (data, res) in done {
                self.forgo(data, res);
            }
        }
        debug_assert!(self.slots.iter().all(|s| s.pending == 0));
        self.close_what_is_open();
    }

    /// Accounts for a completion of a dying worker: nothing follows it, but a file it
    /// opened is noted, to be closed.
    fn forgo(&mut self, data: u64, res: i32) {
        self.in_flight -= 1;
        let Some(op) = Op::from_tag(data as u8) else {
            return; // the cancel
        };
        let slot = (data >> 8) as usize;
        self.slots[slot].pending -= 1;
        match op {
            Op::Open if res >= 0 => {
                self.slots[slot].fd = if self.features.fixed_files { slot as RawFd } else { res };
            }
            Op::Close => self.slots[slot].fd = -1,
            // SAFETY: a plain descriptor the kernel lent this worker; nobody else has it.
            Op::Install if res >= 0 => unsafe {
                libc::close(res);
            },
            _ => {}
        }
    }

    /// Closes the file of every slot in use whose open completed and whose close did
    /// not: a direct descriptor is taken out of the ring's table.
    fn close_what_is_open(&mut self) {
        for slot in 0..self.slots.len() {
            let fd = self.slots[slot].fd;
            if fd < 0 || self.free.contains(&slot) {
                continue;
            }
            self.slots[slot].fd = -1;
            if self.features.fixed_files {
                let _ = self.ring.submitter().register_files_update(slot as u32, &[-1]);
            } else {
                // SAFETY: the slot's own descriptor, open and no longer used.
                unsafe { libc::close(fd) };
            }
        }
    }
}
