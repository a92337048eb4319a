//! The table `hunt race` prints on the terminal: the race's settings, one aligned row per
//! contender in the columns marked for the terminal, what ± means, the verdicts, then
//! the contenders that look noisy, in one block after everything else.
//!
//! It fits the width it is given (see `app::race` for how that is chosen): columns are
//! left out, the least telling first ([`LEAVE_OUT`]), until every row fits, and a line
//! says which; the prose lines wrap between words. The exports keep every column.

use super::cells::{heading, legend, rows, COLUMNS};
use super::verdict::summary_lines;
use super::Exporter;
use crate::race::RaceResults;
use anyhow::Result;

/// The terminal's columns a narrow table leaves out, first to last, by their export
/// title. The spread (min..max, beside mean ± σ), the whole-process time (its speedup
/// is in the exports), the efficiency (speedup / workers), then the stop's figures and
/// the memory; the σ last. Strategy, workers, median, speedup and note always stay.
pub const LEAVE_OUT: [&str; 7] = [
    "hunt min..max",
    "wall median",
    "efficiency",
    "peak memory",
    "after find",
    "stop latency",
    "hunt mean ± σ",
];

/// Plain text, columns padded with spaces (widths counted in characters, so `±` and `σ`
/// line up), headed by two title lines so a column is no wider than its numbers.
pub struct Table {
    /// The characters a line may hold; `None`: no limit (every terminal column).
    pub width: Option<usize>,
}

/// Two spaces between columns.
const GAP: usize = 2;

impl Exporter for Table {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let heads: Vec<[String; 2]> = COLUMNS
            .iter()
            .map(|c| [c.head[0].to_string(), c.head[1].to_string()])
            .collect();
        let body = rows(results);
        // Each column's width over its titles and cells.
        let widths: Vec<usize> = (0..COLUMNS.len())
            .map(|i| {
                heads[i]
                    .iter()
                    .chain(body.iter().map(|r| &r[i]))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let (shown, left_out) = self.fit(&widths);
        let mut s = String::new();
        for l in heading(results).lines() {
            s.push_str(&wrap(l, self.width));
        }
        s.push('\n');
        for k in [0, 1] {
            s.push_str(&aligned(&shown, &widths, |i| heads[i][k].clone()));
        }
        for r in &body {
            s.push_str(&aligned(&shown, &widths, |i| r[i].clone()));
        }
        s.push('\n');
        s.push_str(&self.notes(results, &shown, &left_out));
        Ok(s.into_bytes())
    }
}

impl Table {
    /// The columns shown (their indexes in [`COLUMNS`], in order) and the titles left
    /// out so that every row fits `self.width`, given each column's width.
    fn fit(&self, widths: &[usize]) -> (Vec<usize>, Vec<&'static str>) {
        let mut shown: Vec<usize> = (0..COLUMNS.len())
            .filter(|&i| COLUMNS[i].terminal)
            .collect();
        let mut left_out = Vec::new();
        let Some(w) = self.width else {
            return (shown, left_out);
        };
        let total = |shown: &[usize]| -> usize {
            shown.iter().map(|&i| widths[i]).sum::<usize>() + GAP * shown.len().saturating_sub(1)
        };
        for title in LEAVE_OUT {
            if total(&shown) <= w {
                break;
            }
            if let Some(at) = shown.iter().position(|&i| COLUMNS[i].title == title) {
                shown.remove(at);
                left_out.push(title);
            }
        }
        // A narrow column left out late can make room for a wider one left out
        // earlier: take back, most telling first, whatever fits again.
        for title in left_out.clone().into_iter().rev() {
            let Some(i) = COLUMNS.iter().position(|c| c.title == title) else {
                continue;
            };
            let mut with = shown.clone();
            with.push(i);
            with.sort_unstable();
            if total(&with) <= w {
                shown = with;
                left_out.retain(|&t| t != title);
            }
        }
        (shown, left_out)
    }

