//! What one `hunt search` did, for people (one line, and warnings) and for programs
//! (the `--json` object). The race reads the same type back from each of its child
//! runs, so the two sides of that JSON cannot drift apart.

use crate::exit::ExitCode;
use crate::scan::Reader;
use crate::strategy::StrategyKind;
use crate::tasks::memory::QueueStats;
use crate::tasks::TaskSummary;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What one `hunt search` did. Serialised as the `--json` output, and read back by the
/// race ([`crate::race::runner`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchReport {
    /// Strategy name.
    pub strategy: StrategyKind,
    /// Workers the strategy really used.
    pub workers: usize,
    /// Reader name.
    pub reader: Reader,
    /// The folder searched (lossy UTF-8 in JSON).
    #[serde(serialize_with = "lossy_path")]
    pub dir: PathBuf,
    /// The needle (lossy UTF-8).
    pub needle: String,
    /// Rotation of the search order.
    pub rotate: u64,
    /// Path of the file holding the needle, or null. A name that is not UTF-8 is shown
    /// lossily (U+FFFD for the bad bytes), as `--json` must stay valid JSON.
    #[serde(serialize_with = "lossy_opt_path")]
    pub found: Option<PathBuf>,
    /// Its index in the file set, or null.
    pub index: Option<u64>,
    /// The treasure's index according to the manifest, when there is one.
    pub manifest_treasure_index: Option<u64>,
    /// The search looked for the manifest's own needle, read every file, and did not
    /// find it where the manifest says: the data set changed after `hunt generate`. The
    /// search is the answer; this only adds a warning.
    pub manifest_disagrees: bool,
    /// Files in the set.
    pub files_total: u64,
    /// Files read (fully, or until the stop flag cut them short).
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Seconds to open the file set, before the hunt: read the manifest, or list the
    /// folder (walk, then sort by path).
    pub load_s: f64,
    /// Seconds to build the strategy (pools, runtimes), before the hunt.
    pub setup_s: f64,
    /// Seconds of the hunt, workers' start to the last worker's stop.
    pub elapsed_s: f64,
    /// Seconds from the hunt's start to the find, or null.
    pub time_to_find_s: Option<f64>,
    /// Seconds from the find until every worker had stopped, or null.
    pub stop_latency_s: Option<f64>,
    /// Files finished or cut short after the find: wasted work.
    pub files_after_find: u64,
    /// Number of files that could not be read.
    pub errors: u64,
    /// The first few of them, as `path: reason`.
    pub error_messages: Vec<String>,
    /// Workers that died, with the range each lost.
    pub worker_failures: Vec<String>,
    /// The worker that found the treasure (`threads worker 1`, `w2@host`), or null.
    pub found_by: Option<String>,
    /// The `queue` strategy's channel counts; null for every other strategy. Not read
    /// back (the race has no use for it): `None` in a report read from JSON.
    #[serde(skip_deserializing)]
    pub queue: Option<QueueStats>,
    /// The task table's counts (NotStarted, Running, Completed, Failed, retries, files
    /// read again by takeovers), for the strategies that run on a task queue; null for
    /// the others. Not read back into this struct: `None` in a report read from JSON
    /// (`hunt race --fault` reads `retries` and `files_again` from the JSON itself).
    #[serde(skip_deserializing)]
    pub tasks: Option<TaskSummary>,
    /// Warnings that are not failures (a worker that refused the hunt, say).
    pub notes: Vec<String>,
}

impl SearchReport {
    /// 0 found, 1 not found with every file read, 2 when the answer is unknown.
    pub fn exit_code(&self) -> ExitCode {
        if self.found.is_some() {
            ExitCode::Found
        } else if self.errors > 0 || !self.worker_failures.is_empty() {
            ExitCode::Error
        } else {
            ExitCode::NotFound
        }
    }

    /// Lines for stderr: failed files and workers, and what they mean for the answer.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .error_messages
            .iter()
            .map(|m| format!("warning: {m}"))
            .collect();
        lines.extend(self.worker_failures.iter().map(|m| format!("error: {m}")));
        lines.extend(self.notes.iter().map(|m| format!("warning: {m}")));
        let shown = self.error_messages.len() as u64;
        if self.errors > shown {
            lines.push(format!(
                "warning: ... and {} more files could not be read",
                self.errors - shown
            ));
        }
        if self.manifest_disagrees {
            let said = self
                .manifest_treasure_index
                .map(crate::dataset::manifest::file_name)
                .unwrap_or_default();
            lines.push(match &self.found {
                Some(p) => format!(
                    "warning: the manifest says the treasure is in {said}, but it was found in {}: the data set changed after `hunt generate`",
                    p.display()
                ),
                None => format!(
                    "warning: the manifest says the treasure is in {said}, but no file holds {:?}: the data set changed after `hunt generate`",
                    self.needle
                ),
            });
        }
        let trouble = self.errors > 0 || !self.worker_failures.is_empty();
        if trouble && self.found.is_some() {
            lines.push("warning: some files were not searched, but the treasure was found".into());
        } else if trouble {
            lines.push(format!(
                "error: the needle was not in any file that could be read, but {} file(s) and {} worker(s) failed, so it may be there: fix them and search again",
                self.errors,
                self.worker_failures.len()
            ));
        }
        lines
    }

    /// The one human line.
    pub fn human_line(&self) -> String {
        let how = format!(
            "{} x{} ({} reader) in {}: {} of {} files, {} scanned",
            self.strategy,
            self.workers,
            self.reader.name(),
            crate::units::secs(self.elapsed_s),
            self.files_scanned,
            self.files_total,
            crate::units::bytes(self.bytes_scanned)
        );
        match (&self.found, self.index) {
            (Some(path), Some(index)) => {
                let by = self
                    .found_by
                    .as_ref()
                    .map(|w| format!(" by {w}"))
                    .unwrap_or_default();
                format!("found {} (index {index}){by} with {how}", path.display())
            }
            _ if self.exit_code() == ExitCode::Error => format!(
                "unknown: {:?} is in no file that could be read, but some could not; {how}",
                self.needle
            ),
            _ => format!("not found: no file holds {:?}; {how}", self.needle),
        }
    }
}

fn lossy_path<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn lossy_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => lossy_path(p, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `--json` prints reads back as the same report (the race's side of it).
    #[test]
    fn the_json_reads_back_as_the_same_report() {
        let report = SearchReport {
            strategy: StrategyKind::Threads,
            workers: 4,
            reader: Reader::Read,
            dir: PathBuf::from("treasure_data"),
            needle: "Treasure".into(),
            rotate: 3,
            found: Some(PathBuf::from("treasure_data/file_00007.txt")),
            index: Some(7),
            manifest_treasure_index: Some(7),
            manifest_disagrees: false,
            files_total: 10,
            files_scanned: 8,
            bytes_scanned: 120_000,
            load_s: 0.001,
            setup_s: 0.0002,
            elapsed_s: 0.01,
            time_to_find_s: Some(0.005),
            stop_latency_s: None,
            files_after_find: 2,
            errors: 1,
            error_messages: vec!["x: gone".into()],
            worker_failures: vec![],
            found_by: Some("threads worker 1".into()),
            queue: None,
            tasks: None,
            notes: vec!["a note".into()],
        };
        let json = serde_json::to_string(&report).unwrap();
        let back: SearchReport = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}
