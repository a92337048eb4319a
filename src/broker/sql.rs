//! What the backends that keep the queue in database tables share: the hunt's row as a
//! take reads it, and the conversions between the task table's signed integers and
//! hunt's unsigned counts.

/// What a take needs of a hunt.
pub(crate) struct HuntRow {
    pub stop: bool,
    pub tasks: i64,
    /// Every task Completed or Failed.
    pub settled: bool,
    pub batch: i64,
    pub files: i64,
    pub max_attempts: u32,
    pub lease_ms: i64,
}

impl HuntRow {
    /// Stopped, or every task settled: nothing more to take.
    pub fn over(&self) -> bool {
        self.stop || self.settled
    }
}

/// A count as a database integer (saturating).
pub(crate) fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A database integer as a count (a negative one, never written by hunt, is 0).
pub(crate) fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
