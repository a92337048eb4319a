//! The strategies: one small trait, one file per implementation, and the registry that
//! names them all.
//!
//! To add a strategy, write `src/strategy/<name>.rs` with a type that has
//! `fn new(&StrategyConfig) -> anyhow::Result<Self>` and implements [`Strategy`], then
//! add one line to the `registry!` call below. `hunt search --strategy`, `hunt race`,
//! `cargo bench` and the table-driven tests all take their list from
//! [`StrategyKind::ALL`].
//!
//! `new` does the setup a strategy needs (a thread pool, a runtime, a ring) and
//! [`Strategy::hunt`] does the hunt, so a benchmark can time either.

use crate::scan::{FileError, Found, Job, Reader, Tally};
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Instant;

mod r#async;
mod fork;
mod queue;
mod rayon;
mod sequential;
mod spawn;
mod threads;
mod uring;

pub use queue::QueueStats;
pub use spawn::{run_worker, WorkerRequest};

/// The most workers any command accepts.
pub const MAX_WORKERS: usize = 1024;
/// Files each `uring` worker keeps in flight when `--queue-depth` is not given.
pub const DEFAULT_QUEUE_DEPTH: NonZeroUsize = match NonZeroUsize::new(64) {
    Some(n) => n,
    None => unreachable!(),
};
/// The largest `--queue-depth`: each file in flight holds a read buffer.
pub const MAX_QUEUE_DEPTH: usize = 1024;
/// Files per task of the `queue` strategy when `--batch` is not given.
pub const DEFAULT_BATCH: NonZeroU64 = match NonZeroU64::new(64) {
    Some(n) => n,
    None => unreachable!(),
};

/// Settings a strategy is built with. Each strategy reads the fields it needs and
/// ignores the others.
#[derive(Clone, Debug)]
pub struct StrategyConfig {
    /// Number of workers (threads, tasks or processes); strategies that have one worker
    /// ignore it.
    pub workers: NonZeroUsize,
    /// Files each `uring` worker keeps in flight, 1 to [`MAX_QUEUE_DEPTH`].
    pub queue_depth: NonZeroUsize,
    /// Files per task of the `queue` strategy.
    pub batch: NonZeroU64,
}

impl StrategyConfig {
    /// `workers` workers, every other setting at its default.
    pub fn new(workers: NonZeroUsize) -> Self {
        StrategyConfig {
            workers,
            queue_depth: DEFAULT_QUEUE_DEPTH,
            batch: DEFAULT_BATCH,
        }
    }
}

/// One way of running the hunt.
pub trait Strategy {
    /// Runs one hunt over `job` and reports what every worker did. An `Err` means the
    /// hunt itself could not run (a fork failed, say); errors on single files are counted
    /// in [`Outcome::tally`] instead.
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome>;

    /// How many workers the hunt really uses.
    fn workers(&self) -> usize;
}

/// What one hunt did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// All workers' counts added up, and the find if any.
    pub tally: Tally,
    /// Workers that died or failed, each naming the part of the search it lost. When
    /// this is not empty and nothing was found, the answer is unknown.
    pub worker_failures: Vec<String>,
    /// The `queue` strategy's task counts; `None` for every other strategy.
    pub queue: Option<QueueStats>,
}

impl Outcome {
    /// The outcome of workers that reported through their tallies.
    pub fn from_tallies(tallies: impl IntoIterator<Item = Tally>) -> Outcome {
        let mut tally = Tally::default();
        for t in tallies {
            tally.absorb(t);
        }
        Outcome {
            tally,
            ..Outcome::default()
        }
    }

    /// The find, if any.
    pub fn found(&self) -> Option<Found> {
        self.tally.found
    }

    /// Files that could not be read.
    pub fn errors(&self) -> &[FileError] {
        &self.tally.errors
    }
}

/// Splits search positions `0..n` into `parts` contiguous ranges as even as possible,
/// as the blog's threads do. Ranges may be empty when `parts > n`.
pub fn split_ranges(n: u64, parts: usize) -> Vec<std::ops::Range<u64>> {
    let parts = parts.max(1) as u128;
    (0..parts)
        .map(|i| {
            let start = (u128::from(n) * i / parts) as u64;
            let end = (u128::from(n) * (i + 1) / parts) as u64;
            start..end
        })
        .collect()
}

/// Wall-clock marks of one hunt, taken by the caller around [`Strategy::hunt`].
#[derive(Copy, Clone, Debug)]
pub struct Timing {
    /// Just before `hunt` was called.
    pub start: Instant,
    /// Just after it returned: every worker had stopped.
    pub end: Instant,
}

macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $module:ident :: $ty:ident;)*) => {
        /// Every strategy hunt knows, in the order tables list them.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
                 clap::ValueEnum, serde::Serialize, serde::Deserialize)]
        pub enum StrategyKind {
            $($(#[$doc])* #[value(name = $name)] #[serde(rename = $name)] $variant,)*
        }

        impl StrategyKind {
            /// All registered strategies.
            pub const ALL: &'static [StrategyKind] = &[$(StrategyKind::$variant),*];

            /// The name used on the command line and in reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(StrategyKind::$variant => $name,)*
                }
            }

            /// Sets the strategy up (pools, runtimes, rings) for a hunt.
            pub fn build(self, config: &StrategyConfig) -> anyhow::Result<Box<dyn Strategy>> {
                match self {
                    $(StrategyKind::$variant => Ok(Box::new($module::$ty::new(config)?)),)*
                }
            }
        }
    };
}

