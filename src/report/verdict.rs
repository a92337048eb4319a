//! The hyperfine-like verdicts under a race's table: "rayon x2 is 1.85 ± 0.04 times
//! faster than sequential".

use crate::race::stats::Ratio;
use crate::race::{ContenderResult, RaceResults};

/// The hyperfine-like verdicts ("rayon x2 is 1.85 ± 0.04 times faster than
/// sequential"), fastest first, then the failures.
pub fn summary_lines(r: &RaceResults) -> Vec<String> {
    let mut lines = Vec::new();
    match r.baseline {
        None => lines.push(
            "no speedups: sequential was not in the race (add it to --strategies)".to_string(),
        ),
        Some(base) => {
            let mut ranked: Vec<(&ContenderResult, Ratio)> = r
                .contenders
                .iter()
                .filter(|c| c.strategy != base)
                .filter_map(|c| Some((c, c.speedup?)))
                .collect();
            ranked.sort_by(|a, b| b.1.value.total_cmp(&a.1.value));
            for (c, s) in ranked {
                let wall = c
                    .wall_speedup
                    .map(|w| format!(" (whole process: {})", verdict(w)))
                    .unwrap_or_default();
                lines.push(format!("{} is {} than {base}{wall}", c.label(), verdict(s)));
            }
        }
    }
    for c in &r.contenders {
        if let Some(why) = &c.failed {
            lines.push(format!("{} failed: {why}", c.label()));
        }
    }
    lines
}

/// `1.85 ± 0.04 times faster` or, below 1, `1.20 ± 0.05 times slower`.
fn verdict(s: Ratio) -> String {
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
    fn verdicts_read_like_hyperfine() {
        let r = fixture::results();
        assert_eq!(
            summary_lines(&r),
            [
                "rayon x2 is 1.80 ± 0.09 times faster than sequential (whole process: 1.72 times faster)",
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
        assert!(summary_lines(&none)[0].starts_with("no speedups"));
    }
}
