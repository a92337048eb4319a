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
//! end as a grey line. Files closer together than half a pixel are drawn as one bar
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
//! Like every exporter this is pure: results and context in, bytes out.

use super::cells::{heading, legend, rows, COLUMNS};
use super::svg::{color, Svg};
use super::verdict::verdicts;
use super::{Context, Exporter};
use crate::race::{Contender, ContenderResult, RaceResults, TracedRun};
use crate::trace::{End, Event, Kind, Timeline};
use crate::units;
use anyhow::Result;
use std::fmt::Write as _;

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

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto; max-width: 1360px; padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.heading { color: #555; margin: 0; white-space: pre-line; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: #666; } dd { margin: 0; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f4f4f4; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; white-space: nowrap; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; }
th { cursor: pointer; user-select: none; text-align: left; background: #f7f7f7; position: sticky; top: 0; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
th[aria-sort="ascending"]::after { content: " \25B2"; } th[aria-sort="descending"]::after { content: " \25BC"; }
tr.failed td { color: #a00; } tr.noisy td:last-child { color: #a60; }
.legend, .note { color: #666; font-size: 12px; margin: 6px 0; }
.summary { margin: 10px 0; } .summary .fastest { font-weight: 600; }
.summary ul { margin: 4px 0; padding-left: 20px; }
#plots svg { max-width: 100%; height: auto; }
figure.timeline { margin: 14px 0; }
figure.timeline figcaption { font-size: 13px; margin-bottom: 2px; }
figure.timeline figcaption b { font-weight: 600; }
figure.timeline svg { display: block; max-width: 100%; height: auto; }
figure.missing figcaption { color: #a00; }
.swatch { display: inline-block; width: 12px; height: 10px; vertical-align: middle; margin: 0 4px 0 12px; border: 1px solid #888; }
body.shared .axis-own, body:not(.shared) .axis-shared { display: none; }
"#;

/// The sorting of the table, the time scale of the timelines, then the marker that the
/// script ran to its end.
const SCRIPT: &str = r#"
(function () {
  var table = document.getElementById('race');
  var heads = table.tHead.rows[0].cells;
  function key(cell) {
    var v = cell.getAttribute('data-v');
    if (v === null || v === '') return null;
    var n = Number(v);
    return isNaN(n) ? v : n;
  }
  function sortBy(i) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = heads[i].getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    for (var j = 0; j < heads.length; j++) heads[j].removeAttribute('aria-sort');
    heads[i].setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var x = key(a.cells[i]), y = key(b.cells[i]);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
      return String(x).localeCompare(String(y)) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    th.addEventListener('click', function () { sortBy(i); });
  });
  var box = document.getElementById('shared-scale');
  function scale() {
    document.body.classList.toggle('shared', box.checked);
    document.querySelectorAll('g.scaled').forEach(function (g) {
      if (box.checked) g.setAttribute('transform', 'scale(' + g.getAttribute('data-k') + ',1)');
      else g.removeAttribute('transform');
    });
  }
  if (box) {
    box.addEventListener('change', scale);
    scale();
  }
  document.getElementById('count').textContent = String(table.tBodies[0].rows.length);
  document.getElementById('drawn').textContent =
    String(document.querySelectorAll('figure.timeline svg').length);
  document.body.setAttribute('data-ready', '1');
})();
"#;

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
         <title>{}</title>\n<style>{STYLE}</style>\n\
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
    let plot = String::from_utf8(Svg.render(r)?)?;
    let _ = write!(
        s,
        "<section id=\"plots\">\n<h2>Median time and speedup against workers</h2>\n{plot}\n</section>\n"
    );
    timelines(&mut s, r, ctx);
    let _ = write!(
        s,
        "<footer class=\"note\">Written by hunt {} after round {} of {}; it is rewritten after every round.</footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
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

/// Width of a timeline chart, of its label column, and of a row.
const W: f64 = 1300.0;
const LABEL: f64 = 250.0;
const PLOT: f64 = W - LABEL - 20.0;
const ROW: f64 = 16.0;
const TOP: f64 = 22.0;

/// What a file's reading was worth, in drawing order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Worth {
    Read,
    Wasted,
    Failed,
    Found,
}

const FAILED: &str = "#111111";
const FOUND: &str = "#f2c200";
const SIGNAL: &str = "#d40000";

fn timelines(s: &mut String, r: &RaceResults, ctx: &Context) {
    s.push_str("<section id=\"timelines\">\n<h2>Timelines</h2>\n");
    let position = ctx.timelines.first().map(|t| t.position);
    let _ = writeln!(
        s,
        "<p class=\"note\"><span id=\"drawn\">{}</span> timelines, one untimed traced run per contender{}. \
         A row per worker, a bar per run of files it read.\
         <span class=\"swatch\" style=\"background:#1f77b4\"></span>done before the stop signal (the strategy's colour)\
         <span class=\"swatch\" style=\"background:#1f77b4;opacity:0.3\"></span>done or cut short after it (wasted: the same colour, faded)\
         <span class=\"swatch\" style=\"background:{FOUND}\"></span>the treasure\
         <span class=\"swatch\" style=\"background:{FAILED}\"></span>could not be read\
         <span class=\"swatch\" style=\"background:none;border:2px dashed {SIGNAL}\"></span>the stop signal; \
         a black tick is a worker's stop, a grey line the hunt's end, outlined boxes are tasks.</p>",
        ctx.timelines.iter().filter(|t| t.drawing.is_ok()).count(),
        match position {
            Some(p) if r.full_scan => format!(
                ", each reading the whole set from search position {p} on (a full scan: nothing to find)"
            ),
            Some(p) => format!(", each with the treasure at search position {p} of {}", r.files),
            None => String::new(),
        }
    );
    if ctx.timelines.is_empty() {
        s.push_str("<p class=\"note\">No traced runs.</p>\n</section>\n");
        return;
    }
    s.push_str(
        "<p><label><input type=\"checkbox\" id=\"shared-scale\"> one time scale for every contender (the slowest one's)</label></p>\n",
    );
    let longest = ctx
        .timelines
        .iter()
        .filter_map(Chart::span)
        .max()
        .unwrap_or(1)
        .max(1);
    // The results' order (the table's), then any traced run the results lack.
    let mut order: Vec<&Chart> = Vec::new();
    for c in &r.contenders {
        order.extend(
            ctx.timelines
                .iter()
                .filter(|t| t.contender.strategy == c.strategy && t.contender.workers == c.workers),
        );
    }
    for t in &ctx.timelines {
        if !order.iter().any(|o| o.contender == t.contender) {
            order.push(t);
        }
    }
    for t in order {
        chart(s, t, longest);
    }
    s.push_str("</section>\n");
}

/// `(start, end, files)` runs of one kind on one row, closer than `gap` merged.
fn runs(mut spans: Vec<(u64, u64)>, gap: u64) -> Vec<(u64, u64, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(u64, u64, usize)> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(gap) => {
                last.1 = last.1.max(b);
                last.2 += 1;
            }
            _ => out.push((a, b, 1)),
        }
    }
    out
}

/// Tick marks every 1, 2 or 5 times a power of ten, about eight over `span` ns.
fn ticks(span: u64) -> Vec<u64> {
    let raw = (span as f64 / 8.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&st| st >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0) as u64;
    (0..=span / step).map(|i| i * step).collect()
}

fn axis(s: &mut String, span: u64, class: &str, height: f64) {
    let _ = write!(s, "<g class=\"{class}\" font-size=\"10\" fill=\"#666\">");
    for t in ticks(span) {
        let x = LABEL + t as f64 / span as f64 * PLOT;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{height:.1}\" stroke=\"#eee\"/>\
             <text x=\"{x:.1}\" y=\"12\" text-anchor=\"middle\">{}</text>",
            TOP - 4.0,
            units::secs(t as f64 / 1e9)
        );
    }
    s.push_str("</g>");
}

/// One contender's timeline as its chart draws it: reduced from the traced run's
/// timeline at the chart's resolution (files closer than half a pixel merged), so a
/// race keeps a few kilobytes per contender rather than every event of its run (the
/// race's own memory is what its children's peak-memory figures start from).
#[derive(Clone, Debug)]
pub struct Chart {
    /// Who ran.
    pub contender: Contender,
    /// The treasure's search position.
    pub position: u64,
    /// What to draw, or why there is nothing.
    drawing: std::result::Result<Drawing, String>,
}

#[derive(Clone, Debug)]
struct Drawing {
    /// The chart's own time span, ns.
    span: u64,
    /// The hunt's end, ns.
    elapsed: u64,
    /// The stop signal, ns.
    signal: Option<u64>,
    /// The caption after the contender's name, HTML.
    caption: String,
    rows: Vec<Row>,
}

#[derive(Clone, Debug)]
struct Row {
    worker: String,
    /// (start, dur, task, first position, one past the last, cut short)
    tasks: Vec<(u64, u64, u64, u64, u64, bool)>,
    /// (what it was worth, start, end, files)
    bars: Vec<(Worth, u64, u64, usize)>,
    stops: Vec<u64>,
    finds: Vec<u64>,
}

impl Chart {
    /// The chart of `run`.
    pub fn of(run: &TracedRun) -> Chart {
        Chart {
            contender: run.contender,
            position: run.position,
            drawing: run.timeline.as_ref().map(Drawing::of).map_err(Clone::clone),
        }
    }

    fn span(&self) -> Option<u64> {
        self.drawing.as_ref().ok().map(|d| d.span)
    }
}

impl Drawing {
    fn of(t: &Timeline) -> Drawing {
        let span = t.span_ns().max(1);
        let px = span as f64 / PLOT; // ns per pixel, on the chart's own scale
        let signal = t.stop_signal();
        let events = || t.tracks.iter().flat_map(|tr| &tr.events);
        let after = events()
            .filter(|e| {
                e.kind == Kind::File && e.end != End::Found && signal.is_some_and(|s| e.stop() > s)
            })
            .count();
        let last_stop = events()
            .filter(|e| e.kind == Kind::WorkerStop)
            .map(|e| e.start)
            .max();
        let m = &t.meta;
        let mut caption = String::new();
        match (m.found, &m.found_by) {
            (Some(i), by) => {
                let by = by
                    .as_ref()
                    .map(|b| format!(" by {}", esc(b)))
                    .unwrap_or_default();
                let at = events()
                    .filter(|e| e.kind == Kind::Find && e.index == i)
                    .map(|e| e.start)
                    .min();
                let _ = write!(caption, "found file {i}{by}");
                if let Some(at) = at {
                    let _ = write!(caption, " at {}", units::secs(at as f64 / 1e9));
                }
            }
            (None, _) => caption.push_str("nothing found"),
        }
        let _ = write!(
            caption,
            "; hunt {}; {} files read",
            units::secs(m.elapsed_ns as f64 / 1e9),
            m.files_scanned
        );
        if signal.is_some() {
            let _ = write!(caption, ", {after} after the stop signal");
        }
        if let (Some(sig), Some(last)) = (signal, last_stop) {
            let _ = write!(
                caption,
                "; the last worker stopped {} after it",
                units::secs(last.saturating_sub(sig) as f64 / 1e9)
            );
        }
        let worth = |e: &Event| match e.end {
            End::Found => Worth::Found,
            End::Failed => Worth::Failed,
            End::Stopped => Worth::Wasted,
            // Finished after the stop went up, as the tally's "after find" counts it.
            End::Done if signal.is_some_and(|s| e.stop() > s) => Worth::Wasted,
            End::Done => Worth::Read,
        };
        let gap = (px / 2.0) as u64;
        let rows = t
            .tracks
            .iter()
            .map(|tr| {
                let mut bars = Vec::new();
                for what in [Worth::Read, Worth::Wasted, Worth::Failed, Worth::Found] {
                    let spans: Vec<(u64, u64)> = tr
                        .events
                        .iter()
                        .filter(|e| e.kind == Kind::File && worth(e) == what)
                        .map(|e| (e.start, e.stop()))
                        .collect();
                    bars.extend(
                        runs(spans, gap)
                            .into_iter()
                            .map(|(a, b, n)| (what, a, b, n)),
                    );
                }
                let at = |k: Kind| {
                    tr.events
                        .iter()
                        .filter(move |e| e.kind == k)
                        .map(|e| e.start)
                };
                Row {
                    worker: tr.worker.clone(),
                    tasks: tr
                        .events
                        .iter()
                        .filter(|e| e.kind == Kind::Task)
                        .map(|e| (e.start, e.dur, e.index, e.a, e.b, e.end == End::Stopped))
                        .collect(),
                    bars,
                    stops: at(Kind::WorkerStop).collect(),
                    finds: at(Kind::Find).collect(),
                }
            })
            .collect();
        Drawing {
            span,
            elapsed: m.elapsed_ns,
            signal,
            caption,
            rows,
        }
    }
}

fn chart(s: &mut String, c: &Chart, longest: u64) {
    let label = c.contender.to_string();
    let d = match &c.drawing {
        Ok(d) => d,
        Err(why) => {
            let _ = writeln!(
                s,
                "<figure class=\"timeline missing\" data-contender=\"{}\"><figcaption><b>{}</b>: no timeline: {}</figcaption></figure>",
                esc(&label),
                esc(&label),
                esc(why)
            );
            return;
        }
    };
    let span = d.span;
    let px = span as f64 / PLOT;
    // On the time axis: pixels from the plot's left edge (the group below is moved right
    // of the labels, so scaling it keeps the time origin in place).
    let x = |ns: u64| ns as f64 / px;
    let colour = {
        let c = color(c.contender.strategy);
        format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
    };
    let height = TOP + ROW * d.rows.len() as f64 + 6.0;
    let _ = write!(
        s,
        "<figure class=\"timeline\" data-contender=\"{}\" data-tracks=\"{}\">\n<figcaption><b>{}</b>: {}</figcaption>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height:.0}\" viewBox=\"0 0 {W} {height:.0}\" \
         font-family=\"system-ui, sans-serif\" role=\"img\" aria-label=\"timeline of {}\">",
        esc(&label),
        d.rows.len(),
        esc(&label),
        d.caption,
        esc(&label)
    );
    axis(s, span, "axis-own", height);
    axis(s, longest, "axis-shared", height);
    for (i, row) in d.rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let name = &row.worker;
        let shown: String = if name.chars().count() > 40 {
            format!("{}…", name.chars().take(39).collect::<String>())
        } else {
            name.clone()
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#333\"><title>{}</title>{}</text>",
            LABEL - 6.0,
            y + 11.5,
            esc(name),
            esc(&shown)
        );
    }
    // Everything on the time axis, scaled as one for the shared scale.
    let k = span as f64 / longest as f64;
    let _ = write!(
        s,
        "<g transform=\"translate({LABEL},0)\"><g class=\"scaled\" data-k=\"{k:.6}\">"
    );
    for (i, row) in d.rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        // Tasks: outlined boxes, every other one shaded, so their borders show.
        for (n, &(start, dur, task, from, to, cut)) in row.tasks.iter().enumerate() {
            let w = (dur as f64 / px).max(0.5);
            let fill = if n % 2 == 0 { "#000" } else { "none" };
            let _ = write!(
                s,
                "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{fill}\" fill-opacity=\"0.06\" stroke=\"#777\" stroke-width=\"0.8\" vector-effect=\"non-scaling-stroke\"><title>task {task} (search positions {from}..{to}), {}{}</title></rect>",
                x(start),
                y + 0.5,
                ROW - 1.0,
                units::secs(dur as f64 / 1e9),
                if cut { ", cut short" } else { "" }
            );
        }
        for &(what, a, b, n) in &row.bars {
            // Wasted work is faded rather than grey, which is a strategy's colour too.
            let (fill, opacity, name) = match what {
                Worth::Read => (colour.as_str(), "", "read"),
                Worth::Wasted => (
                    colour.as_str(),
                    " fill-opacity=\"0.3\"",
                    "done after the stop signal",
                ),
                Worth::Failed => (FAILED, "", "could not be read"),
                Worth::Found => (FOUND, "", "the treasure"),
            };
            let min = if what == Worth::Found { 3.0 } else { 0.6 };
            let w = ((b - a) as f64 / px).max(min);
            let files = if n == 1 {
                "1 file".to_string()
            } else {
                format!("{n} files")
            };
            let _ = write!(
                s,
                "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{fill}\"{opacity}><title>{files} {name}, {} to {}</title></rect>",
                x(a),
                y + 3.0,
                ROW - 6.0,
                units::secs(a as f64 / 1e9),
                units::secs(b as f64 / 1e9)
            );
        }
        for &at in &row.stops {
            let _ = write!(
                s,
                "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#000\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\"><title>{3} stopped at {4}</title></line>",
                x(at),
                y + 1.0,
                y + ROW - 1.0,
                esc(&row.worker),
                units::secs(at as f64 / 1e9)
            );
        }
        for &at in &row.finds {
            let _ = write!(
                s,
                "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{FOUND}\" stroke-width=\"4\" vector-effect=\"non-scaling-stroke\"><title>the find, at {3}</title></line>",
                x(at),
                y - 2.0,
                y + ROW + 2.0,
                units::secs(at as f64 / 1e9)
            );
        }
    }
    let bottom = height - 4.0;
    if d.elapsed > 0 {
        let _ = write!(
            s,
            "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{bottom:.1}\" stroke=\"#999\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"><title>the hunt ended at {2}</title></line>",
            x(d.elapsed),
            TOP - 4.0,
            units::secs(d.elapsed as f64 / 1e9)
        );
    }
    if let Some(sig) = d.signal {
        let _ = write!(
            s,
            "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{bottom:.1}\" stroke=\"{SIGNAL}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\" vector-effect=\"non-scaling-stroke\"><title>the stop signal, at {2}</title></line>",
            x(sig),
            TOP - 4.0,
            units::secs(sig as f64 / 1e9)
        );
    }
    s.push_str("</g></g></svg>\n</figure>\n");
}

#[cfg(test)]
mod tests;
