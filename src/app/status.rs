//! `hunt status`: a broker's task table (see [`crate::broker::status`]).

use crate::cli::StatusArgs;
use crate::exit::ExitCode;
use anyhow::Result;

pub(super) fn run(args: StatusArgs) -> Result<ExitCode> {
    crate::broker::status::run(args)
}
