//! The PostgreSQL backend of [`crate::broker::Broker`]: a database table as the queue,
//! as Oban, River, graphile-worker, solid_queue and pgmq run one, for workers on many
//! hosts. Tables in a schema of their own (`hunt`, see `postgres/schema.sql`), so the
//! queue can share a database with other programs; the client is the `postgres` crate
//! (synchronous), one connection per thread.
//!
//! # Tables (schema `hunt`, version [`crate::broker::postgres::SCHEMA_VERSION`] in `hunt.meta`)
//! | table | holds |
//! |---|---|
//! | `hunt` | one row per hunt: spec (JSON), stop flag, status, task count, lease, keep-alive and expiry times (nothing a report writes) |
//! | `task` | one row per task: range, state (a CHECK of the four), worker, owner, attempts, lease expiry, fencing token, note |
//! | `answer` | one row per hunt that found: the answer, inserted once |
//! | `event` | the [`crate::broker::Event`]s, JSON, by a `bigserial` seq the coordinator reads in order |
//! | `refusal`, `worker` | refusals; heartbeats |
//!
//! # The claim, the fence, the answer
//! A claim is one statement (`postgres/claim.sql`): `WITH next AS (SELECT ... ORDER BY id
//! LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE task ... FROM next RETURNING ...`. It sets the
//! state, the owner, the lease (`lease_until`, by the server's clock) and bumps the
//! attempts and the token, all committed columns: no row lock is held while the task
//! runs, so a worker paused or cut off holds nothing but a lease that runs out. Every
//! report (finish, fail, release, renew) matches task, owner and token, so a worker
//! whose lease was taken over reports nothing that counts (event `stale`). An attempt
//! beyond `--max-attempts` is the dead letter: Failed, with an event; the decision and
//! its words are [`crate::broker::contract`]'s, called from Rust, never copied into SQL.
//! The answer is `INSERT INTO answer ... ON CONFLICT (hunt) DO NOTHING RETURNING`: the
//! one insert that returns a row commits the answer and raises the stop flag.
//!
//! The plan of the claim, checked with `EXPLAIN` (a generic plan, and `EXPLAIN ANALYZE`)
//! on PostgreSQL 15.18 (Debian 12), a hunt of 1,000 tasks:
//! ```text
//! Update on task t                               (actual rows=1 loops=1)
//!   CTE next
//!     ->  Limit                                  (actual rows=1 loops=1)
//!           ->  LockRows                         (actual rows=1 loops=1)
//!                 ->  Index Scan using task_ready on task
//!                       Index Cond: (hunt = $1)
//!                       Filter: ((state = 'NotStarted') OR ((state = 'Running') AND ((lease_until < now()) OR (owner = $2))))
//!   ->  Nested Loop                              (actual rows=1 loops=1)
//!         ->  CTE Scan on next                   (actual rows=1 loops=1)
//!         ->  Index Scan using task_pkey on task t
//!               Index Cond: ((hunt = next.hunt) AND (id = next.id))
//! ```
//! A CTE with `FOR UPDATE` is never inlined: it runs once, its `Limit` yields one row,
//! one row is updated. The issue's form, `WHERE id = (SELECT ... LIMIT 1)`, planned as
//! an `InitPlan` (also run once) on this version; the form Oban's 2.15 changelog warns
//! of, `WHERE (hunt, id) IN (SELECT ... LIMIT 1)`, planned as a `Nested Loop` over a
//! `HashAggregate` of the subquery, a join the planner is free to reorder and rescan.
//! The CTE keeps the one-row promise by construction, so it is the form kept.
//!
//! # One statement a task
//! A worker's report and its next claim are one statement in the common case,
//! `SELECT * FROM hunt.finish_take(...)` (`postgres/finish_take.sql`, a PL/pgSQL function
//! made with the schema): the fence and the task Completed, the claim, then a share of
//! the event lock, in the lock order below. A find, a failed attempt, a fenced report
//! or a row the claim must pass over is handed back to the separate steps, where the
//! contract's rules are Rust. Running both steps' statements in one client-side
//! transaction deadlocked under 1,024 workers (it took a row before the stop lock; see
//! docs/BROKERS.md, "Costs: round trips per task").
//!
//! # Events in order
//! Every transaction that writes events takes a share of the hunt's event lock last
//! (`pg_advisory_xact_lock_shared`), then inserts them; the coordinator reads them with
//! `hunt.events_after` (`postgres/events_after.sql`), which takes the lock whole first.
//! A `bigserial` is handed out at insert, not at commit, so without the lock a reader
//! could see seq 11 before 10 commits and its cursor would skip 10 for good; with it,
//! the read waits for the writers in flight, and writers pass each other (until schema
//! 3 each writer took the lock whole, and eight workers queued on it).
//!
//! # The stop lock
//! A take holds a share of the hunt's stop lock ([`crate::broker::postgres::TAKE_LOCK`])
//! while it reads the stop flag and claims; whatever raises the flag (a report with a
//! find, `stop`, `retire`) takes the lock first ([`crate::broker::postgres::STOP_LOCK`]).
//! So a claim whose snapshot predates the answer cannot commit after it, and no task
//! starts after the answer's event (the coordinator, having read the answer and seen no
//! task running, would not wait for it). Every transaction locks in one order: the
//! stop lock, then rows (task, then hunt), then the event lock; so no two wait on each
//! other in a circle.
//!
//! # LISTEN/NOTIFY
//! Nothing polls fast. A claim that finds nothing waits on `LISTEN hunt_work` (a hunt
//! published or stopped, a task requeued or handed back), at most until the hunt's
//! earliest lease runs out, and at most [`crate::broker::postgres::FALLBACK`] (the slow poll a lost connection's
//! gap is bounded by); the coordinator's [`crate::broker::Broker::events`] waits on `LISTEN
//! hunt_events`; [`crate::broker::Broker::stopped`] on `hunt_work`, looking at the table only when a
//! notice came, a hunt is new to it, or [`crate::broker::postgres::FALLBACK`] has passed. Each connection
//! LISTENs before its first look, so a notice sent between the look and the wait is
//! queued, never lost. Waits are cut in slices of 25 ms to answer Ctrl-C and
//! SIGTERM.
//!
//! # Expiry
//! What hunt deletes, and when: a retired hunt's rows (its `hunt` row and, by `ON
//! DELETE CASCADE`, its tasks, events, refusals and answer) once the coordinator's keep
//! time ([`crate::broker::contract::KEEP`], ten minutes) has passed; a running hunt
//! whose coordinator stopped calling [`crate::broker::Broker::keep_alive`] for
//! [`crate::broker::contract::ALIVE`] (a minute) too; a worker's heartbeat row after a
//! minute of silence. Pruning runs on publish, retire and status. Deleted rows are dead
//! tuples until (auto)vacuum takes them.
//!
//! # The private server
//! Without `--broker` (per hunt) and for `hunt race` (once per race), hunt runs
//! `initdb` and then the server in a temporary folder (`postgres/server.rs`): a Unix
//! socket there, no TCP port, durability off; stopped and removed when dropped.

