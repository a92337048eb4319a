//! The command line, declared with clap's derive API. Doc comments are the help text.
//! Nothing here checks values beyond their type; [`crate::settings`] turns flags into
//! checked settings with errors that name the fix. Each strategy's knobs (`--batch`,
//! `--queue-depth`, `--broker`, ...) are not declared here: they come from the strategy
//! registry through [`KnobArgs`].

use crate::dataset::generate::Preset;
use crate::race::CacheMode;
use crate::scan::Reader;
use crate::strategy::knob::KnobArgs;
use crate::strategy::StrategyKind;
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// The folder `generate` writes and `search` reads when `--dir` is not given.
pub const DEFAULT_DIR: &str = "treasure_data";

/// Race concurrency models on a treasure hunt: N files, one holds the word `Treasure`.
///
/// Exit codes: 0 found (or success), 1 not found, 2 error or unknown answer, 130 interrupted.
#[derive(Debug, Parser)]
#[command(
    name = "hunt",
    version,
    about,
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the data set: N files, exactly one treasure, reproducible from a seed.
    Generate(GenerateArgs),
    /// Find the treasure with one strategy.
    Search(SearchArgs),
    /// Race strategies and worker counts against each other, one fresh `hunt search`
    /// process per run, and report honest statistics.
    Race(RaceArgs),
    /// Serve hunts from a task-queue broker, hunt after hunt, like `celery worker` or
    /// `rq worker`, until SIGTERM (finish the tasks in hand, exit 0) or Ctrl-C (130).
    Worker(WorkerArgs),
    /// Show a broker's task table: current and recent hunts, each task's range, state,
    /// worker and attempts, and the live workers.
    Status(StatusArgs),
}

/// `hunt worker`
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The broker to serve (its URL forms come from the backends table).
    #[arg(long, value_name = "URL", required_unless_present = "pipe",
          help = crate::broker::url_help("The broker to serve"))]
    pub broker: Option<String>,
    /// The certificate authority (a PEM file) that signed a TLS broker's certificate
    /// [default: the system's roots].
    #[arg(long, value_name = "FILE", conflicts_with = "pipe")]
    pub broker_ca: Option<PathBuf>,
    /// The data set to search [default: treasure_data]. It must be the one each hunt was
    /// published for: a worker whose folder differs refuses the hunt's tasks.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Worker threads taking tasks, 1 to 1024 [default: available cores].
    #[arg(allow_negative_numbers = true, long, short = 'j', value_name = "K")]
    pub workers: Option<u64>,
    /// This worker's name in the task table [default: HOST-PID].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Serve one request from the parent over stdin and stdout (`--strategy spawn`).
    #[arg(long, hide = true, conflicts_with = "broker")]
    pub pipe: bool,
    /// Serve only this hunt and exit when it ends (a coordinator's own workers).
    #[arg(long, hide = true, value_name = "ID")]
    pub hunt: Option<String>,
    /// Print no line per hunt served (a coordinator's own workers).
    #[arg(long, hide = true)]
    pub quiet: bool,
    /// This worker's number among a coordinator's own.
    #[arg(long, hide = true, value_name = "N")]
    pub index: Option<usize>,
}

/// `hunt status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The broker to inspect (its URL forms come from the backends table).
    #[arg(long, value_name = "URL", help = crate::broker::url_help("The broker to inspect"))]
    pub broker: String,
    /// The certificate authority (a PEM file) that signed a TLS broker's certificate
    /// [default: the system's roots].
    #[arg(long, value_name = "FILE")]
    pub broker_ca: Option<PathBuf>,
    /// Only this hunt.
    #[arg(long, value_name = "ID")]
    pub hunt: Option<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Refresh every second until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
}

/// `hunt generate`
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write [default: treasure_data]. It must be new, empty, or hold an
    /// earlier hunt data set (replaced only with --force).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Number of files [default: 10000, blog preset 10000].
    #[arg(allow_negative_numbers = true, long, value_name = "N")]
    pub files: Option<u64>,
    /// Lines per file [default: 1000, blog preset 10000].
    #[arg(allow_negative_numbers = true, long, value_name = "N")]
    pub lines: Option<u64>,
    /// Seed of the treasure's place; without it one is drawn and recorded in the manifest.
    #[arg(allow_negative_numbers = true, long, value_name = "S")]
    pub seed: Option<u64>,
    /// Put the treasure in file I (0-based) instead of a random one.
    #[arg(allow_negative_numbers = true, long, value_name = "I")]
    pub treasure_at: Option<u64>,
    /// A named data set; explicit --files and --lines override its sizes.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Replace an earlier hunt data set in --dir (deletes only the files its manifest names).
    #[arg(long)]
    pub force: bool,
}

