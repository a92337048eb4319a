//! The table `hunt race` prints on the terminal: the race's settings, one aligned row per
//! contender in the columns marked for the terminal (about 130 characters wide; the
//! exports have every column), what ± means, then the verdicts.

use super::cells::{heading, legend, rows, COLUMNS};
use super::verdict::summary_lines;
use super::Exporter;
use crate::race::RaceResults;
use anyhow::Result;

/// Plain text, columns padded with spaces (widths counted in characters, so `±` and `σ`
/// line up), headed by two title lines so a column is no wider than its numbers.
pub struct Table;

impl Exporter for Table {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&i| COLUMNS[i].terminal)
            .collect();
        let pick =
            |cells: &[String]| -> Vec<String> { shown.iter().map(|&i| cells[i].clone()).collect() };
        let heads: Vec<Vec<String>> = (0..2)
            .map(|k| {
                let all: Vec<String> = COLUMNS.iter().map(|c| c.head[k].to_string()).collect();
                pick(&all)
            })
            .collect();
        let body: Vec<Vec<String>> = rows(results).iter().map(|r| pick(r)).collect();
        let mut widths = vec![0usize; shown.len()];
        for row in heads.iter().chain(&body) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&shown)
                .map(|((c, &w), &i)| {
                    let pad = " ".repeat(w - c.chars().count());
                    if COLUMNS[i].numeric {
                        format!("{pad}{c}")
                    } else {
                        format!("{c}{pad}")
                    }
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut s = format!("{}\n\n", heading(results));
        for row in heads.iter().chain(&body) {
            s.push_str(&line(row));
        }
        s.push('\n');
        for l in legend(results) {
            s.push_str(&format!("{l}\n"));
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
hunt race: 10 files (150.0 kB) in data, read reader, warm page cache
1 of 1 timed rounds after 0 warm-up, seed 42, 2 cores

                        hunt           hunt           hunt     wall      speedup              after     stop     peak
strategy    workers   median       mean ± σ       min..max   median         ± se  efficiency   find  latency   memory  note
sequential        1  18.0 ms  18.0 ± 0.0 ms  18.0..18.0 ms  21.5 ms     baseline        100%    0.0      0 s  3.0 MiB
rayon             2  10.0 ms  10.0 ± 0.5 ms   9.5..10.5 ms  12.5 ms  1.80 ± 0.09         90%    1.5   250 us  4.0 MiB  noisy
fork              2        -              -              -        -            -           -      -        -        -  failed

± after a time: the σ of its runs (wide by design: the treasure moves each round).
± after a speedup: the standard error of the paired ratio of mean times (sequential / contender over the same rounds).

Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential
Each strategy at its best worker count, against sequential:
  rayon x2  1.80 ± 0.09 times faster  (whole process: 1.72 times faster)
fork x2 failed: round 1: hunt search failed (exit 2): boom
";
        assert_eq!(text, expected);
    }

    #[test]
    fn fits_a_terminal_with_wide_values() {
        // Slow, spread-out runs in seconds, big speedups, large memory: still well under
        // 130 characters a line.
        let mut r = fixture::results();
        for c in r.contenders.iter_mut().take(2) {
            let mut h = c.hunt.unwrap();
            (h.median, h.mean, h.stddev, h.min, h.max) = (1.234, 12.34, 56.78, 0.001, 123.4);
            c.hunt = Some(h);
            c.wall = Some(h);
            c.stop_latency_s = Some(0.123_456);
            c.files_after_find = Some(1234.5);
            c.peak_rss_kib = Some(123_456_789);
        }
        r.contenders[1].speedup = Some(crate::race::stats::Ratio {
            value: 123.456,
            se: Some(45.678),
        });
        r.contenders[1].efficiency = Some(12.345);
        let text = String::from_utf8(Table.render(&r).unwrap()).unwrap();
        let table: Vec<&str> = text.lines().skip(3).take_while(|l| !l.is_empty()).collect();
        assert_eq!(table.len(), 2 + 3, "{text}");
        for l in table {
            assert!(l.chars().count() <= 130, "{} chars: {l}", l.chars().count());
        }
    }
}
