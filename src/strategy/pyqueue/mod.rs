//! The real Python task queues as strategies: Celery (`celery`, `celery-reliable`) and
//! RQ (`rq`), from PyPI (`python/requirements.txt`), on the server of
//! [`crate::broker::lists`], running hunt's task module (`python/hunt_tasks`). Each
//! flavour is one file and one registry line, `PyQueue<ItsFlavor>`.
//!
//! # How they run, and what is timed
//! As their users run them: a long-lived worker pool (`celery worker -P prefork -c K`, or
//! K `rq worker` processes), started before the timed part and waited for until it has
//! run a ping task. The submitting side is a long-lived Python client started with the
//! pool (`hunt_tasks/client.py`), not hunt speaking Celery's or RQ's wire format from
//! Rust: the client submits through the packages' own APIs (`apply_async`, `revoke`,
//! `enqueue_many`, `send_stop_job_command`), so what is measured is the real thing
//! and no reimplementation of kombu's message envelope can drift from it. hunt asks the
//! client for one hunt over a list on that server (one JSON request with every task's
//! files) and reads its events (accepted, found, done) from another: two list
//! operations on the same server, a fraction of a millisecond, are the price.
//!
//! `elapsed_s` runs from that request to the client's last event: submitting every
//! task, the pool's work, the stop of the siblings. Starting Python, importing Celery and
//! starting the pool is setup (`setup_s`): for a lone `hunt search` the pool is started
//! inside the command (and its start shows in the wall time, not in `elapsed_s`); in
//! `hunt race` the race starts a server for the whole race (`--python-pool`) and the
//! first run at each worker count starts the pool there, which later runs reuse.
//!
//! # Stopping the siblings
//! On the first find the client sets a "found" key that every task reads before each
//! file, and then: Celery revokes every task not yet settled (`revoke` skips the tasks
//! not yet started, including those prefetched; it cannot stop one that runs without
//! `terminate=True`, which its docs call a last resort, so running tasks stop at their
//! next file through the found key); RQ sends its stop-job command to every job
//! running (its work horse is killed) and the jobs still queued stop at their first
//! file through the key (RQ cannot skip a queued job without a round trip each).
//!
//! # Faults
//! The pool was started before the faulted run, so it cannot read `HUNT_FAULT`: hunt
//! passes the variable's value in each task, and the task meets the fault as hunt's own
//! worker processes do ([`crate::fault`]): it announces the pid of the process running
//! it (a Celery prefork child, an RQ work horse) and stops itself; the race kills or
//! resumes it from outside.

mod answer;
mod pool;

use super::{
    Knob, Knobs, Outcome, RaceService, Registered, Service, Strategy, StrategyConfig, Value,
};
use crate::broker::lists::{self, Lists, PYTHON_POOL};
use crate::broker::LEASE;
use crate::scan::Job;
use crate::tasks::BATCH;
use anyhow::{bail, Result};
use std::marker::PhantomData;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What differs between the Python task queues.
pub trait Flavor: 'static {
    /// The strategy's name.
    const NAME: &'static str;
    /// Its Python package, and the client's kind: `celery` or `rq`.
    const PACKAGE: &'static str;
    /// Settings the task module reads.
    const ENV: &'static [(&'static str, &'static str)] = &[];
    /// The worker processes' command lines: `workers` workers on `queue` at `url`.
    fn commands(python: &Path, queue: &str, url: &str, workers: usize) -> Vec<Command>;
}

/// A Python task queue's pool, for a race: the private server, whose pools end with it.
struct SharedServer(Box<dyn crate::broker::PrivateBroker>);

impl Service for SharedServer {
    fn knobs(&self) -> Vec<(&'static Knob, Value)> {
        vec![(&PYTHON_POOL, Value::Text(Some(self.0.url().to_string())))]
    }

    /// `--fault kill-broker`: the pool's private server, killed and started again on its
    /// append-only file, as for hunt's own broker strategy (the pool and the client stay up and
    /// must reconnect by themselves, as they would in production).
    fn kill_and_restart(&mut self) -> Result<()> {
        match self.0.kill_and_restart() {
            Some(done) => done,
            None => bail!("{}", self.cannot_restart().unwrap_or_default()),
        }
    }

    fn cannot_restart(&self) -> Option<&'static str> {
        self.0.no_server()
    }
}

impl Drop for SharedServer {
    fn drop(&mut self) {
        pool::stop_all(self.0.url());
    }
}

/// The strategy of flavour `F`.
pub struct PyQueue<F: Flavor> {
    lists: Lists,
    requests: String,
    workers: usize,
    batch: u64,
    lease: Duration,
    // Dropped after the connection: the pool first, then its server.
    _pool: Option<pool::Attached>,
    _private: Option<Box<dyn crate::broker::PrivateBroker>>,
    _flavor: PhantomData<F>,
}

impl<F: Flavor> Registered for PyQueue<F> {
    const READERS: &'static [crate::scan::Reader] = &[crate::scan::Reader::Read];
    const KNOBS: &'static [&'static Knob] = &[&BATCH, &LEASE, &PYTHON_POOL];
    const HOST: crate::fault::WorkerHost = crate::fault::WorkerHost::Broker;
    const PEER: bool = true;

    fn new(config: &StrategyConfig) -> Result<Self> {
        if let Some(why) = pool::missing(F::PACKAGE) {
            bail!("--strategy {} cannot run: {why}", F::NAME);
        }
        let knobs = &config.knobs;
        let shared = knobs.text(&PYTHON_POOL);
        let (url, private) = match shared {
            Some(url) => {
                lists::check_url(&url)?;
                (url, None)
            }
            None => {
                let p = lists::private()?;
                (p.url().to_string(), Some(p))
            }
        };
        let spec = pool::PoolSpec {
            name: F::NAME,
            package: F::PACKAGE,
            env: F::ENV,
            commands: F::commands,
            workers: config.workers.get(),
            lease: knobs.seconds(&LEASE),
            url: &url,
        };
        let mut lists = Lists::connect(&url)?;
        let attached = match private {
            Some(_) => Some(pool::attached(&spec, &mut lists)?),
            None => {
                pool::shared(&spec, &mut lists)?;
                None
            }
        };
        Ok(PyQueue {
            lists,
            requests: spec.requests(),
            workers: spec.workers,
            batch: knobs.count(&BATCH),
            lease: spec.lease,
            _pool: attached,
            _private: private,
            _flavor: PhantomData,
        })
    }

    fn race_service(knobs: &Knobs) -> Result<RaceService> {
        if knobs.text(&PYTHON_POOL).is_some() {
            return Ok(RaceService::None);
        }
        if let Some(why) = pool::missing(F::PACKAGE) {
            return Ok(RaceService::SitOut(why));
        }
        Ok(RaceService::Shared(Box::new(SharedServer(
            lists::private_for_race()?,
        ))))
    }
}

impl<F: Flavor> Strategy for PyQueue<F> {
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        answer::hunt(self, job, F::NAME)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}
