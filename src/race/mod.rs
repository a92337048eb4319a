//! `hunt race`: every strategy at every worker count, run as a user runs them, round
//! after round, with statistics a reader can believe.
//!
//! How a race goes:
//! - *Contenders* are the strategies times the worker counts. Each strategy is built
//!   once per worker count and asked how many workers it really uses
//!   ([`crate::strategy::Strategy::workers`]), so a strategy that always has one
//!   (`sequential`) runs once, at 1, without its name being special-cased.
//! - A *round* runs every contender once, in an order shuffled per round, so drift on a
//!   noisy machine (a compile next door, thermal throttling) hits all of them alike.
//!   `--warmup` untimed rounds come first.
//! - The treasure's place in the search order is drawn afresh each round, uniformly
//!   over the search positions, and is the same for every contender in that round: the
//!   child gets `--rotate` so that the manifest's treasure file lands at that position.
//!   A fixed place would favour one strategy (at the start of worker 2's range, say).
//! - `--full-scan` hunts instead for a word no data file holds ([`full_scan_needle`]),
//!   so every run reads the whole set: throughput and scaling without the position
//!   effect. The right answer is then "not found" (exit 1) with every file read.
//! - Each run is a fresh `hunt search` process ([`runner`]). A run that fails (exit 2,
//!   a bad report, a wrong answer) marks its contender failed with the message; the race
//!   goes on without it.
//! - After every timed round the exports are rewritten with all results so far (not
//!   after each contender: rounds interleave the contenders), so a late failure or a
//!   Ctrl-C loses nothing already measured.
//! - Ctrl-C ([`crate::interrupt`]) is looked at between runs and while a child runs
//!   ([`runner::run`] kills and reaps it); the race then returns
//!   [`crate::interrupt::Interrupted`] (exit 130) with the exports of the rounds done.
//!
//! Because the treasure moves, a contender's times spread widely by design. The noise
//! warning therefore judges the hunt time *per byte scanned*, which the treasure's place
//! hardly changes, with the rule in [`stats::noise`] (σ/mean over 0.2, or the slowest
//! over twice the median). Only runs that read at least a tenth of the data set
//! ([`NOISE_MIN_SHARE`]) count: in a run that stops after a few files, fixed costs
//! (starting threads, forking) dominate the time per byte, and that is not noise.
//!
//! For the same reason a speedup is *paired* ([`stats::paired_speedup`]): the ratio of
//! mean times over the rounds both contenders ran, so the position effect, shared by
//! both, cancels out of the ratio and out of its standard error.

pub mod runner;
pub mod stats;

use crate::cli::CacheMode;
use crate::dataset::manifest::{self, Manifest};
use crate::scan::Reader;
use crate::strategy::{StrategyKind, MAX_WORKERS};
use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use stats::{Ratio, Summary};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// A run counts towards the noise warning when it read at least this share of the data
/// set's bytes.
pub const NOISE_MIN_SHARE: f64 = 0.1;

/// The strategy every speedup is measured against.
pub const BASELINE: StrategyKind = StrategyKind::Sequential;

/// A checked race request.
#[derive(Clone, Debug)]
pub struct RaceOptions {
    /// The data set (it has a manifest).
    pub dir: PathBuf,
    /// Strategies, in table order, no duplicates.
    pub strategies: Vec<StrategyKind>,
    /// Worker counts, ascending, no duplicates.
    pub workers: Vec<NonZeroUsize>,
    /// The reader every run uses.
    pub reader: Reader,
    /// Timed rounds (at least 1).
    pub runs: u64,
    /// Untimed rounds first.
    pub warmup: u64,
    /// Page cache policy.
    pub cache: CacheMode,
    /// `--full-scan`: the needle every run looks for, one no data file holds
    /// ([`full_scan_needle`]); `None` hunts for the manifest's treasure.
    pub full_scan: Option<String>,
    /// Seed of the order and the treasure's places.
    pub seed: u64,
}

/// Words a full scan may look for, in order of preference: pirate loot that is not the
/// generator's treasure.
const FULL_SCAN_NEEDLES: [&str; 3] = ["Doubloon", "Pieces of eight", "Kraken"];

