//! `hunt race --report FILE.html`: one self-contained page that shows the race, for a
//! reader with nothing but a browser and no network.
//!
//! The page holds, in order: what was raced and on what machine (cores, CPU model,
//! kernel, memory) with the command line; the race table with every column, sorted by
//! clicking a header (a few lines of inline script; cells carry their raw numbers in
//! `data-v`); the summary; the plots of median time and speedup against workers with
//! the ideal line (the `--plot` SVG, inline); and a timeline per contender, from its
//! traced run with the treasure at the same search position for every contender.
//!
//! # The timelines
//! One inline SVG per contender, a Gantt chart: a row per worker, a bar per run of
//! files it read, coloured by what the reading was worth (the strategy's colour for a
//! file done before the stop signal, the same faded for one done or cut short after it:
//! wasted work, as "after find" counts it; gold, the treasure; black, a file that could not
//! be read), outlined boxes for the tasks of the task-queue strategies, the
//! stop signal as a red dashed line, each worker's stop as a black tick, and the hunt's
//! end as a grey line. The timeline of a faulted run (`hunt race --fault`) shows the
//! fault as a purple line where the worker met it and a band until it was over (the
//! race's SIGKILL, its SIGCONT, the broker back), from the trace's fault event; the
//! takeover is the task another worker takes after it. Files closer together than half a pixel are drawn as one bar
//! (its tooltip says how many), so a hunt of 10,000 files stays a few hundred shapes.
//! A `uring` worker has many files in flight: they share its row. Each chart has its
//! own time scale by default (strategies differ tenfold, and a shared scale would
//! squash the fast ones to a sliver); a checkbox puts every chart on the slowest one's
//! scale, which shows who lands where at a glance.
//!
//! # Self-contained
//! No request leaves the page: CSS, script and SVG are inline, nothing is linked, and a
//! Content-Security-Policy of `default-src 'none'` makes the browser refuse anything
//! else. The body's `data-ready` turns 1 when the script has run to its end and
//! `data-errors` counts script errors (`window.onerror`, set by a first script), so a
//! test in a real browser can tell a page that works from one that only parses.
//!
//! The style sheet and the script are files beside this one (`html/style.css`,
//! `html/script.js`), inlined at build time; the timelines are drawn in
//! `html/timeline.rs`.
//!
//! Like every exporter this is pure: results and context in, bytes out.

mod timeline;

pub use timeline::Chart;

use super::cells::{heading, legend, rows, COLUMNS};
use super::svg::Svg;
use super::verdict::verdicts;
use super::{Context, Exporter};
use crate::race::{ContenderResult, RaceResults};
use anyhow::Result;
use std::fmt::Write as _;
use timeline::timelines;

/// The HTML report, drawn from the results and the race's [`Context`].
pub struct Html<'a> {
    /// The timelines, the machine, the command.
    pub context: &'a Context,
}

impl Exporter for Html<'_> {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        Ok(page(results, self.context)?.into_bytes())
    }
}

/// `<`, `>`, `&`, `"` and `'` as entities, for text and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page's style sheet (inlined: the page links nothing).
const STYLE: &str = include_str!("html/style.css");

/// The sorting of the table, the time scale of the timelines, then the marker that the
/// script ran to its end.
const SCRIPT: &str = include_str!("html/script.js");

fn page(r: &RaceResults, ctx: &Context) -> Result<String> {
    let mut s = String::with_capacity(256 * 1024);
    let title = format!(
        "hunt race: {} files, {} reader, {} contenders",
        r.files,
        r.reader.name(),
        r.contenders.len()
    );
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n\
         <script>window.onerror = function () {{ var b = document.body; if (b) b.setAttribute('data-errors', String(Number(b.getAttribute('data-errors') || 0) + 1)); }};</script>\n\
         </head>\n<body data-ready=\"0\" data-errors=\"0\">\n",
        esc(&title)
    );
    let _ = write!(
        s,
        "<h1>hunt race</h1>\n<p class=\"heading\">{}</p>\n",
        esc(&heading(r))
    );
    machine(&mut s, r, ctx);
    table(&mut s, r);
    survival(&mut s, r);
    let plot = String::from_utf8(Svg.render(r)?)?;
    let _ = write!(
        s,
        "<section id=\"plots\">\n<h2>Median time and speedup against workers</h2>\n{plot}\n</section>\n"
    );
    timelines(&mut s, r, ctx);
    let _ = write!(
        s,
        "<footer class=\"note\">Written by hunt {} after round {} of {}; it is rewritten after every round.</footer>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&r.hunt_version),
        r.rounds_done,
        r.runs
    );
    Ok(s)
}

