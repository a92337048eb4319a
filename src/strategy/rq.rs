//! `rq`: RQ with its defaults, K `rq worker` processes on the server of
//! [`crate::broker::lists`], each forking a work horse per job, running hunt's task
//! module. See [`super::pyqueue`] for how it runs and what is timed.

use super::pyqueue::{Flavor, PyQueue};
use std::path::Path;
use std::process::Command;

/// RQ's defaults.
pub struct Defaults;

impl Flavor for Defaults {
    const NAME: &'static str = "rq";
    const PACKAGE: &'static str = "rq";

    fn commands(python: &Path, queue: &str, _url: &str, workers: usize) -> Vec<Command> {
        // The settings module reads the server's URL from the environment.
        (0..workers)
            .map(|_| {
                let mut cmd = Command::new(python);
                cmd.args(["-m", "rq.cli", "worker", "--quiet", "-c", "hunt_tasks.rq_settings", queue]);
                cmd
            })
            .collect()
    }
}

/// The strategy.
pub type Rq = PyQueue<Defaults>;
