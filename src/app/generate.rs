//! `hunt generate`: write the data set and say where the treasure is.

use crate::cli::GenerateArgs;
use crate::dataset::generate;
use crate::exit::ExitCode;
use crate::{output, settings, units};
use anyhow::Result;

pub(super) fn run(args: GenerateArgs) -> Result<ExitCode> {
    let spec = settings::generate(args)?;
    let done = generate::generate(&spec)?;
    let m = &done.manifest;
    let line = match m.treasure_line {
        Some(l) => format!("line {l}"),
        None => "every line".to_string(),
    };
    output::line(&format!(
        "wrote {} files ({}) to {} in {}; the treasure is in {} ({line}); seed {} (--seed {} makes the same set)",
        m.files,
        units::bytes(m.total_bytes),
        spec.dir.display(),
        units::duration(done.elapsed),
        m.treasure_file,
        m.seed,
        m.seed
    ))?;
    Ok(ExitCode::Succeeded)
}