use super::sql::{as_i64, as_u64, HuntRow};
use super::backend::{Backend, PrivateBroker};
use super::contract::{self, AfterFailure};
use super::{
    Answer, Broker, Done, Event, HuntSpec, HuntState, HuntStatus, Me, Take, Verdict, WireTally,
    WorkerInfo,
};
use crate::tasks::{Finished, Lease, Task, TaskRow, TaskState};
use anyhow::{anyhow, bail, Context, Result};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

mod leftovers;
mod server;
mod template;
mod tls;
use server::PrivatePostgres;
use messages::{explain, scrub};
pub use messages::shown;

/// The version of the schema this build writes, and the newest it reads. Versions 1
/// (without the function `hunt.finish_take`) and 2 (with the hunt's count of settled
/// tasks, which every report updated) are brought up to 3 by the first coordinator or
/// worker that connects, and read as they are by `hunt status`. An older hunt then
/// refuses the queue ("upgrade hunt"): upgrade every host's hunt together.
pub const SCHEMA_VERSION: i32 = 3;
/// The claim statement, for `EXPLAIN` (docs/BROKERS.md).
pub const CLAIM_SQL: &str = include_str!("postgres/claim.sql");
/// The schema, made once per database.
pub const SCHEMA_SQL: &str = include_str!("postgres/schema.sql");
/// A worker's report and its next claim in one statement (schema versions 2 and 3).
pub const FINISH_TAKE_FN_SQL: &str = include_str!("postgres/finish_take.sql");
/// The coordinator's read of a hunt's events under the whole event lock (schema
/// version 3).
pub const EVENTS_AFTER_FN_SQL: &str = include_str!("postgres/events_after.sql");
/// The call of [`FINISH_TAKE_FN_SQL`]'s function.
const FINISH_TAKE: &str = "SELECT * FROM hunt.finish_take($1, $2, $3, $4, $5, $6, $7)";

