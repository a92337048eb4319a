//! The report's SVG exporter (`hunt race --plot F.svg`): two panels drawn with
//! plotters' SVG backend. Left, the median hunt time against workers, one line per
//! strategy; right, the speedup against
//! `sequential` (the paired ratio of mean times) with bars of ± one standard error, and
//! the ideal line (speedup = workers). Workers are on a log2 axis, since the default
//! counts double.
//!
//! Like the other exports this is a pure function of the results, rendered into a
//! string, so a race in progress can be drawn after every round.

use crate::race::{ContenderResult, RaceResults};
use crate::report::Exporter;
use crate::strategy::StrategyKind;
use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// The SVG plot.
pub struct Svg;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 480;

impl Exporter for Svg {
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>> {
        let mut svg = String::new();
        draw(results, &mut svg).map_err(|e| anyhow!("cannot draw the plot: {e}"))?;
        Ok(svg.into_bytes())
    }
}

/// One strategy's points, by workers.
struct Line {
    strategy: StrategyKind,
    /// (workers, median hunt ms)
    times: Vec<(f64, f64)>,
    /// (workers, speedup, standard error; 0 when unknown)
    speedups: Vec<(f64, f64, f64)>,
}

fn lines(results: &RaceResults) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for c in &results.contenders {
        let ContenderResult {
            strategy, workers, ..
        } = *c;
        if !out.iter().any(|l| l.strategy == strategy) {
            out.push(Line {
                strategy,
                times: Vec::new(),
                speedups: Vec::new(),
            });
        }
        let line = out
            .iter_mut()
            .find(|l| l.strategy == strategy)
            .expect("just pushed");
        let w = workers as f64;
        if let Some(h) = c.hunt {
            line.times.push((w, h.median * 1e3));
        }
        if let Some(s) = c.speedup {
            line.speedups.push((w, s.value, s.se.unwrap_or(0.0)));
        }
    }
    out
}

/// Ten colours that stay apart on white (matplotlib's "tab10"), by registry order, so
/// a strategy keeps its colour whichever others race (the HTML report's timelines use
/// them too).
const COLORS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

pub(crate) fn color(strategy: StrategyKind) -> RGBColor {
    let i = StrategyKind::ALL
        .iter()
        .position(|&k| k == strategy)
        .unwrap_or(0);
    COLORS[i % COLORS.len()]
}

type Error = Box<dyn std::error::Error>;

fn draw(results: &RaceResults, out: &mut String) -> Result<(), Error> {
    let lines = lines(results);
    let max_workers = results
        .contenders
        .iter()
        .map(|c| c.workers)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    times_panel(&left, &lines, max_workers)?;
    speedup_panel(&right, &lines, results, max_workers)?;
    root.present()?;
    Ok(())
}

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

/// The workers axis, log2, from 1 to `max_workers`, with some room either side.
fn x_range(max_workers: f64) -> std::ops::Range<f64> {
    -0.25..max_workers.log2() + 0.25
}

/// A label on the log2 workers axis: the count at whole powers of two, else nothing.
fn x_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
        format!("{}", 2f64.powf(v.round()))
    } else {
        String::new()
    }
}

