//! The `hunt` binary: parse, run, print the error on one line, exit with its code.

use clap::Parser;
use hunt::exit::ExitCode;
use hunt::output;

fn main() -> std::process::ExitCode {
    let cli = match hunt::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return hunt::app::clap_error(e).into(),
    };
    // Ctrl-C raises a flag the hunts and the generator poll (see `hunt::interrupt`).
    if let Err(e) = hunt::interrupt::install() {
        output::err(&format!("cannot install the Ctrl-C handler: {e}"));
        return ExitCode::Error.into();
    }
    let result = hunt::app::run(cli);
    // Whatever the command managed before it noticed, an interrupted run says so: its
    // answer (say, "not found") covers only part of the work.
    if hunt::interrupt::requested() {
        output::err("interrupted");
        return ExitCode::Interrupted.into();
    }
    match result {
        Ok(code) => code.into(),
        Err(e) if e.is::<hunt::interrupt::Interrupted>() => {
            output::err("interrupted");
            ExitCode::Interrupted.into()
        }
        Err(e) => {
            output::err(&format!("{e:#}"));
            ExitCode::Error.into()
        }
    }
}
