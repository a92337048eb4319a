//! `--export-json`: the whole race, settings, statistics and every timed run, for
//! programs. Times are in seconds, memory in KiB; absent values are `null`.

use super::Exporter;
use crate::race::RaceResults;
use anyhow::Result;

/// Pretty-printed JSON with a final newline.
pub struct Json;

impl Exporter for Json {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(results)?;
        v.push(b'\n');
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        let text = String::from_utf8(Json.render(&fixture::results()).unwrap()).unwrap();
        let expected = r#"{
  "hunt_version": "0.1.0",
  "dir": "data",
  "files": 10,
  "total_bytes": 150000,
  "reader": "read",
  "cache": "warm",
  "full_scan": false,
  "needle": "Treasure",
  "runs": 1,
  "warmup": 0,
  "rounds_done": 1,
  "seed": 42,
  "cores": 2,
  "baseline": "sequential",
  "contenders": [
    {
      "strategy": "sequential",
      "workers": 1,
      "runs": 1,
      "failed": null,
      "hunt": {
        "n": 1,
        "median": 0.018,
        "mean": 0.018,
        "stddev": 0.0,
        "min": 0.018,
        "max": 0.018
      },
      "wall": {
        "n": 1,
        "median": 0.0215,
        "mean": 0.0215,
        "stddev": 0.0,
        "min": 0.0215,
        "max": 0.0215
      },
      "speedup": {
        "value": 1.0,
        "se": 0.0
      },
      "wall_speedup": {
        "value": 1.0,
        "se": 0.0
      },
      "efficiency": 1.0,
      "files_scanned": 4.0,
      "files_after_find": 0.0,
      "stop_latency_s": 0.0,
      "peak_rss_kib": 3072,
      "noise": null,
      "samples": [
        {
          "round": 1,
          "position": 3,
          "rotate": 7,
          "hunt_s": 0.018,
          "wall_s": 0.0215,
          "setup_s": 0.0001,
          "time_to_find_s": 0.018,
          "stop_latency_s": 0.0,
          "files_scanned": 4,
          "bytes_scanned": 60000,
          "files_after_find": 0,
          "peak_rss_kib": 3072
        }
      ]
    },
    {
      "strategy": "rayon",
      "workers": 2,
      "runs": 1,
      "failed": null,
      "hunt": {
        "n": 1,
        "median": 0.01,
        "mean": 0.01,
        "stddev": 0.0005,
        "min": 0.0095,
        "max": 0.0105
      },
      "wall": {
        "n": 1,
        "median": 0.0125,
        "mean": 0.0125,
        "stddev": 0.0,
        "min": 0.0125,
        "max": 0.0125
      },
      "speedup": {
        "value": 1.8,
        "se": 0.09
      },
      "wall_speedup": {
        "value": 1.72,
        "se": null
      },
      "efficiency": 0.9,
      "files_scanned": 6.0,
      "files_after_find": 1.5,
      "stop_latency_s": 0.00025,
      "peak_rss_kib": 4096,
      "noise": "hunt time per byte scanned: σ/mean is 0.31 (over 0.2)",
      "samples": [
        {
          "round": 1,
          "position": 3,
          "rotate": 7,
          "hunt_s": 0.01,
          "wall_s": 0.0125,
          "setup_s": 0.0001,
          "time_to_find_s": 0.01,
          "stop_latency_s": 0.0,
          "files_scanned": 4,
          "bytes_scanned": 60000,
          "files_after_find": 0,
          "peak_rss_kib": 3072
        }
      ]
    },
    {
      "strategy": "fork",
      "workers": 2,
      "runs": 0,
      "failed": "round 1: hunt search failed (exit 2): boom",
      "hunt": null,
      "wall": null,
      "speedup": null,
      "wall_speedup": null,
      "efficiency": null,
      "files_scanned": null,
      "files_after_find": null,
      "stop_latency_s": null,
      "peak_rss_kib": null,
      "noise": null,
      "samples": []
    }
  ]
}
"#;
        assert_eq!(text, expected);
    }
}
