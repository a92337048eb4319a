//! Ctrl-C, once for the whole program: a SIGINT handler that only raises a flag, which
//! every hunt loop, the generator and the fork parent poll.
//!
//! Why a flag and not the default action: dying on the spot would leave fork workers
//! running (they are not always in the terminal's process group, e.g. under `kill -INT`)
//! and would skip the clean-up of temporary files. The handler does only
//! async-signal-safe things: atomic stores, and on a second Ctrl-C `_exit(130)`, so a
//! user is never stuck behind a loop that forgot to look.
//!
//! A strategy that shares a stop flag with other processes (fork) registers it with
//! [`watch`]: the handler raises it too, so workers stop even while the parent is
//! blocked in `waitpid`, with no window between "check the flag" and "go to sleep".
//!
//! A long-running caller (`hunt race`) polls [`requested`] between runs and, when it is
//! set, kills and reaps its current child and exits with [`crate::exit::ExitCode::Interrupted`].
//!
//! The handler is installed with `sa_flags = 0` (no `SA_RESTART`), so a blocking
//! `waitpid` returns `EINTR` and its caller gets to look at the flag. Everything in hunt
//! that can be interrupted retries on `EINTR` (std's I/O does, and `scan.rs` does).

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Raised by SIGTERM in `hunt worker`: a warm shutdown (finish the tasks in hand).
static TERMINATE: AtomicBool = AtomicBool::new(false);
/// A stop flag shared with other processes that the handler raises too; null when none.
static WATCHED: AtomicPtr<AtomicBool> = AtomicPtr::new(std::ptr::null_mut());

/// Message for the SIGBUS handler (a memory-mapped file shrank under the mmap reader).
const SIGBUS_MESSAGE: &[u8] = b"hunt: a memory-mapped file shrank while it was searched (SIGBUS): another program truncated it during the hunt, so the answer is unknown; search again, or use --reader read\n";

/// The error a command returns when Ctrl-C stopped it. `main` maps it to exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// True once Ctrl-C (SIGINT) was received.
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// True when the hunt should stop: a worker found the needle (`stop`) or Ctrl-C came.
/// It lives here, below the scanner and the test hooks that both poll it.
#[inline]
pub fn should_stop(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed) || requested()
}

/// `Err(Interrupted)` once Ctrl-C was received.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// Raises the flag as the handler would (for tests and for callers that learn of the
/// interrupt another way).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Clears the flag (tests only; the binary exits once it is set).
pub fn reset() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// While the returned guard lives, Ctrl-C also raises `flag`. The flag must stay valid
/// (mapped) until the guard is dropped; only one flag is watched at a time.
pub fn watch(flag: &AtomicBool) -> WatchGuard<'_> {
    WATCHED.store(
        flag as *const AtomicBool as *mut AtomicBool,
        Ordering::SeqCst,
    );
    if requested() {
        flag.store(true, Ordering::SeqCst);
    }
    WatchGuard { _flag: flag }
}

/// Stops [`watch`]ing a flag when dropped.
pub struct WatchGuard<'a> {
    _flag: &'a AtomicBool,
}

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        WATCHED.store(std::ptr::null_mut(), Ordering::SeqCst);
    }
}

extern "C" fn on_sigint(_: libc::c_int) {
    if REQUESTED.swap(true, Ordering::SeqCst) {
        // Second Ctrl-C: the user insists. `_exit` is async-signal-safe.
        // SAFETY: ends the process without running anything else.
        unsafe { libc::_exit(130) };
    }
    let p = WATCHED.load(Ordering::SeqCst);
    if !p.is_null() {
        // SAFETY: `watch` registered a live flag and its guard clears it before the flag
        // goes away. In the binary the fork strategy runs on the only thread, so the
        // handler cannot race with that guard.
        unsafe { (*p).store(true, Ordering::SeqCst) };
    }
}

extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the message is static.
    unsafe {
        libc::write(2, SIGBUS_MESSAGE.as_ptr().cast(), SIGBUS_MESSAGE.len());
        libc::_exit(2);
    }
}

fn set_handler(sig: libc::c_int, handler: libc::sighandler_t) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the handler only does
    // async-signal-safe work.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

extern "C" fn on_sigterm(_: libc::c_int) {
    TERMINATE.store(true, Ordering::SeqCst);
}

/// True once SIGTERM was received by a worker that asked to hear it.
pub fn terminating() -> bool {
    TERMINATE.load(Ordering::Relaxed)
}

/// Makes SIGTERM a warm shutdown ([`terminating`]) instead of death: for `hunt worker`,
/// which then finishes the tasks it holds and exits 0, as `celery worker` does.
pub fn install_terminate() -> std::io::Result<()> {
    set_handler(
        libc::SIGTERM,
        on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t,
    )
}

/// Installs the SIGINT handler and the SIGBUS handler. Called once, by `main`.
///
/// SIGBUS can only come from the mmap reader touching a page of a file that another
/// program truncated. Rust cannot recover from it safely (no `sigsetjmp` across Rust
/// frames), so the handler ends the process with one clear line and exit 2 instead of
/// "Bus error (core dumped)". Fork workers restore the default action (see
/// [`child_defaults`]) so that their parent reports the lost range.
pub fn install() -> std::io::Result<()> {
    set_handler(
        libc::SIGINT,
        on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
    )?;
    set_handler(
        libc::SIGBUS,
        on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t,
    )
}

/// In a forked worker: SIGBUS back to the default action, so the parent sees the worker
/// die of it and names the range it lost. Async-signal-safe.
pub fn child_defaults() {
    // SAFETY: sigaction is async-signal-safe; SIG_DFL is always valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}
