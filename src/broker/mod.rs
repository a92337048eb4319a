//! Task-queue brokers: the task layer ([`crate::tasks`]) shared by `hunt worker`
//! processes on this host or on others, with leases, retries, a dead letter and exactly
//! one answer.
//!
//! The pieces:
//! - [`Broker`], the trait every backend's connection implements: one connection to one
//!   broker, carrying hunts (their spec, their tasks, their events) between a
//!   coordinator and workers.
//! - [`Backend`] ([`backend`]), the plug-in trait: a backend's name, URL schemes and
//!   forms, knobs, how to connect (and to open an existing queue only), its own spec
//!   options, how to start a private server for a hunt or a race, and why it cannot run
//!   here. The backends table below ([`BACKENDS`]) has one line per backend; URL
//!   dispatch ([`connect`], [`connect_existing`]), help texts and messages come from it.
//! - [`contract`]: the rules below, written once; backends call them, and a backend that
//!   repeats one in its own language (Redis's Lua) is pinned to it by a test.
//! - [`status`]: what `hunt status` shows (printed by `src/app/status.rs`).
//!
//! The strategy side of a broker is [`crate::strategy::coordinator`]; the worker side,
//! `hunt worker --broker URL`, is [`crate::worker::serve`].
//!
//! # Adding a backend
//! One module here (`NAME.rs`, with a `NAME/` folder for its scripts), implementing
//! [`Broker`] and [`Backend`]; one line in `backends!` below; one `registry!` line and a
//! one-line `Coordinator<NameKind>` file in [`crate::strategy`]. Nothing else names it.
//!
//! # The rules every backend keeps
//! - A task is a range of search positions; a worker takes it with a lease of
//!   `--lease` seconds, which it renews while it works. A lease that runs out (a worker
//!   killed, paused or cut off) lets another worker take the task over.
//! - Each take is an attempt. A task whose attempt fails (its files could not all be
//!   read, or its worker died) goes back on the queue; after `--max-attempts` it is
//!   Failed: the dead letter. A hunt with a Failed task answers "unknown", never "not
//!   found", unless the treasure was found.
//! - Reports are fenced: a worker whose lease was taken over (it was paused, say)
//!   reports nothing that counts, so no file is counted twice and no second answer is
//!   given. The first find is committed once, atomically; later finds change nothing.
//! - Every change to a hunt is an [`Event`] the coordinator reads in order.

pub mod backend;
pub mod contract;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
pub mod status;
pub mod tls;
mod url;
mod wire;

