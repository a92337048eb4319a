//! One worker's counts, and how every strategy records what visiting a file gave.

use super::{FileScan, ScanError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Failed files one worker itemises; later ones are only counted.
const LISTED_ERRORS: usize = 64;

/// The file that held the needle and when it was found.
#[derive(Copy, Clone, Debug)]
pub struct Found {
    /// Its index in the file set.
    pub index: u64,
    /// When the worker saw the needle.
    pub at: Instant,
}

/// A file that could not be scanned.
#[derive(Clone, Debug)]
pub struct FileError {
    /// Its index in the file set.
    pub index: u64,
    /// What went wrong.
    pub error: ScanError,
}

/// One worker's counts. Strategies add these up into an [`crate::strategy::Outcome`].
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Files opened and read, fully or until stopped.
    pub files_scanned: u64,
    /// Bytes read (or mapped and searched).
    pub bytes_scanned: u64,
    /// Files finished or cut short after the stop flag went up: work done after the find.
    pub files_after_find: u64,
    /// The needle, if this worker found it.
    pub found: Option<Found>,
    /// Files that could not be scanned.
    pub errors: Vec<FileError>,
    /// Further failed files that were counted but not itemised (a forked child records
    /// only its first few, in fixed-size shared memory).
    pub errors_unlisted: u64,
    /// The timelines of the workers whose counts these are, when the hunt is traced
    /// ([`crate::trace`]); empty otherwise. Adding tallies up gathers them.
    pub tracks: Vec<crate::trace::Track>,
}

impl Tally {
    /// Adds another worker's counts to these; the earlier find wins.
    pub fn absorb(&mut self, other: Tally) {
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.files_after_find += other.files_after_find;
        self.found = match (self.found, other.found) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        self.errors.extend(other.errors);
        self.errors_unlisted += other.errors_unlisted;
        self.tracks.extend(other.tracks);
    }

    /// Records what visiting file `index` gave, as every strategy counts it. Returns true
    /// when the file holds the needle; then it also raises `stop`.
    pub fn record(
        &mut self,
        index: u64,
        result: Result<FileScan, ScanError>,
        stop: &AtomicBool,
    ) -> bool {
        match result {
            Ok(FileScan::Found) => {
                self.files_scanned += 1;
                self.found = Some(Found {
                    index,
                    at: Instant::now(),
                });
                stop.store(true, Ordering::Relaxed);
                true
            }
            Ok(FileScan::Absent) => {
                self.files_scanned += 1;
                if stop.load(Ordering::Relaxed) {
                    self.files_after_find += 1;
                }
                false
            }
            Ok(FileScan::Stopped) => {
                self.files_scanned += 1;
                self.files_after_find += 1;
                false
            }
            Err(error) => {
                // Itemise the first few only: a folder of a million broken entries must
                // not turn into a million-entry list in memory.
                if self.errors.len() < LISTED_ERRORS {
                    self.errors.push(FileError { index, error });
                } else {
                    self.errors_unlisted += 1;
                }
                false
            }
        }
    }

    /// Makes room for every error this tally itemises, so recording one never allocates
    /// (a forked child records errors in a tally made before the fork).
    pub fn reserve_errors(&mut self) {
        self.errors.reserve(LISTED_ERRORS);
    }

    /// Every failed file, itemised or not.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_unlisted
    }
}
