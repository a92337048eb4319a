//! One hunt from start to report: load the file set, build the strategy, time the hunt,
//! and describe the result for people (one line) or programs (JSON).
//!
//! What the timings include: `setup_s` is building the strategy (a rayon pool, say);
//! `elapsed_s` is the hunt alone, from just before the strategy starts its workers to
//! just after the last one stopped, so thread starts and forks are inside it; reading
//! the manifest or listing the folder is in neither. Whole-process time is measured from
//! outside (`hunt race`, hyperfine).
//!
//! With `--trace FILE` the workers record their timelines on a clock whose epoch is the
//! hunt's start ([`crate::trace`]), and the trace is written after the hunt, outside
//! both timings.

mod report;

pub use report::SearchReport;

use crate::fileset::{self, FileSet};
use crate::scan::{Job, Reader};
use crate::strategy::{Knobs, Outcome, StrategyConfig, StrategyKind};
use anyhow::{Context, Result};
use memchr::memmem::Finder;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

/// How many failed files the report itemises.
const LISTED_ERRORS: usize = 20;
/// The needle when neither the user nor a manifest names one.
pub const DEFAULT_NEEDLE: &[u8] = b"Treasure";

/// A checked search request.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The folder to search.
    pub dir: PathBuf,
    /// The user did not name the folder (changes the advice when it is empty).
    pub default_dir: bool,
    /// The strategy.
    pub strategy: StrategyKind,
    /// Number of workers.
    pub workers: NonZeroUsize,
    /// The reader.
    pub reader: Reader,
    /// The needle; `None` takes the manifest's, or [`DEFAULT_NEEDLE`].
    pub needle: Option<Vec<u8>>,
    /// Rotation of the search order.
    pub rotate: u64,
    /// Every knob's value; the strategy reads its own.
    pub knobs: Knobs,
    /// `--trace FILE`: write the hunt's timeline there (checked: new, or `--force`).
    pub trace: Option<TraceRequest>,
}

/// Where a traced hunt's timeline goes, and what to say about how it was made.
#[derive(Clone, Debug)]
pub struct TraceRequest {
    /// The file, in the Chrome Trace Event Format.
    pub path: PathBuf,
    /// The command line, for the trace's metadata.
    pub command: String,
}

/// Runs one search.
pub fn run(req: &SearchRequest) -> Result<SearchReport> {
    req.strategy.check_reader(req.reader)?;
    let load_start = Instant::now();
    let loaded = fileset::load(&req.dir, req.default_dir)?;
    let load = load_start.elapsed();
    let needle: Vec<u8> = match (&req.needle, &loaded.manifest) {
        (Some(n), _) => n.clone(),
        (None, Some(m)) => m.needle.as_bytes().to_vec(),
        (None, None) => DEFAULT_NEEDLE.to_vec(),
    };
    let finder = Finder::new(&needle);
    let mut job = Job {
        files: &loaded.files,
        finder: &finder,
        reader: req.reader,
        rotate: req.rotate,
        trace: None,
    };
    let setup_start = Instant::now();
    let mut strategy = req.strategy.build(&StrategyConfig {
        knobs: req.knobs.clone(),
        ..StrategyConfig::new(req.workers)
    })?;
    let setup = setup_start.elapsed();
    let start = Instant::now();
    job.trace = req.trace.as_ref().map(|_| crate::trace::Clock::at(start));
    let mut outcome = strategy.hunt(&job)?;
    let end = Instant::now();
    if let (Some(t), Some(clock)) = (&req.trace, job.trace) {
        let meta = trace_meta(
            req,
            t,
            &loaded.files,
            &needle,
            &outcome,
            strategy.workers(),
            end - start,
        );
        write_trace(t, clock, meta, &mut outcome, &loaded.files)?;
    }

    let tally = &outcome.tally;
    let found = tally.found;
    let mut error_messages: Vec<String> = loaded.listing_errors.clone();
    error_messages.extend(
        tally
            .errors
            .iter()
            .map(|e| format!("{}: {}", loaded.files.path(e.index).display(), e.error)),
    );
    let errors = tally.error_count() + loaded.listing_errors.len() as u64;
    error_messages.truncate(LISTED_ERRORS);
    let manifest_disagrees = match &loaded.manifest {
        Some(m) if m.needle.as_bytes() == needle.as_slice() => match found {
            Some(f) => f.index != m.treasure_index,
            None => errors == 0 && outcome.worker_failures.is_empty(),
        },
        _ => false,
    };
    Ok(SearchReport {
        strategy: req.strategy,
        workers: strategy.workers(),
        reader: req.reader,
        dir: req.dir.clone(),
        needle: String::from_utf8_lossy(&needle).into_owned(),
        rotate: req.rotate,
        found: found.map(|f| loaded.files.path(f.index)),
        index: found.map(|f| f.index),
        manifest_treasure_index: loaded.manifest.as_ref().map(|m| m.treasure_index),
        manifest_disagrees,
        files_total: loaded.files.len(),
        files_scanned: tally.files_scanned,
        bytes_scanned: tally.bytes_scanned,
        load_s: load.as_secs_f64(),
        setup_s: setup.as_secs_f64(),
        elapsed_s: (end - start).as_secs_f64(),
        time_to_find_s: found.map(|f| f.at.saturating_duration_since(start).as_secs_f64()),
        stop_latency_s: found.map(|f| {
            outcome
                .stopped_at
                .unwrap_or(end)
                .saturating_duration_since(f.at)
                .as_secs_f64()
        }),
        files_after_find: tally.files_after_find,
        errors,
        error_messages,
        worker_failures: outcome
            .worker_failures
            .iter()
            .map(|f| f.to_string())
            .collect(),
        found_by: outcome.found_by.clone(),
        queue: outcome.queue,
        tasks: outcome.tasks.clone(),
        notes: outcome.notes.clone(),
    })
}

