//! What the benchmarks share: the data set (generated once, reused while it checks
//! out), the mode (`cargo bench` or criterion's test mode under `cargo test`), the
//! criterion settings, and the answer checks. Included by `hunt.rs` and `floor.rs`.
#![allow(dead_code)] // each bench uses a different subset

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use hunt::dataset::generate;
use hunt::dataset::manifest::{Manifest, MANIFEST_NAME};
use hunt::fileset::{self, FileSet};
use hunt::scan::{Job, Reader};
use hunt::strategy::{Outcome, Strategy, StrategyConfig, StrategyKind};
use memchr::memmem::Finder;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Seed of the treasure's file and line: the same data set on every run and machine.
pub const SEED: u64 = 20_240_601;
/// A needle in no file (and in no manifest field), for the full scan.
pub const ABSENT_NEEDLE: &[u8] = b"Doubloon";
/// The data set in criterion's test mode: small, so `cargo test --all-targets` is quick.
const TEST_FILES: u64 = 64;
const TEST_LINES: u64 = 10;

/// How this run was asked for, and its data set.
pub struct Setup {
    /// `cargo bench` (not criterion's test mode).
    pub bench_mode: bool,
    /// `HUNT_BENCH_QUICK=1`.
    pub quick: bool,
    /// The data set's folder.
    pub dir: PathBuf,
    /// Its files.
    pub files: FileSet,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Setup {
    /// Reads the mode and the knobs, and makes (or reuses) the data set.
    pub fn new() -> Setup {
        // `cargo bench` passes `--bench`; `cargo test` does not, and criterion then runs
        // every benchmark once. `--bench --test` is criterion's test mode too, and
        // `--list` runs nothing: neither needs the full-sized data set.
        let args: Vec<String> = std::env::args().collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let bench_mode = has("--bench") && !has("--test") && !has("--list");
        let (files, lines) = if bench_mode {
            (
                env_u64("HUNT_BENCH_FILES").unwrap_or(generate::DEFAULT_FILES),
                env_u64("HUNT_BENCH_LINES").unwrap_or(generate::DEFAULT_LINES),
            )
        } else {
            (TEST_FILES, TEST_LINES)
        };
        let dir = data_dir(files, lines);
        let (loaded, manifest) = ensure_data(&dir, files, lines);
        Setup {
            bench_mode,
            quick: env_flag("HUNT_BENCH_QUICK"),
            dir,
            files: loaded,
            manifest,
        }
    }

    /// Criterion with 10 flat samples over at least 2 s after a 0.5 s warm-up (0.5 s
    /// after 0.2 s when quick); criterion's own flags still override these.
    pub fn criterion(&self) -> Criterion {
        let (warm_up, measure) = if self.quick {
            (Duration::from_millis(200), Duration::from_millis(500))
        } else {
            (Duration::from_millis(500), Duration::from_secs(2))
        };
        Criterion::default()
            .sample_size(10)
            .warm_up_time(warm_up)
            .measurement_time(measure)
            .configure_from_args()
    }
}

/// A group of `bytes` per iteration. Hunts take milliseconds to a few hundred: flat
/// sampling keeps 10 samples affordable.
pub fn flat_group(c: &mut Criterion, name: String, bytes: u64) -> BenchmarkGroup<'_, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(bytes));
    group
}

/// Builds `kind` with `workers`; `None`, with a note, when this machine cannot run it.
pub fn build(kind: StrategyKind, workers: usize) -> Option<Box<dyn Strategy>> {
    let config = StrategyConfig::new(NonZeroUsize::new(workers).unwrap_or(NonZeroUsize::MIN));
    match kind.build(&config) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("hunt bench: skipping {kind} x{workers}: it cannot be built here: {e:#}");
            None
        }
    }
}

/// Panics unless the hunt gave the expected answer with every file read.
pub fn check(outcome: &Outcome, expect: Option<u64>, label: &str) {
    let found = outcome.found().map(|f| f.index);
    assert_eq!(found, expect, "{label}: wrong answer");
    assert!(
        outcome.errors().is_empty() && outcome.worker_failures.is_empty(),
        "{label}: {} files and {} workers failed: {:?} {:?}",
        outcome.errors().len(),
        outcome.worker_failures.len(),
        outcome.errors().first(),
        outcome.worker_failures.first()
    );
}

