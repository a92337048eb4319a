//! `celery`: Celery 5 with its defaults (a task acknowledged as it starts, a prefetch of
//! 4 per child), a prefork pool of K children on the server of [`crate::broker::lists`]
//! (its broker and result backend), running hunt's task module. See [`super::pyqueue`]
//! for how it runs and what is timed.

use super::pyqueue::{Flavor, PyQueue};
use std::path::Path;
use std::process::Command;

/// Celery's defaults.
pub struct Defaults;

impl Flavor for Defaults {
    const NAME: &'static str = "celery";
    const PACKAGE: &'static str = "celery";
    const ENV: &'static [(&'static str, &'static str)] = &[("HUNT_CELERY_MODE", "defaults")];

    fn commands(python: &Path, queue: &str, _url: &str, workers: usize) -> Vec<Command> {
        vec![worker(python, queue, workers)]
    }
}

/// `celery -A hunt_tasks.celery_app worker -P prefork -c K`, consuming `queue` only.
pub fn worker(python: &Path, queue: &str, workers: usize) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "celery", "-A", "hunt_tasks.celery_app", "worker", "-P", "prefork"])
        .args(["-c", &workers.to_string(), "-Q", queue, "-n"])
        .arg(format!("{queue}@%h"))
        .args(["--loglevel", "WARNING"]);
    cmd
}

/// The strategy.
pub type Celery = PyQueue<Defaults>;
