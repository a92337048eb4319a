//! The race's statistics, as pure functions over plain numbers so they can be checked
//! against results worked out by hand.
//!
//! Conventions, chosen to match hyperfine so the numbers read the same way:
//! - σ is the *sample* standard deviation (divided by n - 1); one sample has σ = 0.
//! - The median of an even count is the mean of the two middle values.
//!
//! A speedup is *paired*: it uses only rounds both contenders ran, where both met the
//! treasure at the same search position. Within a contender the times spread mostly
//! because that position moves, so a ratio of medians with both σs propagated (as
//! hyperfine does for independent commands) would be swamped by the position effect
//! ("4.77 ± 8.38 times faster"). Pairing cancels it:
//! - the speedup is the ratio of mean times, `R = mean(x) / mean(y)` with `x` the
//!   baseline's and `y` the contender's times in the same rounds: the ratio of the
//!   expected times to find, over uniformly drawn positions;
//! - its ± is the standard error of `R` by the delta method for a ratio of paired
//!   means: `Var(R) ≈ (s_x² − 2R·s_xy + R²·s_y²) / (n·ȳ²)`, with sample (co)variances.
//!   The numerator is the sample variance of `x_i − R·y_i`, which is how it is computed
//!   (it cannot come out negative through cancellation). It needs two rounds; with one
//!   there is no ±.

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

/// A paired ratio of mean times and its standard error.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Ratio {
    /// The ratio itself.
    pub value: f64,
    /// Its standard error (delta method); `None` from a single pair, which cannot show
    /// how much the ratio varies.
    pub se: Option<f64>,
}

impl Ratio {
    /// A ratio known exactly (a contender against itself).
    pub const ONE: Ratio = Ratio {
        value: 1.0,
        se: Some(0.0),
    };
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

/// How many times faster `y` (the contender) is than `x` (the baseline), from times
/// measured in pairs: `x[i]` and `y[i]` come from the same round. The ratio of means
/// with its delta-method standard error (see the module docs). `None` when the lengths
/// differ, there are no pairs, or a mean is not positive.
pub fn paired_speedup(x: &[f64], y: &[f64]) -> Option<Ratio> {
    if x.len() != y.len() {
        return None;
    }
    let (mx, my) = (mean(x)?, mean(y)?);
    if mx <= 0.0 || my <= 0.0 {
        return None;
    }
    let value = mx / my;
    let n = x.len();
    let se = (n >= 2).then(|| {
        // The sample variance of d = x - R·y, whose mean is 0 by the choice of R.
        let ss: f64 = x.iter().zip(y).map(|(a, b)| (a - value * b).powi(2)).sum();
        (ss / (n - 1) as f64 / (n as f64 * my * my)).sqrt()
    });
    Some(Ratio { value, se })
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
    fn speedup_is_a_paired_ratio_of_means_with_its_standard_error() {
        // x = sequential, y = contender, three rounds:
        //   x = 3, 5, 10: mean 6, deviations -3, -1, 4, s_x² = 26 / 2 = 13
        //   y = 1, 3, 4:  mean 8/3, deviations -5/3, 1/3, 4/3, s_y² = (42/9) / 2 = 7/3
        //   s_xy = (5 - 1/3 + 16/3) / 2 = 5
        //   R = 6 / (8/3) = 9/4
        //   Var(R) = (13 - 2·(9/4)·5 + (81/16)·(7/3)) / (3·(64/9))
        //          = (13 - 22.5 + 11.8125) / (64/3) = 2.3125 · 3/64 = 111/1024
        //   se = sqrt(111) / 32 ≈ 0.329
        let r = paired_speedup(&[3.0, 5.0, 10.0], &[1.0, 3.0, 4.0]).unwrap();
        assert!(close(r.value, 2.25));
        assert!(close(r.se.unwrap(), 111f64.sqrt() / 32.0), "{r:?}");

        // The treasure's place changes each round the times tenfold, but the contender
        // is always exactly twice as fast: speedup 2 with no uncertainty. (A ratio of
        // medians with both σs propagated would say 2 ± 4.2.)
        let x = [1.0, 10.0, 100.0];
        let y = [0.5, 5.0, 50.0];
        let r = paired_speedup(&x, &y).unwrap();
        assert!(close(r.value, 2.0));
        assert!(r.se.unwrap() < 1e-12, "{r:?}");

        // Slower contender: x = 2, 2 and y = 3, 5: R = 2/4 = 0.5, d = 0.5, -0.5,
        // s_d² = 0.5, se = sqrt(0.5 / (2·16)) = 0.125.
        let r = paired_speedup(&[2.0, 2.0], &[3.0, 5.0]).unwrap();
        assert!(close(r.value, 0.5));
        assert!(close(r.se.unwrap(), 0.125));

        // One pair: a ratio, but nothing to say how much it varies.
        assert_eq!(
            paired_speedup(&[4.0], &[2.0]),
            Some(Ratio {
                value: 2.0,
                se: None
            })
        );
        // Unpaired, empty or zero times: no speedup.
        assert_eq!(paired_speedup(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(paired_speedup(&[], &[]), None);
        assert_eq!(paired_speedup(&[1.0], &[0.0]), None);

        assert!(close(efficiency(2.0, 4), 0.5));
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
