//! How race results leave the program: a text table for the terminal and exports in
//! JSON, CSV, Markdown and SVG. Every format is one [`Exporter`], whose method is pure
//! (results in, bytes out), so each can be tested on fixed results; where the bytes go
//! ([`dest`]) is decided and done once.
//!
//! The table and the Markdown export share the cells built by [`cells::rows`], so they
//! always agree; the terminal shows the [`cells::COLUMNS`] marked for it, Markdown all of
//! them. JSON holds every run, CSV one row of raw numbers (seconds, KiB) per contender,
//! SVG the plots. [`verdict`] words the hyperfine-like summary lines.

pub mod cells;
pub mod csv;
pub mod dest;
#[cfg(test)]
pub(crate) mod fixture;
pub mod json;
pub mod markdown;
pub mod svg;
pub mod table;
pub mod verdict;

pub use dest::{check_exports, write_files, Dest, Export};

use crate::race::RaceResults;
use anyhow::Result;

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
}

impl Format {
    /// The flag that asks for this format, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--export-json",
            Format::Csv => "--export-csv",
            Format::Markdown => "--export-markdown",
            Format::Svg => "--plot",
        }
    }

    /// Its exporter.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(json::Json),
            Format::Csv => Box::new(csv::Csv),
            Format::Markdown => Box::new(markdown::Markdown),
            Format::Svg => Box::new(svg::Svg),
        }
    }
}