/// The needle of `--full-scan`: one that no file of the data set can hold, so every run
/// reads every file. Data files hold only the generator's plain line and the manifest's
/// needle on a line of its own; a needle without a line break that is in neither line
/// cannot be in any file.
pub fn full_scan_needle(manifest: &Manifest) -> Result<String> {
    let plain = String::from_utf8_lossy(crate::dataset::generate::PLAIN_LINE);
    let lines = [
        plain.as_ref(),
        &format!("{}\n", manifest.needle),
        &format!("{}\n", crate::dataset::generate::DEFAULT_NEEDLE),
    ];
    FULL_SCAN_NEEDLES
        .iter()
        .find(|n| !n.contains('\n') && lines.iter().all(|l| !l.contains(*n)))
        .map(|n| n.to_string())
        .with_context(|| {
            format!(
                "--full-scan needs a word no file holds, but the manifest's needle {:?} contains each of {FULL_SCAN_NEEDLES:?}: make a new set with `hunt generate`",
                manifest.needle
            )
        })
}

/// The worker counts raced when the user names none: 1, 2, 4, ... up to twice `cores`
/// (and twice `cores` itself when that is not a power of two), at most [`MAX_WORKERS`].
pub fn default_workers(cores: usize) -> Vec<NonZeroUsize> {
    let top = cores.max(1).saturating_mul(2).min(MAX_WORKERS);
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |k| k.checked_mul(2))
        .take_while(|&k| k <= top)
        .collect();
    if v.last() != Some(&top) {
        v.push(top);
    }
    v.into_iter().filter_map(NonZeroUsize::new).collect()
}

/// Checks `--workers` values: each 1 to [`MAX_WORKERS`]; sorted, duplicates dropped.
pub fn check_workers(values: &[u64]) -> Result<Vec<NonZeroUsize>> {
    let mut v = Vec::with_capacity(values.len());
    for &k in values {
        if !(1..=MAX_WORKERS as u64).contains(&k) {
            bail!("--workers {k} is out of range: each worker count must be between 1 and {MAX_WORKERS}");
        }
        v.extend(NonZeroUsize::new(k as usize));
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// Reads the manifest of the data set in `dir`; the error names `hunt generate --dir`.
pub fn load_manifest(dir: &Path) -> Result<Manifest> {
    let shown = dir.display();
    if !dir.is_dir() {
        if dir.exists() {
            bail!("{shown} is not a folder: pass a data set folder with --dir");
        }
        bail!("{shown} does not exist: make a data set there with `hunt generate --dir {shown}`, or pass another --dir");
    }
    let path = dir.join(manifest::MANIFEST_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Manifest::parse(&text, dir)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join(manifest::PARTIAL_NAME).exists() {
                bail!("the data set in {shown} is incomplete (an interrupted `hunt generate`): run `hunt generate --force --dir {shown}`");
            }
            bail!("{shown} holds no hunt data set (no {}), and a race needs one to check answers: run `hunt generate --dir {shown}`", manifest::MANIFEST_NAME)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// One strategy at one worker count.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Contender {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The workers it really uses.
    pub workers: usize,
}

impl std::fmt::Display for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x{}", self.strategy, self.workers)
    }
}

/// The contenders of a race: each strategy at each worker count it really uses
/// ([`StrategyKind::workers_for`]), in strategy order, then by workers. Nothing is built
/// here: a strategy that cannot be built on this machine fails in its runs, with the reason.
pub fn contenders(strategies: &[StrategyKind], workers: &[NonZeroUsize]) -> Vec<Contender> {
    let mut out: Vec<Contender> = Vec::new();
    for &strategy in strategies {
        let mut counts: Vec<usize> = workers.iter().map(|&w| strategy.workers_for(w)).collect();
        counts.sort_unstable();
        counts.dedup();
        out.extend(
            counts
                .into_iter()
                .map(|workers| Contender { strategy, workers }),
        );
    }
    out
}

/// The rotation that puts the file `treasure` at search position `position` of `files`
/// (search position `p` visits file `(p + rotate) % files`).
pub fn rotate_for(treasure: u64, position: u64, files: u64) -> u64 {
    let n = u128::from(files.max(1));
    ((u128::from(treasure) + n - u128::from(position) % n) % n) as u64
}

/// One timed run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// Timed round, from 1.
    pub round: u64,
    /// The treasure's search position in that round (with `--full-scan` nothing is
    /// found, and the rotation only changes where each worker starts).
    pub position: u64,
    /// The `--rotate` the child got.
    pub rotate: u64,
    /// The hunt's own time (the child's `elapsed_s`).
    pub hunt_s: f64,
    /// Whole-process wall time, spawn to reaped.
    pub wall_s: f64,
    /// Building the strategy, before the hunt (the child's `setup_s`).
    pub setup_s: f64,
    /// From the hunt's start to the find.
    pub time_to_find_s: Option<f64>,
    /// From the find until every worker had stopped.
    pub stop_latency_s: Option<f64>,
    /// Files read.
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Files finished or cut short after the find.
    pub files_after_find: u64,
    /// Peak resident memory of the largest process in the child's tree, KiB.
    pub peak_rss_kib: u64,
}

