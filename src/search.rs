//! One hunt from start to report: load the file set, build the strategy, time the hunt,
//! and describe the result for people (one line) or programs (JSON).
//!
//! What the timings include: `setup_s` is building the strategy (a rayon pool, say);
//! `elapsed_s` is the hunt alone, from just before the strategy starts its workers to
//! just after the last one stopped, so thread starts and forks are inside it; reading
//! the manifest or listing the folder is in neither. Whole-process time is measured from
//! outside (`hunt race`, hyperfine).

use crate::exit::ExitCode;
use crate::fileset::{self, FileSet};
use crate::scan::{Job, Reader};
use crate::strategy::{QueueStats, StrategyConfig, StrategyKind};
use anyhow::Result;
use memchr::memmem::Finder;
use serde::Serialize;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    /// Files each `uring` worker keeps in flight.
    pub queue_depth: NonZeroUsize,
    /// Files per task of the `queue` strategy.
    pub batch: NonZeroU64,
    /// The reader.
    pub reader: Reader,
    /// The needle; `None` takes the manifest's, or [`DEFAULT_NEEDLE`].
    pub needle: Option<Vec<u8>>,
    /// Rotation of the search order.
    pub rotate: u64,
}

/// What one `hunt search` did. Serialised as the `--json` output.
#[derive(Clone, Debug, Serialize)]
pub struct SearchReport {
    /// Strategy name.
    pub strategy: StrategyKind,
    /// Workers the strategy really used.
    pub workers: usize,
    /// Reader name.
    pub reader: Reader,
    /// The folder searched (lossy UTF-8 in JSON).
    #[serde(serialize_with = "lossy_path")]
    pub dir: PathBuf,
    /// The needle (lossy UTF-8).
    pub needle: String,
    /// Rotation of the search order.
    pub rotate: u64,
    /// Path of the file holding the needle, or null. A name that is not UTF-8 is shown
    /// lossily (U+FFFD for the bad bytes), as `--json` must stay valid JSON.
    #[serde(serialize_with = "lossy_opt_path")]
    pub found: Option<PathBuf>,
    /// Its index in the file set, or null.
    pub index: Option<u64>,
    /// The treasure's index according to the manifest, when there is one.
    pub manifest_treasure_index: Option<u64>,
    /// The search looked for the manifest's own needle, read every file, and did not
    /// find it where the manifest says: the data set changed after `hunt generate`. The
    /// search is the answer; this only adds a warning.
    pub manifest_disagrees: bool,
    /// Files in the set.
    pub files_total: u64,
    /// Files read (fully, or until the stop flag cut them short).
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Seconds to build the strategy (pools, runtimes), before the hunt.
    pub setup_s: f64,
    /// Seconds of the hunt, workers' start to the last worker's stop.
    pub elapsed_s: f64,
    /// Seconds from the hunt's start to the find, or null.
    pub time_to_find_s: Option<f64>,
    /// Seconds from the find until every worker had stopped, or null.
    pub stop_latency_s: Option<f64>,
    /// Files finished or cut short after the find: wasted work.
    pub files_after_find: u64,
    /// Number of files that could not be read.
    pub errors: u64,
    /// The first few of them, as `path: reason`.
    pub error_messages: Vec<String>,
    /// Workers that died, with the range each lost.
    pub worker_failures: Vec<String>,
    /// The `queue` strategy's task counts; null for every other strategy.
    pub queue: Option<QueueStats>,
}

/// Runs one search.
pub fn run(req: &SearchRequest) -> Result<SearchReport> {
    req.strategy.check_reader(req.reader)?;
    let loaded = fileset::load(&req.dir, req.default_dir)?;
    let needle: Vec<u8> = match (&req.needle, &loaded.manifest) {
        (Some(n), _) => n.clone(),
        (None, Some(m)) => m.needle.as_bytes().to_vec(),
        (None, None) => DEFAULT_NEEDLE.to_vec(),
    };
    let finder = Finder::new(&needle);
    let job = Job {
        files: &loaded.files,
        finder: &finder,
        reader: req.reader,
        rotate: req.rotate,
    };
    let setup_start = Instant::now();
    let mut strategy = req.strategy.build(&StrategyConfig {
        workers: req.workers,
        queue_depth: req.queue_depth,
        batch: req.batch,
    })?;
    let setup = setup_start.elapsed();
    let start = Instant::now();
    let outcome = strategy.hunt(&job)?;
    let end = Instant::now();

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
        setup_s: setup.as_secs_f64(),
        elapsed_s: (end - start).as_secs_f64(),
        time_to_find_s: found.map(|f| f.at.saturating_duration_since(start).as_secs_f64()),
        stop_latency_s: found.map(|f| end.saturating_duration_since(f.at).as_secs_f64()),
        files_after_find: tally.files_after_find,
        errors,
        error_messages,
        worker_failures: outcome.worker_failures.clone(),
        queue: outcome.queue,
    })
}

