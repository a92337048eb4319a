//! The SQLite backend of [`super::Broker`]: the blog's "conventional task queue", a
//! database as the queue. The producer (the coordinator) writes one row per task with
//! the blog's state flag; workers poll the table every `--poll` seconds for a task not
//! started and claim it in one statement. One file, on one host: WAL needs the shared
//! memory of one machine, so only processes on this host can share the queue (Redis is
//! the backend for workers on several hosts).
//!
//! # Schema (`sqlite/schema.sql`, `PRAGMA user_version` [`SCHEMA_VERSION`])
//! | table | holds |
//! |---|---|
//! | `hunt` | one row per hunt: spec (JSON), stop flag, status, task and terminal counts, lease, poll, keep-alive and expiry times, the answer (set once) |
//! | `task` | one row per task: range, state (NotStarted, Running, Completed, Failed: a CHECK), worker, consumer, attempts, lease expiry, fencing token, note |
//! | `event` | the [`super::Event`]s, JSON, in `seq` order; the coordinator reads those after the last it read |
//! | `refusal` | worker -> why it refused a hunt |
//! | `worker` | heartbeats: [`super::WorkerInfo`], last seen, SQL statements run |
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
//! write lock. Each process counts the statements it runs ([`statements`]); workers
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
                    terminal: r.get(2)?,
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

    /// The task's attempts, when `me` holds it under `lease` now.
    fn owned(&self, hunt: &str, me: &Me, lease: &Lease) -> Result<Option<u32>> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(None);
        };
        self.row(
            "SELECT attempts FROM task WHERE hunt = ?1 AND id = ?2 AND state = 'Running' AND consumer = ?3 AND token = ?4",
            params![hunt, as_i64(lease.task.id), me.consumer, token],
            |r| r.get(0),
        )
    }

    fn terminal(&self, hunt: &str) -> Result<()> {
        self.exec(
            "UPDATE hunt SET terminal = terminal + 1 WHERE id = ?1",
            params![hunt],
        )
        .map(drop)
    }

    /// The task gives up: the dead letter.
    fn dead_letter(
        &self,
        hunt: &str,
        task: u64,
        why: String,
        tally: Option<WireTally>,
    ) -> Result<()> {
        self.exec(
            "UPDATE task SET state = 'Failed', note = ?3, consumer = NULL, lease_until = NULL WHERE hunt = ?1 AND id = ?2",
            params![hunt, as_i64(task), why],
        )?;
        self.terminal(hunt)?;
        self.event(hunt, &Event::Failed { task, why, tally })
    }

    /// A failed attempt: the task goes back on the queue, or to the dead letter after
    /// the last attempt ([`contract::after_failure`]).
    #[allow(clippy::too_many_arguments)]
    fn after_failure(
        &self,
        hunt: &str,
        task: u64,
        attempt: u32,
        max: u32,
        worker: &str,
        why: &str,
        tally: Option<WireTally>,
    ) -> Result<()> {
        match contract::after_failure(attempt, max, why) {
            AfterFailure::DeadLetter { why } => self.dead_letter(hunt, task, why, tally),
            AfterFailure::Retry { note } => {
                self.requeue(hunt, task, &note)?;
                self.event(
                    hunt,
                    &Event::Retried {
                        task,
                        worker: Some(worker.to_string()),
                        why: why.to_string(),
                    },
                )
            }
        }
    }

    /// The task goes back on the queue for another attempt.
    fn requeue(&self, hunt: &str, task: u64, note: &str) -> Result<()> {
        self.exec(
            "UPDATE task SET state = 'NotStarted', consumer = NULL, lease_until = NULL, note = ?3 WHERE hunt = ?1 AND id = ?2",
            params![hunt, as_i64(task), note],
        )
        .map(drop)
    }

    /// The hunt's poll interval, ms (looked up once per hunt).
    fn poll_of(&mut self, hunt: &str) -> Result<u64> {
        if let Some(&p) = self.polls.get(hunt) {
            return Ok(p);
        }
        let p = self
            .row(
                "SELECT poll_ms FROM hunt WHERE id = ?1",
                params![hunt],
                |r| r.get::<_, i64>(0),
            )?
            .map_or(IDLE_POLL_MS, |p| p.max(1) as u64);
        self.polls.insert(hunt.to_string(), p);
        Ok(p)
    }

    /// Calls `look` at most every `poll_ms` (counted across calls on this connection)
    /// until it gives something or `wait` is up; with `at_least_once`, also when `wait`
    /// is up before the next look was due.
    fn poll<T>(
        &mut self,
        poll_ms: u64,
        wait: Duration,
        at_least_once: bool,
        mut look: impl FnMut(&mut Self) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let deadline = Instant::now() + wait;
        let poll = Duration::from_millis(poll_ms);
        let mut looked = !at_least_once;
        loop {
            let now = Instant::now();
            let due = now >= self.next_look;
            if due || (now >= deadline && !looked) {
                looked = true;
                self.next_look = now + poll;
                if let Some(v) = look(self)? {
                    return Ok(Some(v));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            crate::interrupt::check()?;
            std::thread::sleep((self.next_look.min(deadline) - now).min(Duration::from_millis(20)));
        }
    }

    /// The hunts among `hunts` whose stop flag is up or that are gone.
    fn stopped_now(&self, hunts: &[String]) -> Result<Vec<String>> {
        let now = self.now();
        let mut out = Vec::new();
        for h in hunts {
            let stop = self.row(
                &format!("SELECT stop FROM hunt WHERE id = :id AND NOT {GONE}"),
                named_params! {":id": h, ":now": now},
                |r| r.get::<_, i64>(0),
            )?;
            if stop != Some(0) {
                out.push(h.clone());
            }
        }
        Ok(out)
    }

    /// Changes when a hunt is published or deleted.
    fn news(&self) -> Result<(i64, i64)> {
        Ok(self
            .row(
                "SELECT count(*), coalesce(max(rowid), 0) FROM hunt",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((0, 0)))
    }
}

/// What a take needs of a hunt.
struct HuntRow {
    stop: bool,
    tasks: i64,
    terminal: i64,
    batch: i64,
    files: i64,
    max_attempts: u32,
    lease_ms: i64,
}

impl HuntRow {
    fn over(&self) -> bool {
        self.stop || self.terminal >= self.tasks
    }
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Broker for Sqlite {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Sqlite::connect(&self.url)
    }

    fn pace(&self, spec: &HuntSpec) -> Option<Duration> {
        poll_ms(spec).map(Duration::from_millis)
    }

    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()> {
        let json = serde_json::to_string(spec)?;
        self.write(|s| {
            s.prune()?;
            let now = s.now();
            s.exec(
                "INSERT INTO hunt (id, spec, created_ms, alive_until_ms, tasks, batch, files, max_attempts, lease_ms, poll_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    spec.id,
                    json,
                    now,
                    now + ALIVE_MS,
                    tasks.len() as i64,
                    as_i64(spec.batch),
                    as_i64(spec.files),
                    spec.max_attempts,
                    as_i64(spec.lease_ms),
                    as_i64(poll_ms(spec).unwrap_or(IDLE_POLL_MS)),
                ],
            )?;
            STATEMENTS.fetch_add(tasks.len() as u64, Ordering::Relaxed);
            let mut insert = s
                .conn
                .prepare_cached(
                    "INSERT INTO task (hunt, id, pos_from, pos_to) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| s.explain(&e))?;
            for t in tasks {
                insert
                    .execute(params![
                        spec.id,
                        as_i64(t.id),
                        as_i64(t.range.start),
                        as_i64(t.range.end)
                    ])
                    .map_err(|e| s.explain(&e))?;
            }
            Ok(())
        })
    }

    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        let poll = self.poll_of(hunt)?;
        // At least one look per call: a caller's last read before it gives up (the
        // coordinator's, once its workers have ended) must see what is there.
        let found = self.poll(poll, wait, true, |s| {
            let after = s.cursors.get(hunt).copied().unwrap_or(0);
            let rows: Vec<(i64, String)> = s.rows(
                "SELECT seq, body FROM event WHERE hunt = ?1 AND seq > ?2 ORDER BY seq",
                params![hunt, after],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some(&(last, _)) = rows.last() else {
                return Ok(None);
            };
            s.cursors.insert(hunt.to_string(), last);
            // One unreadable event (garbage someone wrote) must not lose the others.
            Ok(Some(
                rows.into_iter()
                    .map(|(seq, e)| {
                        serde_json::from_str(&e).unwrap_or_else(|err| Event::Garbage {
                            entry: format!("event {seq}"),
                            why: format!("an event hunt cannot read ({err}): {e:.200}"),
                        })
                    })
                    .collect(),
            ))
        })?;
        Ok(found.unwrap_or_default())
    }

    fn keep_alive(&mut self, hunt: &str) -> Result<()> {
        let until = self.now() + ALIVE_MS;
        self.exec(
            "UPDATE hunt SET alive_until_ms = ?2 WHERE id = ?1 AND expires_ms IS NULL",
            params![hunt, until],
        )
        .map(drop)
    }

    fn stop(&mut self, hunt: &str) -> Result<()> {
        self.exec("UPDATE hunt SET stop = 1 WHERE id = ?1", params![hunt])
            .map(drop)
    }

    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()> {
        let keep = i64::try_from(keep.as_millis())
            .unwrap_or(i64::MAX / 4)
            .max(1);
        self.write(|s| {
            s.exec(
                "UPDATE hunt SET status = ?2, stop = 1, expires_ms = ?3 WHERE id = ?1",
                params![hunt, verdict.name(), s.now() + keep],
            )?;
            s.prune()
        })
    }

    fn exists(&mut self, hunt: &str) -> Result<bool> {
        Ok(self.hunt_row(hunt)?.is_some())
    }

    fn hunts(&mut self) -> Result<Vec<String>> {
        self.rows(
            "SELECT id FROM hunt WHERE expires_ms IS NULL AND alive_until_ms > ?1 ORDER BY created_ms, rowid",
            params![self.now()],
            |r| r.get(0),
        )
    }

    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>> {
        let text: Option<String> = self.row(
            &format!("SELECT spec FROM hunt WHERE id = :id AND NOT {GONE}"),
            named_params! {":id": hunt, ":now": self.now()},
            |r| r.get(0),
        )?;
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).with_context(|| {
                format!("hunt {hunt}'s spec in the queue is not one hunt can read")
            }),
        }
    }

    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        // A read first, without the write lock: most looks of an idle worker find nothing.
        let Some(h) = self.hunt_row(hunt)? else {
            return Ok(Take::Over);
        };
        if h.over() {
            return Ok(Take::Over);
        }
        let ready: bool = self
            .row(
                READY_SQL,
                named_params! {":hunt": hunt, ":now": self.now(), ":consumer": me.consumer},
                |r| r.get(0),
            )?
            .unwrap_or(false);
        if !ready {
            return Ok(Take::Wait);
        }
        let label = me.label();
        self.write(|s| loop {
            let Some(h) = s.hunt_row(hunt)? else {
                return Ok(Take::Over);
            };
            if h.over() {
                return Ok(Take::Over);
            }
            let now = s.now();
            let claimed = s.row(
                CLAIM_SQL,
                named_params! {
                    ":hunt": hunt,
                    ":now": now,
                    ":until": now + h.lease_ms,
                    ":worker": label,
                    ":consumer": me.consumer,
                },
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )?;
            let Some((id, from, to, attempt, token)) = claimed else {
                return Ok(Take::Wait);
            };
            let task = as_u64(id);
            // Tasks carry positions, never paths; a row that is not a task of this hunt
            // (written by someone else) is refused, and never read.
            let of_hunt = crate::tasks::range(task, as_u64(h.batch), as_u64(h.files));
            if id < 0 || id >= h.tasks || (from, to) != (as_i64(of_hunt.start), as_i64(of_hunt.end)) {
                let why = format!(
                    "the task row {id} ({from}..{to}) is not a task of this hunt"
                );
                s.exec(
                    "UPDATE task SET state = 'Failed', note = ?3, consumer = NULL, lease_until = NULL WHERE hunt = ?1 AND id = ?2",
                    params![hunt, id, why],
                )?;
                s.event(
                    hunt,
                    &Event::Garbage {
                        entry: format!("task row {id}"),
                        why: why.clone(),
                    },
                )?;
                if (0..h.tasks).contains(&id) {
                    // Its positions are not searched: the answer cannot be "not found".
                    s.terminal(hunt)?;
                    s.event(
                        hunt,
                        &Event::Failed {
                            task,
                            why,
                            tally: None,
                        },
                    )?;
                }
                continue;
            }
            if let Some(why) = contract::taken_too_often(attempt, h.max_attempts) {
                s.dead_letter(hunt, task, why, None)?;
                continue;
            }
            s.event(
                hunt,
                &Event::Started {
                    task,
                    worker: label.clone(),
                    attempt,
                },
            )?;
            return Ok(Take::Task(Lease {
                task: Task {
                    id: task,
                    range: as_u64(from)..as_u64(to),
                },
                attempt,
                token: token.to_string(),
            }));
        })
    }

    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let Ok(token) = lease.token.parse::<i64>() else {
            return Ok(false);
        };
        let n = self.exec(
            "UPDATE task SET lease_until = ?5 + (SELECT lease_ms FROM hunt WHERE id = ?1)
              WHERE hunt = ?1 AND id = ?2 AND state = 'Running' AND consumer = ?3 AND token = ?4",
            params![hunt, as_i64(lease.task.id), me.consumer, token, self.now()],
        )?;
        Ok(n == 1)
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            let (Some(attempt), Some(h)) = (s.owned(hunt, me, lease)?, s.hunt_row(hunt)?) else {
                s.event(hunt, &Event::Stale { task, worker: label.clone() })?;
                return Ok(Finished::Stale);
            };
            if !done.why.is_empty() && done.found.is_none() {
                let tally = Some(done.tally.clone());
                s.after_failure(hunt, task, attempt, h.max_attempts, &label, &done.why, tally)?;
                return Ok(Finished::Retried);
            }
            s.exec(
                "UPDATE task SET state = 'Completed', worker = ?3, consumer = NULL, lease_until = NULL, note = ?4
                  WHERE hunt = ?1 AND id = ?2",
                params![
                    hunt,
                    as_i64(task),
                    label,
                    done.cut_short.then_some(contract::CUT_SHORT)
                ],
            )?;
            s.terminal(hunt)?;
            s.event(
                hunt,
                &Event::Finished {
                    task,
                    worker: label.clone(),
                    tally: done.tally.clone(),
                    cut_short: done.cut_short,
                },
            )?;
            if let Some(index) = done.found {
                let answer = Answer {
                    index,
                    task,
                    worker: label.clone(),
                };
                let committed = s.exec(
                    "UPDATE hunt SET answer = ?2, stop = 1, status = ?3 WHERE id = ?1 AND answer IS NULL",
                    params![hunt, serde_json::to_string(&answer)?, HuntState::Found.name()],
                )?;
                if committed == 1 {
                    s.event(hunt, &Event::Answer(answer))?;
                    return Ok(Finished::Answered);
                }
            }
            Ok(Finished::Accepted)
        })
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            let (Some(attempt), Some(h)) = (s.owned(hunt, me, lease)?, s.hunt_row(hunt)?) else {
                s.event(
                    hunt,
                    &Event::Stale {
                        task,
                        worker: label.clone(),
                    },
                )?;
                return Ok(Finished::Stale);
            };
            s.after_failure(hunt, task, attempt, h.max_attempts, &label, why, None)?;
            Ok(Finished::Retried)
        })
    }

    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        let label = me.label();
        let task = lease.task.id;
        self.write(|s| {
            if s.owned(hunt, me, lease)?.is_none() {
                return s.event(hunt, &Event::Stale { task, worker: label.clone() });
            }
            // Handed back, not failed: the attempt does not count.
            s.exec(
                "UPDATE task SET state = 'NotStarted', consumer = NULL, lease_until = NULL, attempts = max(attempts - 1, 0)
                  WHERE hunt = ?1 AND id = ?2",
                params![hunt, as_i64(task)],
            )?;
            s.event(hunt, &Event::Released { task, worker: label.clone() })
        })
    }

    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()> {
        let label = me.label();
        self.write(|s| {
            s.exec(
                "INSERT INTO refusal (hunt, worker, why) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hunt, worker) DO UPDATE SET why = excluded.why",
                params![hunt, label, why],
            )?;
            s.event(
                hunt,
                &Event::Refused {
                    worker: label.clone(),
                    why: why.to_string(),
                },
            )
        })
    }

    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>> {
        if hunts.is_empty() {
            // No hunt to watch: wait for news of one (a hunt published or deleted).
            let before = self.news()?;
            self.poll(IDLE_POLL_MS, wait, false, |s| {
                Ok((s.news()? != before).then_some(()))
            })?;
            return Ok(Vec::new());
        }
        let mut poll = u64::MAX;
        for h in hunts {
            poll = poll.min(self.poll_of(h)?);
        }
        Ok(self
            .poll(poll, wait, false, |s| {
                let v = s.stopped_now(hunts)?;
                Ok((!v.is_empty()).then_some(v))
            })?
            .unwrap_or_default())
    }

    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()> {
        let now = self.now();
        let info = WorkerInfo {
            last_seen_ms: as_u64(now),
            ..info.clone()
        };
        let json = serde_json::to_string(&info)?;
        self.exec(
            "INSERT INTO worker (name, info, last_seen_ms, statements) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen_ms = excluded.last_seen_ms, statements = excluded.statements",
            params![info.name, json, now, as_i64(statements())],
        )
        .map(drop)
    }

    fn status(&mut self) -> Result<Vec<HuntStatus>> {
        self.write(|s| s.prune())?;
        let hunts: Vec<(String, String, String, Option<String>)> = self.rows(
            &format!(
                "SELECT id, spec, status, answer FROM hunt WHERE NOT {GONE} ORDER BY created_ms DESC, rowid DESC"
            ),
            named_params! {":now": self.now()},
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let mut out = Vec::new();
        for (id, spec, state, answer) in hunts {
            let Ok(spec) = serde_json::from_str::<HuntSpec>(&spec) else {
                continue;
            };
            let tasks = self.rows(
                "SELECT id, pos_from, pos_to, state, worker, attempts, note FROM task WHERE hunt = ?1 ORDER BY id",
                params![id],
                |r| {
                    let state: String = r.get(3)?;
                    Ok(TaskRow {
                        id: as_u64(r.get(0)?),
                        range: as_u64(r.get(1)?)..as_u64(r.get(2)?),
                        state: TaskState::from_name(&state).unwrap_or(TaskState::Failed),
                        worker: r.get(4)?,
                        attempts: r.get(5)?,
                        note: r.get(6)?,
                    })
                },
            )?;
            let refused = self.rows(
                "SELECT worker, why FROM refusal WHERE hunt = ?1 ORDER BY worker",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            out.push(HuntStatus {
                state: HuntState::from_name(&state, &id)?,
                spec,
                answer: answer.and_then(|a| serde_json::from_str(&a).ok()),
                tasks,
                refused,
            });
        }
        Ok(out)
    }

    fn clock(&mut self) -> Result<u64> {
        Ok(as_u64(self.now()))
    }

    fn workers(&mut self) -> Result<Vec<WorkerInfo>> {
        let infos: Vec<String> = self.rows(
            "SELECT info FROM worker WHERE last_seen_ms >= ?1 ORDER BY name",
            params![self.now() - ALIVE_MS],
            |r| r.get(0),
        )?;
        Ok(infos
            .iter()
            .filter_map(|i| serde_json::from_str(i).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests;