/// Left: median hunt time against workers.
fn times_panel(area: &Area<'_>, lines: &[Line], max_workers: f64) -> Result<(), Error> {
    let x_range = x_range(max_workers);
    let max_ms = lines
        .iter()
        .flat_map(|l| l.times.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1e-3);
    let min_ms = lines
        .iter()
        .flat_map(|l| l.times.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min)
        .clamp(1e-3, max_ms);
    // A log scale: strategies can differ tenfold (async against the rest), and equal
    // ratios should look equally far apart.
    let mut chart = ChartBuilder::on(area)
        .caption("median hunt time (log scale)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        // Headroom above the highest point keeps the legend off the data.
        .build_cartesian_2d(x_range.clone(), (min_ms * 0.7..max_ms * 4.0).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(max_workers.log2().floor() as usize + 1)
        .x_label_formatter(&x_label)
        .x_desc("workers")
        .y_desc("ms")
        .draw()?;
    for l in lines {
        let c = color(l.strategy);
        let pts: Vec<(f64, f64)> = l.times.iter().map(|&(w, t)| (w.log2(), t)).collect();
        draw_strategy(&mut chart, l.strategy, &pts)?;
        if let [(_, t)] = pts[..] {
            // A one-worker strategy: a faint level across the panel to compare against.
            chart.draw_series(LineSeries::new(
                [(x_range.start, t), (x_range.end, t)],
                c.mix(0.35).stroke_width(1),
            ))?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// Right: speedup against sequential, with the ideal line clipped to the panel.
fn speedup_panel(
    area: &Area<'_>,
    lines: &[Line],
    results: &RaceResults,
    max_workers: f64,
) -> Result<(), Error> {
    let measured = lines
        .iter()
        .flat_map(|l| l.speedups.iter().map(|p| p.1 + p.2))
        .fold(0.0, f64::max);
    let y_max = (measured * 1.25).max(2.0);
    let caption = match results.baseline {
        Some(b) => format!("speedup against {b} (mean hunt time, ± se)"),
        None => "speedup (no sequential in the race)".to_string(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x_range(max_workers), 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_labels(max_workers.log2().floor() as usize + 1)
        .x_label_formatter(&x_label)
        .x_desc("workers")
        .y_desc("times faster")
        .draw()?;
    let top = max_workers.min(y_max).log2();
    let ideal: Vec<(f64, f64)> = (0..=50)
        .map(|i| {
            let x = top * f64::from(i) / 50.0;
            (x, 2f64.powf(x))
        })
        .collect();
    chart
        .draw_series(LineSeries::new(ideal, BLACK.mix(0.5).stroke_width(1)))?
        .label("ideal (= workers)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for l in lines {
        let c = color(l.strategy);
        let pts: Vec<(f64, f64)> = l.speedups.iter().map(|&(w, s, _)| (w.log2(), s)).collect();
        draw_strategy(&mut chart, l.strategy, &pts)?;
        chart.draw_series(l.speedups.iter().filter(|p| p.2 > 0.0).map(|&(w, s, sd)| {
            let x = w.log2();
            PathElement::new(
                vec![(x, (s - sd).max(0.0)), (x, (s + sd).min(y_max))],
                c.stroke_width(1),
            )
        }))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

type Panel<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;
type Drawn = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// One strategy's line and points on a panel, named in the legend. Nothing for no points.
fn draw_strategy<Y: Ranged<ValueType = f64>>(
    chart: &mut Panel<'_, '_, Y>,
    strategy: StrategyKind,
    pts: &[(f64, f64)],
) -> Drawn {
    if pts.is_empty() {
        return Ok(());
    }
    let c = color(strategy);
    chart
        .draw_series(LineSeries::new(pts.to_vec(), c.stroke_width(2)))?
        .label(strategy.name())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
    Ok(())
}

/// The panel's legend, on a half-transparent box.
fn legend<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Panel<'a, 'b, Y>,
    at: SeriesLabelPosition,
) -> Drawn {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(at)
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn draws_both_panels_with_every_strategy_that_ran() {
        let svg = String::from_utf8(Svg.render(&fixture::results()).unwrap()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("median hunt time"));
        assert!(svg.contains("speedup against sequential"));
        assert!(svg.contains("ideal (= workers)"));
        assert!(svg.contains("\nrayon\n") && svg.contains("\nsequential\n"));
        // fork failed without a run: nothing to draw, but no error either.
        let mut empty = fixture::results();
        for c in &mut empty.contenders {
            c.hunt = None;
            c.speedup = None;
        }
        assert!(Svg.render(&empty).is_ok());
    }
}
