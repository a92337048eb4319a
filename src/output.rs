//! The only place hunt writes its words, and what a failed write means.
//!
//! - **stdout carries the result** (the human line, `--json`, an export on `-`). A
//!   result that could not be written is an error: `hunt search >/dev/full` exits 2 with
//!   one line on stderr, never 0 with the answer lost. The one exception is a closed
//!   pipe (`hunt search | head -c0`, or a reader that went away): the reader wanted no
//!   more, so hunt ends quietly with the exit code the command earned. Rust ignores
//!   `SIGPIPE`, so such a write fails with `EPIPE` instead of killing the process.
//! - **stderr carries messages** (`hunt: ...`). A failed write there is ignored:
//!   stderr may be closed or full, and `eprintln!` would panic (exit 101) where a clear
//!   exit code must stand. Nothing in hunt uses `eprintln!`.

use anyhow::{bail, Result};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone away; later writes are skipped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a newline to stdout (see the module doc for failures).
pub fn line(text: &str) -> Result<()> {
    let mut b = Vec::with_capacity(text.len() + 1);
    b.extend_from_slice(text.as_bytes());
    b.push(b'\n');
    bytes(&b)
}

/// Writes `b` to stdout and flushes (see the module doc for failures).
pub fn bytes(b: &[u8]) -> Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(b).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => bail!("cannot write the result to stdout ({e}): it is lost; send stdout to a file or device that takes it"),
    }
}

/// Prints `hunt: {text}` on stderr; a failed write is ignored (see the module doc).
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "hunt: {text}");
}

/// Prints `text` on stderr as it is (a table moved off stdout); failures ignored.
pub fn err_raw(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
}
