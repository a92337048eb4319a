//! `celery-reliable`: Celery with the settings its docs give for tasks that must not be
//! lost: `task_acks_late`, `task_reject_on_worker_lost`, `worker_prefetch_multiplier = 1`
//! and a broker `visibility_timeout` of hunt's `--lease`. The same pool and task module as
//! [`super::celery`].

use super::pyqueue::{Flavor, PyQueue};
use std::path::Path;
use std::process::Command;

/// Celery's reliable settings.
pub struct Reliable;

impl Flavor for Reliable {
    const NAME: &'static str = "celery-reliable";
    const PACKAGE: &'static str = "celery";
    const ENV: &'static [(&'static str, &'static str)] = &[("HUNT_CELERY_MODE", "reliable")];

    fn commands(python: &Path, queue: &str, _url: &str, workers: usize) -> Vec<Command> {
        vec![super::celery::worker(python, queue, workers)]
    }
}

/// The strategy.
pub type CeleryReliable = PyQueue<Reliable>;
