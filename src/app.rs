//! Runs a parsed command line: turns flags into checked settings, calls the library, and
//! prints. The only place that writes to stdout and stderr.

use crate::cli::{Cli, Command, GenerateArgs, SearchArgs, DEFAULT_DIR};
use crate::dataset::generate;
use crate::exit::ExitCode;
use crate::search::{self, SearchRequest};
use crate::strategy::MAX_WORKERS;
use anyhow::{bail, Result};
use std::io::Write;
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Runs `cli` and says how the process should exit.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => run_generate(args),
        Command::Search(args) => run_search(args),
    }
}

fn run_generate(args: GenerateArgs) -> Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let spec = generate::spec(
        dir,
        args.files,
        args.lines,
        args.seed,
        args.treasure_at,
        args.preset,
        args.force,
    )?;
    let done = generate::generate(&spec)?;
    let m = &done.manifest;
    let line = match m.treasure_line {
        Some(l) => format!("line {l}"),
        None => "every line".to_string(),
    };
    out(&format!(
        "wrote {} files ({}) to {} in {}; the treasure is in {} ({line}); seed {} (--seed {} makes the same set)",
        m.files,
        search::human_bytes(m.total_bytes),
        spec.dir.display(),
        search::human_duration(done.elapsed),
        m.treasure_file,
        m.seed,
        m.seed
    ));
    Ok(ExitCode::Found)
}

/// Checks a `--workers` value; `None` means the available cores.
pub fn workers(value: Option<u64>) -> Result<NonZeroUsize> {
    match value {
        None => Ok(std::thread::available_parallelism()
            .unwrap_or(NonZeroUsize::MIN)
            .min(NonZeroUsize::new(MAX_WORKERS).unwrap_or(NonZeroUsize::MIN))),
        Some(k) if (1..=MAX_WORKERS as u64).contains(&k) => {
            Ok(NonZeroUsize::new(k as usize).unwrap_or(NonZeroUsize::MIN))
        }
        Some(k) => bail!("--workers must be between 1 and {MAX_WORKERS} (got {k})"),
    }
}

fn run_search(args: SearchArgs) -> Result<ExitCode> {
    let needle = match (&args.needle, &args.needle_hex) {
        (Some(n), _) if n.is_empty() => {
            bail!("--needle is empty: give the text to look for, e.g. --needle Treasure")
        }
        (Some(n), _) => Some(n.as_bytes().to_vec()),
        (None, Some(h)) => Some(parse_hex(h)?),
        (None, None) => None,
    };
    let req = SearchRequest {
        default_dir: args.dir.is_none(),
        dir: args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
        strategy: args.strategy,
        workers: workers(args.workers)?,
        reader: args.reader,
        needle,
        rotate: args.rotate,
    };
    let report = search::run(&req)?;
    // A hunt cut short by Ctrl-C may say "not found" about files it never read.
    crate::interrupt::check()?;
    for line in report.warnings() {
        err(&line);
    }
    if args.json {
        out(&serde_json::to_string(&report)?);
    } else {
        out(&report.human_line());
    }
    Ok(report.exit_code())
}

/// Decodes `--needle-hex`: pairs of hex digits, at least one byte.
pub fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.is_empty() {
        bail!("--needle-hex is empty: give the bytes to look for as hex, e.g. --needle-hex 5472656173757265");
    }
    if !digits.len().is_multiple_of(2) {
        bail!("--needle-hex {text:?} has an odd number of digits: give two hex digits per byte, e.g. 00ff");
    }
    let nibble = |c: u8| (c as char).to_digit(16);
    digits
        .chunks(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
            _ => bail!(
                "--needle-hex {text:?} holds {:?}, which is not a hex digit pair: use only 0-9 and a-f, two digits per byte",
                String::from_utf8_lossy(pair)
            ),
        })
        .collect()
}

/// Prints `hunt: {line}` on stderr. A failed write (stderr closed, or a full disk
/// behind `2> file`) is ignored: `eprintln!` would panic there, turning a clear exit
/// code into 101.
pub fn err(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "hunt: {line}");
}

/// Prints a line on stdout; a closed pipe (`hunt ... | head`) is not an error.
fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
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
                ExitCode::Found
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
            err(line);
            ExitCode::Error
        }
    }
}
