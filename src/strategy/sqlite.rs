//! `sqlite`: the blog's "conventional task queue", a database as the queue. The
//! coordinator ([`super::coordinator`]) writes one row per task into an SQLite
//! file, NotStarted; `hunt worker` processes ([`crate::worker::serve`]), K local ones
//! started for the hunt or any number already serving the file on this host, poll the
//! table every `--poll` seconds, claim rows with leases, and the first find is
//! committed once. The backend is [`crate::broker::sqlite`]; without `--broker`, the
//! queue is a new file in a private temporary folder, removed afterwards.

/// The strategy.
pub type Sqlite = super::coordinator::Coordinator<crate::broker::sqlite::SqliteKind>;