/// `hunt search`
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Folder to search [default: treasure_data]. With a manifest, its files in index
    /// order; otherwise every regular file below it, sorted by path.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// How to search.
    #[arg(long, short, value_enum, default_value_t = StrategyKind::Rayon)]
    pub strategy: StrategyKind,
    /// Number of workers, 1 to 1024 [default: available cores].
    #[arg(allow_negative_numbers = true, long, short = 'j', value_name = "K")]
    pub workers: Option<u64>,
    /// How each file is read.
    #[arg(long, value_enum, default_value_t = Reader::Read)]
    pub reader: Reader,
    /// The bytes to look for, case-sensitive [default: the manifest's needle, or Treasure].
    #[arg(long, value_name = "TEXT")]
    pub needle: Option<OsString>,
    /// The needle as hexadecimal bytes (e.g. 00ff54), for bytes a command line cannot
    /// carry: NUL, or anything that is not UTF-8.
    #[arg(long, value_name = "HEX", conflicts_with = "needle")]
    pub needle_hex: Option<String>,
    /// Start the search at position K of the file list and wrap around: moves the
    /// treasure's place in the search order without touching the data.
    #[arg(
        allow_negative_numbers = true,
        long,
        value_name = "K",
        default_value_t = 0
    )]
    pub rotate: u64,
    /// Print one JSON object instead of a human line.
    #[arg(long)]
    pub json: bool,
    /// Write the hunt's timeline to FILE in the Chrome Trace Event Format (open it in
    /// Perfetto or chrome://tracing): one track per worker, a span per file read or task
    /// taken, the find, the stop signal and each worker's stop. Off by default, and free
    /// when off.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Replace the --trace file if it exists (hunt never overwrites a file it did not
    /// write unless told to).
    #[arg(long, requires = "trace")]
    pub force: bool,
    /// The strategies' own settings (each strategy reads its own).
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// `hunt race`
#[derive(Debug, Args)]
pub struct RaceArgs {
    /// Data set to race on [default: treasure_data, generated first when absent]. It
    /// must be a hunt data set (with a manifest), so every answer can be checked.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Strategies to race, comma-separated [default: all of them].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "A,B,..")]
    pub strategies: Option<Vec<StrategyKind>>,
    /// Worker counts, comma-separated, each 1 to 1024 [default: 1, 2, 4, ... up to twice
    /// the available cores]. Strategies with one worker run once, at 1.
    #[arg(
        allow_negative_numbers = true,
        long,
        short = 'j',
        value_delimiter = ',',
        value_name = "K,L,.."
    )]
    pub workers: Option<Vec<u64>>,
    /// How each file is read.
    #[arg(long, value_enum, default_value_t = Reader::Read)]
    pub reader: Reader,
    /// Timed rounds; each round runs every contender once.
    #[arg(
        allow_negative_numbers = true,
        long,
        value_name = "N",
        default_value_t = 10
    )]
    pub runs: u64,
    /// Untimed rounds before the timed ones (warm the page cache and the binary).
    #[arg(
        allow_negative_numbers = true,
        long,
        value_name = "N",
        default_value_t = 1
    )]
    pub warmup: u64,
    /// Page cache before each run.
    #[arg(long, value_enum, default_value_t = CacheMode::Warm)]
    pub cache: CacheMode,
    /// Search for a word no file holds, so every run reads the whole set: throughput and
    /// scaling without the treasure's place in the way. Each run must then answer "not
    /// found" (exit 1) after reading every file.
    #[arg(long)]
    pub full_scan: bool,
    /// Race every contender also under a fault, once per timed round beside its plain
    /// run: the worker holding the treasure's unread file is killed (`kill-worker`:
    /// SIGKILL for a process, the thread dies for an in-process worker) or paused
    /// (`pause-worker`: SIGSTOP past a broker's lease, then SIGCONT), or, for the broker
    /// strategies, the race's private broker server is killed and started again on its
    /// data (`kill-broker`). Each faulted run counts as right, unknown, wrong or hung.
    #[arg(long, value_enum, value_name = "KIND")]
    pub fault: Option<crate::fault::FaultKind>,
    /// Write the results as JSON (every run included) to FILE; `-` for stdout. Files are
    /// rewritten after every timed round, so an interrupted race keeps what it measured.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Write the summary as CSV to FILE (raw seconds and KiB); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Write the summary as a Markdown table to FILE; `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Draw median hunt time and speedup against workers as an SVG to FILE; `-` for
    /// stdout.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write one self-contained HTML report to FILE: the machine and the command, the
    /// race table (sortable), the plots, and a timeline of every contender from one
    /// untimed traced run with the treasure at the same place for all; `-` for stdout.
    /// Rewritten after every timed round, like the other exports.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Replace export and plot files that already exist (hunt never overwrites a file it
    /// did not write unless told to).
    #[arg(long)]
    pub force: bool,
    /// Seed of the run order and the treasure's place in each round; without it one is
    /// drawn and printed.
    #[arg(allow_negative_numbers = true, long, value_name = "S")]
    pub seed: Option<u64>,
    /// The strategies' own settings, handed to each contender's runs.
    #[command(flatten)]
    pub knobs: KnobArgs,
}

#[cfg(test)]
mod tests {
    /// clap's own check, over the fixed flags and every knob the registry adds: a knob
    /// whose name clashes with a fixed flag panics here.
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
