//! The `hunt` binary: parse, run, print the error on one line, exit with its code.

use clap::Parser;
use hunt::exit::ExitCode;

fn main() -> std::process::ExitCode {
    let cli = match hunt::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return hunt::app::clap_error(e).into(),
    };
    match hunt::app::run(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("hunt: {e:#}");
            ExitCode::Error.into()
        }
    }
}
