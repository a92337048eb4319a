//! `hunt status --broker URL`, the data: the blog's task table for current and recent
//! hunts (each task's range, state, worker and attempts, the answer and who found it,
//! the workers that refused), and the live workers with when each was last heard from.
//! `src/app/status.rs` prints it, as tables or JSON. Passwords never show.

use super::{Broker, HuntStatus, WorkerInfo};
use anyhow::Result;
use serde::Serialize;

/// What `hunt status` shows (and `--json` prints as one object).
#[derive(Serialize)]
pub struct Status {
    /// The broker, password redacted.
    pub broker: String,
    /// The broker's clock, ms since the epoch, when this was read.
    pub now_ms: u64,
    /// Current and recent hunts, newest first.
    pub hunts: Vec<HuntStatus>,
    /// Workers heard from in the last minute.
    pub workers: Vec<WorkerInfo>,
}

/// Reads the broker's hunts (only hunt `only`, when given: an error when the broker has
/// no such hunt) and live workers.
pub fn read(broker: &mut dyn Broker, only: Option<&str>) -> Result<Status> {
    let mut hunts = broker.status()?;
    if let Some(id) = only {
        hunts.retain(|h| h.spec.id == id);
        if hunts.is_empty() {
            anyhow::bail!(
                "the broker at {} has no hunt {id} (a finished hunt's records expire after {} s): run `hunt status --broker URL` to list them",
                broker.describe(),
                super::contract::KEEP.as_secs()
            );
        }
    }
    Ok(Status {
        broker: broker.describe(),
        now_ms: broker.clock()?,
        workers: broker.workers()?,
        hunts,
    })
}
