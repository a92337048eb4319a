//! `hunt race`: every strategy at every worker count, run as a user runs them, round
//! after round, with statistics a reader can believe.
//!
//! How a race goes:
//! - *Contenders* are the strategies times the worker counts. Each strategy is built
//!   once per worker count and asked how many workers it really uses
//!   ([`crate::strategy::Strategy::workers`]), so a strategy that always has one
//!   (`sequential`) runs once, at 1, without its name being special-cased.
//! - A *round* runs every contender once, in an order shuffled per round, so drift on a
//!   noisy machine (a compile next door, thermal throttling) hits all of them alike.
//!   `--warmup` untimed rounds come first.
//! - The treasure's place in the search order is drawn afresh each round, uniformly
//!   over the search positions, and is the same for every contender in that round: the
//!   child gets `--rotate` so that the manifest's treasure file lands at that position.
//!   A fixed place would favour one strategy (at the start of worker 2's range, say).
//! - `--full-scan` hunts instead for a word no data file holds ([`full_scan_needle`]),
//!   so every run reads the whole set: throughput and scaling without the position
//!   effect. The right answer is then "not found" (exit 1) with every file read.
//! - Each run is a fresh `hunt search` process ([`runner`]). A run that fails (exit 2,
//!   a bad report, a wrong answer) marks its contender failed with the message; the race
//!   goes on without it.
//! - With a report asked for (`--report`), every contender first makes one untimed
//!   traced run (`hunt search --trace`), all with the treasure at one search position
//!   drawn from the seed (on a stream of its own, so the rounds' draws are the same
//!   with or without it): the report's timelines compare the contenders on the same
//!   hunt from its first write on.
//! - After every timed round the exports are rewritten with all results so far (not
//!   after each contender: rounds interleave the contenders), so a late failure or a
//!   Ctrl-C loses nothing already measured.
//! - Ctrl-C ([`crate::interrupt`]) is looked at between runs and while a child runs
//!   ([`runner::run`] kills and reaps it); the race then returns
//!   [`crate::interrupt::Interrupted`] (exit 130) with the exports of the rounds done.
//!
//! Because the treasure moves, a contender's times spread widely by design. The noise
//! warning therefore judges the hunt time *per byte scanned*, which the treasure's place
//! hardly changes, with the rule in [`stats::noise`] (σ/mean over 0.2, or the slowest
//! over twice the median). Only runs that read at least a tenth of the data set
//! ([`NOISE_MIN_SHARE`]) count: in a run that stops after a few files, fixed costs
//! (starting threads, forking) dominate the time per byte, and that is not noise.
//!
//! For the same reason a speedup is *paired* ([`stats::paired_speedup`]): the ratio of
//! mean times over the rounds both contenders ran, so the position effect, shared by
//! both, cancels out of the ratio and out of its standard error.

pub mod faults;
pub mod plan;
pub mod results;
mod rounds;
pub mod runner;
pub mod stats;

pub use plan::{contenders, full_scan_needle, rotate_for, Contender, BASELINE};
pub use results::{ContenderResult, RaceResults, Sample, NOISE_MIN_SHARE};
pub use rounds::run;

use crate::scan::Reader;
use crate::strategy::{Knobs, StrategyKind};
use anyhow::Result;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Whether `hunt race` empties the page cache before each run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Leave the data in the page cache: after the warm-up every run reads memory.
    Warm,
    /// Evict every data file (posix_fadvise DONTNEED) before each run; directory
    /// entries and inodes stay cached.
    Cold,
}

impl CacheMode {
    /// `warm` or `cold`.
    pub fn name(self) -> &'static str {
        match self {
            CacheMode::Warm => "warm",
            CacheMode::Cold => "cold",
        }
    }
}

/// A checked race request.
#[derive(Clone, Debug)]
pub struct RaceOptions {
    /// The data set (it has a manifest).
    pub dir: PathBuf,
    /// Strategies, in table order, no duplicates.
    pub strategies: Vec<StrategyKind>,
    /// Worker counts, ascending, no duplicates.
    pub workers: Vec<NonZeroUsize>,
    /// The reader every run uses.
    pub reader: Reader,
    /// Timed rounds (at least 1).
    pub runs: u64,
    /// Untimed rounds first.
    pub warmup: u64,
    /// Page cache policy.
    pub cache: CacheMode,
    /// `--full-scan`: the needle every run looks for, one no data file holds
    /// ([`full_scan_needle`]); `None` hunts for the manifest's treasure.
    pub full_scan: Option<String>,
    /// Seed of the order and the treasure's places.
    pub seed: u64,
    /// Every knob's value; each contender's runs get its strategy's knobs.
    pub knobs: Knobs,
    /// Make one traced run per contender first, for the report's timelines.
    pub timelines: bool,
    /// `--fault`: every contender also runs once per timed round with this fault
    /// ([`faults`]).
    pub fault: Option<crate::fault::FaultKind>,
}

/// One contender's traced run: the timeline of one hunt with the treasure at
/// `position`, the same for every contender of the race.
#[derive(Clone, Debug)]
pub struct TracedRun {
    /// Who ran.
    pub contender: Contender,
    /// The treasure's search position.
    pub position: u64,
    /// The timeline, or why the run gave none.
    pub timeline: std::result::Result<crate::trace::Timeline, String>,
    /// `--fault`: the fault this run met (a faulted run's timeline, drawn beside the
    /// plain one).
    pub fault: Option<crate::fault::FaultKind>,
}

/// What a race is told while it runs. `hunt race` draws a progress bar and prints notes
/// on stderr; tests can ignore both.
pub trait Observer {
    /// A line for the user (a note or a warning).
    fn note(&mut self, line: &str);
    /// The race is about to start `total` runs.
    fn start(&mut self, total: u64);
    /// A run begins: `what` names the contender and the round (`rayon x2, round 3 of
    /// 10`).
    fn running(&mut self, what: &str);
    /// One run of `contender` finished (or was skipped because it had failed).
    fn ran(&mut self, contender: &Contender);
    /// A contender's traced run is done (before the rounds).
    fn traced(&mut self, run: TracedRun);
    /// A timed round finished; `results` holds everything so far. An error stops the race.
    fn round_done(&mut self, results: &RaceResults) -> Result<()>;
}
