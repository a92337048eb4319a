//! `redis`: the treasure hunt as a distributed task queue on a Redis broker, as Celery
//! and RQ run on Redis. The coordinator ([`super::coordinator`]) publishes the
//! hunt and its range tasks; `hunt worker` processes ([`crate::worker::serve`]), K local
//! ones started for the hunt or any number already serving the broker on other hosts,
//! take them with leases, and the first find is committed once. The backend is
//! [`crate::broker::redis`]; without `--broker`, a private `redis-server` is started for
//! the hunt (for the whole race in `hunt race`).

/// The strategy.
pub type Redis = super::coordinator::Coordinator<crate::broker::redis::RedisKind>;
