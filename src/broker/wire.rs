//! What travels between a hunt's coordinator, its workers and `hunt status` through a
//! broker, whatever the backend: a task's counts, the answer, the events, the workers
//! and hunts as `hunt status` shows them, and their states.

use crate::scan::{FileError, ScanError, Tally};
use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::HuntSpec;
use crate::tasks::TaskRow;

/// A task's counts as they travel: files, bytes, and the failed files by index and
/// error code (never paths).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireTally {
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Files read after the stop signal.
    pub after_find: u64,
    /// Failed files: (index, error code), the first few.
    pub errors: Vec<(u64, i32)>,
    /// Further failed files, counted only.
    pub errors_unlisted: u64,
    /// Which take of the task read these files, from 1 (the lease's attempt); 0 from a
    /// worker that did not say. A take after the first (a takeover, a retry) re-reads
    /// its task's range: its files are the work done again ([`WireTally::files_again`]).
    #[serde(default)]
    pub attempt: u32,
    /// A traced hunt's events of this task; absent otherwise, so an untraced report
    /// is what it always was. A backend's scripts may splice these counts into the task's
    /// event as they are, so the events reach the coordinator with no script change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::trace::WireTrace>,
}

impl WireTally {
    /// At most this many failed files travel itemised.
    const LISTED: usize = 16;

    /// The counts of `t`, without its find.
    pub fn of(t: &Tally) -> WireTally {
        let listed: Vec<(u64, i32)> = t
            .errors
            .iter()
            .take(Self::LISTED)
            .map(|e| (e.index, e.error.code()))
            .collect();
        WireTally {
            files: t.files_scanned,
            bytes: t.bytes_scanned,
            after_find: t.files_after_find,
            errors_unlisted: t.error_count() - listed.len() as u64,
            errors: listed,
            attempt: 0,
            trace: None,
        }
    }

    /// The files of this report that were read again: all of them when a take after the
    /// task's first read them, none otherwise (a worker that did not say its attempt
    /// counts as a first take, so the figure never overstates).
    pub fn files_again(&self) -> u64 {
        if self.attempt > 1 {
            self.files
        } else {
            0
        }
    }

    /// Back into a tally, for files below `files` (an index out of range is dropped:
    /// reports come from other processes).
    pub fn tally(&self, files: u64) -> Tally {
        Tally {
            files_scanned: self.files,
            bytes_scanned: self.bytes,
            files_after_find: self.after_find,
            found: None,
            errors: self
                .errors
                .iter()
                .filter(|(i, _)| *i < files)
                .map(|&(index, code)| FileError {
                    index,
                    error: ScanError::from_code(code),
                })
                .collect(),
            errors_unlisted: self.errors_unlisted,
            tracks: Vec::new(),
        }
    }

    /// Files that could not be read.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_unlisted
    }
}

/// The committed answer of a hunt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The file that holds the needle.
    pub index: u64,
    /// The task it was found in.
    pub task: u64,
    /// Who found it: `NAME@HOST`.
    pub worker: String,
}

/// A change to a hunt, in the order the broker took them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A worker took a task.
    Started {
        /// The task.
        task: u64,
        /// `NAME@HOST`.
        worker: String,
        /// Which attempt, from 1.
        attempt: u32,
    },
    /// A task was finished and its report counts.
    Finished {
        /// The task.
        task: u64,
        /// `NAME@HOST`.
        worker: String,
        /// Its counts.
        tally: WireTally,
        /// Cut short by the stop signal.
        cut_short: bool,
    },
    /// The answer was committed (once per hunt).
    Answer(Answer),
    /// An attempt failed; the task is queued again.
    Retried {
        /// The task.
        task: u64,
        /// `NAME@HOST`, when a worker reported it.
        worker: Option<String>,
        /// Why.
        why: String,
    },
    /// The task was given up: the dead letter.
    Failed {
        /// The task.
        task: u64,
        /// Why.
        why: String,
        /// The last attempt's counts, when it reported them.
        tally: Option<WireTally>,
    },
    /// A worker handed its task back unfinished (it was stopped); not an attempt.
    Released {
        /// The task.
        task: u64,
        /// `NAME@HOST`.
        worker: String,
    },
    /// A worker whose lease had been taken over reported; nothing of it counts.
    Stale {
        /// The task.
        task: u64,
        /// `NAME@HOST`.
        worker: String,
    },
    /// A worker refused the hunt (its folder holds another data set, say).
    Refused {
        /// `NAME@HOST`.
        worker: String,
        /// Why.
        why: String,
    },
    /// A queue entry that is not a task of this hunt was refused and dropped.
    Garbage {
        /// The entry, as the broker names it.
        entry: String,
        /// What is wrong with it.
        why: String,
    },
}