/// The backends table: one line per backend, `module::Type if feature "f"`, where
/// `Type` implements [`Backend`]. It declares the module (compiled only with its
/// feature) and its [`Entry`] in [`BACKENDS`], from which URL dispatch, help texts and
/// messages come.
macro_rules! backends {
    ($($(#[$doc:meta])* $module:ident :: $ty:ident if feature $feature:literal;)*) => {
        $( $(#[$doc])* #[cfg(feature = $feature)] pub mod $module; )*

        /// Every task-queue backend hunt knows, those this build left out included.
        pub static BACKENDS: &[Entry] = &[$(backends!(@entry $module::$ty, $feature)),*];
    };
    (@entry $module:ident :: $ty:ident, $feature:literal) => {{
        #[cfg(feature = $feature)]
        let entry = Entry::of::<$module::$ty>($feature);
        #[cfg(not(feature = $feature))]
        let entry = Entry::missing(stringify!($module), $feature);
        entry
    }};
}

backends! {
    /// A Redis server: a list and a sorted set of leases, Lua functions; workers on many hosts.
    redis::RedisKind if feature "redis";
    /// The blog's database as the queue: one SQLite file, workers on one host.
    sqlite::SqliteKind if feature "sqlite";
    /// A PostgreSQL table as the queue: SKIP LOCKED claims, LISTEN/NOTIFY; many hosts.
    postgres::PostgresKind if feature "postgres";
    /// A RabbitMQ server: a quorum queue per hunt, manual acks, the coordinator decides.
    rabbitmq::RabbitKind if feature "rabbitmq";
}

/// Plain keys and lists on the Redis backend's server, for the Python task queues.
#[cfg(feature = "redis")]
pub use self::redis::lists;
pub use backend::{Backend, Entry, Options, PrivateBroker};
pub use url::redact;
pub use wire::{Answer, Event, HuntState, HuntStatus, Verdict, WireTally, WorkerInfo};

use crate::dataset::identity::Identity;
use crate::knob::{Kind, Knob};
use crate::scan::Reader;
use crate::tasks::BATCH;
use crate::tasks::{Finished, Lease, Task};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `--broker`: where the task queue lives.
pub static BROKER: Knob = Knob {
    name: "broker",
    value_name: "URL",
    // Shown with the backends' URL forms: see [`knob_help`].
    help: "The task-queue broker of a broker strategy, a URL of its kind [default: a private one for this hunt]",
    kind: Kind::Text,
};

/// `--lease`: how long a worker holds a task without renewing it.
pub static LEASE: Knob = Knob {
    name: "lease",
    value_name: "SECONDS",
    help: "Seconds a worker holds a task of a broker strategy without renewing it; a task whose lease runs out is taken over by another worker",
    kind: Kind::Seconds {
        default: 5.0,
        min: 0.1,
        max: 86_400.0,
    },
};

/// `--max-attempts`: takes of one task before it is given up (the dead letter).
pub static MAX_ATTEMPTS: Knob = Knob {
    name: "max-attempts",
    value_name: "N",
    help: "Times a task of a broker strategy is taken before it is given up as Failed",
    kind: Kind::Count {
        default: 3,
        min: 1,
        max: 1000,
        why_max: "",
    },
};

/// `--remote-workers`: use the workers already serving the broker, start none.
pub static REMOTE_WORKERS: Knob = Knob {
    name: "remote-workers",
    value_name: "",
    help: "With a broker strategy: start no local workers, use the `hunt worker` processes already serving --broker",
    kind: Kind::Flag,
};

/// The knobs every broker strategy takes; a backend with knobs of its own lists these
/// and its own in [`Backend::KNOBS`].
pub const KNOBS: &[&Knob] = &[
    &BATCH,
    &BROKER,
    &tls::BROKER_CA,
    &LEASE,
    &MAX_ATTEMPTS,
    &REMOTE_WORKERS,
];

/// The format of a hunt's spec this build writes and the newest it reads. 2
/// (2026-12-06): a Redis hunt's queue is a list and a sorted set of leases, no longer a
/// stream, so a worker of format 1 must refuse it (and a Redis worker of format 2
/// refuses a hunt of format 1: [`Broker::refuses`]); the other backends' queues are as
/// in format 1.
pub const SPEC_FORMAT: u32 = 2;

/// What a coordinator publishes: everything a worker needs to serve a hunt's tasks,
/// and to tell whether its folder holds the right data set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntSpec {
    /// [`SPEC_FORMAT`]; a worker refuses a newer one.
    pub format: u32,
    /// The hunt's id: 16 hex digits, random.
    pub id: String,
    /// The data set it searches.
    pub identity: Identity,
    /// Files in that set.
    pub files: u64,
    /// The needle, as hex.
    pub needle_hex: String,
    /// How workers read files.
    pub reader: Reader,
    /// Rotation of the search order.
    pub rotate: u64,
    /// Files per task.
    pub batch: u64,
    /// The lease, in milliseconds.
    pub lease_ms: u64,
    /// Takes of one task before it is Failed.
    pub max_attempts: u32,
    /// The coordinator's host, for people.
    pub coordinator: String,
    /// The coordinator writes a trace: workers send each task's events with its report.
    #[serde(default)]
    pub trace: bool,
    /// The backend's own settings ([`Backend::options`]), each a key of the spec's JSON
    /// beside the shared ones, as format 1 has always carried them; a
    /// worker of another backend ignores them.
    #[serde(flatten)]
    pub options: Options,
}

/// One worker thread as the broker knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    /// The worker's name (`--name`, or HOST-PID).
    pub worker: String,
    /// Its host.
    pub host: String,
    /// The thread's consumer name, unique per thread: `NAME/THREAD`.
    pub consumer: String,
}

impl Me {
    /// `NAME@HOST`, as reports name the worker.
    pub fn label(&self) -> String {
        format!("{}@{}", self.worker, self.host)
    }
}

/// One connection to a broker. Each worker thread and the coordinator hold their own;
/// every method is one round trip (or one transaction), safe against other processes
/// doing the same at the same time.
pub trait Broker: Send {
    /// The broker, for messages (any password redacted).
    fn describe(&self) -> String;
    /// Another connection to the same broker.
    fn connect_again(&self) -> Result<Box<dyn Broker>>;
    /// Why this connection no longer reaches the broker its URL names, though every call
    /// on it still works: a queue file removed or replaced under the open one. `None`
    /// while it does, and always for a connection to a server (whose outages are
    /// errors). An idle worker asks, and connects again when told why.
    fn moved(&self) -> Option<String> {
        None
    }
    /// How long a worker with nothing to take of hunt `spec` waits before it looks
    /// again: a polled broker's pace (SQLite's `--poll`); `None` for a broker that
    /// pushes, where the worker backs off by itself.
    fn pace(&self, _spec: &HuntSpec) -> Option<Duration> {
        None
    }
    /// Why a worker of this build cannot serve hunt `spec` on this broker though it
    /// reads the spec: its queue is kept in an older format (Redis before spec format
    /// 2). `None` when it can.
    fn refuses(&self, _spec: &HuntSpec) -> Option<String> {
        None
    }

    /// Publishes a hunt: its spec and every task, NotStarted; workers see it at once.
    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()>;
    /// The events since the last call, waiting up to `wait` for the first.
    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>>;
    /// Keeps a running hunt alive: a hunt whose coordinator stops calling this within a
    /// minute is dropped, and its records expire.
    fn keep_alive(&mut self, hunt: &str) -> Result<()>;
    /// Raises the hunt's stop signal: nothing more is handed out, workers stop.
    fn stop(&mut self, hunt: &str) -> Result<()>;
    /// Records how the hunt ended and lets its records expire after `keep`.
    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()>;
    /// True while the hunt's records exist (a broker restarted without persistence
    /// loses them).
    fn exists(&mut self, hunt: &str) -> Result<bool>;

    /// The hunts being served now, oldest first.
    fn hunts(&mut self) -> Result<Vec<String>>;
    /// [`Broker::hunts`], for a worker that serves only hunt `only`: a backend that
    /// learns of hunts by listening for a while may stop listening once it has heard of
    /// that one.
    fn hunts_for(&mut self, only: Option<&str>) -> Result<Vec<String>> {
        let _ = only;
        self.hunts()
    }
    /// A hunt's spec; `Ok(None)` when the hunt is gone; an error for a spec this build
    /// cannot read.
    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>>;
    /// Takes a task of `hunt` for `me`: a task whose lease ran out, or one not yet
    /// taken. `Ok(None)` when there is none to take now.
    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take>;
    /// Renews the lease; false when it was taken over.
    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool>;
    /// Reports a task run to its end (or cut short), with its counts and find; the
    /// first find is committed as the answer. A report whose files could not all be
    /// read ([`Done::why`] not empty) and that found nothing is a failed attempt.
    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished>;
    /// Reports a task as [`Broker::finish`] does, then takes the next task of `hunt` for
    /// `me` as [`Broker::take`] does: a worker's one round trip per task in steady state
    /// where the backend overrides it (one script, one transaction). The rules hold as
    /// for the two calls: a fenced report counts nothing and the take still works, and a
    /// report that ends the hunt (the answer, the last task) leaves nothing to take. An
    /// error says neither is known to have happened, as an error of `finish` does.
    fn finish_and_take(
        &mut self,
        hunt: &str,
        me: &Me,
        lease: &Lease,
        done: &Done,
    ) -> Result<(Finished, Take)> {
        let finished = self.finish(hunt, me, lease, done)?;
        Ok((finished, self.take(hunt, me)?))
    }
    /// Sends [`Broker::finish_and_take`] without waiting for its reply, for a worker
    /// thread that runs its other task meanwhile (a prefetch of one task, as Celery's
    /// workers prefetch): [`Broker::receive`] reads the reply. False, and nothing sent,
    /// for a backend that cannot pipeline its calls (the default): the worker then calls
    /// `finish_and_take` and waits.
    fn send_finish_and_take(
        &mut self,
        _hunt: &str,
        _me: &Me,
        _lease: &Lease,
        _done: &Done,
    ) -> Result<bool> {
        Ok(false)
    }
    /// Sends [`Broker::take`] without waiting for its reply, as
    /// [`Broker::send_finish_and_take`] does; false, and nothing sent, where the backend
    /// cannot.
    fn send_take(&mut self, _hunt: &str, _me: &Me) -> Result<bool> {
        Ok(false)
    }
    /// The reply of the oldest call sent and not yet received: what its report did
    /// (`None` for a take) and what it took. Replies come back in the order the calls
    /// were sent, whatever other calls the connection made in between. An error says
    /// the connection failed: every call sent on it is lost (its report is not known to
    /// count, its lease runs out).
    fn receive(&mut self) -> Result<(Option<Finished>, Take)> {
        bail!("this broker sends no call ahead of its reply, so there is no reply to receive")
    }
    /// Gives up this attempt, saying why: the task goes back on the queue (or to the
    /// dead letter after the last attempt).
    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished>;
    /// Hands the task back unfinished (a worker told to stop); not an attempt.
    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()>;
    /// Records that `me` will not serve `hunt`, and why.
    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()>;
    /// The hunts among `hunts` whose stop signal is up (or that are gone), waiting up to
    /// `wait` for one.
    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>>;
    /// Says `info` is alive.
    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()>;

    /// Current and recent hunts, newest first.
    fn status(&mut self) -> Result<Vec<HuntStatus>>;
    /// The broker's clock, ms since the epoch (the one "last heard from" is read by).
    fn clock(&mut self) -> Result<u64>;
    /// Workers heard from in the last minute.
    fn workers(&mut self) -> Result<Vec<WorkerInfo>>;
}

/// What a worker reports of one task.
#[derive(Clone, Debug)]
pub struct Done {
    /// Its counts.
    pub tally: WireTally,
    /// The file that holds the needle, if this task found it.
    pub found: Option<u64>,
    /// The stop signal cut it short.
    pub cut_short: bool,
    /// Why the attempt failed, for people: empty when every file could be read.
    pub why: String,
}

/// What [`Broker::take`] found.
#[derive(Debug)]
pub enum Take {
    /// A task to run.
    Task(Lease),
    /// None now; the hunt goes on (others hold its tasks).
    Wait,
    /// The hunt is stopped, finished or gone.
    Over,
}

/// The help of a broker knob whose text comes from the backends table (`--broker`,
/// with every backend's URL forms), for the flags the registry grows; `None` for the
/// others, whose static help stands.
pub fn knob_help(knob: &Knob) -> Option<String> {
    std::ptr::eq(knob, &BROKER).then(|| {
        format!(
            "The task-queue broker of a broker strategy: {} [default: a private one for this hunt]",
            backend::url_forms()
        )
    })
}

/// `WHAT: FORMS.`, a `--broker` flag's help with every backend's URL forms.
pub fn url_help(what: &str) -> String {
    format!("{what}: {}.", backend::url_forms())
}

/// Connects to the broker `url` names, by its scheme.
pub fn connect(url: &str) -> Result<Box<dyn Broker>> {
    backend::of_url(url)?.connect(url)
}

/// Connects to the broker `url` names, as [`connect`] does, but never makes one: a
/// missing queue file is an error, not a new queue (`hunt status`).
pub fn connect_existing(url: &str) -> Result<Box<dyn Broker>> {
    backend::of_url(url)?.connect_existing(url)
}

/// A fresh hunt id: 16 hex digits.
pub fn new_hunt_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Milliseconds since the epoch, by this host's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Refuses a hunt spec this build cannot serve.
pub fn check_spec(spec: &HuntSpec) -> Result<()> {
    if spec.format > SPEC_FORMAT {
        bail!(
            "the hunt was published by a newer hunt (spec format {}, this one reads {SPEC_FORMAT}): upgrade this worker",
            spec.format
        );
    }
    if spec.batch == 0 || spec.files == 0 || spec.max_attempts == 0 {
        bail!("the hunt's spec is malformed (a zero batch, file count or attempt count)");
    }
    if crate::sys::hex::unhex(&spec.needle_hex).is_none_or(|n| n.is_empty()) {
        bail!("the hunt's needle is not a non-empty hex string");
    }
    Ok(())
}
