//! The cells of the results table, shared by the terminal table and the Markdown
//! export so they always agree, and the heading and legend printed with them.

use super::verdict::ratio;
use crate::race::stats::Ratio;
use crate::race::{ContenderResult, RaceResults};
use crate::units::{bytes as human_bytes, mean_sigma, range, secs as duration};

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
    /// Shown on the terminal too (when it is wide enough); the Markdown export has
    /// every column.
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
/// apart (about 125 characters), fewer on a narrower terminal (see
/// [`super::table::LEAVE_OUT`]); the exports keep them all.
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
    let cache = r.cache.name();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

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
}
