//! `hunt worker`: the worker program, serving a broker's hunts or one request over
//! pipes (see [`crate::worker`]). Here: the checks made before it connects.

use crate::cli::{WorkerArgs, DEFAULT_DIR};
use crate::exit::ExitCode;
use anyhow::{Context, Result};
use std::path::Path;

pub(super) fn run(args: WorkerArgs) -> Result<ExitCode> {
    // A coordinator's own workers (`--hunt`, hidden) serve the folder it loaded a
    // moment ago, and check it for their hunt: a second load would only add to the
    // hunt's time.
    if !args.pipe && args.broker.is_some() && args.hunt.is_none() {
        let dir = args.dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR));
        can_serve(dir, args.dir.is_none())?;
    }
    super::worker_run::run(args)
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
