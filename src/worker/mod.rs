//! `hunt worker`: the one worker program. It runs in two ways:
//! - `hunt worker --broker URL`: a long-running worker, like `celery worker` or
//!   `rq worker`, serving hunt after hunt from a task-queue broker ([`crate::broker`]);
//! - `hunt worker --pipe --dir D` (hidden): one request from a parent over pipes, in the
//!   protocol of [`protocol`] (the `spawn` strategy's workers).
//!
//! `src/app/worker.rs` turns the command line into one or the other, and prints
//! what a serving worker says ([`serve::Note`]). Both run the same worker loop
//! ([`crate::tasks::walk::scan_positions`]) over the same scanner.

pub mod pipe;
pub mod protocol;
pub mod serve;
