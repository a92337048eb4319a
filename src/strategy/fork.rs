//! `fork`: the blog's multiprocessing version, done so that the processes really stop
//! each other. K children are forked, each on a contiguous range of search positions.
//! The stop flag, the result slot and each child's counts live in one anonymous
//! `MAP_SHARED` mapping made before the first fork, so every child sees the same flag
//! (memmap2's `map_anon` is `MAP_PRIVATE`: a child's writes to it would stay its own,
//! which is exactly the bug of the blog's per-process flag).
//!
//! # What a child may do
//! hunt forks from processes that may already run other threads (the test harness,
//! criterion, a rayon pool). Only the forking thread exists in the child, and any lock
//! another thread held at the fork stays locked forever. So the child does only simple
//! work, and the code keeps to it like this:
//! - every allocation it needs (the read buffer, room for its itemised errors, the list
//!   of children) is made in the parent before forking; the worker loop
//!   ([`super::pool::scan_positions`]), [`crate::scan::Scanner::scan_index`] and
//!   [`crate::fileset::FileSet::open`] allocate nothing and take no lock;
//! - errors are recorded as `errno` codes in the shared mapping, never formatted;
//! - a traced hunt's events go into a recorder whose room is taken before the fork
//!   ([`crate::trace::Recorder::fixed`]: it drops events rather than grow) and are
//!   copied into the shared mapping, one area per child, when the child is done;
//! - the child never prints, and never returns into the caller: its body runs inside
//!   `catch_unwind` and ends in `libc::_exit`, which skips atexit handlers and stdio
//!   flushing that belong to the parent.
//!
//! The parent reaps every child it forked, also when a later fork fails. A child that
//! dies (a signal, a non-zero exit) is reported with the range it lost; when nothing was
//! found, the answer is then unknown and the hunt fails rather than saying "not found".
//!
//! # Children never outlive the parent
//! Right after `fork` each child asks to die with its parent
//! ([`crate::sys::process::forked_child_dies_with`]). On Ctrl-C the handler raises the shared stop flag ([`crate::interrupt::watch`]), so
//! the children stop at their next file or chunk; once `waitpid` returns `EINTR` the
//! parent also sends SIGKILL to every child not yet reaped, and reaps them all.

use super::pool::{self, Pool};
use super::{split_ranges, Outcome, Registered, Strategy, StrategyConfig, WorkerFailure};
use crate::sys::process;
use crate::scan::{FileError, Found, Job, ScanError, Scanner, Tally};
use crate::trace::{Event, Kind, Track};
use anyhow::{bail, Result};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Errors each child records individually; later ones are only counted.
const LISTED_ERRORS: usize = 16;

/// K forked processes.
pub struct Fork {
    workers: usize,
    pool: Pool,
}

impl Registered for Fork {
    const HOST: crate::fault::WorkerHost = crate::fault::WorkerHost::Process;
    /// Processes are forked per hunt, inside the timing: that is the model's cost.
    fn new(config: &StrategyConfig) -> Result<Self> {
        Ok(Fork {
            workers: config.workers.get(),
            pool: config.pool.clone(),
        })
    }
}

#[repr(C)]
struct Header {
    stop: AtomicBool,
    /// Index + 1 of the file found first; 0 while none.
    found: AtomicU64,
    /// Nanoseconds from the hunt's start to the find.
    found_ns: AtomicU64,
    /// The worker that found it.
    found_by: AtomicU64,
}

#[repr(C)]
struct Slot {
    files: AtomicU64,
    bytes: AtomicU64,
    after_find: AtomicU64,
    errors: AtomicU64,
    error_index: [AtomicU64; LISTED_ERRORS],
    error_code: [AtomicI32; LISTED_ERRORS],
    /// Events the child copied into its trace area.
    trace_len: AtomicU64,
    /// Events its recorder dropped for want of room.
    trace_dropped: AtomicU64,
}

/// One anonymous shared mapping: a [`Header`], one [`Slot`] per worker and, for a
/// traced hunt, one trace area of `trace_room` events per worker. The kernel hands it
/// out zeroed, which is a valid value for every atomic in it (trace areas are read only
/// as far as their child wrote them).
struct Shared {
    ptr: *mut libc::c_void,
    len: usize,
    workers: usize,
    trace_room: usize,
}

