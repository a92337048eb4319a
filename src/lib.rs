//! hunt: make concurrency models race each other on a real job (find the one file out of
//! many that holds the treasure) and show, with honest numbers, which one wins and why.
//!
//! The library holds everything; `src/main.rs` only parses and dispatches.

pub mod app;
pub mod cli;
pub mod dataset;
pub mod exit;
pub mod fileset;
pub mod interrupt;
pub mod plot;
pub mod race;
pub mod report;
pub mod scan;
pub mod search;
pub mod strategy;
