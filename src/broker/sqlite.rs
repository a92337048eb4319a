//! The SQLite backend of [`crate::broker::Broker`]: the blog's "conventional task queue", a
//! database as the queue. The producer (the coordinator) writes one row per task with
//! the blog's state flag; workers poll the table every `--poll` seconds for a task not
//! started and claim it in one statement. One file, on one host: WAL needs the shared
//! memory of one machine, so only processes on this host can share the queue (a
//! server backend is the one for workers on several hosts).
//!
//! # Schema (`sqlite/schema.sql`, `PRAGMA user_version` [`crate::broker::sqlite::SCHEMA_VERSION`])
//! | table | holds |
//! |---|---|
//! | `hunt` | one row per hunt: spec (JSON), stop flag, status, task and terminal counts, lease, poll, keep-alive and expiry times, the answer (set once) |
//! | `task` | one row per task: range, state (NotStarted, Running, Completed, Failed: a CHECK), worker, consumer, attempts, lease expiry, fencing token, note |
//! | `event` | the [`crate::broker::Event`]s, JSON, in `seq` order; the coordinator reads those after the last it read |
//! | `refusal` | worker -> why it refused a hunt |
//! | `worker` | heartbeats: [`crate::broker::WorkerInfo`], last seen, SQL statements run |
//!
//! The index `task (hunt, state, id)` makes a claim a lookup, not a scan of the table
//! (`benches/sqlite.rs` measures both).
//!
//! # Claims, fences, the answer
//! A claim is one `UPDATE ... WHERE rowid = (SELECT ...) RETURNING` (`sqlite/claim.sql`):
//! a task whose lease ran out, else the first not started. It bumps the attempts and
//! the task's token; the token is the lease's fence: every report (finish, fail,
//! release, renew) matches task, consumer and token, so a worker whose lease was taken
//! over reports nothing that counts (event `stale`). An attempt beyond `--max-attempts`
//! is the dead letter: Failed, with an event. The answer is committed once, by
//! `UPDATE hunt SET answer = ? WHERE answer IS NULL`. Every writer runs in
//! `BEGIN IMMEDIATE` with a `busy_timeout`, so writers queue instead of failing.
//!
//! # Polling
//! Nothing is pushed: [`Broker::stopped`] and a worker with nothing to take look again
//! every `poll_ms` of the hunt's spec (`--poll`); [`Broker::events`] looks at that pace
//! too, and at least once per call (the coordinator calls it with a 50 ms wait, so it
//! looks at least 20 times a second). An idle worker's look is a read, which takes no
//! write lock. Each process counts the statements it runs ([`crate::broker::sqlite::statements`]); workers
//! write the count with their heartbeat, which is how the cost of polling is measured.
//!
//! # Expiry
//! A retired hunt's rows are deleted after the coordinator's keep time; a running hunt
//! whose coordinator stopped calling [`Broker::keep_alive`] for a minute is gone, and
//! deleted too. Pruning runs on publish, retire and status.
//!
//! # Files that are not hunt's queue
//! hunt never deletes or rewrites a file it did not create. A missing file is made as a
//! new temporary file (`O_EXCL`) beside it, initialised, and then linked to its name
//! (which fails if the name was taken meanwhile), so no process ever sees half a queue.
//! An existing file is read (its first 100 bytes, without SQLite) before SQLite may open
//! it: a file that is empty, not an SQLite database, a database of another program
//! (another `application_id`), a queue of a newer hunt, read-only, or locked is refused
//! with one line that names the fix, and left as it was.