/// The sequential hunt for `needle` with `rotate`: the answer every benchmark must match.
pub fn probe(files: &FileSet, needle: &[u8], rotate: u64, reader: Reader, what: &str) -> Outcome {
    let finder = Finder::new(needle);
    let job = Job {
        files,
        finder: &finder,
        reader,
        rotate,
        trace: None,
    };
    let mut seq = build(StrategyKind::Sequential, 1)
        .unwrap_or_else(|| fail("the sequential strategy cannot be built"));
    seq.hunt(&job)
        .unwrap_or_else(|e| fail(&format!("sequential probe of {what} failed: {e:#}")))
}

/// `$CARGO_TARGET_DIR/hunt-bench-data/<files>x<lines>-seed<seed>`, or under
/// `$HUNT_BENCH_DATA` when set (a tmpfs such as /dev/shm, say, to take the disk out of
/// the `floor-write` group: tmpfs files live in the page cache and are never written
/// back).
pub fn data_dir(files: u64, lines: u64) -> PathBuf {
    if let Some(root) = std::env::var_os("HUNT_BENCH_DATA").filter(|r| !r.is_empty()) {
        return PathBuf::from(root).join(format!("{files}x{lines}-seed{SEED}"));
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        // Relative to where cargo was started, which is the package root for benches.
        Some(t) if !t.is_empty() => PathBuf::from(t),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    target
        .join("hunt-bench-data")
        .join(format!("{files}x{lines}-seed{SEED}"))
}

/// Reuses the data set in `dir` when its manifest matches and its treasure is where the
/// manifest says; generates it otherwise.
pub fn ensure_data(dir: &Path, files: u64, lines: u64) -> (FileSet, Manifest) {
    let matches =
        |m: &Manifest| m.files == files && m.lines == lines && m.seed == SEED && m.preset.is_none();
    if let Ok(text) = std::fs::read_to_string(dir.join(MANIFEST_NAME)) {
        if let Ok(m) = Manifest::parse(&text, dir) {
            if matches(&m) {
                let loaded = load(dir);
                // The treasure at position 0, and a full scan that every file must pass:
                // a missing, changed or unreadable file means regenerating.
                let found = probe(
                    &loaded,
                    m.needle.as_bytes(),
                    m.treasure_index,
                    Reader::Read,
                    "the reuse check",
                );
                let scan = probe(&loaded, ABSENT_NEEDLE, 0, Reader::Read, "the reuse check");
                if found.found().map(|f| f.index) == Some(m.treasure_index)
                    && scan.found().is_none()
                    && scan.errors().is_empty()
                    && scan.tally.files_scanned == m.files
                {
                    return (loaded, m);
                }
            }
        }
    }
    let started = Instant::now();
    let mut spec = generate::spec(
        dir.to_path_buf(),
        Some(files),
        Some(lines),
        Some(SEED),
        None,
        None,
        true,
    )
    .unwrap_or_else(|e| fail(&format!("bad data set size: {e:#}")));
    spec.progress = false;
    let done = generate::generate(&spec).unwrap_or_else(|e| {
        fail(&format!(
            "cannot generate the bench data set in {}: {e:#}",
            dir.display()
        ))
    });
    eprintln!(
        "hunt bench: generated {files} files x {lines} lines in {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    (load(dir), done.manifest)
}

pub fn load(dir: &Path) -> FileSet {
    fileset::load(dir, false)
        .unwrap_or_else(|e| fail(&format!("cannot open the bench data set: {e:#}")))
        .files
}

/// `HUNT_BENCH_WORKERS=1,2,8`, checked as `hunt race --workers` checks its list; without
/// it, the race's default counts (`hunt::settings::worker_counts`), so both sweep alike.
pub fn worker_counts() -> Vec<usize> {
    let list: Option<Vec<u64>> = std::env::var("HUNT_BENCH_WORKERS").ok().map(|list| {
        list.split(',')
            .map(|s| {
                s.trim().parse::<u64>().unwrap_or_else(|_| {
                    fail(&format!(
                        "HUNT_BENCH_WORKERS={list:?}: give worker counts separated by commas, e.g. 1,2,4"
                    ))
                })
            })
            .collect()
    });
    match hunt::settings::worker_counts(list.as_deref()) {
        Ok(counts) => counts.into_iter().map(NonZeroUsize::get).collect(),
        Err(e) => fail(&format!("HUNT_BENCH_WORKERS: {e}")),
    }
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => fail(&format!("{name}={v:?} is not a positive whole number")),
    }
}

/// Bad settings: one line naming the fix, exit 2, like the hunt binary.
pub fn fail(message: &str) -> ! {
    eprintln!("hunt bench: {message}");
    std::process::exit(2)
}
