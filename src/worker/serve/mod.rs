//! `hunt worker --broker URL`: a long-running worker, like `celery worker` or
//! `rq worker`. K threads take tasks from the broker, hunt after hunt, each running the
//! one consumer loop ([`crate::tasks::consume`]) over a `HuntQueue`; a helper thread
//! renews their leases, says the worker is alive, and hears stop signals.
//!
//! - **Which hunts.** Every hunt the broker is serving, oldest first (only `--hunt ID`
//!   for a coordinator's own workers, which exit when it ends). Before its first task of
//!   a hunt the worker checks the hunt's data set against its `--dir` (the identity of
//!   [`crate::dataset::identity`]); a worker whose folder differs refuses the hunt,
//!   records why on the broker (the coordinator prints it), and serves others.
//! - **Stopping.** The find raises the hunt's stop signal; the helper hears it (a
//!   blocking read of the broker's control stream, or a poll) and raises the flag of
//!   every thread on that hunt, which stops within a file. A task cut short by the find
//!   is Completed; one cut short for any other reason (Ctrl-C, a lease taken over) is
//!   handed back, never reported as read.
//! - **Two lanes a thread.** On a broker that pipelines its calls, a thread holds up to
//!   two tasks: it runs one while the other lane's report and next take are on the
//!   wire (`queue.rs` says when and why). Each lane is a consumer of its own
//!   (`NAME/T`, then `NAME/T.1`) holding one lease, renewed by the helper.
//! - **Shutdown.** SIGTERM: warm, like Celery's: the tasks being run are finished, a
//!   task taken ahead and not begun is handed back, no new one is taken, exit 0.
//!   Ctrl-C: the tasks in hand are handed back at once, exit 130.
//! - **The broker going away.** A thread whose call fails drops its connection and
//!   tries again with backoff (100 ms doubling to 2 s), saying so once per outage; a
//!   task whose lease ran out meanwhile is another worker's now, and its report is
//!   fenced off. Only the first connection must succeed: a wrong URL or password is bad
//!   input (exit 2), not something to retry for ever.
//!   A broker can also move away without an error: a queue file removed or replaced
//!   under the open one goes on working for this process. So the helper, while the
//!   worker serves no hunt, asks its connection ([`Broker::moved`]); told why, it says
//!   so once and every thread connects again, to the queue now at the URL (made anew
//!   where the file is gone, once its folder is there: until then the worker waits).
//! - **One line on stderr per hunt served** (not with `--quiet`).
//! - **Tracing.** For a hunt whose spec asks for a trace, each thread records its
//!   timeline on its raw monotonic clock and sends each task's events with the task's
//!   report ([`crate::trace::WireTrace`]); the coordinator places them on its own clock.

use crate::broker::{self, Broker, Done, HuntSpec, Me, Take, WireTally, WorkerInfo};
use crate::dataset::identity::Identity;
use crate::exit::ExitCode;
use crate::fileset::{self, Loaded};
use crate::scan::{Job, Scanner, Tally};
use crate::tasks::walk::End;
use crate::tasks::{self, Finished, Lease, TaskQueue, TaskReport, TaskRow};
use anyhow::Result;
use memchr::memmem::Finder;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

mod helper;
mod hunt;
mod queue;

