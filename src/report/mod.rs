//! How race results leave the program: a text table for the terminal and exports in
//! JSON, CSV, Markdown, SVG and HTML. Every format is one [`Exporter`], whose method is
//! pure (results in, bytes out), so each can be tested on fixed results; where the bytes
//! go ([`dest`]) is decided and done once. The HTML report ([`html`]) also draws what the
//! race knows besides its results, handed to every exporter as a [`Context`]: the
//! traced runs' timelines, the machine and the command line.
//!
//! The table and the Markdown export share the cells built by [`cells::rows`], so they
//! always agree; the terminal shows the [`cells::COLUMNS`] marked for it, Markdown all of
//! them. JSON holds every run, CSV one row of raw numbers (seconds, KiB) per contender,
//! SVG the plots. [`verdict`] words the hyperfine-short summary (the fastest, then each
//! strategy at its best against `sequential`).

pub mod cells;
pub mod csv;
pub mod dest;
#[cfg(test)]
pub(crate) mod fixture;
pub mod html;
pub mod json;
pub mod markdown;
pub mod survival;
pub mod svg;
pub mod table;
pub mod verdict;

pub use dest::{check_exports, write_files, Dest, Export};

use crate::race::RaceResults;
use crate::sys::host::Machine;
use anyhow::Result;

/// What a race knows besides its results, for the exports that show it (the HTML
/// report); the others ignore it.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// One traced run's chart per contender, in the order they ran (none without
    /// `--report`).
    pub timelines: Vec<html::Chart>,
    /// The machine the race runs on.
    pub machine: Machine,
    /// The race's command line.
    pub command: String,
}

/// One output format.
pub trait Exporter {
    /// Renders `results` (possibly partial: a race in progress) to bytes.
    fn render(&self, results: &RaceResults) -> Result<Vec<u8>>;
}

/// The formats `hunt race` can write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `--export-json`.
    Json,
    /// `--export-csv`.
    Csv,
    /// `--export-markdown`.
    Markdown,
    /// `--plot`.
    Svg,
    /// `--report`.
    Html,
}

impl Format {
    /// The flag that asks for this format, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--export-json",
            Format::Csv => "--export-csv",
            Format::Markdown => "--export-markdown",
            Format::Svg => "--plot",
            Format::Html => "--report",
        }
    }

    /// Its exporter; `context` is what the race knows besides its results.
    pub fn exporter(self, context: &Context) -> Box<dyn Exporter + '_> {
        match self {
            Format::Json => Box::new(json::Json),
            Format::Csv => Box::new(csv::Csv),
            Format::Markdown => Box::new(markdown::Markdown),
            Format::Svg => Box::new(svg::Svg),
            Format::Html => Box::new(html::Html { context }),
        }
    }
}
