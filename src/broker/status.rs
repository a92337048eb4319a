//! `hunt status`.

use crate::cli::StatusArgs;
use crate::exit::ExitCode;
use anyhow::{bail, Result};

/// Runs `hunt status`.
pub fn run(_args: StatusArgs) -> Result<ExitCode> {
    bail!("hunt status: no broker backend is built yet")
}
