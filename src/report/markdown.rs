//! `--export-markdown`: the terminal's table with every column, as a Markdown table with
//! the race's settings above it and what ± means and the verdicts below, ready for a
//! README.

use super::cells::{heading, legend, rows, COLUMNS};
use super::verdict::verdicts;
use super::Exporter;
use crate::race::RaceResults;
use anyhow::Result;

/// A GitHub-flavoured Markdown table.
pub struct Markdown;

impl Exporter for Markdown {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let mut s = format!("{}\n\n", heading(results));
        let titles: Vec<&str> = COLUMNS.iter().map(|c| c.title).collect();
        s.push_str(&format!("| {} |\n", titles.join(" | ")));
        let rule: Vec<&str> = COLUMNS
            .iter()
            .map(|c| if c.numeric { "---:" } else { ":---" })
            .collect();
        s.push_str(&format!("|{}|\n", rule.join("|")));
        for row in rows(results) {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            s.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        for l in legend(results) {
            s.push_str(&format!("\n{l}\n"));
        }
        let v = verdicts(results);
        if let Some(f) = v.fastest {
            s.push_str(&format!("\n**{f}**\n"));
        }
        s.push_str(&format!("\n{}\n\n", v.heading));
        for (label, speed, wall) in &v.best {
            let wall = if wall.is_empty() {
                String::new()
            } else {
                format!(" ({wall})")
            };
            s.push_str(&format!("- {label}: {speed}{wall}\n"));
        }
        for l in &v.failed {
            s.push_str(&format!("- {}\n", l.replace('|', "\\|")));
        }
        s.push_str(&super::survival::markdown(results));
        Ok(s.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        let text = String::from_utf8(Markdown.render(&fixture::results()).unwrap()).unwrap();
        let expected = "\
hunt race: 10 files (150.0 kB) in data, read reader, warm page cache
1 of 1 timed rounds after 0 warm-up, seed 42, 2 cores

| strategy | workers | runs | hunt median | hunt mean ± σ | hunt min..max | wall median | wall mean ± σ | wall min..max | speedup ± se | wall speedup ± se | efficiency | files scanned | after find | stop latency | peak memory | note |
|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|
| sequential | 1 | 1 | 18.0 ms | 18.0 ± 0.0 ms | 18.0..18.0 ms | 21.5 ms | 21.5 ± 0.0 ms | 21.5..21.5 ms | baseline | baseline | 100% | 4 | 0.0 | 0 s | 3.0 MiB |  |
| rayon | 2 | 1 | 10.0 ms | 10.0 ± 0.5 ms | 9.5..10.5 ms | 12.5 ms | 12.5 ± 0.0 ms | 12.5..12.5 ms | 1.80 ± 0.09 | 1.72 | 90% | 6 | 1.5 | 250 us | 4.0 MiB | noisy |
| fork | 2 | 0 | - | - | - | - | - | - | - | - | - | - | - | - | - | failed |

± after a time: the σ of its runs (wide by design: the treasure moves each round).

± after a speedup: the standard error of the paired ratio of mean times (sequential / contender over the same rounds).

**Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential**

Each strategy at its best worker count, against sequential:

- rayon x2: 1.80 ± 0.09 times faster (whole process: 1.72 times faster)
- fork x2 failed: round 1: hunt search failed (exit 2): boom
";
        assert_eq!(text, expected);
    }
}