/// Everything measured for one contender so far, and the statistics of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContenderResult {
    /// Strategy name.
    pub strategy: StrategyKind,
    /// Workers it used.
    pub workers: usize,
    /// Timed runs that succeeded.
    pub runs: usize,
    /// Why the contender dropped out, if it did.
    pub failed: Option<String>,
    /// The hunt's own time, seconds.
    pub hunt: Option<Summary>,
    /// Whole-process wall time, seconds.
    pub wall: Option<Summary>,
    /// Speedup of the hunt time against the baseline: the ratio of mean times over the
    /// rounds both ran, with its standard error ([`stats::paired_speedup`]).
    pub speedup: Option<Ratio>,
    /// The same for whole-process wall time.
    pub wall_speedup: Option<Ratio>,
    /// `speedup / workers`.
    pub efficiency: Option<f64>,
    /// Mean files read per run.
    pub files_scanned: Option<f64>,
    /// Mean files read after the find per run.
    pub files_after_find: Option<f64>,
    /// Mean seconds from the find until every worker had stopped.
    pub stop_latency_s: Option<f64>,
    /// Largest peak resident memory of any run, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Why the runs look noisy, if they do.
    pub noise: Option<String>,
    /// Every timed run.
    pub samples: Vec<Sample>,
}

impl ContenderResult {
    /// `rayon x2`.
    pub fn label(&self) -> String {
        format!("{} x{}", self.strategy, self.workers)
    }
}

/// A whole race: its settings and every contender's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaceResults {
    /// The program that raced.
    pub hunt_version: String,
    /// The data set.
    pub dir: PathBuf,
    /// Files in it.
    pub files: u64,
    /// Bytes in it.
    pub total_bytes: u64,
    /// The reader.
    pub reader: Reader,
    /// Page cache policy.
    pub cache: CacheMode,
    /// `--full-scan`: every run looked for a needle no file holds and read the whole set.
    pub full_scan: bool,
    /// What every run looked for: the manifest's needle, or the full scan's.
    pub needle: String,
    /// Timed rounds asked for.
    pub runs: u64,
    /// Untimed rounds before them.
    pub warmup: u64,
    /// Timed rounds finished so far.
    pub rounds_done: u64,
    /// Seed of the order and the treasure's places.
    pub seed: u64,
    /// Cores available to the race.
    pub cores: usize,
    /// The strategy speedups are measured against, when it raced.
    pub baseline: Option<StrategyKind>,
    /// One entry per contender, in table order.
    pub contenders: Vec<ContenderResult>,
}

/// What a race is told while it runs. `hunt race` draws a progress bar and prints notes
/// on stderr; tests can ignore both.
pub trait Observer {
    /// A line for the user (a note or a warning).
    fn note(&mut self, line: &str);
    /// The race is about to start `total` runs.
    fn start(&mut self, total: u64);
    /// One run of `contender` finished (or was skipped because it had failed).
    fn ran(&mut self, contender: &Contender);
    /// A timed round finished; `results` holds everything so far. An error stops the race.
    fn round_done(&mut self, results: &RaceResults) -> Result<()>;
}

/// What the race knows about one contender while it runs.
struct Track {
    contender: Contender,
    samples: Vec<Sample>,
    failed: Option<String>,
}

