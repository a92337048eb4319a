//! `hunt worker --pipe --dir D`: serves one request from the parent over pipes (the
//! `spawn` strategy's workers), in the protocol of [`super::protocol`]. It exits 0
//! after `done`, 2 after `fatal`.

use super::protocol::{Msg, Request};
use crate::exit::ExitCode;
use crate::fileset;
use crate::scan::{Job, Scanner};
use crate::tasks::walk::{self, End};
use anyhow::{bail, Context, Result};
use memchr::memmem::Finder;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Failed files each worker itemises; later ones are only counted.
const LISTED_ERRORS: usize = 16;

/// Serves the request on stdin against the set in `dir`.
pub fn serve(dir: &Path) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match body(dir, &mut out) {
        Ok(()) => ExitCode::Succeeded,
        Err(e) => {
            let _ = writeln!(out, "{}", Msg::Fatal(format!("{e:#}")));
            ExitCode::Error
        }
    };
    let _ = out.flush();
    code
}

fn body(dir: &Path, out: &mut impl Write) -> Result<()> {
    let req = read_request()?;
    if crate::hooks::failing_worker("spawn") == Some(req.worker) {
        crate::hooks::die();
    }
    let needle = req.needle()?;
    let loaded = fileset::load(dir, false)?;
    if loaded.files.len() != req.files {
        bail!(
            "{} holds {} files now, the parent saw {}: the folder changed during the hunt",
            dir.display(),
            loaded.files.len(),
            req.files
        );
    }
    let finder = Finder::new(&needle);
    let job = Job {
        files: &loaded.files,
        finder: &finder,
        reader: req.reader,
        rotate: req.rotate,
        trace: req
            .trace_epoch_ns
            .map(|epoch_ns| crate::trace::Clock { epoch_ns }),
    };
    let stop = Arc::new(AtomicBool::new(false));
    watch_stdin(Arc::clone(&stop));
    let mut scanner = Scanner::new(&job);
    if walk::scan_positions(&mut scanner, req.from..req.to, &stop) == End::Found {
        if let Some(f) = scanner.tally.found {
            writeln!(out, "{}", Msg::Found(f.index))?;
            out.flush()?;
        }
    }
    let t = &scanner.finish();
    for e in t.errors.iter().take(LISTED_ERRORS) {
        writeln!(out, "{}", Msg::Error(e.index, e.error.code()))?;
    }
    // A traced hunt's timeline, in one write: stdout is line-buffered, and one system
    // call per event would slow the worker's report down.
    if let Some(track) = t.tracks.first() {
        let mut lines = String::with_capacity(track.events.len() * 48);
        for e in &track.events {
            lines.push_str(&format!("{}\n", Msg::Trace(e.to_wire(0))));
        }
        out.write_all(lines.as_bytes())?;
    }
    let done = Msg::Done {
        files: t.files_scanned,
        bytes: t.bytes_scanned,
        after_find: t.files_after_find,
        errors: t.error_count(),
    };
    writeln!(out, "{done}")?;
    out.flush()?;
    Ok(())
}

/// Reads the request line the parent writes first on stdin.
fn read_request() -> Result<Request> {
    let mut line = Vec::new();
    std::io::stdin()
        .lock()
        .read_until(b'\n', &mut line)
        .context("cannot read the request from stdin")?;
    if line.pop() != Some(b'\n') {
        bail!("stdin ended before the request line: `hunt worker --pipe` is started by `hunt search --strategy spawn`, not by hand");
    }
    Request::parse(&line)
}

/// Raises `stop` when stdin ends (the parent closed it, or died) or says `stop`. The
/// thread is left blocked in `read` when the worker ends; exiting the process ends it.
fn watch_stdin(stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("hunt-worker-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if buf[..n].windows(4).any(|w| w == b"stop") => break,
                    Ok(_) => {}
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    if spawned.is_err() {
        // Without the watcher the worker cannot be told to stop early; it still ends at
        // its range's end, and the parent still kills it on the way out.
    }
}
