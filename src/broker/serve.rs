//! `hunt worker --broker URL`: a long-running worker, like `celery worker` or
//! `rq worker`. K threads take tasks from the broker, hunt after hunt, each running the
//! one consumer loop ([`crate::tasks::consume`]) over a [`HuntQueue`]; a helper thread
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
//! - **Shutdown.** SIGTERM: warm, like Celery's: the tasks in hand are finished, no new
//!   one is taken, exit 0. Ctrl-C: the tasks in hand are handed back at once, exit 130.
//! - **The broker going away.** A thread whose call fails drops its connection and
//!   tries again with backoff (100 ms doubling to 2 s), saying so once per outage; a
//!   task whose lease ran out meanwhile is another worker's now, and its report is
//!   fenced off. Only the first connection must succeed: a wrong URL or password is bad
//!   input (exit 2), not something to retry for ever.
//! - **One line on stderr per hunt served** (not with `--quiet`).
//! - **Tracing.** For a hunt whose spec asks for a trace, each thread records its
//!   timeline on its raw monotonic clock and sends each task's events with the task's
//!   report ([`super::WireTrace`]); the coordinator places them on its own clock.

use super::{Broker, Done, HuntSpec, Me, Take, WireTally, WorkerInfo};
use crate::dataset::identity::Identity;
use crate::exit::ExitCode;
use crate::fileset::{self, Loaded};
use crate::output;
use crate::scan::{Job, Scanner, Tally};
use crate::strategy::pool::End;
use crate::tasks::{self, ConsumeError, Finished, Lease, TaskQueue, TaskReport, TaskRow};
use anyhow::{bail, Result};
use memchr::memmem::Finder;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    me: Me,
    /// The flag its worker loop checks between files.
    stop: AtomicBool,
    hunt: Mutex<Option<Arc<Hunt>>>,
    lease: Mutex<Option<Lease>>,
}

struct Shared {
    settings: ServeSettings,
    host: String,
    hunts: Mutex<HashMap<String, Arc<Hunt>>>,
    slots: Vec<Slot>,
    running: AtomicUsize,
    /// Some thread could not reach the broker, and said so.
    outage: AtomicBool,
    /// The test hook fires once, at this worker's first task.
    fail_first: AtomicBool,
    described: String,
}

