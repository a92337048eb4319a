//! hunt: make concurrency models race each other on a real job (find the one file out of
//! many that holds the treasure) and show, with honest numbers, which one wins and why.
//!
//! The library holds everything; `src/main.rs` only parses and dispatches.
//! `docs/ARCHITECTURE.md` maps the modules.

pub mod app;
pub mod broker;
pub mod cli;
pub mod dataset;
pub mod exit;
pub mod fault;
pub mod fileset;
pub mod hooks;
pub mod interrupt;
pub mod knob;
pub mod output;
pub mod race;
pub mod report;
pub mod scan;
pub mod search;
pub mod settings;
pub mod strategy;
pub mod sys;
pub mod tasks;
pub mod trace;
pub mod units;
pub mod worker;