    /// What follows the rows: which columns were left out, what ± means, the
    /// verdicts, then the noisy contenders, each line wrapped to `self.width`.
    fn notes(&self, results: &RaceResults, shown: &[usize], left_out: &[&str]) -> String {
        let wrap = |text: &str| wrap(text, self.width);
        let mut s = String::new();
        if !left_out.is_empty() {
            s.push_str(&wrap(&format!(
                "Left out to fit {} columns: {} (the exports have every column).",
                self.width.unwrap_or_default(),
                left_out.join(", ")
            )));
        }
        // The σ of a time is explained only while a time with a σ is shown.
        let sigma_shown = shown.iter().any(|&i| COLUMNS[i].head[1].contains('σ'));
        let [times, speedups] = legend(results);
        if sigma_shown {
            s.push_str(&wrap(&times));
        }
        s.push_str(&wrap(&speedups));
        for lines in [
            summary_lines(results),
            super::survival::text(results, self.width),
            noise_block(results),
        ] {
            s.push_str(&block(&lines, self.width));
        }
        s
    }
}

/// `lines` wrapped, after an empty line; nothing when there are none.
fn block(lines: &[String], width: Option<usize>) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n");
    for l in lines {
        s.push_str(&wrap(l, width));
    }
    s
}

/// One line of the `shown` columns, each padded to its width in `widths` (numbers to
/// the right, text to the left), the trailing spaces trimmed.
fn aligned(shown: &[usize], widths: &[usize], cell: impl Fn(usize) -> String) -> String {
    let padded: Vec<String> = shown
        .iter()
        .map(|&i| {
            let c = cell(i);
            let pad = " ".repeat(widths[i] - c.chars().count());
            if COLUMNS[i].numeric {
                format!("{pad}{c}")
            } else {
                format!("{c}{pad}")
            }
        })
        .collect();
    format!("{}\n", padded.join("  ").trim_end())
}

/// The contenders that look noisy, in one block: a line saying what to do, then one
/// line each with why. Empty when none does (a failed contender is reported as failed).
pub fn noise_block(results: &RaceResults) -> Vec<String> {
    let noisy: Vec<String> = results
        .contenders
        .iter()
        .filter(|c| c.failed.is_none())
        .filter_map(|c| Some(format!("  {}: {}", c.label(), c.noise.as_ref()?)))
        .collect();
    if noisy.is_empty() {
        return noisy;
    }
    std::iter::once("Warning: noisy runs; close other programs or add --runs:".to_string())
        .chain(noisy)
        .collect()
}

