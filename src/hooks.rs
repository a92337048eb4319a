//! Test-only hooks, read from the environment. They let the fault and signal tests hit
//! a hunt at a known point (Ctrl-C mid-hunt, a file truncated under a live map, a worker
//! that dies) without a data set of gigabytes. Unset in normal use; they change no
//! answer, only timing and failures the tests ask for. Each is read before any fork
//! (reading the environment allocates).

use crate::interrupt::should_stop;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Each file, once opened (and mapped), waits this many milliseconds before its bytes
/// are read.
pub const SLOW_FILE_ENV: &str = "HUNT_TEST_SLOW_FILE_MS";

/// `[STRATEGY:]N`: worker `N` (of `STRATEGY`, or of any strategy) fails as it starts.
/// An in-process worker returns a failure; a worker process kills itself with
/// `SIGKILL`, exactly as `kill -9` from outside would.
pub const FAIL_WORKER_ENV: &str = "HUNT_TEST_FAIL_WORKER";

/// With `--remote-workers`: milliseconds to wait for a first worker, instead of
/// [`crate::strategy::coordinator::NO_WORKER`].
pub const NO_WORKER_ENV: &str = "HUNT_TEST_NO_WORKER_MS";

/// Milliseconds a finished hunt's records stay on the broker, instead of
/// [`crate::broker::contract::KEEP`].
pub const KEEP_ENV: &str = "HUNT_TEST_KEEP_MS";

/// A duration in milliseconds from the environment variable `name`, if set.
pub fn millis(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
}

/// The [`SLOW_FILE_ENV`] pause, if set.
pub fn slow_file() -> Option<Duration> {
    std::env::var(SLOW_FILE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

/// The [`SLOW_FILE_ENV`] pause of `slow` (from [`slow_file`]; `None` in normal use), in
/// short sleeps so a stop or Ctrl-C cuts it short. Strategies that do their own I/O
/// (`async`, `uring`) call it after a file is opened, as the scanner does, so the tests
/// can catch them mid-hunt too. Allocation-free (a forked child may call it).
pub fn pause(slow: Option<Duration>, stop: &AtomicBool) {
    let Some(total) = slow else { return };
    let until = Instant::now() + total;
    while !should_stop(stop) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(10)));
    }
}

/// The worker of `strategy` that [`FAIL_WORKER_ENV`] tells to fail, if any.
pub fn failing_worker(strategy: &str) -> Option<usize> {
    let v = std::env::var(FAIL_WORKER_ENV).ok()?;
    match v.split_once(':') {
        Some((s, n)) if s == strategy => n.parse().ok(),
        Some(_) => None,
        None => v.parse().ok(),
    }
}

/// What an in-process worker told to fail reports.
pub const FAILED_ON_PURPOSE: &str = "failed on purpose (the HUNT_TEST_FAIL_WORKER hook)";

/// Kills this process with `SIGKILL`: a worker process told to fail.
pub fn die() -> ! {
    // SAFETY: raising a signal on ourselves; SIGKILL cannot be caught.
    unsafe {
        libc::raise(libc::SIGKILL);
        libc::_exit(137)
    }
}
