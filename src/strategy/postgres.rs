//! `postgres`: the treasure hunt on a PostgreSQL table as the queue, as Oban, River and
//! solid_queue run jobs. The coordinator ([`super::coordinator`]) writes one row per
//! task; `hunt worker` processes ([`crate::worker::serve`]), K local ones started for
//! the hunt or any number already serving the database from other hosts, claim rows
//! with `FOR UPDATE SKIP LOCKED`, leases and fencing tokens, woken by LISTEN/NOTIFY, and
//! the first find is committed once. The backend is [`crate::broker::postgres`];
//! without `--broker`, a private server is started for the hunt (for the whole race in
//! `hunt race`).

/// The strategy.
pub type Postgres = super::coordinator::Coordinator<crate::broker::postgres::PostgresKind>;
