//! The table `hunt race` prints on the terminal: the race's settings, one aligned row per
//! contender, then the verdicts and the noise warnings' short form.

use super::{heading, rows, summary_lines, Exporter, HEADERS, NUMERIC};
use crate::race::RaceResults;
use anyhow::Result;

/// Plain text, columns padded with spaces (widths counted in characters, so `±` and `σ`
/// line up).
pub struct Table;

impl Exporter for Table {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let body = rows(results);
        let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.chars().count()).collect();
        for row in &body {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(NUMERIC)
                .map(|((c, &w), numeric)| {
                    let pad = " ".repeat(w - c.chars().count());
                    if numeric {
                        format!("{pad}{c}")
                    } else {
                        format!("{c}{pad}")
                    }
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut s = format!("{}\n\n", heading(results));
        let headers: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
        s.push_str(&line(&headers));
        for row in &body {
            s.push_str(&line(row));
        }
        let lines = summary_lines(results);
        if !lines.is_empty() {
            s.push('\n');
            for l in lines {
                s.push_str(&format!("{l}\n"));
            }
        }
        Ok(s.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        let text = String::from_utf8(Table.render(&fixture::results()).unwrap()).unwrap();
        let expected = "\
hunt race: 10 files (150.0 kB) in data, read reader, warm page cache, 1 of 1 timed rounds after 0 warm-up, seed 42, 2 cores

strategy    workers  runs  hunt median  hunt mean ± σ  hunt min..max  wall median  wall mean ± σ  wall min..max      speedup  wall speedup  efficiency  files scanned  after find  stop latency  peak memory  note
sequential        1     1      18.0 ms  18.0 ± 0.0 ms  18.0..18.0 ms      21.5 ms  21.5 ± 0.0 ms  21.5..21.5 ms     baseline      baseline        100%              4         0.0           0 s      3.0 MiB
rayon             2     1      10.0 ms  10.0 ± 0.5 ms   9.5..10.5 ms      12.5 ms  12.5 ± 0.0 ms  12.5..12.5 ms  1.80 ± 0.09          1.72         90%              6         1.5        250 us      4.0 MiB  noisy
fork              2     0            -              -              -            -              -              -            -             -           -              -           -             -            -  failed

rayon x2 is 1.80 ± 0.09 times faster than sequential (whole process: 1.72 times faster)
fork x2 failed: round 1: hunt search failed (exit 2): boom
";
        assert_eq!(text, expected);
    }
}
