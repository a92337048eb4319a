//! `hunt worker`: the worker program, serving a broker's hunts or one request over
//! pipes (see [`crate::worker`]).

use crate::cli::WorkerArgs;
use crate::exit::ExitCode;
use anyhow::Result;

pub(super) fn run(args: WorkerArgs) -> Result<ExitCode> {
    super::worker_run::run(args)
}
