//! Runs a parsed command line: turns flags into checked settings, calls the library, and
//! prints. The only place that writes to stdout and stderr.

use crate::cli::{Cli, Command, GenerateArgs, SearchArgs, DEFAULT_DIR};
use crate::dataset::generate;
use crate::exit::ExitCode;
use crate::search::{self, SearchRequest};
use crate::strategy::{MAX_QUEUE_DEPTH, MAX_WORKERS};
use anyhow::{anyhow, bail, Result};
use std::io::Write;
use std::num::{NonZeroU64, NonZeroUsize};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Runs `cli` and says how the process should exit.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => run_generate(args),
        Command::Search(args) => run_search(args),
        Command::Worker(req) => crate::strategy::run_worker(&req),
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

/// Checks a `--queue-depth` value.
pub fn queue_depth(value: u64) -> Result<NonZeroUsize> {
    match value {
        0 => bail!("--queue-depth must be at least 1 (got 0)"),
        k if k > MAX_QUEUE_DEPTH as u64 => {
            bail!("--queue-depth must be at most {MAX_QUEUE_DEPTH} (got {k}): each file in flight holds a read buffer")
        }
        k => Ok(NonZeroUsize::new(k as usize).unwrap_or(NonZeroUsize::MIN)),
    }
}

/// Checks a `--batch` value.
pub fn batch(value: u64) -> Result<NonZeroU64> {
    NonZeroU64::new(value).ok_or_else(|| anyhow!("--batch must be at least 1 (got 0)"))
}

fn run_search(args: SearchArgs) -> Result<ExitCode> {
    let needle = match &args.needle {
        Some(n) if n.is_empty() => {
            bail!("--needle is empty: give the text to look for, e.g. --needle Treasure")
        }
        Some(n) => Some(n.as_bytes().to_vec()),
        None => None,
    };
    let req = SearchRequest {
        default_dir: args.dir.is_none(),
        dir: args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
        strategy: args.strategy,
        workers: workers(args.workers)?,
        queue_depth: queue_depth(args.queue_depth)?,
        batch: batch(args.batch)?,
        reader: args.reader,
        needle,
        rotate: args.rotate,
    };
    let report = search::run(&req)?;
    for line in report.warnings() {
        eprintln!("hunt: {line}");
    }
    if args.json {
        out(&serde_json::to_string(&report)?);
    } else {
        out(&report.human_line());
    }
    Ok(report.exit_code())
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
            eprintln!("hunt: {line}");
            ExitCode::Error
        }
    }
}
