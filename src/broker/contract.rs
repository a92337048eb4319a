//! The rules every backend keeps, written once: what a failed attempt leads to and how
//! it is worded, when a task taken too often is given up, how long a hunt lives without
//! its coordinator, and what a report's reply may be. Backends call these; where a
//! backend must repeat a rule in its own language (a server-side script), a test in that
//! backend runs its copy against these functions case by case.
//!
//! The range of a task is [`crate::tasks::range`]. Fencing and the one answer are each
//! backend's mechanism (an owner check in the same script or transaction as the report;
//! a set-once key or row), and every backend answers them with [`Finished`].

use crate::tasks::Finished;
use anyhow::{bail, Result};
use std::time::Duration;

/// How long a running hunt lives without its coordinator's keep-alive; a worker not
/// heard from for as long is no longer listed.
pub const ALIVE: Duration = Duration::from_secs(60);

/// [`ALIVE`] in milliseconds, as brokers count time.
pub const ALIVE_MS: u64 = ALIVE.as_millis() as u64;

/// How long a finished hunt's records stay on the broker, for `hunt status`.
pub const KEEP: Duration = Duration::from_secs(600);

/// The note of a task the find cut short.
pub const CUT_SHORT: &str = "cut short by the find";

/// What a failed attempt leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Back on the queue for another attempt; `note` is its row's note.
    Retry {
        /// `attempt N: WHY`.
        note: String,
    },
    /// Given up: the dead letter; `why` is its row's note and the Failed event's why.
    DeadLetter {
        /// `attempt N of M: WHY`.
        why: String,
    },
}

/// The retry-or-dead-letter decision for attempt `attempt` (from 1) of at most `max`
/// that failed because `why`: the last attempt is the dead letter.
pub fn after_failure(attempt: u32, max: u32, why: &str) -> AfterFailure {
    if attempt >= max {
        AfterFailure::DeadLetter {
            why: format!("attempt {attempt} of {max}: {why}"),
        }
    } else {
        AfterFailure::Retry {
            note: format!("attempt {attempt}: {why}"),
        }
    }
}

/// At a take: a task whose next attempt would be `attempt` of at most `max` is given up
/// when that is beyond the maximum (its earlier holders died or lost their leases
/// without reporting); the why of its dead letter.
pub fn taken_too_often(attempt: u32, max: u32) -> Option<String> {
    (attempt > max).then(|| {
        format!(
            "taken {} times and never finished: its workers died, or lost their leases",
            attempt - 1
        )
    })
}

/// A report's reply as a backend names it (`accepted`, `answer`, `retried`, `stale`);
/// anything else is an error, never taken for success.
pub fn finished(reply: &str) -> Result<Finished> {
    Ok(match reply {
        "accepted" => Finished::Accepted,
        "answer" => Finished::Answered,
        "retried" => Finished::Retried,
        "stale" => Finished::Stale,
        other => bail!("the broker answered a report with {other:?}, which hunt does not know: is another version of hunt's scripts loaded there?"),
    })
}

/// The cases (attempt, max) every backend's copy of [`after_failure`] and
/// [`taken_too_often`] is checked against.
#[cfg(test)]
pub(crate) const CASES: &[(u32, u32)] = &[(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3), (4, 3)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_attempt_is_the_dead_letter() {
        for &(attempt, max) in CASES {
            let d = after_failure(attempt, max, "why");
            if attempt >= max {
                assert_eq!(
                    d,
                    AfterFailure::DeadLetter {
                        why: format!("attempt {attempt} of {max}: why")
                    }
                );
            } else {
                assert_eq!(
                    d,
                    AfterFailure::Retry {
                        note: format!("attempt {attempt}: why")
                    }
                );
            }
        }
        assert_eq!(taken_too_often(3, 3), None);
        assert_eq!(
            taken_too_often(4, 3).as_deref(),
            Some("taken 3 times and never finished: its workers died, or lost their leases")
        );
    }

    #[test]
    fn an_unknown_reply_is_an_error() {
        assert_eq!(finished("answer").unwrap(), Finished::Answered);
        assert_eq!(finished("stale").unwrap(), Finished::Stale);
        let e = finished("OK").unwrap_err().to_string();
        assert!(e.contains("\"OK\""), "{e}");
    }
}
