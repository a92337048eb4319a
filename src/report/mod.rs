//! How race results leave the program: a text table for the terminal and exports in
//! JSON, CSV, Markdown (and, in [`crate::plot`], SVG). Every format is one
//! [`Exporter`], whose method is pure (results in, bytes out), so each can be tested on
//! fixed results; writing the bytes somewhere is done once, here.
//!
//! The table and the Markdown export share the cells built by [`rows`], so they always
//! agree; the terminal shows the [`COLUMNS`] marked for it, Markdown all of them. JSON
//! holds every run, CSV one row of raw numbers (seconds, KiB) per contender.

pub mod csv;
pub mod json;
pub mod markdown;
pub mod table;

use crate::race::stats::Ratio;
use crate::race::{ContenderResult, RaceResults};
use crate::search::human_bytes;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One output format.
pub trait Exporter {
    /// Renders `results` (possibly partial: a race in progress) to bytes.
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>>;
}

/// The formats `hunt race` can write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `--export-json`.
    Json,
    /// `--export-csv`.
    Csv,
    /// `--export-markdown`.
    Markdown,
    /// `--plot`.
    Svg,
}

impl Format {
    /// The flag that asks for this format, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--export-json",
            Format::Csv => "--export-csv",
            Format::Markdown => "--export-markdown",
            Format::Svg => "--plot",
        }
    }

    /// Its exporter.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(json::Json),
            Format::Csv => Box::new(csv::Csv),
            Format::Markdown => Box::new(markdown::Markdown),
            Format::Svg => Box::new(crate::plot::Svg),
        }
    }
}

/// Where an export goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// `-`: written once, at the end of the race.
    Stdout,
    /// A file, rewritten after every timed round.
    File(PathBuf),
}

/// One requested export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The format.
    pub format: Format,
    /// Where it goes.
    pub dest: Dest,
}

/// Checks the export flags before any run, so a typo costs nothing: at most one `-`,
/// no path twice, each file's folder exists, and an existing file is replaced only with
/// `force` (hunt never overwrites a file it did not write unless told to).
pub fn check_exports(requested: &[(Format, Option<PathBuf>)], force: bool) -> Result<Vec<Export>> {
    let mut out: Vec<Export> = Vec::new();
    for (format, path) in requested {
        let Some(path) = path else { continue };
        let flag = format.flag();
        let dest = if path.as_os_str() == "-" {
            if let Some(other) = out.iter().find(|e| e.dest == Dest::Stdout) {
                bail!(
                    "{flag} - and {} - both want stdout: send one of them to a file",
                    other.format.flag()
                );
            }
            Dest::Stdout
        } else {
            check_path(flag, path, force)?;
            if let Some(other) = out.iter().find(|e| e.dest == Dest::File(path.clone())) {
                bail!(
                    "{flag} and {} both name {}: give each its own file",
                    other.format.flag(),
                    path.display()
                );
            }
            Dest::File(path.clone())
        };
        out.push(Export {
            format: *format,
            dest,
        });
    }
    Ok(out)
}

fn check_path(flag: &str, path: &Path, force: bool) -> Result<()> {
    let shown = path.display();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        bail!(
            "{flag} {shown}: the folder {} does not exist; create it first or choose another path",
            parent.display()
        );
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => bail!("{flag} {shown} is a folder: name a file in it"),
        Ok(m) if m.is_file() && !force => {
            bail!(
                "{flag} {shown} already exists: pass --force to replace it, or choose another path"
            )
        }
        _ => Ok(()),
    }
}

/// Rewrites every file export with `results`; stdout exports wait for the end.
pub fn write_files(results: &RaceResults, exports: &[Export]) -> Result<()> {
    for e in exports {
        if let Dest::File(path) = &e.dest {
            let bytes = e.format.exporter().render(results)?;
            std::fs::write(path, bytes)
                .with_context(|| format!("cannot write {} {}", e.format.flag(), path.display()))?;
        }
    }
    Ok(())
}

