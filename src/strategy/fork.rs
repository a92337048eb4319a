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
//! - every allocation it needs (the read buffer, the list of children) is made in the
//!   parent before forking; [`crate::scan::Scanner::scan_index`] and
//!   [`crate::fileset::FileSet::open`] allocate nothing and take no lock;
//! - errors are recorded as `errno` codes in the shared mapping, never formatted;
//! - the child never prints, and never returns into the caller: its body runs inside
//!   `catch_unwind` and ends in `libc::_exit`, which skips atexit handlers and stdio
//!   flushing that belong to the parent.
//!
//! The parent reaps every child it forked, also when a later fork fails. A child that
//! dies (a signal, a non-zero exit) is reported with the range it lost; when nothing was
//! found, the answer is then unknown and the hunt fails rather than saying "not found".
//!
//! # Children never outlive the parent
//! Right after `fork` each child asks for SIGKILL when its parent dies
//! (`PR_SET_PDEATHSIG`), then compares `getppid` with the parent's pid taken before the
//! fork, which closes the race of a parent that died before the `prctl`. Both calls are
//! async-signal-safe. (The death signal follows the *thread* that forked; `hunt` forks
//! from its main thread, and the library's callers reap before that thread can end.)
//! On Ctrl-C the handler raises the shared stop flag ([`crate::interrupt::watch`]), so
//! the children stop at their next file or chunk; once `waitpid` returns `EINTR` the
//! parent also sends SIGKILL to every child not yet reaped, and reaps them all.

use super::{split_ranges, Outcome, Strategy, StrategyConfig};
use crate::scan::{should_stop, FileError, FileScan, Found, Job, ScanError, Scanner, Tally};
use anyhow::{bail, Result};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Errors each child records individually; later ones are only counted.
const LISTED_ERRORS: usize = 16;

/// Environment variable for fault-injection tests: the worker with this number kills
/// itself with SIGKILL before scanning, exactly as `kill -9` from outside would.
pub const KILL_WORKER_ENV: &str = "HUNT_TEST_KILL_FORK_WORKER";

/// K forked processes.
pub struct Fork {
    workers: usize,
}