use super::sql::{as_i64, as_u64, HuntRow};
use super::backend::{Backend, Options, PrivateBroker};
use super::contract::{self, AfterFailure};
use super::{
    Answer, Broker, Done, Event, HuntSpec, HuntState, HuntStatus, Me, Take, Verdict, WireTally,
    WorkerInfo,
};
use crate::knob::{Kind, Knob, Knobs};
use crate::tasks::{Finished, Lease, Task, TaskRow, TaskState};
use anyhow::{anyhow, bail, Context, Result};
use rusqlite::{named_params, params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod file;
use file::{check, create, explain, path_of, Found};

/// `--poll`: how often the polled parts of a hunt look at the queue.
pub static POLL: Knob = Knob {
    name: "poll",
    value_name: "SECONDS",
    help: "How often `sqlite` workers with nothing to take, and its coordinator, look at the queue again (the blog's polling: a database pushes nothing)",
    kind: Kind::Seconds {
        default: 0.05,
        min: 0.001,
        max: 60.0,
    },
};

/// `PRAGMA application_id` of a hunt queue: "HUNT".
pub const APPLICATION_ID: i32 = 0x4855_4E54;
/// `PRAGMA user_version` of the queues this build writes, and the newest it reads.
pub const SCHEMA_VERSION: i32 = 1;
/// The index that makes claims cheap (see `sqlite/schema.sql`).
pub const STATE_INDEX: &str = "task_ready";
/// The claim statement, for `EXPLAIN QUERY PLAN` in the bench.
pub const CLAIM_SQL: &str = include_str!("sqlite/claim.sql");
/// Test hook: with this set, every connection may not grow the file (`PRAGMA
/// max_page_count` at its size), so the next write that needs a page fails with
/// `SQLITE_FULL`, exactly as on a full disk.
pub const FULL_ENV: &str = "HUNT_TEST_SQLITE_FULL";

const SCHEMA_SQL: &str = include_str!("sqlite/schema.sql");
const READY_SQL: &str = include_str!("sqlite/ready.sql");
/// How long a statement waits for another process's write lock.
const BUSY: Duration = Duration::from_secs(5);
/// How long opening waits for a lock before the file counts as locked.
const OPEN_BUSY: Duration = Duration::from_secs(2);
/// How long a running hunt lives without its coordinator's keep-alive.
const ALIVE_MS: i64 = super::contract::ALIVE_MS as i64;
/// How often a worker serving no hunt looks for a new one.
const IDLE_POLL_MS: u64 = 50;
/// A hunt that is gone: retired and past its keep time, or running with no keep-alive.
const GONE: &str = "((expires_ms IS NOT NULL AND expires_ms <= :now) OR (expires_ms IS NULL AND alive_until_ms <= :now))";

/// SQL statements this process has run on any queue.
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// SQL statements this process has run on any queue, BEGIN and COMMIT included.
pub fn statements() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// The SQLite backend, as the backends table knows it.
pub struct SqliteKind;

impl Backend for SqliteKind {
    const NAME: &'static str = "sqlite";
    const SCHEMES: &'static [&'static str] = &["sqlite:"];
    const URL_FORMS: &'static str = "sqlite:PATH";
    const KNOBS: &'static [&'static Knob] = &[
        &crate::tasks::BATCH,
        &super::BROKER,
        &super::LEASE,
        &super::MAX_ATTEMPTS,
        &POLL,
        &super::REMOTE_WORKERS,
    ];

    fn connect(url: &str) -> Result<Box<dyn Broker>> {
        Sqlite::connect(url)
    }

    fn connect_existing(url: &str) -> Result<Box<dyn Broker>> {
        Sqlite::open_existing(url)
    }

    fn options(knobs: &Knobs) -> Options {
        let ms = knobs.seconds(&POLL).as_millis().max(1) as u64;
        Options::from_iter([(POLL_MS.to_string(), ms.into())])
    }

    fn private() -> Result<Box<dyn PrivateBroker>> {
        let dir = tempfile::Builder::new()
            .prefix("hunt-sqlite-")
            .tempdir()
            .context("cannot make a private folder for the queue: is the temporary folder ($TMPDIR) writable?")?;
        let path = dir.path().join("queue.db");
        create(&path)?;
        Ok(Box::new(PrivateSqlite {
            url: format!("sqlite:{}", path.display()),
            _dir: dir,
        }))
    }
}

/// The key of the spec's options that holds `--poll`, in ms: `poll_ms`, as format 1
/// has always named it.
const POLL_MS: &str = "poll_ms";

/// A hunt's `--poll`, in ms, from its spec; `None` when the spec has none.
fn poll_ms(spec: &HuntSpec) -> Option<u64> {
    spec.options.get(POLL_MS).and_then(serde_json::Value::as_u64)
}

/// A queue in a private temporary folder, removed with it on drop.
struct PrivateSqlite {
    url: String,
    _dir: tempfile::TempDir,
}

impl PrivateBroker for PrivateSqlite {
    fn url(&self) -> &str {
        &self.url
    }

    fn no_server(&self) -> Option<&'static str> {
        Some("SQLite has no server to kill: the queue is a file each worker opens itself")
    }
}

/// One connection to a queue file.
pub struct Sqlite {
    url: String,
    path: PathBuf,
    conn: Connection,
    /// The last event read, per hunt.
    cursors: HashMap<String, i64>,
    /// The hunts' poll intervals, ms.
    polls: HashMap<String, u64>,
    /// When this connection may poll again.
    next_look: Instant,
    /// Added to the clock (tests of expiry).
    skew_ms: i64,
}

