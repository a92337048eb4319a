//! What the registry knows of a strategy before it is built: the facts each strategy
//! declares next to its code ([`Registered`]), collected into [`Facts`].

use super::{Knob, Knobs, Strategy, StrategyConfig, Value};
use crate::fault::WorkerHost;
use crate::scan::Reader;
use anyhow::Result;
use std::num::NonZeroUsize;

/// How many workers a strategy really uses when asked for some.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WorkerRule {
    /// Always one (the sequential baseline): a sweep runs it once, at 1.
    One,
    /// As many as asked.
    AsAsked,
}

impl WorkerRule {
    /// The workers used when `requested` are asked for.
    pub fn apply(self, requested: NonZeroUsize) -> usize {
        match self {
            WorkerRule::One => 1,
            WorkerRule::AsAsked => requested.get(),
        }
    }
}

/// The facts of a strategy, declared next to its code. Each has a default, so a
/// strategy writes only what differs.
pub trait Registered: Strategy + Sized + 'static {
    /// The readers it can use. Strategies that bring their own I/O path (tokio, a ring,
    /// another process) take only `read`: `--reader mmap` with them is an error rather
    /// than a silent fallback, so a report never names a reader that was not used.
    const READERS: &'static [Reader] = &Reader::ALL;
    /// How many workers it really uses.
    const WORKERS: WorkerRule = WorkerRule::AsAsked;
    /// Its settings, each one a flag of `hunt search` and `hunt race`.
    const KNOBS: &'static [&'static Knob] = &[];
    /// Where its workers live, which decides how `hunt race --fault` reaches them
    /// ([`crate::fault`]).
    const HOST: WorkerHost = WorkerHost::Thread;
    /// Why `--fault kill-worker` cannot be done to its workers, if it cannot: the race
    /// prints it as the strategy's sit-out line.
    const CANNOT_DIE: Option<&'static str> = None;
    /// True for a peer raced for comparison rather than one of hunt's own strategies
    /// (Celery, RQ: another project's code, in Python): [`crate::strategy::runnable_pairs`]
    /// leaves it out of the table-driven tests, and its own tests check it.
    const PEER: bool = false;
    /// True when the private server it starts without `--broker` takes seconds to start
    /// (see [`crate::broker::backend::Backend::SLOW_PRIVATE`]): a caller running many
    /// hunts starts one through [`Registered::race_service`] and shares it.
    const SLOW_PRIVATE: bool = false;

    /// Sets the strategy up (pools, runtimes, rings, a broker) for hunts.
    fn new(config: &StrategyConfig) -> Result<Self>;

    /// What a race starts once and shares among this strategy's runs (a private broker
    /// server), or why the strategy sits the race out.
    fn race_service(_knobs: &Knobs) -> Result<RaceService> {
        Ok(RaceService::None)
    }
}

/// Something a race runs for the whole race on behalf of one strategy; dropping it stops
/// it.
pub trait Service {
    /// Knob values every run of the strategy gets (the service's address, say).
    fn knobs(&self) -> Vec<(&'static Knob, Value)>;
    /// `hunt race --fault kill-broker`: kills the service's server with SIGKILL and
    /// starts it again on its data; `Err` with why it cannot where it cannot (see
    /// [`Service::cannot_restart`]).
    fn kill_and_restart(&mut self) -> Result<()> {
        anyhow::bail!("it has no server to kill")
    }
    /// Why [`Service::kill_and_restart`] cannot be done, if it cannot: the race's
    /// sit-out line.
    fn cannot_restart(&self) -> Option<&'static str> {
        Some("it has no server to kill")
    }
}

/// What a strategy needs from a race before its runs.
pub enum RaceService {
    /// Nothing.
    None,
    /// A service kept for the whole race.
    Shared(Box<dyn Service>),
    /// The strategy cannot run here (a server is not installed): one line saying how to
    /// add it.
    SitOut(String),
}

/// What the registry knows of one strategy.
#[derive(Copy, Clone)]
pub struct Facts {
    /// See [`Registered::READERS`]; empty for a strategy this build left out.
    pub readers: &'static [Reader],
    /// See [`Registered::WORKERS`].
    pub workers: WorkerRule,
    /// See [`Registered::KNOBS`].
    pub knobs: &'static [&'static Knob],
    /// See [`Registered::HOST`].
    pub host: WorkerHost,
    /// See [`Registered::CANNOT_DIE`].
    pub cannot_die: Option<&'static str>,
    /// See [`Registered::PEER`].
    pub peer: bool,
    /// See [`Registered::SLOW_PRIVATE`].
    pub slow_private: bool,
    /// The cargo feature this build lacks for it, if any.
    pub missing_feature: Option<&'static str>,
    pub(super) build: fn(&StrategyConfig) -> Result<Box<dyn Strategy>>,
    pub(super) race_service: fn(&Knobs) -> Result<RaceService>,
}

impl Facts {
    /// The facts of a strategy this build has.
    pub fn of<S: Registered>() -> Facts {
        Facts {
            readers: S::READERS,
            workers: S::WORKERS,
            knobs: S::KNOBS,
            host: S::HOST,
            cannot_die: S::CANNOT_DIE,
            peer: S::PEER,
            slow_private: S::SLOW_PRIVATE,
            missing_feature: None,
            build: |config| Ok(Box::new(S::new(config)?)),
            race_service: S::race_service,
        }
    }

    /// The facts of a strategy this build left out: it cannot run, and says how to
    /// rebuild.
    pub fn missing(feature: &'static str) -> Facts {
        Facts {
            readers: &[],
            workers: WorkerRule::AsAsked,
            knobs: &[],
            host: WorkerHost::Thread,
            cannot_die: None,
            peer: false,
            slow_private: false,
            missing_feature: Some(feature),
            build: |_| unreachable!("built only when present"),
            race_service: |_| Ok(RaceService::None),
        }
    }
}
