//! `--export-csv`: one row per contender with raw numbers (seconds, KiB, plain ratios),
//! for spreadsheets and scripts. Absent values are empty cells. The race's mode
//! (`full_scan`, true or false) is repeated on every row, so rows from several races
//! can be pasted together.

use super::Exporter;
use crate::race::stats::{Ratio, Summary};
use crate::race::RaceResults;
use anyhow::Result;

/// CSV written with the `csv` crate, so quoting is right.
pub struct Csv;

/// The header row.
pub const HEADER: [&str; 25] = [
    "strategy",
    "workers",
    "runs",
    "failed",
    "hunt_median_s",
    "hunt_mean_s",
    "hunt_stddev_s",
    "hunt_min_s",
    "hunt_max_s",
    "wall_median_s",
    "wall_mean_s",
    "wall_stddev_s",
    "wall_min_s",
    "wall_max_s",
    "speedup",
    "speedup_se",
    "wall_speedup",
    "wall_speedup_se",
    "efficiency",
    "files_scanned_mean",
    "files_after_find_mean",
    "stop_latency_mean_s",
    "peak_rss_kib",
    "noise",
    "full_scan",
];

/// The columns added when the race ran with `--fault`: the fault, how it was done,
/// the four outcome counts, the faulted runs against the plain ones, and the task
/// retries and files read again (means per faulted run).
pub const FAULT_HEADER: [&str; 14] = [
    "fault",
    "fault_done_as",
    "fault_pause_s",
    "right",
    "unknown",
    "wrong",
    "hung",
    "fault_fired",
    "fault_wall_median_s",
    "fault_find_median_s",
    "fault_slowdown",
    "fault_slowdown_se",
    "fault_retries_mean",
    "fault_files_again_mean",
];

fn fault_cells(c: &crate::race::ContenderResult) -> Vec<String> {
    let Some(f) = &c.fault else {
        return vec![String::new(); FAULT_HEADER.len()];
    };
    let o = c.outcomes.unwrap_or_default();
    let mut v = vec![
        f.kind.name().to_string(),
        f.how.to_string(),
        opt(f.pause_s),
        o.right.to_string(),
        o.unknown.to_string(),
        o.wrong.to_string(),
        o.hung.to_string(),
        f.fired.to_string(),
        opt(f.wall.map(|s| s.median)),
        opt(f.find_median_s),
    ];
    v.extend(ratio(f.slowdown));
    v.push(opt(f.retries));
    v.push(opt(f.files_again));
    v
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn summary(s: Option<Summary>) -> [String; 5] {
    [
        opt(s.map(|s| s.median)),
        opt(s.map(|s| s.mean)),
        opt(s.map(|s| s.stddev)),
        opt(s.map(|s| s.min)),
        opt(s.map(|s| s.max)),
    ]
}

fn ratio(r: Option<Ratio>) -> [String; 2] {
    [opt(r.map(|r| r.value)), opt(r.and_then(|r| r.se))]
}

impl Exporter for Csv {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        let faulted = results.fault.is_some();
        let mut header: Vec<&str> = HEADER.to_vec();
        if faulted {
            header.extend(FAULT_HEADER);
        }
        w.write_record(&header)?;
        for c in &results.contenders {
            let mut rec: Vec<String> = vec![
                c.strategy.to_string(),
                c.workers.to_string(),
                c.runs.to_string(),
                c.failed.clone().unwrap_or_default(),
            ];
            rec.extend(summary(c.hunt));
            rec.extend(summary(c.wall));
            rec.extend(ratio(c.speedup));
            rec.extend(ratio(c.wall_speedup));
            rec.push(opt(c.efficiency));
            rec.push(opt(c.files_scanned));
            rec.push(opt(c.files_after_find));
            rec.push(opt(c.stop_latency_s));
            rec.push(opt(c.peak_rss_kib));
            rec.push(c.noise.clone().unwrap_or_default());
            rec.push(results.full_scan.to_string());
            if faulted {
                rec.extend(fault_cells(c));
            }
            w.write_record(&rec)?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        let text = String::from_utf8(Csv.render(&fixture::results()).unwrap()).unwrap();
        let expected = "\
strategy,workers,runs,failed,hunt_median_s,hunt_mean_s,hunt_stddev_s,hunt_min_s,hunt_max_s,wall_median_s,wall_mean_s,wall_stddev_s,wall_min_s,wall_max_s,speedup,speedup_se,wall_speedup,wall_speedup_se,efficiency,files_scanned_mean,files_after_find_mean,stop_latency_mean_s,peak_rss_kib,noise,full_scan
sequential,1,1,,0.018,0.018,0,0.018,0.018,0.0215,0.0215,0,0.0215,0.0215,1,0,1,0,1,4,0,0,3072,,false
rayon,2,1,,0.01,0.01,0.0005,0.0095,0.0105,0.0125,0.0125,0,0.0125,0.0125,1.8,0.09,1.72,,0.9,6,1.5,0.00025,4096,hunt time per byte scanned: σ/mean is 0.31 (over 0.2),false
fork,2,0,round 1: hunt search failed (exit 2): boom,,,,,,,,,,,,,,,,,,,,,false
";
        assert_eq!(text, expected);
    }
}