/// The longest a waiting connection goes without looking at the tables: the slow poll
/// behind LISTEN/NOTIFY (a hunt whose rows were deleted sends no notice).
pub const FALLBACK: Duration = Duration::from_secs(1);
/// The slices a wait is cut in, to answer Ctrl-C and SIGTERM.
const SLICE: Duration = Duration::from_millis(25);
/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first key of every advisory lock hunt takes: "HUNT" (written as a number in the
/// statements that take one, [`LOCK_ADVISORY_SQL`]).
#[cfg(test)]
const LOCK_CLASS: i32 = 0x4855_4E54;
/// The statements that take an advisory lock.
#[cfg(test)]
const LOCK_ADVISORY_SQL: &[&str] = &[SCHEMA_LOCK, SCHEMA_UNLOCK, EVENT_LOCK, TAKE_LOCK, STOP_LOCK];
/// Makes the schema one process at a time (a session lock, taken before the
/// transaction that looks and makes: a transaction begun before another made the
/// schema may not see it in the catalog).
const SCHEMA_LOCK: &str = "SELECT pg_advisory_lock(1213550164, 0)";
/// Lets the next process look at the schema.
const SCHEMA_UNLOCK: &str = "SELECT pg_advisory_unlock(1213550164, 0)";
/// A take's share of the hunt's stop lock, taken before it reads the stop flag: takes
/// pass each other, and a stop waits for the takes in flight.
pub const TAKE_LOCK: &str =
    "SELECT pg_advisory_xact_lock_shared(1213550164, hashtext('stop ' || $1::text))";
/// The hunt's stop lock, taken first by every transaction that raises the stop flag
/// (the answer, `stop`, `retire`): no claim commits after the flag, so no task starts
/// after the answer's event.
pub const STOP_LOCK: &str =
    "SELECT pg_advisory_xact_lock(1213550164, hashtext('stop ' || $1::text))";
/// A share of a hunt's event lock, taken last in a transaction that writes events
/// (writers pass each other; the coordinator's read takes the lock whole, see
/// `postgres/events_after.sql`); and the coordinator's wake-up.
const EVENT_LOCK: &str =
    "SELECT pg_advisory_xact_lock_shared(1213550164, hashtext($1)), pg_notify('hunt_events', $1)";
/// The channel of work: a hunt published or stopped, a task back on the queue.
const WORK: &str = "hunt_work";
/// The channel of events: a hunt's events were written.
const EVENTS: &str = "hunt_events";

/// The PostgreSQL backend, as the backends table knows it.
pub struct PostgresKind;

impl Backend for PostgresKind {
    const NAME: &'static str = "postgres";
    const SCHEMES: &'static [&'static str] = &["postgres://", "postgresql://"];
    const URL_FORMS: &'static str =
        "postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=verify-full], postgres://USER@/DB?host=/SOCKET/FOLDER";

    fn connect(url: &str) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Postgres::open(url, true)?))
    }

    fn connect_existing(url: &str) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Postgres::open(url, false)?))
    }

    fn private() -> Result<Box<dyn PrivateBroker>> {
        Ok(Box::new(PrivatePostgres::start()?))
    }

    fn missing() -> Option<String> {
        server::missing()
    }
}

impl PrivateBroker for PrivatePostgres {
    fn url(&self) -> &str {
        PrivatePostgres::url(self)
    }

    fn kill_and_restart(&mut self) -> Option<Result<()>> {
        Some(PrivatePostgres::kill_and_restart(self))
    }