/// One column of the results table.
#[derive(Copy, Clone, Debug)]
pub struct Column {
    /// Its title in the Markdown export.
    pub title: &'static str,
    /// Its title on the terminal, on two lines (the first often empty), so that the
    /// column is no wider than its numbers.
    pub head: [&'static str; 2],
    /// Holds numbers (right-aligned).
    pub numeric: bool,
    /// Shown on the terminal too; the Markdown export has every column.
    pub terminal: bool,
}

const fn col(
    title: &'static str,
    head: [&'static str; 2],
    numeric: bool,
    terminal: bool,
) -> Column {
    Column {
        title,
        head,
        numeric,
        terminal,
    }
}

/// The columns of [`rows`], in order. The terminal table keeps those that tell strategies
/// apart and fits in about 130 characters; the exports keep them all.
pub const COLUMNS: [Column; 17] = [
    col("strategy", ["", "strategy"], false, true),
    col("workers", ["", "workers"], true, true),
    col("runs", ["", "runs"], true, false),
    col("hunt median", ["hunt", "median"], true, true),
    col("hunt mean ± σ", ["hunt", "mean ± σ"], true, true),
    col("hunt min..max", ["hunt", "min..max"], true, true),
    col("wall median", ["wall", "median"], true, true),
    col("wall mean ± σ", ["wall", "mean ± σ"], true, false),
    col("wall min..max", ["wall", "min..max"], true, false),
    col("speedup ± se", ["speedup", "± se"], true, true),
    col("wall speedup ± se", ["wall speedup", "± se"], true, false),
    col("efficiency", ["", "efficiency"], true, true),
    col("files scanned", ["files", "scanned"], true, false),
    col("after find", ["after", "find"], true, true),
    col("stop latency", ["stop", "latency"], true, true),
    col("peak memory", ["peak", "memory"], true, true),
    col("note", ["", "note"], false, true),
];

/// What the two kinds of ± mean, for under every table.
pub fn legend(r: &RaceResults) -> [String; 2] {
    let why = if r.full_scan {
        ""
    } else {
        " (wide by design: the treasure moves each round)"
    };
    [
        format!("± after a time: the σ of its runs{why}."),
        "± after a speedup: the standard error of the paired ratio of mean times (sequential / contender over the same rounds).".to_string(),
    ]
}

/// The cells of the results table, one row per contender, for people.
pub fn rows(results: &RaceResults) -> Vec<[String; COLUMNS.len()]> {
    results
        .contenders
        .iter()
        .map(|c| row(c, results.baseline == Some(c.strategy)))
        .collect()
}

fn row(c: &ContenderResult, is_baseline: bool) -> [String; COLUMNS.len()] {
    let none = || "-".to_string();
    let speed = |r: Option<Ratio>| match r {
        _ if is_baseline => "baseline".to_string(),
        Some(r) => ratio(r),
        None => none(),
    };
    let note = match (&c.failed, &c.noise) {
        (Some(_), _) => "failed",
        (None, Some(_)) => "noisy",
        (None, None) => "",
    };
    [
        c.strategy.to_string(),
        c.workers.to_string(),
        c.runs.to_string(),
        c.hunt.map_or_else(none, |s| duration(s.median)),
        c.hunt.map_or_else(none, |s| mean_sigma(s.mean, s.stddev)),
        c.hunt.map_or_else(none, |s| range(s.min, s.max)),
        c.wall.map_or_else(none, |s| duration(s.median)),
        c.wall.map_or_else(none, |s| mean_sigma(s.mean, s.stddev)),
        c.wall.map_or_else(none, |s| range(s.min, s.max)),
        speed(c.speedup),
        speed(c.wall_speedup),
        c.efficiency
            .map_or_else(none, |e| format!("{:.0}%", e * 100.0)),
        c.files_scanned.map_or_else(none, |f| format!("{f:.0}")),
        c.files_after_find.map_or_else(none, |f| format!("{f:.1}")),
        c.stop_latency_s.map_or_else(none, duration),
        c.peak_rss_kib
            .map_or_else(none, |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        note.to_string(),
    ]
}

/// What was raced, on two lines, for the top of the table and the Markdown file: the
/// data and how it was read, then the rounds.
pub fn heading(r: &RaceResults) -> String {
    let cache = match r.cache {
        crate::cli::CacheMode::Warm => "warm",
        crate::cli::CacheMode::Cold => "cold",
    };
    let mode = if r.full_scan {
        format!(", full scan for {:?} (in no file)", r.needle)
    } else {
        String::new()
    };
    format!(
        "hunt race{mode}: {} files ({}) in {}, {} reader, {cache} page cache\n{} of {} timed rounds after {} warm-up, seed {}, {} cores",
        r.files,
        human_bytes(r.total_bytes),
        r.dir.display(),
        r.reader.name(),
        r.rounds_done,
        r.runs,
        r.warmup,
        r.seed,
        r.cores
    )
}

/// The hyperfine-like verdicts ("rayon x2 is 1.85 ± 0.04 times faster than
/// sequential"), fastest first, then the failures.
pub fn summary_lines(r: &RaceResults) -> Vec<String> {
    let mut lines = Vec::new();
    match r.baseline {
        None => lines.push(
            "no speedups: sequential was not in the race (add it to --strategies)".to_string(),
        ),
        Some(base) => {
            let mut ranked: Vec<(&ContenderResult, Ratio)> = r
                .contenders
                .iter()
                .filter(|c| c.strategy != base)
                .filter_map(|c| Some((c, c.speedup?)))
                .collect();
            ranked.sort_by(|a, b| b.1.value.total_cmp(&a.1.value));
            for (c, s) in ranked {
                let wall = c
                    .wall_speedup
                    .map(|w| format!(" (whole process: {})", verdict(w)))
                    .unwrap_or_default();
                lines.push(format!("{} is {} than {base}{wall}", c.label(), verdict(s)));
            }
        }
    }
    for c in &r.contenders {
        if let Some(why) = &c.failed {
            lines.push(format!("{} failed: {why}", c.label()));
        }
    }
    lines
}

/// `1.85 ± 0.04 times faster` or, below 1, `1.20 ± 0.05 times slower`.
fn verdict(s: Ratio) -> String {
    if s.value >= 1.0 {
        format!("{} times faster", ratio(s))
    } else {
        // By the delta method, se(1/R) = se(R) / R².
        let inv = Ratio {
            value: 1.0 / s.value,
            se: s.se.map(|se| se / (s.value * s.value)),
        };
        format!("{} times slower", ratio(inv))
    }
}

/// `1.85 ± 0.04`, or `1.85` when one round gave no standard error.
fn ratio(r: Ratio) -> String {
    match r.se {
        Some(se) => format!("{:.2} ± {:.2}", r.value, se),
        None => format!("{:.2}", r.value),
    }
}

/// The unit a duration of `secs` is shown in, and its size in seconds.
fn unit(secs: f64) -> (&'static str, f64) {
    if secs >= 1.0 {
        ("s", 1.0)
    } else if secs >= 1e-3 {
        ("ms", 1e-3)
    } else {
        ("us", 1e-6)
    }
}

/// Three significant digits, at most two decimals.
fn decimals(v: f64) -> usize {
    if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    }
}

/// `12.3 ms`.
pub fn duration(secs: f64) -> String {
    if secs == 0.0 {
        return "0 s".to_string();
    }
    let (u, size) = unit(secs);
    let v = secs / size;
    format!("{v:.*} {u}", decimals(v))
}

/// `12.5 ± 0.4 ms`: both in the mean's unit and precision.
pub fn mean_sigma(mean: f64, sigma: f64) -> String {
    let (u, size) = unit(mean);
    let d = decimals(mean / size);
    format!("{:.*} ± {:.*} {u}", d, mean / size, d, sigma / size)
}

/// `11.9..13.4 ms`: both in the larger value's unit.
pub fn range(min: f64, max: f64) -> String {
    let (u, size) = unit(max);
    let d = decimals(max / size);
    format!("{:.*}..{:.*} {u}", d, min / size, d, max / size)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Fixed results for the exporters' snapshot tests.
    use crate::cli::CacheMode;
    use crate::race::stats::{Ratio, Summary};
    use crate::race::{ContenderResult, RaceResults, Sample};
    use crate::scan::Reader;
    use crate::strategy::StrategyKind;

    fn sample(round: u64, hunt_s: f64, wall_s: f64) -> Sample {
        Sample {
            round,
            position: 3,
            rotate: 7,
            hunt_s,
            wall_s,
            setup_s: 0.0001,
            time_to_find_s: Some(hunt_s),
            stop_latency_s: Some(0.0),
            files_scanned: 4,
            bytes_scanned: 60_000,
            files_after_find: 0,
            peak_rss_kib: 3072,
        }
    }

    /// sequential x1 (baseline), rayon x2 (1.8 times faster) and fork x2 (failed).
    pub fn results() -> RaceResults {
        let seq = ContenderResult {
            strategy: StrategyKind::Sequential,
            workers: 1,
            runs: 1,
            failed: None,
            hunt: Some(Summary {
                n: 1,
                median: 0.018,
                mean: 0.018,
                stddev: 0.0,
                min: 0.018,
                max: 0.018,
            }),
            wall: Some(Summary {
                n: 1,
                median: 0.0215,
                mean: 0.0215,
                stddev: 0.0,
                min: 0.0215,
                max: 0.0215,
            }),
            speedup: Some(Ratio::ONE),
            wall_speedup: Some(Ratio::ONE),
            efficiency: Some(1.0),
            files_scanned: Some(4.0),
            files_after_find: Some(0.0),
            stop_latency_s: Some(0.0),
            peak_rss_kib: Some(3072),
            noise: None,
            samples: vec![sample(1, 0.018, 0.0215)],
        };
        let rayon = ContenderResult {
            strategy: StrategyKind::Rayon,
            workers: 2,
            runs: 1,
            failed: None,
            hunt: Some(Summary {
                n: 1,
                median: 0.01,
                mean: 0.01,
                stddev: 0.0005,
                min: 0.0095,
                max: 0.0105,
            }),
            wall: Some(Summary {
                n: 1,
                median: 0.0125,
                mean: 0.0125,
                stddev: 0.0,
                min: 0.0125,
                max: 0.0125,
            }),
            speedup: Some(Ratio {
                value: 1.8,
                se: Some(0.09),
            }),
            wall_speedup: Some(Ratio {
                value: 1.72,
                se: None,
            }),
            efficiency: Some(0.9),
            files_scanned: Some(6.0),
            files_after_find: Some(1.5),
            stop_latency_s: Some(0.000_25),
            peak_rss_kib: Some(4096),
            noise: Some("hunt time per byte scanned: σ/mean is 0.31 (over 0.2)".into()),
            samples: vec![sample(1, 0.01, 0.0125)],
        };
        let fork = ContenderResult {
            strategy: StrategyKind::Fork,
            workers: 2,
            runs: 0,
            failed: Some("round 1: hunt search failed (exit 2): boom".into()),
            hunt: None,
            wall: None,
            speedup: None,
            wall_speedup: None,
            efficiency: None,
            files_scanned: None,
            files_after_find: None,
            stop_latency_s: None,
            peak_rss_kib: None,
            noise: None,
            samples: vec![],
        };
        RaceResults {
            hunt_version: "0.1.0".into(),
            dir: "data".into(),
            files: 10,
            total_bytes: 150_000,
            reader: Reader::Read,
            cache: CacheMode::Warm,
            full_scan: false,
            needle: "Treasure".into(),
            runs: 1,
            warmup: 0,
            rounds_done: 1,
            seed: 42,
            cores: 2,
            baseline: Some(StrategyKind::Sequential),
            contenders: vec![seq, rayon, fork],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_unit_and_three_digits() {
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(1.5), "1.50 s");
        assert_eq!(duration(0.000_25), "250 us");
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(mean_sigma(0.0125, 0.0004), "12.5 ± 0.4 ms");
        assert_eq!(range(0.0009, 0.0012), "0.90..1.20 ms");
        assert_eq!(range(0.9, 1.2), "0.90..1.20 s");
    }

    #[test]
    fn verdicts_read_like_hyperfine() {
        let r = fixture::results();
        assert_eq!(
            summary_lines(&r),
            [
                "rayon x2 is 1.80 ± 0.09 times faster than sequential (whole process: 1.72 times faster)",
                "fork x2 failed: round 1: hunt search failed (exit 2): boom",
            ]
        );
        // se(1/R) = se(R) / R² = 0.05 / 0.25.
        assert_eq!(
            verdict(Ratio {
                value: 0.5,
                se: Some(0.05)
            }),
            "2.00 ± 0.20 times slower"
        );
        let mut none = r.clone();
        none.baseline = None;
        assert!(summary_lines(&none)[0].starts_with("no speedups"));
    }

    #[test]
    fn a_full_scan_says_so() {
        let mut r = fixture::results();
        r.full_scan = true;
        r.needle = "Doubloon".into();
        assert_eq!(
            heading(&r).lines().next().unwrap(),
            "hunt race, full scan for \"Doubloon\" (in no file): 10 files (150.0 kB) in data, read reader, warm page cache"
        );
        // Nothing moves in a full scan, so the σ of the times is not wide by design.
        assert_eq!(legend(&r)[0], "± after a time: the σ of its runs.");
        assert!(legend(&fixture::results())[0].contains("the treasure moves"));
    }

    #[test]
    fn export_flags_are_checked() {
        let tmp = std::env::temp_dir().join(format!("hunt-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let existing = tmp.join("old.json");
        std::fs::write(&existing, "{}").unwrap();
        let missing = tmp.join("no/such/folder/x.csv");
        let err = |req: &[(Format, Option<PathBuf>)], force| {
            check_exports(req, force).unwrap_err().to_string()
        };

        let e = err(&[(Format::Csv, Some(missing.clone()))], false);
        assert!(
            e.contains("--export-csv") && e.contains("does not exist"),
            "{e}"
        );
        let e = err(&[(Format::Json, Some(existing.clone()))], false);
        assert!(e.contains("already exists: pass --force"), "{e}");
        assert!(check_exports(&[(Format::Json, Some(existing.clone()))], true).is_ok());
        let e = err(
            &[
                (Format::Json, Some("-".into())),
                (Format::Csv, Some("-".into())),
            ],
            false,
        );
        assert!(e.contains("both want stdout"), "{e}");
        let same = tmp.join("same");
        let e = err(
            &[
                (Format::Json, Some(same.clone())),
                (Format::Csv, Some(same)),
            ],
            false,
        );
        assert!(e.contains("both name"), "{e}");
        let e = err(&[(Format::Svg, Some(tmp.clone()))], false);
        assert!(e.contains("is a folder"), "{e}");
        let ok = check_exports(
            &[
                (Format::Json, Some("-".into())),
                (Format::Markdown, None),
                (Format::Svg, Some(tmp.join("p.svg"))),
            ],
            false,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].dest, Dest::Stdout);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