use helper::helper_main;
use hunt::{prepare, serve_hunt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `hunt worker --broker`, checked.
#[derive(Clone, Debug)]
pub struct ServeSettings {
    /// The broker.
    pub url: String,
    /// The data set.
    pub dir: PathBuf,
    /// Worker threads.
    pub threads: usize,
    /// This worker's name.
    pub name: String,
    /// Serve only this hunt, and exit when it ends.
    pub only: Option<String>,
    /// This worker's number among a coordinator's own (for the test hook).
    pub index: Option<usize>,
    /// No line per hunt served.
    pub quiet: bool,
    /// Says what the worker does, for people (`src/app`, which prints).
    pub say: fn(&Note<'_>),
}

/// What a worker says as it serves, for people: the command prints it.
#[derive(Debug)]
pub enum Note<'a> {
    /// A thread could not reach the broker; it tries again.
    Outage {
        /// Why.
        error: &'a anyhow::Error,
    },
    /// The broker is back.
    Reconnected {
        /// The broker, password redacted.
        broker: &'a str,
    },
    /// This worker refused a hunt.
    Refused {
        /// The hunt.
        hunt: &'a str,
        /// Why.
        why: &'a str,
    },
    /// This worker has served its part of a hunt (not with `--quiet`).
    Served {
        /// The hunt.
        hunt: &'a str,
        /// Tasks it finished.
        tasks: u64,
        /// Files it read.
        files: u64,
        /// Bytes it read.
        bytes: u64,
        /// The file it found the treasure in, if it did.
        found: Option<&'a std::path::Path>,
    },
}

/// What this process knows of one hunt.
struct Hunt {
    spec: HuntSpec,
    /// The data set, or why this worker refuses the hunt.
    ready: std::result::Result<Ready, String>,
    stopped: AtomicBool,
    /// No more tasks to take (stopped, settled or gone): not served again.
    over: AtomicBool,
    served: Mutex<Served>,
    /// Threads on it now.
    on: AtomicUsize,
}

struct Ready {
    loaded: Loaded,
    needle: Vec<u8>,
}

#[derive(Default)]
struct Served {
    tasks: u64,
    tally: Tally,
    found: Option<u64>,
}

/// One worker thread, as the helper sees it.
struct Slot {
    /// The flag its worker loop checks between files.
    stop: AtomicBool,
    hunt: Mutex<Option<Arc<Hunt>>>,
    /// Its lanes: a thread on a broker that pipelines its calls
    /// ([`Broker::send_finish_and_take`]) holds a task in each, one it runs and one
    /// whose report or take is on the wire (a prefetch of one); elsewhere it uses the
    /// first alone.
    lanes: [Lane; LANES],
    /// The lane whose task the worker loop runs now.
    running: AtomicUsize,
}

/// Lanes a worker thread takes tasks in: two, so that the broker runs one task's report
/// while the thread reads another's files. Each is a consumer of its own on the broker
/// (`NAME/T`, then `NAME/T.1`), which holds one lease at a time, as every backend's
/// rules say a consumer does.
const LANES: usize = 2;

/// One lane of a worker thread.
struct Lane {
    /// Its consumer.
    me: Me,
    /// The task it holds, renewed by the helper and handed back on Ctrl-C.
    lease: Mutex<Option<Lease>>,
}

impl Slot {
    /// The thread as the broker knows it: its first lane's consumer.
    fn me(&self) -> &Me {
        &self.lanes[0].me
    }

    /// The lease lane `lane` holds, locked.
    fn lease(&self, lane: usize) -> std::sync::MutexGuard<'_, Option<Lease>> {
        self.lanes[lane]
            .lease
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

struct Shared {
    settings: ServeSettings,
    host: String,
    hunts: Mutex<HashMap<String, Arc<Hunt>>>,
    slots: Vec<Slot>,
    running: AtomicUsize,
    /// Some thread could not reach the broker, and said so.
    outage: AtomicBool,
    /// Bumped each time the helper, idle, finds that the broker is no longer at its URL
    /// ([`Broker::moved`]): every thread whose connection is older connects again.
    moved: AtomicU64,
    /// The test hook fires once, at this worker's first task.
    fail_first: AtomicBool,
    described: String,
}

/// Runs `hunt worker --broker`.
pub fn serve(settings: ServeSettings) -> Result<ExitCode> {
    crate::interrupt::install_terminate()?;
    // The first connection must work: a malformed URL, a wrong password or no broker
    // at all is bad input.
    let first = broker::connect(&settings.url)?;
    let strategy = broker::backend::of_url(&settings.url)?.name;
    let host = crate::sys::host::hostname();
    let fail_first = settings
        .index
        .is_some_and(|i| crate::hooks::failing_worker(strategy) == Some(i));
    let shared = Arc::new(Shared {
        described: first.describe(),
        slots: (0..settings.threads)
            .map(|t| Slot {
                stop: AtomicBool::new(false),
                hunt: Mutex::new(None),
                lanes: std::array::from_fn(|lane| Lane {
                    me: Me {
                        worker: settings.name.clone(),
                        host: host.clone(),
                        consumer: match lane {
                            0 => format!("{}/{t}", settings.name),
                            _ => format!("{}/{t}.{lane}", settings.name),
                        },
                    },
                    lease: Mutex::new(None),
                }),
                running: AtomicUsize::new(0),
            })
            .collect(),
        host,
        settings,
        hunts: Mutex::new(HashMap::new()),
        running: AtomicUsize::new(0),
        outage: AtomicBool::new(false),
        moved: AtomicU64::new(0),
        fail_first: AtomicBool::new(fail_first),
    });
    let mut first = Some(first);
    let mut handles = Vec::new();
    for t in 0..shared.settings.threads {
        let shared = Arc::clone(&shared);
        let conn = if t == 0 { first.take() } else { None };
        shared.running.fetch_add(1, Ordering::SeqCst);
        handles.push(
            std::thread::Builder::new()
                .name(format!("hunt-worker-{t}"))
                .spawn(move || {
                    thread_main(&shared, t, conn);
                    shared.running.fetch_sub(1, Ordering::SeqCst);
                })?,
        );
    }
    {
        let shared = Arc::clone(&shared);
        // Not joined: it may be blocked on the broker for a fraction of a second, and
        // the process's exit ends it; every thread hands its own task back.
        std::thread::Builder::new()
            .name("hunt-worker-helper".into())
            .spawn(move || helper_main(&shared))?;
    }
    for h in handles {
        let _ = h.join();
    }
    if crate::interrupt::requested() {
        return Err(crate::interrupt::Interrupted.into());
    }
    Ok(ExitCode::Succeeded)
}

fn ending() -> bool {
    crate::interrupt::requested() || crate::interrupt::terminating()
}

/// Sleeps `d` in short steps, waking early on Ctrl-C or SIGTERM.
fn nap(d: Duration) {
    nap_or(d, &AtomicBool::new(false));
}

/// Sleeps `d` in short steps, waking early on Ctrl-C, SIGTERM or `flag`.
fn nap_or(d: Duration, flag: &AtomicBool) {
    let until = Instant::now() + d;
    while !ending() && !flag.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(5)));
    }
}

