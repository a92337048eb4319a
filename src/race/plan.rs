//! What a race runs: the contenders (each strategy at each worker count it really
//! uses), the default worker counts, where the treasure sits each round, and the
//! full scan's needle.

use crate::dataset::manifest::Manifest;
use crate::strategy::{StrategyKind, MAX_WORKERS};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::num::NonZeroUsize;

/// The strategy every speedup is measured against.
pub const BASELINE: StrategyKind = StrategyKind::Sequential;

/// Words a full scan may look for, in order of preference: pirate loot that is not the
/// generator's treasure.
const FULL_SCAN_NEEDLES: [&str; 3] = ["Doubloon", "Pieces of eight", "Kraken"];

/// The needle of `--full-scan`: one that no file of the data set can hold, so every run
/// reads every file. Data files hold only the generator's plain line and the manifest's
/// needle on a line of its own; a needle without a line break that is in neither line
/// cannot be in any file.
pub fn full_scan_needle(manifest: &Manifest) -> Result<String> {
    let plain = String::from_utf8_lossy(crate::dataset::generate::PLAIN_LINE);
    let lines = [
        plain.as_ref(),
        &format!("{}\n", manifest.needle),
        &format!("{}\n", crate::dataset::generate::DEFAULT_NEEDLE),
    ];
    FULL_SCAN_NEEDLES
        .iter()
        .find(|n| !n.contains('\n') && lines.iter().all(|l| !l.contains(*n)))
        .map(|n| n.to_string())
        .with_context(|| {
            format!(
                "--full-scan needs a word no file holds, but the manifest's needle {:?} contains each of {FULL_SCAN_NEEDLES:?}: make a new set with `hunt generate`",
                manifest.needle
            )
        })
}

/// The worker counts raced when the user names none: 1, 2, 4, ... up to twice `cores`
/// (and twice `cores` itself when that is not a power of two), at most [`MAX_WORKERS`].
pub fn default_workers(cores: usize) -> Vec<NonZeroUsize> {
    let top = cores.max(1).saturating_mul(2).min(MAX_WORKERS);
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |k| k.checked_mul(2))
        .take_while(|&k| k <= top)
        .collect();
    if v.last() != Some(&top) {
        v.push(top);
    }
    v.into_iter().filter_map(NonZeroUsize::new).collect()
}

/// Checks `--workers` values: each 1 to [`MAX_WORKERS`]; sorted, duplicates dropped.
pub fn check_workers(values: &[u64]) -> Result<Vec<NonZeroUsize>> {
    let mut v = Vec::with_capacity(values.len());
    for &k in values {
        if !(1..=MAX_WORKERS as u64).contains(&k) {
            bail!("--workers {k} is out of range: each worker count must be between 1 and {MAX_WORKERS}");
        }
        v.extend(NonZeroUsize::new(k as usize));
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// One strategy at one worker count.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Contender {
    /// The strategy.
    pub strategy: StrategyKind,
    /// The workers it really uses.
    pub workers: usize,
}

impl std::fmt::Display for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x{}", self.strategy, self.workers)
    }
}

/// The contenders of a race: each strategy at each worker count it really uses
/// ([`StrategyKind::workers_for`]), in strategy order, then by workers. Nothing is built
/// here: a strategy that cannot be built on this machine fails in its runs, with the reason.
pub fn contenders(strategies: &[StrategyKind], workers: &[NonZeroUsize]) -> Vec<Contender> {
    let mut out: Vec<Contender> = Vec::new();
    for &strategy in strategies {
        let mut counts: Vec<usize> = workers.iter().map(|&w| strategy.workers_for(w)).collect();
        counts.sort_unstable();
        counts.dedup();
        out.extend(
            counts
                .into_iter()
                .map(|workers| Contender { strategy, workers }),
        );
    }
    out
}

/// The rotation that puts the file `treasure` at search position `position` of `files`
/// (search position `p` visits file `(p + rotate) % files`).
pub fn rotate_for(treasure: u64, position: u64, files: u64) -> u64 {
    let n = u128::from(files.max(1));
    ((u128::from(treasure) + n - u128::from(position) % n) % n) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(v: &[usize]) -> Vec<NonZeroUsize> {
        v.iter().map(|&k| NonZeroUsize::new(k).unwrap()).collect()
    }

    #[test]
    fn default_worker_counts() {
        assert_eq!(default_workers(1), nz(&[1, 2]));
        assert_eq!(default_workers(2), nz(&[1, 2, 4]));
        assert_eq!(default_workers(3), nz(&[1, 2, 4, 6]));
        assert_eq!(default_workers(8), nz(&[1, 2, 4, 8, 16]));
        assert_eq!(
            *default_workers(4096).last().unwrap(),
            NonZeroUsize::new(MAX_WORKERS).unwrap()
        );
    }

    #[test]
    fn worker_flags_are_checked() {
        assert_eq!(check_workers(&[4, 1, 2, 4]).unwrap(), nz(&[1, 2, 4]));
        let e = check_workers(&[1, 0]).unwrap_err().to_string();
        assert!(e.contains("--workers 0 is out of range"), "{e}");
        assert!(check_workers(&[1025]).is_err());
        assert!(check_workers(&[1024]).is_ok());
    }

    #[test]
    fn single_worker_strategies_run_once() {
        let c = contenders(
            &[StrategyKind::Sequential, StrategyKind::Threads],
            &nz(&[1, 2, 4]),
        );
        let labels: Vec<String> = c.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            labels,
            ["sequential x1", "threads x1", "threads x2", "threads x4"]
        );
    }

    #[test]
    fn rotation_puts_the_treasure_at_the_drawn_position() {
        for (files, treasure) in [(1u64, 0u64), (10, 0), (10, 7), (10_000, 4321)] {
            for position in 0..files.min(50) {
                let rotate = rotate_for(treasure, position, files);
                assert!(rotate < files);
                // Search position p visits file (p + rotate) % files.
                assert_eq!(
                    (position + rotate) % files,
                    treasure,
                    "files {files} position {position}"
                );
            }
        }
    }

    #[test]
    fn the_full_scan_needle_is_in_no_line_of_the_set() {
        let mut m = Manifest {
            format_version: 1,
            generator: "test".into(),
            files: 3,
            lines: 2,
            seed: 1,
            treasure_index: 0,
            treasure_file: "file_0.txt".into(),
            treasure_line: Some(0),
            needle: "Treasure".into(),
            total_bytes: 30,
            preset: None,
        };
        assert_eq!(full_scan_needle(&m).unwrap(), "Doubloon");
        // A set whose treasure line would hold the first choice gets the next one.
        m.needle = "Doubloons".into();
        assert_eq!(full_scan_needle(&m).unwrap(), "Pieces of eight");
        m.needle = "Doubloon, Pieces of eight, Kraken".into();
        let e = full_scan_needle(&m).unwrap_err().to_string();
        assert!(e.contains("--full-scan needs a word no file holds"), "{e}");
    }
}
