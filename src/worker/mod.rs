//! `hunt worker`: the one worker program. It runs in two ways:
//! - `hunt worker --broker URL`: a long-running worker, like `celery worker` or
//!   `rq worker`, serving hunt after hunt from a task-queue broker ([`crate::broker`]);
//! - `hunt worker --pipe --dir D` (hidden): one request from a parent over pipes, in the
//!   protocol of [`protocol`] (the `spawn` strategy's workers).
//!
//! Both run the same worker loop ([`crate::tasks::walk::scan_positions`]) over the
//! same scanner.

pub mod pipe;
pub mod protocol;
pub mod serve;

use crate::cli::{WorkerArgs, DEFAULT_DIR};
use crate::exit::ExitCode;
use anyhow::{bail, Result};
use std::path::PathBuf;

/// Runs `hunt worker`; `say` prints what a broker worker says as it serves.
pub fn run(args: WorkerArgs, say: fn(&serve::Note<'_>)) -> Result<ExitCode> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    if args.pipe {
        return Ok(pipe::serve(&dir));
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
        (None, None) => format!("{}-{}", crate::broker::hostname(), std::process::id()),
    };
    serve::serve(serve::ServeSettings {
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