/// Runs a race on the data set `manifest` describes, with `exe` as the `hunt` binary.
pub fn run(
    opts: &RaceOptions,
    manifest: &Manifest,
    exe: &Path,
    observer: &mut dyn Observer,
) -> Result<RaceResults> {
    let mut tracks: Vec<Track> = contenders(&opts.strategies, &opts.workers)
        .into_iter()
        .map(|contender| Track {
            contender,
            samples: Vec::new(),
            failed: None,
        })
        .collect();
    if opts.cache == CacheMode::Cold {
        observer.note(
            "note: --cache cold evicts every data file from the page cache before each run (posix_fadvise DONTNEED); directory entries and inodes stay cached, so opening a file is still cheap",
        );
        if runner::on_tmpfs(&opts.dir) {
            observer.note(&format!(
                "warning: {} is on tmpfs, whose files live in memory and cannot be evicted: --cache cold is the same as warm there",
                opts.dir.display()
            ));
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(opts.seed);
    let n = manifest.files;
    let total_rounds = opts.warmup + opts.runs;
    observer.start(total_rounds * tracks.len() as u64);
    let mut results = summarize(opts, manifest, &tracks, 0);
    let mut synced = false;
    let expect = match opts.full_scan {
        Some(_) => runner::Expect::FullScan { files: n },
        None => runner::Expect::Treasure(manifest.treasure_index),
    };
    for round in 0..total_rounds {
        let position = rng.gen_range(0..n);
        let rotate = rotate_for(manifest.treasure_index, position, n);
        // The whole list is shuffled even when some have failed, so the draws (and the
        // treasure's places) do not depend on failures.
        let mut order: Vec<usize> = (0..tracks.len()).collect();
        order.shuffle(&mut rng);
        for i in order {
            let track = &mut tracks[i];
            // Ctrl-C: stop between runs; the exports keep the rounds already done.
            crate::interrupt::check()?;
            if track.failed.is_none() {
                if opts.cache == CacheMode::Cold {
                    runner::evict(&opts.dir, n, !synced).map_err(anyhow::Error::msg)?;
                    synced = true;
                }
                let spec = runner::RunSpec {
                    dir: &opts.dir,
                    strategy: track.contender.strategy,
                    workers: track.contender.workers,
                    reader: opts.reader,
                    rotate,
                    needle: opts.full_scan.as_deref(),
                };
                let run = runner::run(exe, &spec, expect);
                // A run cut short by Ctrl-C (the child killed by us, or by the same
                // signal from the terminal) is not the contender's failure.
                crate::interrupt::check()?;
                match run {
                    Err(e) => {
                        let when = if round < opts.warmup {
                            format!("warm-up round {}", round + 1)
                        } else {
                            format!("round {}", round - opts.warmup + 1)
                        };
                        observer.note(&format!("error: {} failed in {when}: {e}", track.contender));
                        track.failed = Some(format!("{when}: {e}"));
                    }
                    Ok(m) if m.report.workers != track.contender.workers => {
                        let e = format!(
                            "asked for {} workers, hunt search used {}",
                            track.contender.workers, m.report.workers
                        );
                        observer.note(&format!("error: {} failed: {e}", track.contender));
                        track.failed = Some(e);
                    }
                    Ok(m) if round >= opts.warmup => {
                        let r = &m.report;
                        track.samples.push(Sample {
                            round: round - opts.warmup + 1,
                            position,
                            rotate,
                            hunt_s: r.elapsed_s,
                            wall_s: m.wall_s,
                            setup_s: r.setup_s,
                            time_to_find_s: r.time_to_find_s,
                            stop_latency_s: r.stop_latency_s,
                            files_scanned: r.files_scanned,
                            bytes_scanned: r.bytes_scanned,
                            files_after_find: r.files_after_find,
                            peak_rss_kib: m.peak_rss_kib,
                        });
                    }
                    Ok(_) => {} // a warm-up run: checked, not kept
                }
            }
            observer.ran(&track.contender);
        }
        if round >= opts.warmup {
            results = summarize(opts, manifest, &tracks, round - opts.warmup + 1);
            observer.round_done(&results)?;
        }
    }
    Ok(results)
}

/// The statistics of everything measured so far.
fn summarize(
    opts: &RaceOptions,
    manifest: &Manifest,
    tracks: &[Track],
    rounds_done: u64,
) -> RaceResults {
    let baseline = tracks.iter().find(|t| t.contender.strategy == BASELINE);
    let contenders = tracks
        .iter()
        .map(|t| contender_result(t, baseline, manifest.total_bytes))
        .collect();
    RaceResults {
        hunt_version: env!("CARGO_PKG_VERSION").to_string(),
        dir: opts.dir.clone(),
        files: manifest.files,
        total_bytes: manifest.total_bytes,
        reader: opts.reader,
        cache: opts.cache,
        full_scan: opts.full_scan.is_some(),
        needle: opts
            .full_scan
            .clone()
            .unwrap_or_else(|| manifest.needle.clone()),
        runs: opts.runs,
        warmup: opts.warmup,
        rounds_done,
        seed: opts.seed,
        cores: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        baseline: baseline.map(|b| b.contender.strategy),
        contenders,
    }
}

fn contender_result(t: &Track, baseline: Option<&Track>, total_bytes: u64) -> ContenderResult {
    let s = &t.samples;
    let pick = |f: fn(&Sample) -> f64| s.iter().map(f).collect::<Vec<f64>>();
    let hunt = stats::summarize(&pick(|x| x.hunt_s));
    let wall = stats::summarize(&pick(|x| x.wall_s));
    let (speedup, wall_speedup) = match baseline {
        // Against itself: exactly 1, not 1 ± the spread counted twice.
        Some(b) if b.contender == t.contender && !s.is_empty() => {
            (Some(Ratio::ONE), Some(Ratio::ONE))
        }
        Some(b) => paired_speedups(&b.samples, s),
        None => (None, None),
    };
    let latencies: Vec<f64> = s.iter().filter_map(|x| x.stop_latency_s).collect();
    let per_byte: Vec<f64> = s
        .iter()
        .filter(|x| {
            x.bytes_scanned > 0 && x.bytes_scanned as f64 >= NOISE_MIN_SHARE * total_bytes as f64
        })
        .map(|x| x.hunt_s / x.bytes_scanned as f64)
        .collect();
    let noise = stats::summarize(&per_byte)
        .and_then(|p| stats::noise(&p))
        .map(|why| format!("hunt time per byte scanned: {why}"));
    ContenderResult {
        strategy: t.contender.strategy,
        workers: t.contender.workers,
        runs: s.len(),
        failed: t.failed.clone(),
        hunt,
        wall,
        speedup,
        wall_speedup,
        efficiency: speedup.map(|r| stats::efficiency(r.value, t.contender.workers)),
        files_scanned: stats::mean(&pick(|x| x.files_scanned as f64)),
        files_after_find: stats::mean(&pick(|x| x.files_after_find as f64)),
        stop_latency_s: stats::mean(&latencies),
        peak_rss_kib: s.iter().map(|x| x.peak_rss_kib).max(),
        noise,
        samples: s.clone(),
    }
}

/// Speedups of `contender` against `baseline` (hunt time, wall time), using only the
/// rounds both finished, so both saw the same treasure places.
fn paired_speedups(baseline: &[Sample], contender: &[Sample]) -> (Option<Ratio>, Option<Ratio>) {
    let mut b_hunt = Vec::new();
    let mut b_wall = Vec::new();
    let mut c_hunt = Vec::new();
    let mut c_wall = Vec::new();
    for c in contender {
        if let Some(b) = baseline.iter().find(|b| b.round == c.round) {
            b_hunt.push(b.hunt_s);
            b_wall.push(b.wall_s);
            c_hunt.push(c.hunt_s);
            c_wall.push(c.wall_s);
        }
    }
    (
        stats::paired_speedup(&b_hunt, &c_hunt),
        stats::paired_speedup(&b_wall, &c_wall),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(v: &[usize]) -> Vec<NonZeroUsize> {
        v.iter().map(|&k| NonZeroUsize::new(k).unwrap()).collect()
    }

    #[test]
    fn default_worker_counts() {
        assert_eq!(default_workers(1), nz(&[1, 2]));
        assert_eq!(default_workers(2), nz(&[1, 2, 4]));
        assert_eq!(default_workers(3), nz(&[1, 2, 4, 6]));
        assert_eq!(default_workers(8), nz(&[1, 2, 4, 8, 16]));
        assert_eq!(
            *default_workers(4096).last().unwrap(),
            NonZeroUsize::new(MAX_WORKERS).unwrap()
        );
    }

    #[test]
    fn worker_flags_are_checked() {
        assert_eq!(check_workers(&[4, 1, 2, 4]).unwrap(), nz(&[1, 2, 4]));
        let e = check_workers(&[1, 0]).unwrap_err().to_string();
        assert!(e.contains("--workers 0 is out of range"), "{e}");
        assert!(check_workers(&[1025]).is_err());
        assert!(check_workers(&[1024]).is_ok());
    }

    #[test]
    fn single_worker_strategies_run_once() {
        let c = contenders(
            &[StrategyKind::Sequential, StrategyKind::Threads],
            &nz(&[1, 2, 4]),
        );
        let labels: Vec<String> = c.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            labels,
            ["sequential x1", "threads x1", "threads x2", "threads x4"]
        );
    }

    #[test]
    fn rotation_puts_the_treasure_at_the_drawn_position() {
        for (files, treasure) in [(1u64, 0u64), (10, 0), (10, 7), (10_000, 4321)] {
            for position in 0..files.min(50) {
                let rotate = rotate_for(treasure, position, files);
                assert!(rotate < files);
                // Search position p visits file (p + rotate) % files.
                assert_eq!(
                    (position + rotate) % files,
                    treasure,
                    "files {files} position {position}"
                );
            }
        }
    }

    #[test]
    fn the_full_scan_needle_is_in_no_line_of_the_set() {
        let mut m = Manifest {
            format_version: 1,
            generator: "test".into(),
            files: 3,
            lines: 2,
            seed: 1,
            treasure_index: 0,
            treasure_file: "file_0.txt".into(),
            treasure_line: Some(0),
            needle: "Treasure".into(),
            total_bytes: 30,
            preset: None,
        };
        assert_eq!(full_scan_needle(&m).unwrap(), "Doubloon");
        // A set whose treasure line would hold the first choice gets the next one.
        m.needle = "Doubloons".into();
        assert_eq!(full_scan_needle(&m).unwrap(), "Pieces of eight");
        m.needle = "Doubloon, Pieces of eight, Kraken".into();
        let e = full_scan_needle(&m).unwrap_err().to_string();
        assert!(e.contains("--full-scan needs a word no file holds"), "{e}");
    }

    fn sample(round: u64, hunt_s: f64, wall_s: f64) -> Sample {
        Sample {
            round,
            position: 0,
            rotate: 0,
            hunt_s,
            wall_s,
            setup_s: 0.0,
            time_to_find_s: Some(hunt_s / 2.0),
            stop_latency_s: Some(0.001),
            files_scanned: 10,
            bytes_scanned: 1000,
            files_after_find: 1,
            peak_rss_kib: 2048,
        }
    }

    #[test]
    fn noise_ignores_runs_that_stopped_early() {
        let contender = Contender {
            strategy: StrategyKind::Fork,
            workers: 4,
        };
        // Four runs at 1 ns per byte over half the set, and one that found the treasure
        // after a few files, where forking made the time per byte 50 times higher.
        let mut samples: Vec<Sample> = (1..=4)
            .map(|r| Sample {
                bytes_scanned: 500_000,
                ..sample(r, 0.0005, 0.001)
            })
            .collect();
        samples.push(Sample {
            bytes_scanned: 1_000,
            ..sample(5, 0.00005, 0.001)
        });
        let mut track = Track {
            contender,
            samples,
            failed: None,
        };
        assert_eq!(contender_result(&track, None, 1_000_000).noise, None);
        // The same slow start in a run that read a fifth of the set is noise.
        track.samples[4].bytes_scanned = 200_000;
        track.samples[4].hunt_s = 0.01;
        let noise = contender_result(&track, None, 1_000_000).noise.unwrap();
        assert!(noise.starts_with("hunt time per byte scanned: "), "{noise}");
    }

    #[test]
    fn speedups_use_only_rounds_both_ran() {
        // The baseline failed after round 2; round 3 of the contender is not compared.
        // Round 2 put the treasure later: both took longer, both by the same factor.
        let base = [sample(1, 4.0, 5.0), sample(2, 6.0, 7.5)];
        let fast = [
            sample(1, 2.0, 2.5),
            sample(2, 3.0, 3.75),
            sample(3, 40.0, 50.0),
        ];
        let (hunt, wall) = paired_speedups(&base, &fast);
        assert_eq!(
            hunt,
            Some(Ratio {
                value: 2.0,
                se: Some(0.0)
            })
        );
        assert_eq!(
            wall,
            Some(Ratio {
                value: 2.0,
                se: Some(0.0)
            })
        );
        assert_eq!(paired_speedups(&[], &fast), (None, None));
    }
}
