//! The timelines of the HTML report: one contender's traced run reduced to a [`Chart`]
//! at the page's resolution, and drawn as an inline SVG Gantt chart (see the module doc
//! of `html.rs` for what each mark means).

use super::esc;
use crate::race::{Contender, RaceResults, TracedRun};
use crate::report::svg::color;
use crate::report::Context;
use crate::trace::{End, Event, Kind, Timeline, Track};
use crate::units;
use std::fmt::Write as _;

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
const FAULT: &str = "#8e24aa";

pub(super) fn timelines(s: &mut String, r: &RaceResults, ctx: &Context) {
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
         <span class=\"swatch\" style=\"background:none;border:2px dashed {SIGNAL}\"></span>the stop signal\
         <span class=\"swatch\" style=\"background:{FAULT}\"></span>the fault of a faulted run (<code>--fault</code>): a line where the worker, holding the treasure's unread file, met it, a band until it was over (the SIGKILL, the SIGCONT, the broker back); \
         a black tick is a worker's stop, a grey line the hunt's end, outlined boxes are tasks (a task taken over after a kill shows on another worker's row).</p>",
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
pub(super) fn runs(mut spans: Vec<(u64, u64)>, gap: u64) -> Vec<(u64, u64, usize)> {
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
pub(super) fn ticks(span: u64) -> Vec<u64> {
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
    /// The fault the run met (`hunt race --fault`), if any.
    fault: Option<crate::fault::FaultKind>,
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
    /// The faults the run met (`hunt race --fault`).
    faults: Vec<Event>,
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
            fault: run.fault,
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
        let gap = (px / 2.0) as u64;
        Drawing {
            span,
            elapsed: t.meta.elapsed_ns,
            signal,
            caption: Drawing::caption(t, signal),
            faults: t.faults().copied().collect(),
            rows: t.tracks.iter().map(|tr| Row::of(tr, signal, gap)).collect(),
        }
    }

    /// What the hunt found, when, and what it read (after the stop signal too), as HTML.
    fn caption(t: &Timeline, signal: Option<u64>) -> String {
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
        for f in t.faults() {
            let _ = write!(caption, "; {}", esc(&fault_words(f)));
        }
        caption
    }
}

impl Row {
    /// One worker's row: its files as bars by worth (runs closer than `gap` merged), its
    /// tasks, its stops and its finds.
    fn of(tr: &Track, signal: Option<u64>, gap: u64) -> Row {
        let worth = |e: &Event| match e.end {
            End::Found => Worth::Found,
            End::Failed => Worth::Failed,
            End::Stopped => Worth::Wasted,
            // Finished after the stop went up, as the tally's "after find" counts it.
            End::Done if signal.is_some_and(|s| e.stop() > s) => Worth::Wasted,
            End::Done => Worth::Read,
        };
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
    }
}

fn chart(s: &mut String, c: &Chart, longest: u64) {
    let label = match c.fault {
        // A dead worker's own events die with it: its track ends early or is missing.
        Some(kind) => format!("{} under --fault {}", c.contender, kind.name()),
        None => c.contender.to_string(),
    };
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
    worker_labels(s, &d.rows);
    // Everything on the time axis, scaled as one for the shared scale.
    let k = span as f64 / longest as f64;
    let _ = write!(
        s,
        "<g transform=\"translate({LABEL},0)\"><g class=\"scaled\" data-k=\"{k:.6}\">"
    );
    for (i, row) in d.rows.iter().enumerate() {
        row_marks(s, row, TOP + ROW * i as f64, px, &colour);
    }
    fault_marks(s, d, height, px);
    hunt_lines(s, d, height, px);
    s.push_str("</g></g></svg>\n</figure>\n");
}

/// The workers' names, left of the plot (cut at 40 characters, whole in the tooltip).
fn worker_labels(s: &mut String, rows: &[Row]) {
    for (i, row) in rows.iter().enumerate() {
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
}

/// One worker's row at height `y`, `px` ns to a pixel: its tasks, its files' bars, its
/// stops and its finds. On the time axis: pixels from the plot's left edge (the group
/// is moved right of the labels, so scaling it keeps the time origin in place).
fn row_marks(s: &mut String, row: &Row, y: f64, px: f64, colour: &str) {
    let x = |ns: u64| ns as f64 / px;
    // Tasks: outlined boxes, every other one shaded, so their borders show.
    for (n, &(start, dur, task, from, to, cut)) in row.tasks.iter().enumerate() {
        let w = (dur as f64 / px).max(0.5);
        let fill = if n % 2 == 0 { "#000" } else { "none" };
        let paint = format!("fill=\"{fill}\" fill-opacity=\"0.06\" stroke=\"#777\" stroke-width=\"0.8\" vector-effect=\"non-scaling-stroke\"");
        let title = format!(
            "task {task} (search positions {from}..{to}), {}{}",
            units::secs(dur as f64 / 1e9),
            if cut { ", cut short" } else { "" }
        );
        bar(s, x(start), y, w, 0.5, &paint, &title);
    }
    for &(what, a, b, n) in &row.bars {
        // Wasted work is faded rather than grey, which is a strategy's colour too.
        let (fill, opacity, name) = match what {
            Worth::Read => (colour, "", "read"),
            Worth::Wasted => (
                colour,
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
        let title = format!(
            "{files} {name}, {} to {}",
            units::secs(a as f64 / 1e9),
            units::secs(b as f64 / 1e9)
        );
        bar(
            s,
            x(a),
            y,
            w,
            3.0,
            &format!("fill=\"{fill}\"{opacity}"),
            &title,
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

/// One box of a worker's row at height `y`: `w` pixels wide from `x`, `inset` pixels in
/// from the row's top and bottom, painted by `paint` (its fill and stroke attributes),
/// with `title` as its tooltip.
fn bar(s: &mut String, x: f64, y: f64, w: f64, inset: f64, paint: &str, title: &str) {
    let _ = write!(
        s,
        "<rect x=\"{x:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"{:.1}\" {paint}><title>{title}</title></rect>",
        y + inset,
        ROW - 2.0 * inset
    );
}

/// What a fault event says, in words: `kill-worker (SIGKILL from outside) to pid 42
/// thread 42 at 12.0 ms, over at 14.1 ms`.
fn fault_words(e: &Event) -> String {
    let what = match crate::fault::from_code(e.b) {
        Some((kind, host)) => format!("{} ({})", kind.name(), crate::fault::how(kind, host)),
        None => "a fault".to_string(),
    };
    let mut words = format!(
        "{what} to pid {} thread {} at {}",
        e.index,
        e.a,
        units::secs(e.start as f64 / 1e9)
    );
    if e.dur > 0 {
        let _ = write!(words, ", over at {}", units::secs(e.stop() as f64 / 1e9));
    }
    words
}

/// A fault (purple): a line where the worker met it, a band until it was over, across
/// every row.
fn fault_marks(s: &mut String, d: &Drawing, height: f64, px: f64) {
    let x = |ns: u64| ns as f64 / px;
    let bottom = height - 4.0;
    for f in &d.faults {
        let kind = crate::fault::from_code(f.b).map_or("fault", |(k, _)| k.name());
        let title = esc(&fault_words(f));
        let _ = write!(s, "<g class=\"fault\" data-fault=\"{kind}\">");
        if f.dur > 0 {
            let _ = write!(
                s,
                "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{FAULT}\" fill-opacity=\"0.15\"><title>{title}</title></rect>",
                x(f.start),
                TOP - 4.0,
                (f.dur as f64 / px).max(0.5),
                bottom - TOP + 4.0
            );
        }
        let _ = write!(
            s,
            "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{bottom:.1}\" stroke=\"{FAULT}\" stroke-width=\"2.5\" vector-effect=\"non-scaling-stroke\"><title>{title}</title></line></g>",
            x(f.start),
            TOP - 4.0,
        );
    }
}

/// The hunt's end (grey) and the stop signal (red, dashed), across every row.
fn hunt_lines(s: &mut String, d: &Drawing, height: f64, px: f64) {
    let x = |ns: u64| ns as f64 / px;
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
}