/// A live worker, as `hunt status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its name.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Its process id on that host.
    pub pid: u32,
    /// Threads taking tasks.
    pub threads: usize,
    /// The folder it serves.
    pub dir: String,
    /// Milliseconds since the epoch when it was last heard from (the broker's clock).
    pub last_seen_ms: u64,
}

/// One hunt, as `hunt status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntStatus {
    /// Its spec.
    pub spec: HuntSpec,
    /// Running, or how it ended.
    pub state: HuntState,
    /// The answer, once committed.
    pub answer: Option<Answer>,
    /// Every task's row.
    pub tasks: Vec<TaskRow>,
    /// Workers that refused it, and why.
    pub refused: Vec<(String, String)>,
}

/// A hunt's state on the broker, as `hunt status` shows it (by [`HuntState::name`], in
/// its JSON too).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HuntState {
    /// Its tasks are being served.
    #[serde(rename = "running")]
    Running,
    /// Found: the answer is committed.
    #[serde(rename = "found")]
    Found,
    /// Every task finished, nothing found.
    #[serde(rename = "not found")]
    NotFound,
    /// Some task failed, or the hunt was cut short.
    #[serde(rename = "unknown")]
    Unknown,
    /// Stopped before it settled.
    #[serde(rename = "stopped")]
    Stopped,
}

impl HuntState {
    /// Every state, in the order a backend's schema lists them.
    pub const ALL: [HuntState; 5] = [
        HuntState::Running,
        HuntState::Found,
        HuntState::NotFound,
        HuntState::Unknown,
        HuntState::Stopped,
    ];

    /// Its name in the broker's record and in `hunt status`.
    pub fn name(self) -> &'static str {
        match self {
            HuntState::Running => "running",
            HuntState::Found => "found",
            HuntState::NotFound => "not found",
            HuntState::Unknown => "unknown",
            HuntState::Stopped => "stopped",
        }
    }

    /// Parses a broker's record; a name hunt does not know is an error, never a guess.
    pub fn from_name(name: &str, hunt: &str) -> Result<HuntState> {
        HuntState::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "hunt {hunt}'s state on the broker is {name:?}, which this hunt does not know: upgrade hunt, or let the hunt expire"
                )
            })
    }
}

impl std::fmt::Display for HuntState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a hunt ended, for the broker's record: the states a coordinator retires a hunt in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Found.
    Found,
    /// Every task finished, nothing found.
    NotFound,
    /// Some task failed, or the hunt was cut short.
    Unknown,
}

impl From<Verdict> for HuntState {
    fn from(v: Verdict) -> HuntState {
        match v {
            Verdict::Found => HuntState::Found,
            Verdict::NotFound => HuntState::NotFound,
            Verdict::Unknown => HuntState::Unknown,
        }
    }
}

impl Verdict {
    /// Its name in the broker's record.
    pub fn name(self) -> &'static str {
        HuntState::from(self).name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunt_states_round_trip_and_keep_their_json_names() {
        for s in HuntState::ALL {
            assert_eq!(HuntState::from_name(s.name(), "h").unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert!(HuntState::from_name("finished", "h").is_err());
    }

    #[test]
    fn only_a_later_take_reads_again_and_the_attempt_travels() {
        let t = |attempt| WireTally {
            files: 7,
            attempt,
            ..WireTally::default()
        };
        assert_eq!([0, 1, 2, 5].map(|a| t(a).files_again()), [0, 0, 7, 7]);
        let json = serde_json::to_string(&t(2)).unwrap();
        assert!(json.contains("\"attempt\":2"), "{json}");
        let back: WireTally = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t(2));
        // A report from a worker that did not say its attempt reads back as 0.
        let old: WireTally = serde_json::from_str(
            r#"{"files":3,"bytes":9,"after_find":0,"errors":[],"errors_unlisted":0}"#,
        )
        .unwrap();
        assert_eq!((old.attempt, old.files_again()), (0, 0));
    }
}