/// What a trace says about the hunt it records.
fn trace_meta(
    req: &SearchRequest,
    t: &TraceRequest,
    files: &FileSet,
    needle: &[u8],
    outcome: &Outcome,
    workers: usize,
    elapsed: std::time::Duration,
) -> crate::trace::Meta {
    crate::trace::Meta {
        strategy: req.strategy.name().to_string(),
        workers,
        reader: req.reader.name().to_string(),
        dir: req.dir.display().to_string(),
        files: files.len(),
        rotate: req.rotate,
        needle: String::from_utf8_lossy(needle).into_owned(),
        found: outcome.found().map(|f| f.index),
        found_by: outcome.found_by.clone(),
        files_scanned: outcome.tally.files_scanned,
        elapsed_ns: elapsed.as_nanos() as u64,
        command: t.command.clone(),
        hunt_version: env!("CARGO_PKG_VERSION").to_string(),
        machine: crate::sys::host::Machine::this(),
    }
}

/// Writes the timeline of the hunt `outcome` reports to `t.path`: the hunt as a span,
/// the stop signal (when the strategy says, else at the find), and every worker's track.
fn write_trace(
    t: &TraceRequest,
    clock: crate::trace::Clock,
    meta: crate::trace::Meta,
    outcome: &mut Outcome,
    files: &FileSet,
) -> Result<()> {
    use crate::trace::{Event, Kind, Timeline};
    let mut hunt = vec![Event {
        dur: meta.elapsed_ns,
        ..Event::instant(Kind::Hunt, 0, 0)
    }];
    let signal = outcome.stop_signal_at.or(outcome.found().map(|f| f.at));
    if let Some(at) = signal {
        hunt.push(Event::instant(Kind::StopSignal, 0, clock.of(at)));
    }
    hunt.extend(crate::fault::trace_event(clock));
    let mut timeline = Timeline {
        meta,
        hunt,
        tracks: std::mem::take(&mut outcome.tally.tracks),
    };
    timeline.tidy();
    // The path below the folder; compared as text, which is cheaper than by components
    // and matters with one name per file.
    let root = format!("{}/", files.root().display());
    let name = |i: u64| {
        let p = files.path(i).display().to_string();
        match p.strip_prefix(&root) {
            Some(rest) => rest.to_string(),
            None => p,
        }
    };
    let json = crate::trace::chrome::write(&timeline, &name);
    std::fs::write(&t.path, json)
        .with_context(|| format!("cannot write --trace {}", t.path.display()))
}

/// Builds a file set and runs one strategy on it: the library entry the benchmarks and
/// tests use, without the CLI's printing.
pub fn hunt_once(
    files: &FileSet,
    needle: &[u8],
    strategy: StrategyKind,
    workers: NonZeroUsize,
    reader: Reader,
    rotate: u64,
) -> Result<Outcome> {
    hunt_once_with(
        files,
        needle,
        strategy,
        &StrategyConfig::new(workers),
        reader,
        rotate,
    )
}

/// [`hunt_once`] with every strategy setting given (`--queue-depth`, `--batch`).
pub fn hunt_once_with(
    files: &FileSet,
    needle: &[u8],
    strategy: StrategyKind,
    config: &StrategyConfig,
    reader: Reader,
    rotate: u64,
) -> Result<Outcome> {
    strategy.check_reader(reader)?;
    let finder = Finder::new(needle);
    let job = Job {
        files,
        finder: &finder,
        reader,
        rotate,
        trace: None,
    };
    strategy.build(config)?.hunt(&job)
}
