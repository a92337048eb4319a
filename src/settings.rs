//! Flags into checked, typed settings, once for every command: each value is checked
//! here (or by the module that owns it: a strategy's knobs in
//! [`crate::strategy::knob`], a data set's sizes in [`crate::dataset::generate::spec`]),
//! with an error that names the flag and the fix. The benchmarks take their defaults
//! from here too, so `cargo bench` and `hunt race` sweep the same worker counts.

use crate::cli::{GenerateArgs, RaceArgs, SearchArgs, DEFAULT_DIR};
use crate::dataset::generate::{self, Spec};
use crate::race::{self, plan};
use crate::report::{self, Export, Format};
use crate::scan::Reader;
use crate::search::SearchRequest;
use crate::strategy::{Knobs, StrategyKind, MAX_WORKERS};
use crate::sys::host::cores;
use anyhow::{bail, Result};
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Checks a `--workers` value; `None` means the available cores (at most
/// [`MAX_WORKERS`]).
pub fn workers(value: Option<u64>) -> Result<NonZeroUsize> {
    match value {
        None => Ok(NonZeroUsize::new(cores().min(MAX_WORKERS)).unwrap_or(NonZeroUsize::MIN)),
        Some(k) if (1..=MAX_WORKERS as u64).contains(&k) => {
            Ok(NonZeroUsize::new(k as usize).unwrap_or(NonZeroUsize::MIN))
        }
        Some(k) => bail!("--workers must be between 1 and {MAX_WORKERS} (got {k})"),
    }
}

/// The worker counts a sweep races (`hunt race`, `cargo bench`): the list given, checked
/// and sorted, or by default 1, 2, 4, ... up to twice the cores.
pub fn worker_counts(values: Option<&[u64]>) -> Result<Vec<NonZeroUsize>> {
    match values {
        None => Ok(plan::default_workers(cores())),
        Some(list) => plan::check_workers(list),
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

/// `hunt search`, checked.
pub struct SearchSettings {
    /// What to hunt and how.
    pub request: SearchRequest,
    /// Print JSON instead of the human line.
    pub json: bool,
}

impl SearchSettings {
    /// Checks `hunt search`'s flags.
    pub fn from_args(args: SearchArgs) -> Result<Self> {
        let needle = match (&args.needle, &args.needle_hex) {
            (Some(n), _) if n.is_empty() => {
                bail!("--needle is empty: give the text to look for, e.g. --needle Treasure")
            }
            (Some(n), _) => {
                use std::os::unix::ffi::OsStrExt;
                Some(n.as_bytes().to_vec())
            }
            (None, Some(h)) => Some(parse_hex(h)?),
            (None, None) => None,
        };
        let request = SearchRequest {
            default_dir: args.dir.is_none(),
            dir: args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
            strategy: args.strategy,
            workers: workers(args.workers)?,
            reader: args.reader,
            needle,
            rotate: args.rotate,
            knobs: Knobs::from_args(&args.knobs)?,
            trace: match args.trace {
                None => None,
                Some(path) => {
                    if path.as_os_str() == "-" {
                        bail!("--trace - is not supported: the trace is a file (stdout carries the report); name one, e.g. --trace hunt.json");
                    }
                    report::dest::check_path("--trace", &path, args.force)?;
                    Some(crate::search::TraceRequest {
                        path,
                        command: command_line(),
                    })
                }
            },
        };
        Ok(SearchSettings {
            request,
            json: args.json,
        })
    }
}

/// This process's command line, quoted as a shell would need it, for the metadata of
/// traces and reports.
pub fn command_line() -> String {
    std::env::args_os()
        .map(|a| {
            let a = a.to_string_lossy().into_owned();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `hunt generate`, checked.
pub fn generate(args: GenerateArgs) -> Result<Spec> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    generate::spec(
        dir,
        args.files,
        args.lines,
        args.seed,
        args.treasure_at,
        args.preset,
        args.force,
    )
}

/// `hunt race`, checked. The data set and the seed are settled by the command (it may
/// generate the default set, and prints a drawn seed).
pub struct RaceSettings {
    /// `--dir`, if given.
    pub dir: Option<PathBuf>,
    /// The strategies to race, in registry order, no duplicates.
    pub strategies: Vec<StrategyKind>,
    /// Strategies left out because this build or the reader rules them out (only when
    /// none were named).
    pub left_out: Vec<StrategyKind>,
    /// Worker counts, ascending.
    pub workers: Vec<NonZeroUsize>,
    /// The reader.
    pub reader: Reader,
    /// Timed rounds.
    pub runs: u64,
    /// Untimed rounds first.
    pub warmup: u64,
    /// Page cache before each run.
    pub cache: race::CacheMode,
    /// `--full-scan`.
    pub full_scan: bool,
    /// `--fault`.
    pub fault: Option<crate::fault::FaultKind>,
    /// The exports, checked.
    pub exports: Vec<Export>,
    /// `--seed`, if given.
    pub seed: Option<u64>,
    /// Every knob's value.
    pub knobs: Knobs,
}

impl RaceSettings {
    /// Checks `hunt race`'s flags before any run, so a typo costs nothing.
    pub fn from_args(args: RaceArgs) -> Result<Self> {
        if args.runs == 0 {
            bail!("--runs must be at least 1 (the number of timed rounds)");
        }
        if args.fault.is_some() && args.full_scan {
            bail!("--fault fires at the treasure's file, and --full-scan hunts for a word no file holds: drop one of them");
        }
        let (strategies, left_out) = match args.strategies {
            // Every registered strategy this build has that can use the chosen reader.
            None => StrategyKind::ALL
                .iter()
                .partition(|k| k.runs_with(args.reader)),
            // Named ones must all be able to run: say why one cannot, with the fix.
            Some(list) => {
                let mut v: Vec<StrategyKind> = Vec::new();
                for k in list {
                    k.check_reader(args.reader)?;
                    if !v.contains(&k) {
                        v.push(k);
                    }
                }
                (v, Vec::new())
            }
        };
        let exports = report::check_exports(
            &[
                (Format::Json, args.export_json.clone()),
                (Format::Csv, args.export_csv.clone()),
                (Format::Markdown, args.export_markdown.clone()),
                (Format::Svg, args.plot.clone()),
                (Format::Html, args.report.clone()),
            ],
            args.force,
        )?;
        Ok(RaceSettings {
            dir: args.dir,
            strategies,
            left_out,
            workers: worker_counts(args.workers.as_deref())?,
            reader: args.reader,
            runs: args.runs,
            warmup: args.warmup,
            cache: args.cache,
            full_scan: args.full_scan,
            fault: args.fault,
            exports,
            seed: args.seed,
            knobs: Knobs::from_args(&args.knobs)?,
        })
    }
}