/// `text` and a newline, broken between words so no line is wider than `width`, each
/// continuation indented two spaces past the text's own indent. A word wider than the
/// line (a long path) stays whole.
fn wrap(text: &str, width: Option<usize>) -> String {
    let Some(width) = width.filter(|&w| text.chars().count() > w) else {
        return format!("{text}\n");
    };
    let indent = text.len() - text.trim_start().len();
    let more = " ".repeat(indent + 2);
    let mut out = String::new();
    let mut line = " ".repeat(indent);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = more.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        let text =
            String::from_utf8(Table { width: None }.render(&fixture::results()).unwrap()).unwrap();
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

Warning: noisy runs; close other programs or add --runs:
  rayon x2: hunt time per byte scanned: σ/mean is 0.31 (over 0.2)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn fits_a_terminal_with_wide_values() {
        // Slow, spread-out runs in seconds, big speedups, large memory: still well under
        // 130 characters a line.
        let r = wide();
        let text = String::from_utf8(Table { width: None }.render(&r).unwrap()).unwrap();
        let table: Vec<&str> = text.lines().skip(3).take_while(|l| !l.is_empty()).collect();
        assert_eq!(table.len(), 2 + 3, "{text}");
        for l in table {
            assert!(l.chars().count() <= 130, "{} chars: {l}", l.chars().count());
        }
    }

    fn text(r: &RaceResults, width: Option<usize>) -> String {
        String::from_utf8(Table { width }.render(r).unwrap()).unwrap()
    }

    /// The fixture with slow, spread-out runs, big speedups and large memory.
    fn wide() -> RaceResults {
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
        r
    }

    #[test]
    fn at_100_columns() {
        let expected = "\
hunt race: 10 files (150.0 kB) in data, read reader, warm page cache
1 of 1 timed rounds after 0 warm-up, seed 42, 2 cores

                        hunt           hunt     wall      speedup  after     stop     peak
strategy    workers   median       mean ± σ   median         ± se   find  latency   memory  note
sequential        1  18.0 ms  18.0 ± 0.0 ms  21.5 ms     baseline    0.0      0 s  3.0 MiB
rayon             2  10.0 ms  10.0 ± 0.5 ms  12.5 ms  1.80 ± 0.09    1.5   250 us  4.0 MiB  noisy
fork              2        -              -        -            -      -        -        -  failed

Left out to fit 100 columns: hunt min..max, efficiency (the exports have every column).
± after a time: the σ of its runs (wide by design: the treasure moves each round).
± after a speedup: the standard error of the paired ratio of mean times (sequential / contender over
  the same rounds).

Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential
Each strategy at its best worker count, against sequential:
  rayon x2  1.80 ± 0.09 times faster  (whole process: 1.72 times faster)
fork x2 failed: round 1: hunt search failed (exit 2): boom

Warning: noisy runs; close other programs or add --runs:
  rayon x2: hunt time per byte scanned: σ/mean is 0.31 (over 0.2)
";
        assert_eq!(text(&fixture::results(), Some(100)), expected);
    }

    #[test]
    fn no_line_is_wider_than_the_terminal() {
        for r in [fixture::results(), wide()] {
            for width in [100, 80] {
                let t = text(&r, Some(width));
                for l in t.lines() {
                    assert!(l.chars().count() <= width, "{width}: {l:?}\n{t}");
                }
                // Every contender keeps its row, with its speedup and note.
                assert!(t.contains("baseline") && t.contains("noisy") && t.contains("failed"));
                assert!(t.contains("Left out to fit"), "{t}");
            }
        }
    }

    #[test]
    fn the_noisy_warning_is_one_block_after_the_table() {
        for width in [None, Some(100), Some(80)] {
            let t = text(&fixture::results(), width);
            let lines: Vec<&str> = t.lines().collect();
            let at = |want: &str| lines.iter().position(|l| l.contains(want)).unwrap();
            let warning = at("Warning: noisy runs");
            // After the rows, the legend and the verdicts, and the last thing said.
            let row = lines.iter().position(|l| l.starts_with("rayon ")).unwrap();
            assert!(warning > row, "{t}");
            assert!(
                warning > at("Fastest:") && warning > at("fork x2 failed"),
                "{t}"
            );
            assert!(
                lines[warning + 1].starts_with("  rayon x2: hunt time per byte"),
                "{t}"
            );
            assert_eq!(t.matches("Warning").count(), 1, "{t}");
        }
        // None noisy, no block.
        let mut quiet = fixture::results();
        quiet.contenders[1].noise = None;
        assert!(!text(&quiet, None).contains("Warning"));
    }

    #[test]
    fn the_left_out_columns_are_terminal_columns() {
        for title in LEAVE_OUT {
            assert!(
                COLUMNS.iter().any(|c| c.title == title && c.terminal),
                "{title}"
            );
        }
    }

    #[test]
    fn wrapping_breaks_between_words_and_indents() {
        assert_eq!(wrap("a b c", None), "a b c\n");
        assert_eq!(wrap("aaa bbb ccc", Some(7)), "aaa bbb\n  ccc\n");
        assert_eq!(wrap("  x yyyy zz", Some(6)), "  x\n    yyyy\n    zz\n");
        assert_eq!(wrap("longword x", Some(4)), "longword\n  x\n");
    }
}