    fn no_server(&self) -> Option<&'static str> {
        None
    }
}

/// One connection to a PostgreSQL queue.
pub struct Postgres {
    url: String,
    config: Config,
    /// The TLS connector, where the URL's `sslmode` asks for TLS.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// `None` after the connection failed: the next call makes a new one.
    client: Option<Client>,
    /// Prepared statements of this connection, by their text.
    prepared: HashMap<&'static str, Statement>,
    /// Channels this connection LISTENs on.
    listening: HashSet<&'static str>,
    /// Notices of the work channel not yet looked at, by payload (a hunt's id).
    work_news: HashSet<String>,
    /// Notices of the events channel not yet looked at.
    event_news: HashSet<String>,
    /// The last event read, per hunt.
    cursors: HashMap<String, i64>,
    /// When each hunt's stop flag was last looked at.
    looked: HashMap<String, Instant>,
}

impl Postgres {
    /// Connects to `url`; with `make`, makes the queue's schema where the database has
    /// none, else refuses a database without one.
    pub fn open(url: &str, make: bool) -> Result<Postgres> {
        let (readable, mode) = tls::split(url);
        let mut config = Config::from_str(&readable).map_err(|e| {
            anyhow!(
                "--broker {} is not a PostgreSQL URL hunt can use ({}): write {}",
                shown(url),
                scrub(&e.to_string(), url),
                PostgresKind::URL_FORMS
            )
        })?;
        let tls = tls::connector(mode)?;
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .application_name("hunt");
        let mut p = Postgres {
            url: url.to_string(),
            config,
            tls,
            client: None,
            prepared: HashMap::new(),
            listening: HashSet::new(),
            work_news: HashSet::new(),
            event_news: HashSet::new(),
            cursors: HashMap::new(),
            looked: HashMap::new(),
        };
        p.client()?;
        let made: bool = p
            .row("SELECT to_regclass('hunt.meta') IS NOT NULL", &[])?
            .is_some_and(|r| r.get(0));
        let version: Option<String> = if made {
            p.row("SELECT value FROM meta WHERE key = 'schema'", &[])?
                .map(|r| r.get(0))
        } else {
            None
        };
        match version {
            Some(v) => {
                let v: i32 = v.parse().unwrap_or(i32::MAX);
                if v > SCHEMA_VERSION {
                    bail!("the queue at {} was made by a newer hunt (schema {v}; this hunt reads up to {SCHEMA_VERSION}): upgrade hunt", p.describe());
                }
                if (1..SCHEMA_VERSION).contains(&v) && make {
                    p.make_schema()?;
                } else if v < 1 {
                    bail!("the queue at {} has schema {v}, which this hunt does not read (it reads 1 to {SCHEMA_VERSION}): drop the schema `hunt` there, or use another database", p.describe());
                }
            }
            None if make => p.make_schema()?,
            None => bail!(
                "there is no queue at {}: give --broker the URL a coordinator or worker uses (they make it)",
                p.describe()
            ),
        }
        Ok(p)
    }

    /// Makes the schema, once, under an advisory lock: the first of several processes
    /// connecting at once makes it (or brings version 1 up to this one), the others
    /// find it made.
    fn make_schema(&mut self) -> Result<()> {
        self.exec(SCHEMA_LOCK, &[])?;
        let made = self.write(|p| {
            let made: bool = p
                .row("SELECT to_regclass('hunt.meta') IS NOT NULL", &[])?
                .is_some_and(|r| r.get(0));
            if !made {
                let r = p.raw().batch_execute(SCHEMA_SQL);
                p.checked(r)?;
                for sql in [FINISH_TAKE_FN_SQL, EVENTS_AFTER_FN_SQL] {
                    let r = p.raw().batch_execute(sql);
                    p.checked(r)?;
                }
                return Ok(());
            }
            let version: Option<String> = p
                .row("SELECT value FROM meta WHERE key = 'schema'", &[])?
                .map(|r| r.get(0));
            if matches!(version.as_deref(), Some("1" | "2")) {
                for sql in [FINISH_TAKE_FN_SQL, EVENTS_AFTER_FN_SQL] {
                    let r = p.raw().batch_execute(sql);
                    p.checked(r)?;
                }
                p.exec("ALTER TABLE hunt.hunt DROP COLUMN IF EXISTS terminal", &[])?;
                p.exec("UPDATE meta SET value = '3' WHERE key = 'schema'", &[])?;
            }
            Ok(())
        });
        if self.client.is_some() {
            self.exec(SCHEMA_UNLOCK, &[])?;
        }
        made
    }