impl Shared {
    fn new(workers: usize, trace_room: usize) -> Result<Shared> {
        let len = std::mem::size_of::<Header>()
            + workers * std::mem::size_of::<Slot>()
            + workers * trace_room * std::mem::size_of::<Event>();
        // SAFETY: an anonymous shared mapping; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            bail!(
                "could not map memory shared with the fork workers: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(Shared {
            ptr,
            len,
            workers,
            trace_room,
        })
    }

    fn header(&self) -> &Header {
        // SAFETY: the mapping starts with a Header, page-aligned, zero-initialised.
        unsafe { &*(self.ptr as *const Header) }
    }

    fn slot(&self, worker: usize) -> &Slot {
        assert!(worker < self.workers);
        // SAFETY: slots follow the header; Header's size is a multiple of 8, so each
        // Slot is aligned, and `worker` is in bounds.
        unsafe {
            let base = (self.ptr as *const u8).add(std::mem::size_of::<Header>()) as *const Slot;
            &*base.add(worker)
        }
    }

    /// Worker `worker`'s trace area: room for `trace_room` events.
    fn trace_area(&self, worker: usize) -> *mut Event {
        assert!(worker < self.workers);
        // SAFETY: the areas follow the slots; a Slot's size is a multiple of 8, which
        // is an Event's alignment, and `worker` is in bounds.
        unsafe {
            let areas = (self.ptr as *mut u8)
                .add(std::mem::size_of::<Header>() + self.workers * std::mem::size_of::<Slot>())
                as *mut Event;
            areas.add(worker * self.trace_room)
        }
    }

    /// Worker `worker`'s events, as far as its child wrote them.
    fn trace_events(&self, worker: usize) -> Vec<Event> {
        let slot = self.slot(worker);
        let n = (slot.trace_len.load(Ordering::SeqCst) as usize).min(self.trace_room);
        if n == 0 {
            return Vec::new();
        }
        // SAFETY: the child wrote `n` valid events there before publishing `n`, and
        // exited before the parent reads (it was reaped).
        unsafe { std::slice::from_raw_parts(self.trace_area(worker), n).to_vec() }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

impl Strategy for Fork {
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        let ranges = split_ranges(job.len(), self.workers);
        // A child's events: one per file of its range, its find and its stop.
        let trace_room = match job.trace {
            Some(_) => ranges.iter().map(|r| r.end - r.start).max().unwrap_or(0) as usize + 4,
            None => 0,
        };
        let shared = Shared::new(self.workers, trace_room)?;
        let fail = self.pool.failing();
        // Allocated now, before any fork: each child works on its own copy-on-write copy.
        let mut scanner = Scanner::new(job);
        scanner.tally.reserve_errors();
        scanner.trace_in_fixed_room(trace_room);
        let mut children: Vec<Child> = Vec::with_capacity(self.workers);
        let _watch = crate::interrupt::watch(&shared.header().stop);
        // SAFETY: getpid cannot fail.
        let parent = unsafe { libc::getpid() };
        let start = Instant::now();
        let mut fork_error = None;
        for (worker, range) in ranges.iter().enumerate() {
            if range.is_empty() {
                continue;
            }
            if crate::interrupt::requested() {
                break;
            }
            // SAFETY: the child runs only `child_main`, which keeps to the rules in the
            // module docs and ends in `_exit`.
            match unsafe { libc::fork() } {
                -1 => {
                    fork_error = Some(std::io::Error::last_os_error());
                    shared.header().stop.store(true, Ordering::SeqCst);
                    break;
                }
                0 => {
                    process::forked_child_dies_with(parent);
                    crate::interrupt::child_defaults();
                    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        if fail == Some(worker) {
                            crate::hooks::die();
                        }
                        child_main(&mut scanner, &shared, worker, range.clone(), start)
                    }))
                    .map_or(101, |()| 0);
                    // SAFETY: ends the child without running the parent's exit handlers.
                    unsafe { libc::_exit(code) }
                }
                pid => children.push((pid, worker, range.clone())),
            }
        }

        let mut outcome = Outcome::default();
        let killed = reap(&self.pool, &children, &mut outcome);
        if killed || crate::interrupt::requested() {
            return Err(crate::interrupt::Interrupted.into());
        }
        if let Some(e) = fork_error {
            bail!("fork failed after {} workers: {e}", children.len());
        }
        gather(&self.pool, job, &shared, &children, start, &mut outcome);
        Ok(outcome)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// A child started: its pid, its worker number and its range.
type Child = (libc::pid_t, usize, Range<u64>);