impl Fork {
    /// Processes are forked per hunt, inside the timing: that is the model's cost.
    pub fn new(config: &StrategyConfig) -> Result<Self> {
        Ok(Fork {
            workers: config.workers.get(),
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
}

#[repr(C)]
struct Slot {
    files: AtomicU64,
    bytes: AtomicU64,
    after_find: AtomicU64,
    errors: AtomicU64,
    error_index: [AtomicU64; LISTED_ERRORS],
    error_code: [AtomicI32; LISTED_ERRORS],
}

/// One anonymous shared mapping: a [`Header`] and one [`Slot`] per worker. The kernel
/// hands it out zeroed, which is a valid value for every atomic in it.
struct Shared {
    ptr: *mut libc::c_void,
    len: usize,
    workers: usize,
}

impl Shared {
    fn new(workers: usize) -> Result<Shared> {
        let len = std::mem::size_of::<Header>() + workers * std::mem::size_of::<Slot>();
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
        Ok(Shared { ptr, len, workers })
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
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

impl Strategy for Fork {
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        let shared = Shared::new(self.workers)?;
        let ranges = split_ranges(job.len(), self.workers);
        let kill_worker: Option<usize> = std::env::var(KILL_WORKER_ENV)
            .ok()
            .and_then(|v| v.parse().ok());
        // Allocated now, before any fork: each child works on its own copy-on-write copy.
        let mut scanner = Scanner::new(job);
        let mut children: Vec<(libc::pid_t, usize, Range<u64>)> = Vec::with_capacity(self.workers);
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
                    // SAFETY: prctl, getppid and sigaction are async-signal-safe.
                    unsafe {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                        if libc::getppid() != parent {
                            libc::_exit(1);
                        }
                    }
                    crate::interrupt::child_defaults();
                    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        if kill_worker == Some(worker) {
                            // SAFETY: raising a signal on ourselves.
                            unsafe { libc::raise(libc::SIGKILL) };
                        }
                        child_main(&mut scanner, job, &shared, worker, range.clone(), start)
                    }))
                    .map_or(101, |()| 0);
                    // SAFETY: ends the child without running the parent's exit handlers.
                    unsafe { libc::_exit(code) }
                }
                pid => children.push((pid, worker, range.clone())),
            }
        }

        let mut failures = Vec::new();
        let mut killed = false;
        for (i, (pid, worker, range)) in children.iter().enumerate() {
            let status = loop {
                if crate::interrupt::requested() && !killed {
                    // Ctrl-C: the answer no longer matters, only that no child outlives us.
                    killed = true;
                    for (other, _, _) in &children[i..] {
                        // SAFETY: signalling our own child, not yet reaped (so its pid
                        // cannot have been reused).
                        unsafe { libc::kill(*other, libc::SIGKILL) };
                    }
                }
                match reap(*pid) {
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                    other => break other,
                }
            };
            if killed {
                continue;
            }
            match status {
                Ok(status) => {
                    if let Some(why) = describe_failure(status) {
                        failures.push(format!(
                            "fork worker {worker} (search positions {}..{}) {why}; that range went unsearched",
                            range.start, range.end
                        ));
                    }
                }
                Err(e) => failures.push(format!("could not reap fork worker {worker}: {e}")),
            }
        }
        if killed || crate::interrupt::requested() {
            return Err(crate::interrupt::Interrupted.into());
        }
        if let Some(e) = fork_error {
            bail!("fork failed after {} workers: {e}", children.len());
        }

        let header = shared.header();
        let mut tally = Tally::default();
        for (_, worker, _) in &children {
            let slot = shared.slot(*worker);
            let listed = (slot.errors.load(Ordering::SeqCst) as usize).min(LISTED_ERRORS);
            let mut child = Tally {
                files_scanned: slot.files.load(Ordering::SeqCst),
                bytes_scanned: slot.bytes.load(Ordering::SeqCst),
                files_after_find: slot.after_find.load(Ordering::SeqCst),
                found: None,
                errors: (0..listed)
                    .map(|i| FileError {
                        index: slot.error_index[i].load(Ordering::SeqCst),
                        error: ScanError::from_code(slot.error_code[i].load(Ordering::SeqCst)),
                    })
                    .collect(),
                errors_unlisted: slot.errors.load(Ordering::SeqCst) - listed as u64,
            };
            tally.absorb(std::mem::take(&mut child));
        }
        let found = header.found.load(Ordering::SeqCst);
        if found > 0 {
            tally.found = Some(Found {
                index: found - 1,
                at: start + Duration::from_nanos(header.found_ns.load(Ordering::SeqCst)),
            });
        }
        Ok(Outcome {
            tally,
            worker_failures: failures,
            queue: None,
        })
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// The child's whole life: scan its range, publish its counts. Allocation-free.
fn child_main(
    scanner: &mut Scanner<'_>,
    job: &Job<'_>,
    shared: &Shared,
    worker: usize,
    range: Range<u64>,
    start: Instant,
) {
    let header = shared.header();
    let slot = shared.slot(worker);
    let (mut files, mut after_find, mut errors) = (0u64, 0u64, 0u64);
    for pos in range {
        if should_stop(&header.stop) {
            break;
        }
        let index = job.index_at(pos);
        match scanner.scan_index(index, &header.stop) {
            Ok(FileScan::Found) => {
                files += 1;
                if header
                    .found
                    .compare_exchange(0, index + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    let ns = start.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
                    header.found_ns.store(ns, Ordering::SeqCst);
                }
                header.stop.store(true, Ordering::SeqCst);
                break;
            }
            Ok(FileScan::Absent) => {
                files += 1;
                if header.stop.load(Ordering::Relaxed) {
                    after_find += 1;
                }
            }
            Ok(FileScan::Stopped) => {
                files += 1;
                after_find += 1;
            }
            Err(e) => {
                if let Some(i) = usize::try_from(errors).ok().filter(|&i| i < LISTED_ERRORS) {
                    slot.error_index[i].store(index, Ordering::Relaxed);
                    slot.error_code[i].store(e.code(), Ordering::Relaxed);
                }
                errors += 1;
            }
        }
    }
    slot.files.store(files, Ordering::SeqCst);
    slot.bytes
        .store(scanner.tally.bytes_scanned, Ordering::SeqCst);
    slot.after_find.store(after_find, Ordering::SeqCst);
    slot.errors.store(errors, Ordering::SeqCst);
}

/// Waits for `pid`; returns its wait status. `EINTR` (Ctrl-C) comes back as an error so
/// the caller can look at the interrupt flag before waiting again.
fn reap(pid: libc::pid_t) -> std::io::Result<libc::c_int> {
    let mut status = 0;
    // SAFETY: waiting on our own child with a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r == pid {
        Ok(status)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `None` for a clean exit, else what happened to the child.
pub(super) fn describe_failure(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => None,
            code => Some(format!("exited with code {code}")),
        }
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        Some(format!("was killed by signal {sig} ({})", signal_name(sig)))
    } else {
        Some(format!("ended with wait status {status}"))
    }
}

fn signal_name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS: a file shrank while the mmap reader had it mapped",
        libc::SIGABRT => "SIGABRT",
        _ => "signal",
    }
}
