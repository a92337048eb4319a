//! `hunt worker`'s checks and printing: the flags into a pipe worker or a broker
//! worker's [`ServeSettings`], and what a broker worker says as it serves, one line on
//! stderr per [`Note`]. (Beside `worker.rs`, the command's entry.)

use crate::cli::{WorkerArgs, DEFAULT_DIR};
use crate::exit::ExitCode;
use crate::output;
use crate::worker::serve::{self, Note, ServeSettings};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// Runs `hunt worker`: one request over pipes, or hunts from a broker.
pub(super) fn run(args: WorkerArgs) -> Result<ExitCode> {
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