/// Reaps every child, a failed one (a signal, a non-zero exit) reported with its range.
/// On Ctrl-C the children not yet reaped are killed first, and it returns true: the
/// answer no longer matters, only that no child outlives us.
fn reap(pool: &Pool, children: &[Child], outcome: &mut Outcome) -> bool {
    let mut killed = false;
    for (i, (pid, worker, range)) in children.iter().enumerate() {
        let status = loop {
            if crate::interrupt::requested() && !killed {
                killed = true;
                for (other, _, _) in &children[i..] {
                    // SAFETY: signalling our own child, not yet reaped (so its pid
                    // cannot have been reused).
                    unsafe { libc::kill(*other, libc::SIGKILL) };
                }
            }
            match process::reap(*pid) {
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                other => break other,
            }
        };
        if killed {
            continue;
        }
        let why = match status {
            Ok(status) => process::failure(status),
            Err(e) => Some(format!("could not be reaped ({e})")),
        };
        if let Some(why) = why {
            outcome
                .worker_failures
                .push(WorkerFailure::range(pool.worker(*worker), range, why));
        }
    }
    killed
}

/// Adds up what the children published in the shared mapping: their counts, their
/// timelines, and the find with its time.
fn gather(
    pool: &Pool,
    job: &Job<'_>, shared: &Shared, children: &[Child], start: Instant, outcome: &mut Outcome) {
    let header = shared.header();
    for (pid, worker, _) in children {
        let mut tally = shared.slot(*worker).tally();
        if job.trace.is_some() {
            tally.tracks.push(Track {
                worker: pool.worker(*worker),
                process: Some(format!("{} (pid {pid})", pool.worker(*worker))),
                events: shared.trace_events(*worker),
                dropped: shared.slot(*worker).trace_dropped.load(Ordering::SeqCst),
            });
        }
        outcome.tally.absorb(tally);
    }
    let found = header.found.load(Ordering::SeqCst);
    if found > 0 {
        outcome.tally.found = Some(Found {
            index: found - 1,
            at: start + Duration::from_nanos(header.found_ns.load(Ordering::SeqCst)),
        });
        outcome.found_by = Some(pool.worker(header.found_by.load(Ordering::SeqCst) as usize));
    }
}

impl Slot {
    /// The counts a child published.
    fn tally(&self) -> Tally {
        let listed = (self.errors.load(Ordering::SeqCst) as usize).min(LISTED_ERRORS);
        Tally {
            files_scanned: self.files.load(Ordering::SeqCst),
            bytes_scanned: self.bytes.load(Ordering::SeqCst),
            files_after_find: self.after_find.load(Ordering::SeqCst),
            found: None,
            errors: (0..listed)
                .map(|i| FileError {
                    index: self.error_index[i].load(Ordering::SeqCst),
                    error: ScanError::from_code(self.error_code[i].load(Ordering::SeqCst)),
                })
                .collect(),
            errors_unlisted: self.errors.load(Ordering::SeqCst) - listed as u64,
            tracks: Vec::new(),
        }
    }
}

/// The child's whole life: the worker loop over its range, then its counts published in
/// its slot and its find in the header. Allocation-free.
fn child_main(
    scanner: &mut Scanner<'_>,
    shared: &Shared,
    worker: usize,
    range: Range<u64>,
    start: Instant,
) {
    let header = shared.header();
    let slot = shared.slot(worker);
    if pool::scan_positions(scanner, range, &header.stop) == pool::End::Found {
        if let Some(f) = scanner.tally.found {
            if header
                .found
                .compare_exchange(0, f.index + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                let ns = f.at.saturating_duration_since(start).as_nanos();
                header
                    .found_ns
                    .store(ns.min(u128::from(u64::MAX)) as u64, Ordering::SeqCst);
                header.found_by.store(worker as u64, Ordering::SeqCst);
            }
        }
        header.stop.store(true, Ordering::SeqCst);
    }
    if let Some(rec) = scanner.trace() {
        rec.instant(Kind::WorkerStop);
        let events = rec.events();
        let n = events.len().min(shared.trace_room);
        // SAFETY: the area has room for `trace_room` events and no one else writes it;
        // events are plain data. A copy, no allocation.
        unsafe { std::ptr::copy_nonoverlapping(events.as_ptr(), shared.trace_area(worker), n) };
        slot.trace_dropped.store(rec.dropped(), Ordering::SeqCst);
        slot.trace_len.store(n as u64, Ordering::SeqCst);
    }
    let t = &scanner.tally;
    for (i, e) in t.errors.iter().take(LISTED_ERRORS).enumerate() {
        slot.error_index[i].store(e.index, Ordering::Relaxed);
        slot.error_code[i].store(e.error.code(), Ordering::Relaxed);
    }
    slot.files.store(t.files_scanned, Ordering::SeqCst);
    slot.bytes.store(t.bytes_scanned, Ordering::SeqCst);
    slot.after_find.store(t.files_after_find, Ordering::SeqCst);
    slot.errors.store(t.error_count(), Ordering::SeqCst);
}