    /// The connection, made now where there is none.
    fn client(&mut self) -> Result<&mut Client> {
        if self.client.is_none() {
            let c = match &self.tls {
                Some(tls) => self.config.connect(tls.clone()),
                None => self.config.connect(NoTls),
            }
            .map_err(|e| explain(&e, &self.url))?;
            self.client = Some(c);
            self.prepared.clear();
            self.listening.clear();
            // What came while there was no connection is unknown: look again.
            self.looked.clear();
            let r = self.raw().batch_execute("SET search_path TO hunt");
            self.checked(r)?;
        }
        Ok(self.client.as_mut().expect("made just above"))
    }

    /// The connection, which [`Postgres::client`] made.
    fn raw(&mut self) -> &mut Client {
        self.client.as_mut().expect("connected")
    }

    /// `r`, with a failed connection dropped (the next call makes a new one) and the
    /// error named with the broker and the fix.
    fn checked<T>(&mut self, r: Result<T, postgres::Error>) -> Result<T> {
        r.map_err(|e| {
            if e.is_closed() || self.client.as_ref().is_none_or(Client::is_closed) {
                self.client = None;
            }
            explain(&e, &self.url)
        })
    }

    /// The statement `sql`, prepared once per connection.
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        self.client()?;
        let r = self.raw().prepare(sql);
        let s = self.checked(r)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    /// Every row of `sql`.
    fn rows(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        let r = self.raw().query(&s, params);
        self.checked(r)
    }

    /// The first row of `sql`, if any.
    fn row(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Runs `sql`; the rows it changed.
    fn exec(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.statement(sql)?;
        let r = self.raw().execute(&s, params);
        self.checked(r)
    }

    /// Runs `f` in a transaction (READ COMMITTED), committed when it succeeds, rolled
    /// back when it fails.
    fn write<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.client()?;
        let r = self.raw().batch_execute("BEGIN");
        self.checked(r)?;
        let out = f(self);
        if out.is_ok() {
            let r = self.raw_if_connected().map(|c| c.batch_execute("COMMIT"));
            if let Some(r) = r {
                self.checked(r)?;
            }
        } else if let Some(c) = self.raw_if_connected() {
            let _ = c.batch_execute("ROLLBACK");
        }
        out
    }

    fn raw_if_connected(&mut self) -> Option<&mut Client> {
        self.client.as_mut().filter(|c| !c.is_closed())
    }

    /// Writes `events` of `hunt`, in order, under a share of the hunt's event lock, and wakes its
    /// coordinator; inside a write transaction, after its row changes.
    fn emit(&mut self, hunt: &str, events: &[Event]) -> Result<()> {
        let bodies: Vec<String> = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        self.exec(EVENT_LOCK, &[&hunt])?;
        self.exec(
            "INSERT INTO event (hunt, body) SELECT $1, b FROM unnest($2::text[]) WITH ORDINALITY AS e (b, n) ORDER BY n",
            &[&hunt, &bodies],
        )
        .map(drop)
    }

    /// Wakes the workers of `hunt` (inside a transaction: sent when it commits).
    fn wake_workers(&mut self, hunt: &str) -> Result<()> {
        self.exec("SELECT pg_notify('hunt_work', $1)", &[&hunt])
            .map(drop)
    }

    /// LISTENs on `channel`, once per connection.
    fn listen(&mut self, channel: &'static str) -> Result<()> {
        self.client()?;
        if !self.listening.contains(channel) {
            let r = self.raw().batch_execute(&format!("LISTEN {channel}"));
            self.checked(r)?;
            self.listening.insert(channel);
        }
        Ok(())
    }