registry! {
    /// One loop over the files on the calling thread, one reusable buffer.
    Sequential = "sequential" => sequential::Sequential;
    /// std threads on contiguous ranges, an `AtomicBool` stop flag.
    Threads = "threads" => threads::Threads;
    /// A local rayon pool, short-circuiting `find_any`.
    Rayon = "rayon" => rayon::Rayon;
    /// Forked processes on contiguous ranges, stop flag in memory shared across fork.
    Fork = "fork" => fork::Fork;
    /// tokio: K tasks on a K-thread runtime, `tokio::fs` (each call a blocking-pool hand-off).
    Async = "async" => r#async::Async;
    /// io_uring: each worker thread batches openat, read and close on its own ring.
    Uring = "uring" => uring::Uring;
    /// A producer feeds batches of files into a bounded channel; K consumer threads.
    Queue = "queue" => queue::Queue;
    /// Worker processes that re-run the hunt binary, talking to the parent over pipes.
    Spawn = "spawn" => spawn::Spawn;
}

impl StrategyKind {
    /// Parses a name as given on the command line.
    pub fn from_name(name: &str) -> Option<StrategyKind> {
        StrategyKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl StrategyKind {
    /// The readers this strategy can use. `async` and `uring` bring their own I/O path
    /// (tokio::fs, the ring), so only `read` applies to them: `--reader mmap` with
    /// either is an error rather than a silent fallback, so a report never names a
    /// reader that was not used. Sweeps use this to skip the pairs that do not apply.
    pub fn readers(self) -> &'static [Reader] {
        match self {
            StrategyKind::Async | StrategyKind::Uring => &[Reader::Read],
            _ => &Reader::ALL,
        }
    }

    /// False for a strategy this build left out (`async` without the `tokio` feature,
    /// `uring` without `uring` or off Linux): asking for it fails with a line saying how
    /// to rebuild. Sweeps and tests skip these. (A kernel that refuses io_uring is only
    /// found out at run time, when the strategy is built.)
    // The arms are `cfg!` constants, all-true in a default build: clippy would want a
    // `matches!` in a build without the features.
    #[allow(clippy::match_like_matches_macro)]
    pub fn compiled_in(self) -> bool {
        match self {
            StrategyKind::Async => cfg!(feature = "tokio"),
            StrategyKind::Uring => cfg!(all(feature = "uring", target_os = "linux")),
            _ => true,
        }
    }

    /// How many workers this strategy really uses when asked for `requested`: one for the
    /// single-threaded baseline, the request for every other. Sweeps use it to run
    /// one-worker strategies once without building anything (building `uring` maps its
    /// buffers, and a race that built every contender would carry that memory into the
    /// peak it measures for its children). A unit test checks it against `workers()` of
    /// every built strategy.
    pub fn workers_for(self, requested: NonZeroUsize) -> usize {
        match self {
            StrategyKind::Sequential => 1,
            _ => requested.get(),
        }
    }

    /// True when this build has the strategy and it can read with `reader`: the pairs
    /// sweeps and tests run.
    pub fn runs_with(self, reader: Reader) -> bool {
        self.compiled_in() && self.readers().contains(&reader)
    }

    /// Refuses a reader this strategy cannot use, with the fix.
    pub fn check_reader(self, reader: Reader) -> anyhow::Result<()> {
        if self.readers().contains(&reader) {
            return Ok(());
        }
        anyhow::bail!(
            "--reader {} does not apply to --strategy {self}, which does its own reading: drop --reader, or pick another strategy",
            reader.name()
        )
    }
}

/// Every (strategy, reader) pair this build can run, in registry order: strategies the
/// build left out sit out, and each strategy comes with the readers it can use. Sweeps
/// and tests iterate this, so a new strategy joins them by being registered.
pub fn runnable_pairs() -> Vec<(StrategyKind, Reader)> {
    StrategyKind::ALL
        .iter()
        .flat_map(|&k| Reader::ALL.iter().map(move |&r| (k, r)))
        .filter(|&(k, r)| k.runs_with(r))
        .collect()
}

impl std::fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_once() {
        for n in [0u64, 1, 2, 7, 10, 100, 10_001] {
            for parts in [1usize, 2, 3, 7, 16, 1024] {
                let r = split_ranges(n, parts);
                assert_eq!(r.len(), parts);
                assert_eq!(r[0].start, 0);
                assert_eq!(r[parts - 1].end, n);
                for w in r.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let max = r.iter().map(|x| x.end - x.start).max().unwrap();
                let min = r.iter().map(|x| x.end - x.start).min().unwrap();
                assert!(max - min <= 1, "n={n} parts={parts}");
            }
        }
    }

    #[test]
    fn workers_for_matches_the_built_strategies() {
        for &k in StrategyKind::ALL.iter().filter(|k| k.compiled_in()) {
            for w in [1usize, 2, 3] {
                let w = NonZeroUsize::new(w).unwrap();
                // A kernel that refuses io_uring cannot build `uring`: nothing to compare.
                if let Ok(built) = k.build(&StrategyConfig::new(w)) {
                    assert_eq!(k.workers_for(w), built.workers(), "{k} x{w}");
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for &k in StrategyKind::ALL {
            assert_eq!(StrategyKind::from_name(&k.to_string()), Some(k));
        }
        assert_eq!(StrategyKind::from_name("nope"), None);
    }
}
