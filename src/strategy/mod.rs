//! The strategies: one small trait, one file per implementation, and the registry that
//! names them all.
//!
//! # Adding a strategy
//! 1. Write `src/strategy/<name>.rs` with a type that implements [`Strategy`] (the hunt)
//!    and [`Registered`] (its facts: `new`, and, where the defaults do not fit, the
//!    readers it takes, its worker rule, its knobs).
//! 2. Add one line to the `registry!` call below (with `if feature "f"` when it needs an
//!    optional cargo feature).
//!
//! `hunt search --strategy`, its knob flags, `hunt race` (which hands each contender its
//! knobs), `cargo bench` and the table-driven tests all take their list from
//! [`StrategyKind::ALL`] and [`StrategyKind::facts`]; nothing else names a strategy.
//! `tests/registry.rs` checks this with a copy of `sequential` registered under another
//! name.
//!
//! `new` does the setup a strategy needs (a thread pool, a runtime, a ring) and
//! [`Strategy::hunt`] does the hunt, so a benchmark can time either.

pub mod coordinator;
mod facts;
pub mod knob;
mod outcome;
pub mod pool;
#[cfg(feature = "redis")]
mod pyqueue;

pub use facts::{Facts, RaceService, Registered, Service, WorkerRule};
pub use knob::{Knob, Knobs, Value};
pub use outcome::{positions, Outcome, WorkerFailure};

use crate::scan::{Job, Reader};
use anyhow::Result;
use std::num::NonZeroUsize;

/// The most workers any command accepts.
pub const MAX_WORKERS: usize = 1024;

/// Settings a strategy is built with.
#[derive(Clone, Debug)]
pub struct StrategyConfig {
    /// Number of workers (threads, tasks or processes); one-worker strategies ignore it.
    pub workers: NonZeroUsize,
    /// Every knob's checked value; each strategy reads its own.
    pub knobs: Knobs,
    /// The strategy's name and test hooks, for its workers ([`pool::Pool`]): set by
    /// [`StrategyKind::build`] for the strategy it builds, whatever the caller put here.
    pub pool: pool::Pool,
}

impl StrategyConfig {
    /// `workers` workers, every knob at its default.
    pub fn new(workers: NonZeroUsize) -> Self {
        StrategyConfig {
            workers,
            knobs: Knobs::default(),
            pool: pool::Pool::default(),
        }
    }
}

/// One way of running the hunt.
pub trait Strategy {
    /// Runs one hunt over `job` and reports what every worker did. An `Err` means the
    /// hunt itself could not run (no broker to talk to, say); errors on single files are
    /// counted in [`Outcome::tally`], and workers that fail are reported in
    /// [`Outcome::worker_failures`], so the report is still printed.
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome>;

    /// How many workers the hunt really uses.
    fn workers(&self) -> usize;
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

macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $module:ident :: $ty:ident $(if feature $feature:literal)?;)*) => {
        $( $(#[cfg(feature = $feature)])? mod $module; )*

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

            /// What the registry knows of it.
            pub fn facts(self) -> Facts {
                match self {
                    $(StrategyKind::$variant => registry!(@facts $module::$ty $(, $feature)?),)*
                }
            }
        }
    };
    (@facts $module:ident :: $ty:ident) => { Facts::of::<$module::$ty>() };
    (@facts $module:ident :: $ty:ident, $feature:literal) => {{
        #[cfg(feature = $feature)]
        let facts = Facts::of::<$module::$ty>();
        #[cfg(not(feature = $feature))]
        let facts = Facts::missing($feature);
        facts
    }};
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
    Async = "async" => r#async::Async if feature "tokio";
    /// io_uring: each worker thread batches openat, read and close on its own ring.
    Uring = "uring" => uring::Uring if feature "uring";
    /// The blog's task queue in memory: a producer, a bounded channel, K consumer threads.
    Queue = "queue" => queue::Queue;
    /// Worker processes that re-run the hunt binary, talking to the parent over pipes.
    Spawn = "spawn" => spawn::Spawn;
    /// A task queue on a Redis broker: `hunt worker` processes, leases, retries.
    Redis = "redis" => redis::Redis if feature "redis";
    /// The blog's database as the queue, on SQLite: `hunt worker` processes poll one file.
    Sqlite = "sqlite" => sqlite::Sqlite if feature "sqlite";
    /// A PostgreSQL table as the queue: SKIP LOCKED claims, leases, LISTEN/NOTIFY.
    Postgres = "postgres" => postgres::Postgres if feature "postgres";
    /// A RabbitMQ quorum queue: manual acks, prefetch 1, leases as connection heartbeats.
    Rabbitmq = "rabbitmq" => rabbitmq::Rabbitmq if feature "rabbitmq";
    /// The real Celery (PyPI) on Redis, its defaults: early ack, prefetch 4, a prefork pool.
    Celery = "celery" => celery::Celery if feature "redis";
    /// Celery with acks_late, reject on worker lost, prefetch 1, visibility timeout = lease.
    CeleryReliable = "celery-reliable" => celery_reliable::CeleryReliable if feature "redis";
    /// The real RQ (PyPI) on Redis, its defaults: K `rq worker`s, a work horse per job.
    Rq = "rq" => rq::Rq if feature "redis";
}

