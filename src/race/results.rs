//! What a race measured: every run ([`Sample`]), each contender's statistics
//! ([`ContenderResult`]) and the whole race ([`RaceResults`]), recomputed from the runs
//! after every round.

use super::plan::{Contender, BASELINE};
use super::stats::{self, Ratio, Summary};
use super::{CacheMode, RaceOptions};
use crate::dataset::manifest::Manifest;
use crate::scan::Reader;
use crate::strategy::StrategyKind;
use serde::Serialize;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// A run counts towards the noise warning when it read at least this share of the data
/// set's bytes.
pub const NOISE_MIN_SHARE: f64 = 0.1;

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
    /// With `--fault`: the faulted runs' answers, right, unknown, wrong and hung.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<super::faults::Outcomes>,
    /// With `--fault`: the faulted runs against the plain ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::faults::FaultResult>,
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
    /// With `--fault`: the fault and the deadline of a faulted run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::faults::FaultInfo>,
}

/// What the race knows about one contender while it runs.
pub(super) struct Track {
    pub(super) contender: Contender,
    pub(super) samples: Vec<Sample>,
    pub(super) failed: Option<String>,
    /// Its faulted runs (`--fault`).
    pub(super) faulted: Vec<super::faults::FaultSample>,
}

/// The statistics of everything measured so far.
pub(super) fn summarize(
    opts: &RaceOptions,
    manifest: &Manifest,
    tracks: &[Track],
    rounds_done: u64,
) -> RaceResults {
    let baseline = tracks.iter().find(|t| t.contender.strategy == BASELINE);
    let contenders = tracks
        .iter()
        .map(|t| {
            let mut r = contender_result(t, baseline, manifest.total_bytes);
            if let Some(kind) = opts.fault {
                let pause = super::faults::pause_for(t.contender.strategy, &opts.knobs);
                let f = super::faults::result(
                    kind,
                    t.contender.strategy,
                    pause,
                    &t.faulted,
                    &t.samples,
                );
                r.outcomes = Some(super::faults::Outcomes::of(&f.samples));
                r.fault = Some(f);
            }
            r
        })
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
        fault: opts.fault.map(|kind| super::faults::FaultInfo {
            kind,
            deadline_s: super::faults::deadline(&opts.strategies, &opts.knobs).as_secs_f64(),
        }),
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
        outcomes: None,
        fault: None,
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
            faulted: Vec::new(),
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
