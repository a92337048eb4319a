//! The race's statistics, as pure functions over plain numbers so they can be checked
//! against results worked out by hand.
//!
//! Conventions, chosen to match hyperfine so the numbers read the same way:
//! - σ is the *sample* standard deviation (divided by n - 1); one sample has σ = 0.
//! - The median of an even count is the mean of the two middle values.
//! - A speedup is a ratio of medians, `baseline / contender`, and its uncertainty
//!   propagates the relative standard deviations of both:
//!   `σ = speedup · sqrt((σ_b / mean_b)² + (σ_c / mean_c)²)`.

use serde::Serialize;

/// The coefficient of variation (σ / mean) above which a contender counts as noisy.
pub const NOISY_CV: f64 = 0.2;
/// A contender is noisy when its slowest run took more than this many times its median.
pub const NOISY_MAX_OVER_MEDIAN: f64 = 2.0;

/// Centre and spread of one set of measurements.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Number of measurements.
    pub n: usize,
    /// The middle value.
    pub median: f64,
    /// The arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one measurement).
    pub stddev: f64,
    /// The smallest measurement.
    pub min: f64,
    /// The largest measurement.
    pub max: f64,
}

/// A ratio with its propagated uncertainty.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Ratio {
    /// The ratio itself.
    pub value: f64,
    /// Its standard deviation.
    pub sigma: f64,
}

/// The arithmetic mean, or `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The sample standard deviation; 0 for one value, `None` for none.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    if xs.len() < 2 {
        return Some(0.0);
    }
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// The median, or `None` for no values.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Median, mean, σ and range of `xs`, or `None` when it is empty.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    Some(Summary {
        n: xs.len(),
        median: median(xs)?,
        mean: mean(xs)?,
        stddev: std_dev(xs)?,
        min: xs.iter().copied().fold(f64::INFINITY, f64::min),
        max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// How many times faster `contender` is than `baseline` (ratio of medians), with the
/// hyperfine-style uncertainty. `None` when a median or mean is not positive.
pub fn speedup(baseline: &Summary, contender: &Summary) -> Option<Ratio> {
    if baseline.median <= 0.0
        || contender.median <= 0.0
        || baseline.mean <= 0.0
        || contender.mean <= 0.0
    {
        return None;
    }
    let value = baseline.median / contender.median;
    let rel_b = baseline.stddev / baseline.mean;
    let rel_c = contender.stddev / contender.mean;
    Some(Ratio {
        value,
        sigma: value * (rel_b * rel_b + rel_c * rel_c).sqrt(),
    })
}

/// Parallel efficiency: the speedup divided by the workers that earned it (1 is
/// perfect scaling).
pub fn efficiency(speedup: f64, workers: usize) -> f64 {
    speedup / workers.max(1) as f64
}

/// Says why a set of time-like measurements looks noisy, or `None` when it does not:
/// σ / mean above [`NOISY_CV`], or a maximum above [`NOISY_MAX_OVER_MEDIAN`] times the
/// median.
pub fn noise(s: &Summary) -> Option<String> {
    if s.n < 2 || s.mean <= 0.0 || s.median <= 0.0 {
        return None;
    }
    let cv = s.stddev / s.mean;
    if cv > NOISY_CV {
        return Some(format!("σ/mean is {cv:.2} (over {NOISY_CV})"));
    }
    let ratio = s.max / s.median;
    if ratio > NOISY_MAX_OVER_MEDIAN {
        return Some(format!(
            "the slowest run took {ratio:.2} x the median (over {NOISY_MAX_OVER_MEDIAN})"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn summary_of_known_values() {
        // Mean 5, squared deviations sum to 32, so σ = sqrt(32 / 7).
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!(close(s.mean, 5.0));
        assert!(close(s.median, 4.5));
        assert!(close(s.stddev, (32.0f64 / 7.0).sqrt()));
        assert_eq!((s.min, s.max), (2.0, 9.0));

        let odd = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(odd.median, 2.0);
        assert!(close(odd.stddev, 1.0));
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[]), None);
        let one = summarize(&[0.25]).unwrap();
        assert_eq!(
            (one.median, one.mean, one.stddev, one.min, one.max),
            (0.25, 0.25, 0.0, 0.25, 0.25)
        );
    }

    #[test]
    fn speedup_is_a_ratio_of_medians_with_propagated_sigma() {
        let base = Summary {
            n: 5,
            median: 2.0,
            mean: 2.0,
            stddev: 0.2,
            min: 1.8,
            max: 2.2,
        };
        let fast = Summary {
            n: 5,
            median: 1.0,
            mean: 1.0,
            stddev: 0.05,
            min: 0.9,
            max: 1.1,
        };
        let r = speedup(&base, &fast).unwrap();
        assert!(close(r.value, 2.0));
        // Relative σs 0.1 and 0.05: 2 · sqrt(0.01 + 0.0025).
        assert!(close(r.sigma, 2.0 * 0.0125f64.sqrt()));
        // The other way round it is a slowdown.
        assert!(close(speedup(&fast, &base).unwrap().value, 0.5));
        // Against itself: exactly 1.
        let same = Summary {
            stddev: 0.0,
            ..base
        };
        assert_eq!(
            speedup(&same, &same),
            Some(Ratio {
                value: 1.0,
                sigma: 0.0
            })
        );
        let zero = Summary {
            median: 0.0,
            ..fast
        };
        assert_eq!(speedup(&base, &zero), None);
        assert!(close(efficiency(r.value, 4), 0.5));
        assert!(close(efficiency(1.0, 0), 1.0));
    }

    #[test]
    fn noise_rule() {
        let calm = summarize(&[1.0, 1.1, 0.9, 1.05, 0.95]).unwrap();
        assert_eq!(noise(&calm), None);
        let spread = summarize(&[1.0, 2.0, 1.0, 2.0]).unwrap();
        assert!(
            noise(&spread).unwrap().contains("σ/mean"),
            "{:?}",
            noise(&spread)
        );
        // Thirty calm runs and one slow one: σ/mean is 0.18, but max is 2.05 x median.
        let mut xs = vec![1.0; 30];
        xs.push(2.05);
        let outlier = summarize(&xs).unwrap();
        assert!(outlier.stddev / outlier.mean <= NOISY_CV);
        assert!(noise(&outlier).unwrap().contains("2.05 x the median"));
        assert_eq!(noise(&summarize(&[5.0]).unwrap()), None);
    }
}