impl SearchReport {
    /// 0 found, 1 not found with every file read, 2 when the answer is unknown.
    pub fn exit_code(&self) -> ExitCode {
        if self.found.is_some() {
            ExitCode::Found
        } else if self.errors > 0 || !self.worker_failures.is_empty() {
            ExitCode::Error
        } else {
            ExitCode::NotFound
        }
    }

    /// Lines for stderr: failed files and workers, and what they mean for the answer.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .error_messages
            .iter()
            .map(|m| format!("warning: {m}"))
            .collect();
        lines.extend(self.worker_failures.iter().map(|m| format!("error: {m}")));
        let shown = self.error_messages.len() as u64;
        if self.errors > shown {
            lines.push(format!(
                "warning: ... and {} more files could not be read",
                self.errors - shown
            ));
        }
        if self.manifest_disagrees {
            let said = self
                .manifest_treasure_index
                .map(crate::dataset::manifest::file_name)
                .unwrap_or_default();
            lines.push(match &self.found {
                Some(p) => format!(
                    "warning: the manifest says the treasure is in {said}, but it was found in {}: the data set changed after `hunt generate`",
                    p.display()
                ),
                None => format!(
                    "warning: the manifest says the treasure is in {said}, but no file holds {:?}: the data set changed after `hunt generate`",
                    self.needle
                ),
            });
        }
        let trouble = self.errors > 0 || !self.worker_failures.is_empty();
        if trouble && self.found.is_some() {
            lines.push("warning: some files were not searched, but the treasure was found".into());
        } else if trouble {
            lines.push(format!(
                "error: the needle was not in any file that could be read, but {} file(s) and {} worker(s) failed, so it may be there: fix them and search again",
                self.errors,
                self.worker_failures.len()
            ));
        }
        lines
    }

    /// The one human line.
    pub fn human_line(&self) -> String {
        let how = format!(
            "{} x{} ({} reader) in {}: {} of {} files, {} scanned",
            self.strategy,
            self.workers,
            self.reader.name(),
            human_duration(Duration::from_secs_f64(self.elapsed_s)),
            self.files_scanned,
            self.files_total,
            human_bytes(self.bytes_scanned)
        );
        match (&self.found, self.index) {
            (Some(path), Some(index)) => {
                format!("found {} (index {index}) with {how}", path.display())
            }
            _ if self.exit_code() == ExitCode::Error => format!(
                "unknown: {:?} is in no file that could be read, but some could not; {how}",
                self.needle
            ),
            _ => format!("not found: no file holds {:?}; {how}", self.needle),
        }
    }
}

fn lossy_path<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn lossy_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => lossy_path(p, s),
        None => s.serialize_none(),
    }
}

/// `1.5 MB`, decimal units.
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        x if x >= 1e9 => format!("{:.2} GB", x / 1e9),
        x if x >= 1e6 => format!("{:.1} MB", x / 1e6),
        x if x >= 1e3 => format!("{:.1} kB", x / 1e3),
        x => format!("{x} B"),
    }
}

/// `12.3 ms`, `1.25 s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} us", s * 1e6)
    }
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
) -> Result<crate::strategy::Outcome> {
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
) -> Result<crate::strategy::Outcome> {
    strategy.check_reader(reader)?;
    let finder = Finder::new(needle);
    let job = Job {
        files,
        finder: &finder,
        reader,
        rotate,
    };
    strategy.build(config)?.hunt(&job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(150_000_000), "150.0 MB");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000_000), "1.50 GB");
        assert_eq!(human_duration(Duration::from_millis(12)), "12.0 ms");
        assert_eq!(human_duration(Duration::from_millis(1250)), "1.25 s");
        assert_eq!(human_duration(Duration::from_micros(5)), "5 us");
    }
}
