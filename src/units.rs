//! How hunt shows sizes and durations to people: one formatter each, used by the human
//! line of `hunt search`, the race's tables and exports, and every message.

use std::time::Duration;

/// `150.0 MB`: decimal units, as disks and `ls -h --si` count.
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        x if x >= 1e9 => format!("{:.2} GB", x / 1e9),
        x if x >= 1e6 => format!("{:.1} MB", x / 1e6),
        x if x >= 1e3 => format!("{:.1} kB", x / 1e3),
        x => format!("{x} B"),
    }
}

/// The unit a duration of `secs` is shown in, and its size in seconds.
fn unit(secs: f64) -> (&'static str, f64) {
    if secs >= 1.0 {
        ("s", 1.0)
    } else if secs >= 1e-3 {
        ("ms", 1e-3)
    } else {
        ("us", 1e-6)
    }
}

/// Three significant digits, at most two decimals.
fn decimals(v: f64) -> usize {
    if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    }
}

/// `12.3 ms`, `1.50 s`, `250 us`: three significant digits in the largest unit that
/// keeps the number at 1 or more.
pub fn secs(secs: f64) -> String {
    if secs == 0.0 {
        return "0 s".to_string();
    }
    let (u, size) = unit(secs);
    let v = secs / size;
    format!("{v:.*} {u}", decimals(v))
}

/// [`secs`] of a [`Duration`].
pub fn duration(d: Duration) -> String {
    secs(d.as_secs_f64())
}

/// `12.5 ± 0.4 ms`: both in the mean's unit and precision.
pub fn mean_sigma(mean: f64, sigma: f64) -> String {
    let (u, size) = unit(mean);
    let d = decimals(mean / size);
    format!("{:.*} ± {:.*} {u}", d, mean / size, d, sigma / size)
}

/// `11.9..13.4 ms`: both in the larger value's unit.
pub fn range(min: f64, max: f64) -> String {
    let (u, size) = unit(max);
    let d = decimals(max / size);
    format!("{:.*}..{:.*} {u}", d, min / size, d, max / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(bytes(150_000_000), "150.0 MB");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000_000), "1.50 GB");
    }

    #[test]
    fn durations_pick_a_unit_and_three_digits() {
        assert_eq!(secs(0.0123), "12.3 ms");
        assert_eq!(secs(1.5), "1.50 s");
        assert_eq!(secs(0.000_25), "250 us");
        assert_eq!(secs(0.0), "0 s");
        assert_eq!(duration(Duration::from_millis(12)), "12.0 ms");
        assert_eq!(duration(Duration::from_millis(1250)), "1.25 s");
        assert_eq!(duration(Duration::from_micros(5)), "5.00 us");
        assert_eq!(mean_sigma(0.0125, 0.0004), "12.5 ± 0.4 ms");
        assert_eq!(range(0.0009, 0.0012), "0.90..1.20 ms");
        assert_eq!(range(0.9, 1.2), "0.90..1.20 s");
    }
}