    /// Stops LISTENing on `channel`, when this connection is. Every NOTIFY in a
    /// database wakes every connection LISTENing there, on any channel (PostgreSQL 15's
    /// `SignalBackends`), so each report's notice to the coordinator woke every worker
    /// too: 15 wake-ups a task with eight workers, counted with strace (docs/BROKERS.md).
    fn unlisten(&mut self, channel: &'static str) -> Result<()> {
        if self.listening.remove(channel) {
            let r = self.raw().batch_execute(&format!("UNLISTEN {channel}"));
            self.checked(r)?;
        }
        Ok(())
    }

    /// Moves the notices already received into `work_news` and `event_news`.
    fn drain(&mut self) -> Result<()> {
        self.client()?;
        let mut got = Vec::new();
        let r = {
            let mut n = self.raw().notifications();
            let mut it = n.iter();
            loop {
                match it.next() {
                    Ok(Some(x)) => got.push(x),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        };
        self.file_notices(got);
        self.checked(r)
    }

    fn file_notices(&mut self, got: Vec<postgres::Notification>) {
        for n in got {
            match n.channel() {
                WORK => self.work_news.insert(n.payload().to_string()),
                EVENTS => self.event_news.insert(n.payload().to_string()),
                _ => false,
            };
        }
    }

    /// Waits up to `wait` for a notice that `news` (work or events) says is about one of
    /// `hunts` (any hunt, when empty); true when one came. Ctrl-C and SIGTERM cut it short.
    fn wait_for(&mut self, events: bool, hunts: &[&str], wait: Duration) -> Result<bool> {
        let deadline = Instant::now() + wait;
        loop {
            let news = if events { &self.event_news } else { &self.work_news };
            if (hunts.is_empty() && !news.is_empty()) || hunts.iter().any(|h| news.contains(*h))
            {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline
                || crate::interrupt::requested()
                || crate::interrupt::terminating()
            {
                return Ok(false);
            }
            self.client()?;
            let slice = (deadline - now).min(SLICE);
            let mut got = Vec::new();
            let r = {
                let mut n = self.raw().notifications();
                let first = n.timeout_iter(slice).next();
                match first {
                    Ok(Some(x)) => {
                        got.push(x);
                        // Take what else is queued, without waiting.
                        let mut it = n.iter();
                        loop {
                            match it.next() {
                                Ok(Some(x)) => got.push(x),
                                Ok(None) => break Ok(()),
                                Err(e) => break Err(e),
                            }
                        }
                    }
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                }
            };
            self.file_notices(got);
            self.checked(r)?;
        }
    }

    /// The hunt's row, unless it is gone, and whether every task is settled (no row
    /// ready to take: the tasks are inserted with the hunt's row, in one transaction).
    fn hunt_row(&mut self, hunt: &str) -> Result<Option<HuntRow>> {
        Ok(self
            .row(
                "SELECT stop, tasks, NOT EXISTS (SELECT 1 FROM task WHERE hunt = $1 AND state IN ('NotStarted', 'Running')),
                        batch, files, max_attempts, lease_ms FROM hunt
                  WHERE id = $1 AND NOT ((expires IS NOT NULL AND expires <= now()) OR (expires IS NULL AND alive_until <= now()))",
                &[&hunt],
            )?
            .map(|r| HuntRow {
                stop: r.get(0),
                tasks: r.get(1),
                settled: r.get(2),
                batch: r.get(3),
                files: r.get(4),
                max_attempts: u32::try_from(r.get::<_, i32>(5)).unwrap_or(1),
                lease_ms: r.get(6),
            }))
    }

    /// Deletes the hunts that are gone (their other rows go with them, `ON DELETE
    /// CASCADE`), and workers not heard from for a minute.
    fn prune(&mut self) -> Result<()> {
        self.exec(
            "DELETE FROM hunt WHERE ((expires IS NOT NULL AND expires <= now()) OR (expires IS NULL AND alive_until <= now()))",
            &[],
        )?;
        self.exec(
            "DELETE FROM worker WHERE last_seen < now() - interval '60 seconds'",
            &[],
        )
        .map(drop)
    }
}

mod broker;
mod messages;
mod queue;
#[cfg(test)]
mod tests;