impl Sqlite {
    /// Connects to `sqlite:PATH`, making the queue when PATH does not exist.
    pub fn connect(url: &str) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Sqlite::open(url, true)?))
    }

    /// Connects to the queue at `sqlite:PATH`, which must exist (`hunt status`).
    pub fn open_existing(url: &str) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Sqlite::open(url, false)?))
    }

    /// Opens the queue of `url`; with `make`, a missing file becomes a new queue.
    pub fn open(url: &str, make: bool) -> Result<Sqlite> {
        let path = path_of(url)?;
        if check(&path)? == Found::Missing {
            if !make {
                bail!(
                    "there is no queue at {}: give --broker the sqlite:PATH a coordinator or worker uses (they make it)",
                    path.display()
                );
            }
            create(&path)?;
            if check(&path)? == Found::Missing {
                bail!("the queue {} vanished as it was made: give --broker sqlite:PATH a path no other program touches", path.display());
            }
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| explain(&e, &path))?;
        let s = Sqlite {
            url: url.to_string(),
            path,
            conn,
            cursors: HashMap::new(),
            polls: HashMap::new(),
            next_look: Instant::now(),
            skew_ms: 0,
        };
        s.conn.busy_timeout(OPEN_BUSY).map_err(|e| s.explain(&e))?;
        // The file was checked by its bytes; SQLite's view must agree (nothing swapped it).
        let (app, version): (i32, i32) = s
            .conn
            .query_row(
                "SELECT * FROM pragma_application_id, pragma_user_version",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => anyhow!(
                    "the queue {} is locked by another program (waited {} s): close the program that holds it (an sqlite3 shell?), or give --broker sqlite:PATH another file",
                    s.path.display(),
                    OPEN_BUSY.as_secs()
                ),
                _ => s.explain(&e),
            })?;
        if app != APPLICATION_ID || version != SCHEMA_VERSION {
            bail!(
                "{} changed as it was opened and is no longer a hunt queue of schema {SCHEMA_VERSION}: give --broker sqlite:PATH a path no other program touches",
                s.path.display()
            );
        }
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| s.explain(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            s.conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(|e| s.explain(&e))?;
        }
        s.conn
            .execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(|e| s.explain(&e))?;
        s.conn.busy_timeout(BUSY).map_err(|e| s.explain(&e))?;
        if std::env::var_os(FULL_ENV).is_some() {
            s.conn
                .query_row("PRAGMA max_page_count = 1", [], |_| Ok(()))
                .map_err(|e| s.explain(&e))?;
        }
        Ok(s)
    }

    fn explain(&self, e: &rusqlite::Error) -> anyhow::Error {
        explain(e, &self.path)
    }

    /// Now, ms since the epoch, by this host's clock (every sharer is on this host).
    fn now(&self) -> i64 {
        super::now_ms() as i64 + self.skew_ms
    }

    /// Runs one statement; the rows it changed.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(|e| self.explain(&e))
    }

    /// One row of one statement, if any.
    fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, f).optional())
            .map_err(|e| self.explain(&e))
    }

    /// Every row of one statement.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_map(params, f)?.collect())
            .map_err(|e| self.explain(&e))
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`: the write lock first, so two
    /// writers never deadlock on an upgrade); rolled back when `f` fails.
    fn write<T>(&self, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.exec("BEGIN IMMEDIATE", [])?;
        let r = f(self).and_then(|v| self.exec("COMMIT", []).map(|_| v));
        if r.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        r
    }

    fn event(&self, hunt: &str, e: &Event) -> Result<()> {
        let body = serde_json::to_string(e)?;
        self.exec(
            "INSERT INTO event (hunt, at_ms, body) VALUES (?1, ?2, ?3)",
            params![hunt, self.now(), body],
        )
        .map(drop)
    }

    /// The hunt's row, unless it is gone.
    fn hunt_row(&self, hunt: &str) -> Result<Option<HuntRow>> {
        self.row(
            &format!(
                "SELECT stop, tasks, terminal, batch, files, max_attempts, lease_ms FROM hunt WHERE id = :id AND NOT {GONE}"
            ),
            named_params! {":id": hunt, ":now": self.now()},
            |r| {
                Ok(HuntRow {
                    stop: r.get::<_, i64>(0)? != 0,
                    tasks: r.get(1)?,
                    settled: r.get::<_, i64>(2)? >= r.get::<_, i64>(1)?,
                    batch: r.get(3)?,
                    files: r.get(4)?,
                    max_attempts: r.get(5)?,
                    lease_ms: r.get(6)?,
                })
            },
        )
    }

    /// Deletes the hunts that are gone, with their rows, and workers not heard from
    /// for a minute. Inside a write transaction.
    fn prune(&self) -> Result<()> {
        let now = self.now();
        for table in ["task", "event", "refusal"] {
            self.exec(
                &format!("DELETE FROM {table} WHERE hunt IN (SELECT id FROM hunt WHERE {GONE})"),
                named_params! {":now": now},
            )?;
        }
        self.exec(
            &format!("DELETE FROM hunt WHERE {GONE}"),
            named_params! {":now": now},
        )?;
        self.exec(
            "DELETE FROM worker WHERE last_seen_ms < ?1",
            params![now - ALIVE_MS],
        )?;
        Ok(())
    }
}

mod broker;
mod rows;

#[cfg(test)]
mod tests;
