//! Runs a parsed command line: one file per command, each turning flags into checked
//! settings ([`crate::settings`]), calling the library, and printing through
//! [`crate::output`], the only place that writes.

mod generate;
mod race;
mod search;
mod status;
mod worker;

use crate::cli::{Cli, Command};
use crate::exit::ExitCode;
use crate::output;
use anyhow::Result;

/// Runs `cli` and says how the process should exit.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Search(args) => search::run(args),
        Command::Race(args) => race::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Status(args) => status::run(args),
    }
}

/// Reports a command-line error on one line (help and version print as usual).
pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::Error
            } else {
                ExitCode::Succeeded
            }
        }
        _ => {
            let text = e.render().to_string();
            let line = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            output::err(line);
            ExitCode::Error
        }
    }
}