/// A (re)connection with backoff; `None` when the worker is ending.
fn reconnect(shared: &Shared, backoff: &mut Duration) -> Option<Box<dyn Broker>> {
    while !ending() {
        match broker::connect(&shared.settings.url) {
            Ok(c) => {
                if shared.outage.swap(false, Ordering::SeqCst) {
                    (shared.settings.say)(&Note::Reconnected {
                        broker: &shared.described,
                    });
                }
                *backoff = Duration::from_millis(100);
                return Some(c);
            }
            Err(e) => {
                outage(shared, &e);
                nap(*backoff);
                *backoff = (*backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
    None
}

fn outage(shared: &Shared, e: &anyhow::Error) {
    if !shared.outage.swap(true, Ordering::SeqCst) {
        (shared.settings.say)(&Note::Outage { error: e });
    }
}

fn thread_main(shared: &Shared, t: usize, mut conn: Option<Box<dyn Broker>>) {
    let mut backoff = Duration::from_millis(100);
    // The `moved` count this thread's connection was made under.
    let mut made = shared.moved.load(Ordering::SeqCst);
    while !ending() {
        if shared.moved.load(Ordering::SeqCst) != made {
            conn = None; // the helper said why; reconnect says when it is back
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                made = shared.moved.load(Ordering::SeqCst);
                match reconnect(shared, &mut backoff) {
                    Some(c) => conn.insert(c),
                    None => break,
                }
            }
        };
        match step(shared, t, c.as_mut()) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                conn = None;
                outage(shared, &e);
                nap(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Serves one hunt, or waits for one. False when this thread is done.
fn step(shared: &Shared, t: usize, conn: &mut dyn Broker) -> Result<bool> {
    let hunts = conn.hunts_for(shared.settings.only.as_deref())?;
    if let Some(only) = &shared.settings.only {
        if !hunts.contains(only)
            || known(shared, only).is_some_and(|h| h.over.load(Ordering::SeqCst))
        {
            return Ok(false);
        }
    }
    for id in hunts {
        if shared.settings.only.as_ref().is_some_and(|o| *o != id) {
            continue;
        }
        let Some(hunt) = prepare(shared, t, conn, &id)? else {
            continue;
        };
        if hunt.ready.is_err() || hunt.over.load(Ordering::SeqCst) {
            if shared.settings.only.is_some() {
                return Ok(false);
            }
            continue;
        }
        serve_hunt(shared, t, conn, &hunt)?;
        return Ok(true);
    }
    // Nothing to serve: wait for news (a new hunt) on the broker.
    conn.stopped(&[], Duration::from_millis(500))?;
    Ok(true)
}

fn known(shared: &Shared, id: &str) -> Option<Arc<Hunt>> {
    shared
        .hunts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
}

fn on_hunt(slot: &Slot, id: &str) -> bool {
    slot.hunt
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|h| h.spec.id == id)
}
