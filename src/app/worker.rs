//! `hunt worker`: the worker program's checks and printing (see [`crate::worker`] for
//! the program itself). Before it connects, a `--dir` it cannot serve is refused; then
//! the flags become a pipe worker or a broker worker's [`ServeSettings`], and what a
//! broker worker says as it serves is printed here, one line on stderr per [`Note`].

use crate::cli::{WorkerArgs, DEFAULT_DIR};
use crate::exit::ExitCode;
use crate::output;
use crate::worker::serve::{self, Note, ServeSettings};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Runs `hunt worker`: one request over pipes, or hunts from a broker.
pub(super) fn run(args: WorkerArgs) -> Result<ExitCode> {
    // A coordinator's own workers (`--hunt`, hidden) serve the folder it loaded a
    // moment ago, and check it for their hunt: a second load would only add to the
    // hunt's time.
    if !args.pipe && args.broker.is_some() && args.hunt.is_none() {
        let dir = args.dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR));
        can_serve(dir, args.dir.is_none())?;
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    if args.pipe {
        return Ok(crate::worker::pipe::serve(&dir));
    }
    let Some(url) = args.broker else {
        bail!(
            "hunt worker needs --broker URL: the queue to serve ({})",
            crate::broker::backend::url_forms()
        );
    };
    crate::broker::tls::use_ca(args.broker_ca.as_deref())?;
    let name = match (args.name, args.index) {
        (Some(n), _) if n.is_empty() || n.contains(['/', '@', ' ']) => {
            bail!("--name {n:?} is not a worker name: use letters, digits, '-', '.' or '_'")
        }
        (Some(n), _) => n,
        (None, Some(i)) => format!("worker{i}-{}", std::process::id()),
        (None, None) => format!("{}-{}", crate::sys::host::hostname(), std::process::id()),
    };
    serve::serve(ServeSettings {
        url,
        dir,
        threads: crate::settings::workers(args.workers)?.get(),
        name,
        only: args.hunt,
        index: args.index,
        quiet: args.quiet,
        say,
    })
}

/// Refuses, before the worker connects, a `--dir` from which it cannot serve any hunt,
/// rather than waiting silently for hunts it would only turn down.
///
/// "Cannot serve any hunt" means: the folder a hunt's workers load (the same
/// [`crate::fileset::load`] each hunt makes) cannot be loaded now: it does not exist, is
/// not a folder, cannot be opened or read, holds a data set an interrupted `hunt
/// generate` left incomplete or whose manifest is broken, or holds neither a data set
/// nor any file to search. Each says its fix. A folder holding *another* data set than
/// some hunt's is served: the worker turns down that hunt and waits for one on its own.
/// The worker does not wait for its folder to appear: start it after `hunt generate`.
fn can_serve(dir: &Path, is_default: bool) -> Result<()> {
    crate::fileset::load(dir, is_default)
        .map(drop)
        .context("this worker cannot serve any hunt")
}

/// Prints one [`Note`] of a serving worker.
fn say(note: &Note<'_>) {
    output::err(&match note {
        Note::Outage { error } => format!("{error:#}; reconnecting"),
        Note::Reconnected { broker } => format!("reconnected to the broker at {broker}"),
        Note::Refused { hunt, why } => format!("refused hunt {hunt}: {why}"),
        Note::Served {
            hunt,
            tasks,
            files,
            bytes,
            found,
        } => {
            let found = match found {
                Some(path) => format!("; found the treasure in {}", path.display()),
                None => String::new(),
            };
            format!(
                "served hunt {hunt}: {tasks} tasks, {files} files, {} read{found}",
                crate::units::bytes(*bytes)
            )
        }
    });
}
