//! Runs a parsed command line: turns flags into checked settings, calls the library, and
//! prints. The only place that writes to stdout and stderr.

use crate::cli::{Cli, Command, GenerateArgs, RaceArgs, SearchArgs, DEFAULT_DIR};
use crate::dataset::generate;
use crate::exit::ExitCode;
use crate::race;
use crate::search::{self, SearchRequest};
use crate::strategy::{StrategyKind, MAX_QUEUE_DEPTH, MAX_WORKERS};
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::num::{NonZeroU64, NonZeroUsize};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Runs `cli` and says how the process should exit.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Generate(args) => run_generate(args),
        Command::Search(args) => run_search(args),
        Command::Race(args) => run_race(args),
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
        queue_depth: queue_depth(args.queue_depth)?,
        batch: batch(args.batch)?,
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

fn run_race(args: RaceArgs) -> Result<ExitCode> {
    use crate::report::{self, Dest, Exporter, Format};
    if args.runs == 0 {
        bail!("--runs must be at least 1 (the number of timed rounds)");
    }
    let strategies: Vec<StrategyKind> = match args.strategies {
        // Every registered strategy this build has that can use the chosen reader.
        None => {
            let (usable, left_out): (Vec<StrategyKind>, Vec<StrategyKind>) = StrategyKind::ALL
                .iter()
                .partition(|k| k.runs_with(args.reader));
            if !left_out.is_empty() {
                let names: Vec<&str> = left_out.iter().map(|k| k.name()).collect();
                eprintln!(
                    "hunt: note: {} sit(s) out: not in this build, or no {} reader",
                    names.join(", "),
                    args.reader.name()
                );
            }
            usable
        }
        // Named ones must all be able to run: say why one cannot, with the fix.
        Some(list) => {
            let mut v: Vec<StrategyKind> = Vec::new();
            for k in list {
                k.check_reader(args.reader)?;
                if !v.contains(&k) {
                    v.push(k);
                }
            }
            v
        }
    };
    let workers = match &args.workers {
        None => {
            race::default_workers(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
        }
        Some(list) => race::check_workers(list)?,
    };
    let exports = report::check_exports(
        &[
            (Format::Json, args.export_json.clone()),
            (Format::Csv, args.export_csv.clone()),
            (Format::Markdown, args.export_markdown.clone()),
            (Format::Svg, args.plot.clone()),
        ],
        args.force,
    )?;
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the hunt binary to run: {e}"))?;

    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            let dir = PathBuf::from(DEFAULT_DIR);
            if !dir.join(crate::dataset::manifest::MANIFEST_NAME).is_file() {
                eprintln!(
                    "hunt: no data set in {DEFAULT_DIR}: generating the default one first ({} files of {} lines)",
                    generate::DEFAULT_FILES,
                    generate::DEFAULT_LINES
                );
                let spec = generate::spec(dir.clone(), None, None, None, None, None, false)?;
                let done = generate::generate(&spec).with_context(|| {
                    format!("cannot make the default data set in {DEFAULT_DIR} (see `hunt generate --help`), or pass --dir")
                })?;
                eprintln!(
                    "hunt: wrote {} files ({}) to {DEFAULT_DIR} in {}",
                    done.manifest.files,
                    search::human_bytes(done.manifest.total_bytes),
                    search::human_duration(done.elapsed)
                );
            }
            dir
        }
    };
    let manifest = race::load_manifest(&dir)?;
    let full_scan = if args.full_scan {
        Some(race::full_scan_needle(&manifest)?)
    } else {
        None
    };
    let seed = match args.seed {
        Some(s) => s,
        None => {
            let s: u64 = rand::random();
            eprintln!("hunt: seed {s} (--seed {s} repeats this race's order and treasure places)");
            s
        }
    };
    let opts = race::RaceOptions {
        dir,
        strategies,
        workers,
        reader: args.reader,
        runs: args.runs,
        warmup: args.warmup,
        cache: args.cache,
        full_scan,
        seed,
    };
    if !opts.strategies.contains(&race::BASELINE) {
        eprintln!(
            "hunt: note: {} is not in --strategies, so there are no speedups",
            race::BASELINE
        );
    }

    let mut ui = RaceUi {
        bar: indicatif::ProgressBar::hidden(),
        exports: &exports,
    };
    let results = race::run(&opts, &manifest, &exe, &mut ui)?;
    ui.bar.finish_and_clear();

    for c in &results.contenders {
        if let (None, Some(why)) = (&c.failed, &c.noise) {
            eprintln!(
                "hunt: warning: {} looks noisy ({why}); close other programs or add --runs",
                c.label()
            );
        }
    }
    // With an export on stdout, stdout carries only that export; the table moves to
    // stderr so `hunt race --export-json - | jq` works.
    let table = String::from_utf8(report::table::Table.render(&results)?)?;
    match exports.iter().find(|e| e.dest == Dest::Stdout) {
        Some(e) => {
            eprint!("{table}");
            let bytes = e.format.exporter().render(&results)?;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&bytes).and_then(|()| stdout.flush());
        }
        None => out(table.trim_end()),
    }
    let failed = results
        .contenders
        .iter()
        .filter(|c| c.failed.is_some())
        .count();
    if failed > 0 {
        eprintln!(
            "hunt: {failed} of {} contenders failed (see above); the results of the others stand",
            results.contenders.len()
        );
        return Ok(ExitCode::Error);
    }
    Ok(ExitCode::Found)
}

/// The race's face: a progress bar and notes on stderr, exports rewritten each round.
struct RaceUi<'a> {
    bar: indicatif::ProgressBar,
    exports: &'a [crate::report::Export],
}

impl race::Observer for RaceUi<'_> {
    fn note(&mut self, line: &str) {
        let line = format!("hunt: {line}");
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    fn start(&mut self, total: u64) {
        // The stderr target draws nothing when stderr is not a terminal.
        self.bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} racing {pos}/{len} runs [{bar:30}] {eta} {msg}",
        ) {
            self.bar.set_style(style);
        }
    }

    fn ran(&mut self, contender: &race::Contender) {
        self.bar.set_message(contender.to_string());
        self.bar.inc(1);
    }

    fn round_done(&mut self, results: &race::RaceResults) -> Result<()> {
        crate::report::write_files(results, self.exports)
    }
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
