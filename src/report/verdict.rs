//! The summary under a race's table, short in hyperfine's manner: the fastest
//! contender, then each strategy at its best worker count against `sequential`
//! ("rayon x2  1.85 ± 0.04 times faster"), then the failures. The table above it holds
//! every contender; the summary says who won and how each model does at its best.

use crate::race::stats::Ratio;
use crate::race::{ContenderResult, RaceResults};

/// The summary's parts, for each format to lay out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdicts {
    /// `Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential`; `None` when no
    /// contender has a result.
    pub fastest: Option<String>,
    /// The heading of [`Verdicts::best`], or why there are no speedups.
    pub heading: String,
    /// Each strategy but the baseline at its best worker count, fastest first:
    /// (`rayon x2`, `1.80 ± 0.09 times faster`, `whole process: 1.72 times faster`).
    pub best: Vec<(String, String, String)>,
    /// `fork x2 failed: ...`, one per failed contender.
    pub failed: Vec<String>,
}

/// What the race's results say, in words.
pub fn verdicts(r: &RaceResults) -> Verdicts {
    let ran: Vec<&ContenderResult> = r
        .contenders
        .iter()
        .filter(|c| c.failed.is_none() && c.hunt.is_some())
        .collect();
    let failed = r
        .contenders
        .iter()
        .filter_map(|c| Some(format!("{} failed: {}", c.label(), c.failed.as_ref()?)))
        .collect();
    let Some(base) = r.baseline else {
        // No speedups: the fastest by mean hunt time.
        let fastest = ran
            .iter()
            .min_by(|a, b| mean(a).total_cmp(&mean(b)))
            .map(|c| {
                format!(
                    "Fastest: {} (mean hunt {})",
                    c.label(),
                    crate::units::secs(mean(c))
                )
            });
        return Verdicts {
            fastest,
            heading: "no speedups: sequential was not in the race (add it to --strategies)"
                .to_string(),
            best: Vec::new(),
            failed,
        };
    };
    // Each strategy's best contender by speedup, the baseline's at exactly 1.
    let mut best: Vec<(&ContenderResult, Ratio)> = Vec::new();
    for c in &ran {
        let Some(s) = c.speedup else { continue };
        match best.iter_mut().find(|(b, _)| b.strategy == c.strategy) {
            Some(b) if s.value > b.1.value => *b = (c, s),
            Some(_) => {}
            None => best.push((c, s)),
        }
    }
    best.sort_by(|a, b| b.1.value.total_cmp(&a.1.value));
    let fastest = best.first().map(|(c, s)| {
        if c.strategy == base {
            format!(
                "Fastest: {} (the baseline: no contender beat it)",
                c.label()
            )
        } else {
            format!("Fastest: {}, {} than {base}", c.label(), verdict(*s))
        }
    });
    Verdicts {
        fastest,
        heading: format!("Each strategy at its best worker count, against {base}:"),
        best: best
            .iter()
            .filter(|(c, _)| c.strategy != base)
            .map(|(c, s)| {
                let wall = c
                    .wall_speedup
                    .map(|w| format!("whole process: {}", verdict(w)))
                    .unwrap_or_default();
                (c.label(), verdict(*s), wall)
            })
            .collect(),
        failed,
    }
}

fn mean(c: &ContenderResult) -> f64 {
    c.hunt.map_or(f64::INFINITY, |h| h.mean)
}

/// The summary as terminal lines: the fastest, the heading, one aligned line per
/// strategy, the failures.
pub fn summary_lines(r: &RaceResults) -> Vec<String> {
    let v = verdicts(r);
    let mut lines: Vec<String> = v.fastest.into_iter().collect();
    lines.push(v.heading);
    let w0 = v
        .best
        .iter()
        .map(|b| b.0.chars().count())
        .max()
        .unwrap_or(0);
    let w1 = v
        .best
        .iter()
        .map(|b| b.1.chars().count())
        .max()
        .unwrap_or(0);
    for (label, speed, wall) in &v.best {
        let line = if wall.is_empty() {
            format!("  {label:<w0$}  {speed}")
        } else {
            format!("  {label:<w0$}  {speed:<w1$}  ({wall})")
        };
        lines.push(line);
    }
    lines.extend(v.failed);
    lines
}

/// `1.85 ± 0.04 times faster` or, below 1, `1.20 ± 0.05 times slower`.
pub fn verdict(s: Ratio) -> String {
    if s.value >= 1.0 {
        format!("{} times faster", ratio(s))
    } else {
        // By the delta method, se(1/R) = se(R) / R².
        let inv = Ratio {
            value: 1.0 / s.value,
            se: s.se.map(|se| se / (s.value * s.value)),
        };
        format!("{} times slower", ratio(inv))
    }
}

/// `1.85 ± 0.04`, or `1.85` when one round gave no standard error.
pub fn ratio(r: Ratio) -> String {
    match r.se {
        Some(se) => format!("{:.2} ± {:.2}", r.value, se),
        None => format!("{:.2}", r.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_summary_is_short_like_hyperfines() {
        let r = fixture::results();
        assert_eq!(
            summary_lines(&r),
            [
                "Fastest: rayon x2, 1.80 ± 0.09 times faster than sequential",
                "Each strategy at its best worker count, against sequential:",
                "  rayon x2  1.80 ± 0.09 times faster  (whole process: 1.72 times faster)",
                "fork x2 failed: round 1: hunt search failed (exit 2): boom",
            ]
        );
        // se(1/R) = se(R) / R² = 0.05 / 0.25.
        assert_eq!(
            verdict(Ratio {
                value: 0.5,
                se: Some(0.05)
            }),
            "2.00 ± 0.20 times slower"
        );
        let mut none = r.clone();
        none.baseline = None;
        let lines = summary_lines(&none);
        assert_eq!(lines[0], "Fastest: rayon x2 (mean hunt 10.0 ms)");
        assert!(lines[1].starts_with("no speedups"));
    }

    #[test]
    fn each_strategy_shows_only_its_best_worker_count() {
        let mut r = fixture::results();
        // rayon x4: slower than rayon x2, so it is not listed; sequential wins if
        // every other contender is slower.
        let mut x4 = r.contenders[1].clone();
        x4.workers = 4;
        x4.speedup = Some(Ratio {
            value: 1.2,
            se: None,
        });
        r.contenders.insert(2, x4);
        let v = verdicts(&r);
        assert_eq!(v.best.len(), 1);
        assert_eq!(v.best[0].0, "rayon x2");
        for c in &mut r.contenders[1..3] {
            c.speedup = Some(Ratio {
                value: 0.5,
                se: None,
            });
        }
        let v = verdicts(&r);
        assert_eq!(
            v.fastest.as_deref(),
            Some("Fastest: sequential x1 (the baseline: no contender beat it)")
        );
        assert_eq!(v.best[0].1, "2.00 times slower");
    }
}