impl StrategyKind {
    /// Parses a name as given on the command line.
    pub fn from_name(name: &str) -> Option<StrategyKind> {
        StrategyKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Sets the strategy up for hunts; a strategy this build left out says how to
    /// rebuild.
    pub fn build(self, config: &StrategyConfig) -> Result<Box<dyn Strategy>> {
        let facts = self.facts();
        if let Some(f) = facts.missing_feature {
            anyhow::bail!(
                "hunt was built without the `{f}` feature: rebuild with `cargo build --features {f}`"
            );
        }
        // The strategy's workers are named after it, and its test hooks reach them,
        // without the strategy naming itself.
        (facts.build)(&StrategyConfig {
            pool: pool::Pool::new(self.name()),
            ..config.clone()
        })
    }

    /// What a race must start for this strategy first (see [`Registered::race_service`]).
    pub fn race_service(self, knobs: &Knobs) -> Result<RaceService> {
        (self.facts().race_service)(knobs)
    }

    /// The readers this strategy can use (see [`Registered::READERS`]).
    pub fn readers(self) -> &'static [Reader] {
        self.facts().readers
    }

    /// False for a strategy this build left out: asking for it fails with a line
    /// saying how to rebuild. Sweeps and tests skip these. (A kernel that refuses
    /// io_uring is only found out at run time, when the strategy is built.)
    pub fn compiled_in(self) -> bool {
        self.facts().missing_feature.is_none()
    }

    /// How many workers this strategy really uses when asked for `requested`. Sweeps
    /// use it to run one-worker strategies once without building anything. A unit test
    /// checks it against `workers()` of every built strategy.
    pub fn workers_for(self, requested: NonZeroUsize) -> usize {
        self.facts().workers.apply(requested)
    }

    /// True when this build has the strategy and it can read with `reader`: the pairs
    /// sweeps and tests run.
    pub fn runs_with(self, reader: Reader) -> bool {
        self.compiled_in() && self.readers().contains(&reader)
    }

    /// Refuses a strategy this build lacks, or a reader it cannot use, with the fix.
    pub fn check_reader(self, reader: Reader) -> Result<()> {
        if let Some(f) = self.facts().missing_feature {
            anyhow::bail!(
                "hunt was built without the `{f}` feature: rebuild with `cargo build --features {f}`"
            );
        }
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
/// and tests iterate this, so a new strategy joins them by being registered. Peers
/// ([`Registered::PEER`]: Celery, RQ) are left out: they need a Python environment and
/// have their own tests.
pub fn runnable_pairs() -> Vec<(StrategyKind, Reader)> {
    StrategyKind::ALL
        .iter()
        .filter(|k| !k.facts().peer)
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
        // Peers start a Python pool per build: tests/celery.rs runs them.
        for &k in StrategyKind::ALL
            .iter()
            .filter(|k| k.compiled_in() && !k.facts().peer)
        {
            for w in [1usize, 2, 3] {
                let w = NonZeroUsize::new(w).unwrap();
                // A kernel that refuses io_uring, or a machine without a broker's server,
                // cannot build the strategy: nothing to compare.
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

    #[test]
    fn a_failure_names_the_worker_and_what_it_lost() {
        let f = WorkerFailure::range("fork worker 3".into(), &(18..24), "was killed".into());
        assert_eq!(
            f.to_string(),
            "fork worker 3 (search positions 18..24) was killed; that range went unsearched"
        );
    }
}