/// Runs `hunt worker --broker`.
pub fn serve(settings: ServeSettings) -> Result<ExitCode> {
    crate::interrupt::install_terminate()?;
    // The first connection must work: a malformed URL, a wrong password or no broker
    // at all is bad input.
    let first = super::connect(&settings.url)?;
    let strategy = super::backend::of_url(&settings.url)?.name;
    let host = super::hostname();
    let fail_first = settings
        .index
        .is_some_and(|i| crate::hooks::failing_worker(strategy) == Some(i));
    let shared = Arc::new(Shared {
        described: first.describe(),
        slots: (0..settings.threads)
            .map(|t| Slot {
                me: Me {
                    worker: settings.name.clone(),
                    host: host.clone(),
                    consumer: format!("{}/{t}", settings.name),
                },
                stop: AtomicBool::new(false),
                hunt: Mutex::new(None),
                lease: Mutex::new(None),
            })
            .collect(),
        host,
        settings,
        hunts: Mutex::new(HashMap::new()),
        running: AtomicUsize::new(0),
        outage: AtomicBool::new(false),
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
        match super::connect(&shared.settings.url) {
            Ok(c) => {
                if shared.outage.swap(false, Ordering::SeqCst) {
                    output::err(&format!(
                        "reconnected to the broker at {}",
                        shared.described
                    ));
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
        output::err(&format!("{e:#}; reconnecting"));
    }
}

fn thread_main(shared: &Shared, t: usize, mut conn: Option<Box<dyn Broker>>) {
    let mut backoff = Duration::from_millis(100);
    while !ending() {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match reconnect(shared, &mut backoff) {
                Some(c) => conn.insert(c),
                None => break,
            },
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
    let hunts = conn.hunts()?;
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

/// What this process knows of hunt `id`, learning it (and checking the data set, once)
/// on first sight. `None` when the hunt is gone.
fn prepare(
    shared: &Shared,
    t: usize,
    conn: &mut dyn Broker,
    id: &str,
) -> Result<Option<Arc<Hunt>>> {
    if let Some(h) = known(shared, id) {
        return Ok(Some(h));
    }
    let spec = match conn.spec(id) {
        Ok(Some(spec)) => spec,
        Ok(None) => return Ok(None),
        Err(e) if e.chain().any(|c| c.is::<serde_json::Error>()) => {
            // A spec this build cannot read: refuse it, never panic on it.
            let why = format!("{e:#}");
            let me = &shared.slots[t].me;
            conn.refuse(id, me, &why)?;
            output::err(&format!("refused hunt {id}: {why}"));
            let spec = HuntSpec {
                format: 0,
                id: id.to_string(),
                identity: Identity {
                    digest: String::new(),
                    summary: String::new(),
                },
                files: 0,
                needle_hex: String::new(),
                reader: crate::scan::Reader::Read,
                rotate: 0,
                batch: 1,
                lease_ms: 1000,
                max_attempts: 1,
                coordinator: String::new(),
                trace: false,
                options: super::Options::new(),
            };
            return Ok(Some(remember(shared, spec, Err(why))));
        }
        Err(e) => return Err(e),
    };
    let ready = check(shared, &spec);
    if let Err(why) = &ready {
        conn.refuse(id, &shared.slots[t].me, why)?;
        output::err(&format!("refused hunt {id}: {why}"));
    }
    Ok(Some(remember(shared, spec, ready)))
}

fn remember(
    shared: &Shared,
    spec: HuntSpec,
    ready: std::result::Result<Ready, String>,
) -> Arc<Hunt> {
    let mut hunts = shared.hunts.lock().unwrap_or_else(|e| e.into_inner());
    // Another thread may have learnt it meanwhile: keep the first.
    Arc::clone(hunts.entry(spec.id.clone()).or_insert_with(|| {
        Arc::new(Hunt {
            spec,
            ready,
            stopped: AtomicBool::new(false),
            over: AtomicBool::new(false),
            served: Mutex::new(Served::default()),
            on: AtomicUsize::new(0),
        })
    }))
}

/// Whether this worker can serve `spec`: the data set in its `--dir` must be the one
/// the hunt was published for.
fn check(shared: &Shared, spec: &HuntSpec) -> std::result::Result<Ready, String> {
    super::check_spec(spec).map_err(|e| format!("{e:#}"))?;
    let dir = &shared.settings.dir;
    let loaded =
        fileset::load(dir, false).map_err(|e| format!("its folder cannot be searched: {e:#}"))?;
    let mine =
        Identity::of(&loaded.files).map_err(|e| format!("its folder cannot be named: {e:#}"))?;
    if mine.digest != spec.identity.digest || loaded.files.len() != spec.files {
        return Err(format!(
            "its folder {} holds {} (identity {}), but the hunt is on {} (identity {}): give it a copy of that data set (`hunt generate` with the same flags and seed makes one)",
            dir.display(),
            mine.summary,
            mine.digest,
            spec.identity.summary,
            spec.identity.digest
        ));
    }
    let needle = crate::worker::protocol::unhex(&spec.needle_hex).unwrap_or_default();
    Ok(Ready { loaded, needle })
}

fn serve_hunt(shared: &Shared, t: usize, conn: &mut dyn Broker, hunt: &Arc<Hunt>) -> Result<()> {
    let Ok(ready) = &hunt.ready else {
        return Ok(());
    };
    let slot = &shared.slots[t];
    *slot.hunt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(hunt));
    hunt.on.fetch_add(1, Ordering::SeqCst);
    let finder = Finder::new(&ready.needle);
    let job = Job {
        files: &ready.loaded.files,
        finder: &finder,
        reader: hunt.spec.reader,
        rotate: hunt.spec.rotate,
        trace: hunt
            .spec
            .trace
            .then_some(crate::trace::Clock { epoch_ns: 0 }),
    };
    let mut scanner = Scanner::new(&job);
    let mut queue = HuntQueue {
        conn,
        shared,
        hunt,
        slot,
        job: &job,
    };
    let done = tasks::consume(&mut queue, &mut scanner, &slot.stop, false);
    *slot.hunt.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let left = hunt.on.fetch_sub(1, Ordering::SeqCst) - 1;
    if let Some(ConsumeError::Queue(e)) = done.error {
        return Err(e);
    }
    if !ending() {
        hunt.over.store(true, Ordering::SeqCst);
        if left == 0 && !shared.settings.quiet {
            say_served(hunt, &job);
        }
    }
    Ok(())
}

fn say_served(hunt: &Hunt, job: &Job<'_>) {
    let s = hunt.served.lock().unwrap_or_else(|e| e.into_inner());
    let found = match s.found {
        Some(i) => format!("; found the treasure in {}", job.files.path(i).display()),
        None => String::new(),
    };
    output::err(&format!(
        "served hunt {}: {} tasks, {} files, {} read{found}",
        hunt.spec.id,
        s.tasks,
        s.tally.files_scanned,
        crate::units::bytes(s.tally.bytes_scanned)
    ));
}

/// The task queue of one hunt on the broker, as one worker thread sees it.
struct HuntQueue<'a> {
    conn: &'a mut dyn Broker,
    shared: &'a Shared,
    hunt: &'a Hunt,
    slot: &'a Slot,
    job: &'a Job<'a>,
}

impl TaskQueue for HuntQueue<'_> {
    fn put(&mut self, _tasks: &[tasks::Task]) -> Result<()> {
        bail!("a worker puts no tasks: the coordinator publishes them")
    }

    fn take(&mut self) -> Result<Option<Lease>> {
        let mut pause = Duration::from_millis(5);
        loop {
            if ending() {
                return Ok(None);
            }
            self.slot.stop.store(false, Ordering::SeqCst);
            if self.hunt.stopped.load(Ordering::SeqCst) {
                self.slot.stop.store(true, Ordering::SeqCst);
                return Ok(None);
            }
            match self.conn.take(&self.hunt.spec.id, &self.slot.me)? {
                Take::Task(lease) => {
                    if self.shared.fail_first.swap(false, Ordering::SeqCst) {
                        // The test hook: die holding the task, as `kill -9` would.
                        crate::hooks::die();
                    }
                    *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(lease.clone());
                    return Ok(Some(lease));
                }
                Take::Over => return Ok(None),
                Take::Wait => match self.conn.pace(&self.hunt.spec) {
                    // A polled broker: look again at the hunt's pace (`--poll`).
                    Some(pace) => nap_or(pace, &self.hunt.stopped),
                    None => {
                        nap_or(pause, &self.hunt.stopped);
                        pause = (pause * 2).min(Duration::from_millis(100));
                    }
                },
            }
        }
    }

    fn finish(&mut self, lease: &Lease, report: &TaskReport) -> Result<Finished> {
        let result = self.report(lease, report);
        *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result
    }

    fn fail(&mut self, lease: &Lease, why: &str) -> Result<()> {
        let r = self
            .conn
            .fail(&self.hunt.spec.id, &self.slot.me, lease, why);
        *self.slot.lease.lock().unwrap_or_else(|e| e.into_inner()) = None;
        r.map(drop)
    }

    fn stop(&mut self) -> Result<()> {
        self.conn.stop(&self.hunt.spec.id)
    }

    fn states(&mut self) -> Result<Vec<TaskRow>> {
        bail!("a worker does not read the task table: `hunt status` does")
    }
}

impl HuntQueue<'_> {
    fn report(&mut self, lease: &Lease, report: &TaskReport) -> Result<Finished> {
        let id = &self.hunt.spec.id;
        let me = &self.slot.me;
        if report.end == End::Stopped && !self.hunt.stopped.load(Ordering::SeqCst) {
            // Stopped, but not by the find (Ctrl-C, or the lease was taken over): what
            // it read is not the whole task, so the task goes back.
            self.conn.release(id, me, lease)?;
            return Ok(Finished::Retried);
        }
        let mut tally = WireTally::of(&report.tally);
        if self.hunt.spec.trace {
            // The task's own span is its last event and starts before its files.
            let t0_ns = report.trace.last().map_or(0, |e| e.start);
            tally.trace = Some(crate::trace::WireTrace {
                host: self.shared.host.clone(),
                thread: me.consumer.clone(),
                t0_ns,
                events: report.trace.iter().map(|e| e.to_wire(t0_ns)).collect(),
            });
        }
        let why = match report.tally.errors.first() {
            None if tally.error_count() == 0 => String::new(),
            None => format!("{} file(s) could not be read", tally.error_count()),
            Some(e) => format!(
                "{} file(s) could not be read on {} (first: {}: {})",
                tally.error_count(),
                me.label(),
                self.job.files.path(e.index).display(),
                e.error
            ),
        };
        let done = Done {
            tally,
            found: report.tally.found.map(|f| f.index),
            cut_short: report.end == End::Stopped,
            why,
        };
        let r = self.conn.finish(id, me, lease, &done)?;
        if matches!(r, Finished::Accepted | Finished::Answered) {
            let mut s = self.hunt.served.lock().unwrap_or_else(|e| e.into_inner());
            s.tasks += 1;
            s.tally.absorb(report.tally.clone());
            if r == Finished::Answered {
                s.found = done.found;
            }
        }
        if r == Finished::Answered {
            // This worker's other threads need not wait for the broker to tell them.
            self.hunt.stopped.store(true, Ordering::SeqCst);
            for slot in &self.shared.slots {
                if on_hunt(slot, id) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        Ok(r)
    }
}

fn on_hunt(slot: &Slot, id: &str) -> bool {
    slot.hunt
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|h| h.spec.id == id)
}

/// Renews leases, says the worker is alive, and hears stop signals, until every worker
/// thread has ended.
fn helper_main(shared: &Shared) {
    let mut conn: Option<Box<dyn Broker>> = None;
    let mut backoff = Duration::from_millis(100);
    let mut renewed = Instant::now();
    let mut beat: Option<Instant> = None;
    while shared.running.load(Ordering::SeqCst) > 0 {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                if crate::interrupt::requested() {
                    break;
                }
                match super::connect(&shared.settings.url) {
                    Ok(c) => conn.insert(c),
                    Err(_) => {
                        nap(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
        };
        if let Err(_e) = helper_round(shared, c.as_mut(), &mut renewed, &mut beat) {
            conn = None;
        }
    }
    // Ctrl-C: hand back what the threads still hold, so no one waits for a lease.
    if crate::interrupt::requested() {
        if let Some(c) = conn.as_mut().or(None) {
            release_all(shared, c.as_mut());
        } else if let Ok(mut c) = super::connect(&shared.settings.url) {
            release_all(shared, c.as_mut());
        }
    }
}

fn release_all(shared: &Shared, conn: &mut dyn Broker) {
    for slot in &shared.slots {
        let lease = slot.lease.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let hunt = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let (Some(lease), Some(hunt)) = (lease, hunt) {
            let _ = conn.release(&hunt.spec.id, &slot.me, &lease);
        }
    }
}

fn helper_round(
    shared: &Shared,
    conn: &mut dyn Broker,
    renewed: &mut Instant,
    beat: &mut Option<Instant>,
) -> Result<()> {
    if beat.is_none_or(|b| b.elapsed() >= Duration::from_secs(1)) {
        conn.heartbeat(&WorkerInfo {
            name: shared.settings.name.clone(),
            host: shared.host.clone(),
            pid: std::process::id(),
            threads: shared.settings.threads,
            dir: shared.settings.dir.display().to_string(),
            last_seen_ms: 0,
        })?;
        *beat = Some(Instant::now());
    }
    let serving: Vec<Arc<Hunt>> = {
        let mut v: Vec<Arc<Hunt>> = Vec::new();
        for slot in &shared.slots {
            if let Some(h) = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                if !v.iter().any(|o| o.spec.id == h.spec.id) {
                    v.push(Arc::clone(h));
                }
            }
        }
        v
    };
    let lease = serving
        .iter()
        .map(|h| Duration::from_millis(h.spec.lease_ms))
        .min()
        .unwrap_or(Duration::from_secs(1));
    let wait = (lease / 4).clamp(Duration::from_millis(10), Duration::from_millis(200));
    let ids: Vec<String> = serving.iter().map(|h| h.spec.id.clone()).collect();
    if ids.is_empty() {
        nap(wait);
    } else {
        for id in conn.stopped(&ids, wait)? {
            if let Some(h) = serving.iter().find(|h| h.spec.id == id) {
                h.stopped.store(true, Ordering::SeqCst);
            }
            for slot in &shared.slots {
                if on_hunt(slot, &id) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
    }
    if renewed.elapsed() >= lease / 3 {
        for slot in &shared.slots {
            let lease = slot.lease.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let hunt = slot.hunt.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let (Some(lease), Some(hunt)) = (lease, hunt) else {
                continue;
            };
            if !conn.renew(&hunt.spec.id, &slot.me, &lease)? {
                // Taken over (this worker was paused or cut off): stop reading it, if
                // the thread is still on that lease.
                let held = slot.lease.lock().unwrap_or_else(|e| e.into_inner());
                if held.as_ref().is_some_and(|l| l.token == lease.token) {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        *renewed = Instant::now();
    }
    Ok(())
}