fn machine(s: &mut String, r: &RaceResults, ctx: &Context) {
    let m = &ctx.machine;
    let mut rows: Vec<(&str, String)> = vec![("host", m.host.clone())];
    rows.push(("cores", r.cores.to_string()));
    if !m.cpu.is_empty() {
        rows.push(("CPU", m.cpu.clone()));
    }
    if !m.kernel.is_empty() {
        rows.push(("kernel", m.kernel.clone()));
    }
    if m.memory_bytes > 0 {
        rows.push((
            "memory",
            format!("{:.1} GiB", m.memory_bytes as f64 / (1u64 << 30) as f64),
        ));
    }
    rows.push(("hunt", r.hunt_version.clone()));
    s.push_str("<section id=\"machine\">\n<h2>The machine and the command</h2>\n<dl>\n");
    for (k, v) in rows {
        let _ = writeln!(s, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    let _ = writeln!(
        s,
        "<dt>command</dt><dd><code>{}</code></dd>\n</dl>\n</section>",
        esc(&ctx.command)
    );
}

/// The raw numbers behind a contender's cells, in [`COLUMNS`] order, for sorting;
/// empty where the cell has none.
fn sort_keys(c: &ContenderResult, is_baseline: bool) -> Vec<String> {
    let n = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    let speed = |r: Option<crate::race::stats::Ratio>| {
        if is_baseline && r.is_some() {
            "1".to_string()
        } else {
            n(r.map(|r| r.value))
        }
    };
    COLUMNS
        .iter()
        .map(|col| match col.title {
            "strategy" => c.strategy.name().to_string(),
            "workers" => c.workers.to_string(),
            "runs" => c.runs.to_string(),
            "hunt median" => n(c.hunt.map(|h| h.median)),
            "hunt mean ± σ" => n(c.hunt.map(|h| h.mean)),
            "hunt min..max" => n(c.hunt.map(|h| h.min)),
            "wall median" => n(c.wall.map(|h| h.median)),
            "wall mean ± σ" => n(c.wall.map(|h| h.mean)),
            "wall min..max" => n(c.wall.map(|h| h.min)),
            "speedup ± se" => speed(c.speedup),
            "wall speedup ± se" => speed(c.wall_speedup),
            "efficiency" => n(c.efficiency),
            "files scanned" => n(c.files_scanned),
            "after find" => n(c.files_after_find),
            "stop latency" => n(c.stop_latency_s),
            "peak memory" => n(c.peak_rss_kib.map(|k| k as f64)),
            _ => String::new(),
        })
        .collect()
}

/// With `--fault`: the survival table ([`super::survival`]).
fn survival(s: &mut String, r: &RaceResults) {
    use super::survival::{heading, rows, COLUMNS, LEGEND};
    let Some(head) = heading(r) else { return };
    let _ = write!(
        s,
        "<section id=\"survival\">\n<h2>Survival</h2>\n<p class=\"note\">{}</p>\n<div class=\"scroll\"><table id=\"faults\">\n<thead><tr>",
        esc(&head)
    );
    for (i, (title, _)) in COLUMNS.iter().enumerate() {
        let class = if i == 0 || i == 2 {
            ""
        } else {
            " class=\"num\""
        };
        let _ = write!(s, "<th{class}>{}</th>", esc(title));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for row in rows(r) {
        s.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i == 0 || i == 2 {
                ""
            } else {
                " class=\"num\""
            };
            let _ = write!(s, "<td{class}>{}</td>", esc(cell));
        }
        s.push_str("</tr>\n");
    }
    let _ = write!(
        s,
        "</tbody></table></div>\n<p class=\"legend\">{}</p>\n</section>\n",
        esc(LEGEND)
    );
}

fn table(s: &mut String, r: &RaceResults) {
    s.push_str("<section id=\"results\">\n<h2>The race</h2>\n");
    let _ = writeln!(
        s,
        "<p class=\"note\"><span id=\"count\">{}</span> contenders; click a heading to sort by it.</p>",
        r.contenders.len()
    );
    s.push_str("<div class=\"scroll\"><table id=\"race\">\n<thead><tr>");
    for col in COLUMNS.iter() {
        let class = if col.numeric { " class=\"num\"" } else { "" };
        let _ = write!(s, "<th{class}>{}</th>", esc(col.title));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (c, cells) in r.contenders.iter().zip(rows(r)) {
        let keys = sort_keys(c, r.baseline == Some(c.strategy));
        let class = match (&c.failed, &c.noise) {
            (Some(_), _) => " class=\"failed\"",
            (None, Some(_)) => " class=\"noisy\"",
            _ => "",
        };
        let _ = write!(s, "<tr data-contender=\"{}\"{class}>", esc(&c.label()));
        for ((cell, key), col) in cells.iter().zip(&keys).zip(COLUMNS.iter()) {
            let class = if col.numeric { " class=\"num\"" } else { "" };
            let key = if key.is_empty() && !col.numeric {
                cell
            } else {
                key
            };
            let title = match (col.title, &c.failed, &c.noise) {
                ("note", Some(why), _) | ("note", None, Some(why)) => {
                    format!(" title=\"{}\"", esc(why))
                }
                _ => String::new(),
            };
            let _ = write!(
                s,
                "<td{class} data-v=\"{}\"{title}>{}</td>",
                esc(key),
                esc(cell)
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    for l in legend(r) {
        let _ = writeln!(s, "<p class=\"legend\">{}</p>", esc(&l));
    }
    let v = verdicts(r);
    s.push_str("<div class=\"summary\">\n");
    if let Some(f) = &v.fastest {
        let _ = writeln!(s, "<p class=\"fastest\">{}</p>", esc(f));
    }
    let _ = writeln!(s, "<p>{}</p>\n<ul>", esc(&v.heading));
    for (label, speed, wall) in &v.best {
        let wall = if wall.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(wall))
        };
        let _ = writeln!(s, "<li><b>{}</b>: {}{wall}</li>", esc(label), esc(speed));
    }
    for f in &v.failed {
        let _ = writeln!(s, "<li class=\"failed\">{}</li>", esc(f));
    }
    s.push_str("</ul>\n</div>\n</section>\n");
}

#[cfg(test)]
mod tests;
