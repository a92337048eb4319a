//! `hunt search`: one hunt, one line (or one JSON object) on stdout, warnings on stderr.

use crate::cli::SearchArgs;
use crate::exit::ExitCode;
use crate::settings::SearchSettings;
use crate::{output, search};
use anyhow::Result;

pub(super) fn run(args: SearchArgs) -> Result<ExitCode> {
    let settings = SearchSettings::from_args(args)?;
    let report = search::run(&settings.request)?;
    // A hunt cut short by Ctrl-C may say "not found" about files it never read.
    crate::interrupt::check()?;
    for line in report.warnings() {
        output::err(&line);
    }
    if settings.json {
        output::line(&serde_json::to_string(&report)?)?;
    } else {
        output::line(&report.human_line())?;
    }
    Ok(report.exit_code())
}
