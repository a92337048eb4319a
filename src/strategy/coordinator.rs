//! The coordinator: the strategy side of a broker (`hunt search --strategy NAME` of a
//! backend in [`crate::broker::BACKENDS`]), the one strategy every backend's registry
//! entry is, as `Coordinator<ItsBackend>`. It publishes the hunt (the data set's identity, the needle, the task
//! size), cuts the search order into tasks, starts K local `hunt worker` processes for
//! this hunt (none with `--remote-workers`), and reads the hunt's events until the
//! answer is in and every worker has stopped, or every task is settled.
//!
//! What is timed (`elapsed_s`): from publishing to the last worker's report, so the
//! local workers' starts (exec, connecting, loading the data set) are inside, as
//! `spawn`'s are. Starting a private broker is setup (`setup_s`). The find's time is when
//! the coordinator read the answer event, so it includes the broker's round trips.
//!
//! Bounded waits, each ending in one line that names the fix:
//! - the broker unreachable for [`BROKER_PATIENCE`] in a row: exit 2, the answer unknown;
//! - with `--remote-workers`, no task taken within [`NO_WORKER`]: exit 2;
//! - after the answer, workers still holding tasks are waited for one lease at most.
//!
//! A traced hunt (`--trace`) asks its workers for their events in the spec; they come
//! with the task reports and are placed on the coordinator's clock by
//! [`crate::trace::Placer`]. The stop signal's instant is when the coordinator read the
//! answer (the scripts raise the hunt's stop as they commit it).

use super::{
    Knob, Knobs, Outcome, RaceService, Registered, Service, Strategy, StrategyConfig, Value,
    WorkerFailure,
};
use crate::broker::backend::{self, Backend, PrivateBroker};
use crate::broker::contract::KEEP;
use crate::broker::{
    self as broker, Answer, Broker, Event, HuntSpec, Verdict, BROKER, LEASE, MAX_ATTEMPTS,
    REMOTE_WORKERS,
};
use crate::scan::{Found, Job, Tally};
use crate::sys::process::{self, Children};
use crate::tasks::{self, TaskSummary, BATCH};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the broker may be unreachable before the coordinator gives up.
pub const BROKER_PATIENCE: Duration = Duration::from_secs(5);
/// With `--remote-workers`: how long to wait for a first worker to take a task.
pub const NO_WORKER: Duration = Duration::from_secs(10);

/// A read of fewer events than this waits [`EVENT_PACE`] before the next read: at a
/// thousand tasks a second and more, a read then takes several tasks' events at once.
/// Not where the workers wait for the coordinator's answer to each report
/// ([`Backend::REPORTS_WAIT_FOR_COORDINATOR`]): there the pause is theirs.
const EVENT_BATCH: usize = 64;
/// How long the coordinator lets events gather after a small batch: short beside any
/// lease, and beside the time a hunt takes to stop.
const EVENT_PACE: Duration = Duration::from_millis(1);

/// A private broker kept for a whole race.
struct Shared(Box<dyn PrivateBroker>);

impl Service for Shared {
    fn knobs(&self) -> Vec<(&'static Knob, Value)> {
        vec![(&BROKER, Value::Text(Some(self.0.url().to_string())))]
    }

    fn kill_and_restart(&mut self) -> Result<()> {
        match self.0.kill_and_restart() {
            Some(done) => done,
            None => anyhow::bail!("{}", self.cannot_restart().unwrap_or_default()),
        }
    }

    fn cannot_restart(&self) -> Option<&'static str> {
        self.0.no_server()
    }
}

/// The coordinator of a hunt on a broker of kind `K`.
pub struct Coordinator<B: Backend> {
    broker: Box<dyn Broker>,
    url: String,
    /// Kept alive for the strategy's life.
    _private: Option<Box<dyn PrivateBroker>>,
    workers: usize,
    batch: u64,
    lease: Duration,
    max_attempts: u32,
    remote: bool,
    options: broker::Options,
    exe: Option<std::path::PathBuf>,
    _kind: PhantomData<B>,
}

impl<B: Backend> Registered for Coordinator<B> {
    const READERS: &'static [crate::scan::Reader] = &crate::scan::Reader::ALL;
    const KNOBS: &'static [&'static Knob] = B::KNOBS;
    const HOST: crate::fault::WorkerHost = crate::fault::WorkerHost::Broker;
    const SLOW_PRIVATE: bool = B::SLOW_PRIVATE;

    fn new(config: &StrategyConfig) -> Result<Self> {
        let knobs = &config.knobs;
        let (url, private) = match knobs.text(&BROKER) {
            Some(url) => {
                if backend::of_url(&url)?.name != B::NAME {
                    bail!(
                        "--broker {} is not a {} broker: use --strategy {}, or give a {} URL",
                        broker::redact(&url),
                        B::NAME,
                        other_strategy(&url),
                        B::NAME
                    );
                }
                (url, None)
            }
            None => {
                let p = B::private()?;
                (p.url().to_string(), Some(p))
            }
        };
        broker::tls::use_ca(
            knobs
                .text(&broker::tls::BROKER_CA)
                .as_deref()
                .map(std::path::Path::new),
        )?;
        let broker = broker::connect(&url)?;
        let remote = knobs.flag(&REMOTE_WORKERS);
        Ok(Coordinator {
            broker,
            url,
            _private: private,
            workers: config.workers.get(),
            batch: knobs.count(&BATCH),
            lease: knobs.seconds(&LEASE),
            max_attempts: u32::try_from(knobs.count(&MAX_ATTEMPTS)).unwrap_or(u32::MAX),
            remote,
            options: B::options(knobs),
            exe: if remote {
                None
            } else {
                Some(process::hunt_exe()?)
            },
            _kind: PhantomData,
        })
    }

    fn race_service(knobs: &Knobs) -> Result<RaceService> {
        if let Some(ca) = knobs.text(&broker::tls::BROKER_CA) {
            broker::tls::load(std::path::Path::new(&ca))?;
        }
        if knobs
            .text(&BROKER)
            .is_some_and(|u| backend::of_url(&u).is_ok_and(|e| e.name == B::NAME))
        {
            return Ok(RaceService::None);
        }
        if let Some(why) = B::missing() {
            return Ok(RaceService::SitOut(why));
        }
        Ok(RaceService::Shared(Box::new(
            Shared(B::private_for_race()?),
        )))
    }
}

/// The strategy of the backend `url` names, for the message of a URL of another kind.
fn other_strategy(url: &str) -> String {
    backend::of_url(url).map_or_else(|_| backend::names(), |e| e.name.to_string())
}

/// What the coordinator learns from the events.
#[derive(Default)]
struct Book {
    tally: Tally,
    running: HashMap<u64, String>,
    completed: u64,
    failed: u64,
    retries: u64,
    /// Files read by takes after a task's first (takeovers, retries), from the reports
    /// that count: the work done again.
    files_again: u64,
    answer: Option<(Answer, Instant)>,
    failures: Vec<WorkerFailure>,
    notes: Vec<String>,
    started_any: bool,
    /// Places workers' events, when the hunt is traced.
    placer: Option<crate::trace::Placer>,
}

impl Book {
    fn read(&mut self, e: Event, spec: &HuntSpec, name: &str) {
        let range = |task: u64| tasks::range(task, spec.batch, spec.files);
        match e {
            Event::Started {
                task,
                worker,
                attempt,
            } => {
                self.started_any = true;
                if attempt > 1 {
                    self.retries += 1;
                }
                if let Some(p) = &mut self.placer {
                    p.started(task);
                }
                self.running.insert(task, worker);
            }
            Event::Finished {
                task,
                tally,
                worker,
                ..
            } => {
                if let (Some(p), Some(w)) = (&mut self.placer, &tally.trace) {
                    p.report(task, &worker, w);
                }
                self.running.remove(&task);
                self.completed += 1;
                self.files_again += tally.files_again();
                self.tally.absorb(tally.tally(spec.files));
            }
            Event::Answer(a) => {
                if self.answer.is_none() {
                    self.answer = Some((a, Instant::now()));
                }
            }
            Event::Retried { task, .. } | Event::Released { task, .. } => {
                self.running.remove(&task);
            }
            Event::Stale { .. } => {}
            Event::Failed { task, why, tally } => {
                self.running.remove(&task);
                self.failed += 1;
                match tally {
                    // Its last attempt read what it could: its failed files make the
                    // answer unknown, as with every strategy.
                    Some(t) if t.error_count() > 0 => {
                        self.files_again += t.files_again();
                        self.tally.absorb(t.tally(spec.files))
                    }
                    _ => self.failures.push(WorkerFailure {
                        worker: format!("{name} task {task}"),
                        lost: super::positions(&range(task)),
                        why: format!("was given up ({why})"),
                    }),
                }
            }
            Event::Refused { worker, why } => {
                self.notes
                    .push(format!("worker {worker} refused the hunt: {why}"));
            }
            Event::Garbage { why, .. } => self.notes.push(format!("the queue held garbage: {why}")),
        }
    }

    fn settled(&self, tasks: u64) -> bool {
        self.completed + self.failed >= tasks
    }
}

impl<B: Backend> Coordinator<B> {
    /// Starts the local workers of hunt `id`.
    fn start_workers(&self, id: &str, dir: &std::path::Path) -> Result<Children> {
        let mut children = Children::default();
        let Some(exe) = &self.exe else {
            return Ok(children);
        };
        for i in 0..self.workers {
            let mut cmd = Command::new(exe);
            cmd.args(["worker", "--quiet", "--workers", "1", "--broker", &self.url])
                .arg("--dir")
                .arg(dir)
                .args(["--hunt", id, "--index", &i.to_string()])
                .args(broker::tls::worker_args())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            process::die_with_parent(&mut cmd);
            let child = cmd.spawn().with_context(|| {
                format!("could not start local worker {i} from {}", exe.display())
            })?;
            children.0.push(child);
        }
        Ok(children)
    }

    /// A broker call, retried while the broker comes back, for [`BROKER_PATIENCE`].
    fn patiently<T>(&mut self, mut f: impl FnMut(&mut dyn Broker) -> Result<T>) -> Result<T> {
        let since = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            match f(self.broker.as_mut()) {
                Ok(v) => return Ok(v),
                Err(e) if since.elapsed() < BROKER_PATIENCE => {
                    crate::interrupt::check()?;
                    let _ = e;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => {
                    return Err(e.context(format!(
                        "lost the broker at {} for {} s: the answer is unknown; start it again and search again",
                        self.broker.describe(),
                        BROKER_PATIENCE.as_secs()
                    )))
                }
            }
        }
    }
}

/// One hunt as the coordinator runs it: what it published, its local workers, and what
/// it has learnt from the events.
struct Run {
    spec: HuntSpec,
    /// Tasks published.
    total: u64,
    local: Children,
    /// Why each local worker ended, once it has.
    exited: Vec<Option<String>>,
    book: Book,
    /// How long the hunt's records stay once it is retired.
    keep: Duration,
}

impl<B: Backend> Coordinator<B> {
    /// Publishes the hunt of `job` (its spec and every task) and starts the local
    /// workers.
    fn publish(&mut self, job: &Job<'_>) -> Result<Run> {
        let spec = HuntSpec {
            format: broker::SPEC_FORMAT,
            id: broker::new_hunt_id(),
            identity: job.files.identity()?,
            files: job.len(),
            needle_hex: crate::sys::hex::hex(job.finder.needle()),
            reader: job.reader,
            rotate: job.rotate,
            batch: self.batch,
            lease_ms: self.lease.as_millis().max(1) as u64,
            max_attempts: self.max_attempts,
            coordinator: crate::sys::host::hostname(),
            options: self.options.clone(),
            trace: job.trace.is_some(),
        };
        let tasks: Vec<tasks::Task> = tasks::cut(job.len(), self.batch).collect();
        self.patiently(|b| b.publish(&spec, &tasks))?;
        let local = self.start_workers(&spec.id, job.files.root())?;
        Ok(Run {
            total: tasks.len() as u64,
            exited: vec![None; local.0.len()],
            local,
            book: Book {
                placer: job
                    .trace
                    .map(|c| crate::trace::Placer::new(c, &crate::sys::host::hostname(), B::NAME)),
                ..Book::default()
            },
            keep: crate::hooks::millis(crate::hooks::KEEP_ENV).unwrap_or(KEEP),
            spec,
        })
    }

    /// Reads the hunt's events until the answer is in and its holders have reported
    /// (or a lease more has passed), every task is settled, or no worker is left. The
    /// outer error ends the hunt at once (the broker lost, Ctrl-C); the inner one is
    /// the hunt's own failure, reported after the hunt is retired.
    fn watch(&mut self, run: &mut Run) -> Result<Result<()>> {
        let id = run.spec.id.clone();
        let started = Instant::now();
        let mut alive_at = Instant::now();
        let no_worker = crate::hooks::millis(crate::hooks::NO_WORKER_ENV).unwrap_or(NO_WORKER);
        loop {
            if crate::interrupt::requested() {
                run.local.kill_all();
                let _ = self.broker.stop(&id);
                let _ = self.broker.retire(&id, Verdict::Unknown, run.keep);
                return Err(crate::interrupt::Interrupted.into());
            }
            if alive_at.elapsed() >= Duration::from_secs(1) {
                self.keep_alive(&id)?;
                alive_at = Instant::now();
            }
            self.read_events(run)?;
            let book = &run.book;
            if let Some((_, at)) = &book.answer {
                if book.running.is_empty() || at.elapsed() > self.lease + Duration::from_secs(1) {
                    return Ok(Ok(()));
                }
            } else if book.settled(run.total) {
                return Ok(Ok(()));
            }
            if self.remote && !book.started_any && started.elapsed() > no_worker {
                let mut why = format!(
                    "no worker took a task of hunt {id} within {}: start one with `hunt worker --broker {} --dir DIR` on a host that holds the data set, or drop --remote-workers",
                    crate::units::duration(no_worker),
                    self.broker.describe()
                );
                for n in &book.notes {
                    why.push_str(&format!("; {n}"));
                }
                return Ok(Err(anyhow::anyhow!(why)));
            }
            if self.all_local_workers_ended(run)? {
                return Ok(Ok(()));
            }
        }
    }

    /// Keeps the hunt alive on the broker, and checks that the broker still has it.
    fn keep_alive(&mut self, id: &str) -> Result<()> {
        self.patiently(|b| b.keep_alive(id))?;
        if !self.patiently(|b| b.exists(id))? {
            bail!(
                "the broker at {} lost hunt {id} (was it restarted without persistence?): the answer is unknown; search again",
                self.broker.describe()
            );
        }
        Ok(())
    }

    /// Reads the events since the last read (waiting up to 50 ms for the first). A
    /// read that found only a few waits [`EVENT_PACE`] before the next, so that the
    /// coordinator reads events in batches, not one call per task.
    fn read_events(&mut self, run: &mut Run) -> Result<()> {
        let id = &run.spec.id;
        let events = self.patiently(|b| b.events(id, Duration::from_millis(50)))?;
        let n = events.len();
        for e in events {
            run.book.read(e, &run.spec, B::NAME);
        }
        if !B::REPORTS_WAIT_FOR_COORDINATOR
            && (1..EVENT_BATCH).contains(&n)
            && !run.book.settled(run.total)
        {
            std::thread::sleep(EVENT_PACE);
        }
        Ok(())
    }

    /// True when every local worker has ended: the rest of the hunt is left to no one,
    /// and what is unsettled is lost.
    fn all_local_workers_ended(&mut self, run: &mut Run) -> Result<bool> {
        for (i, child) in run.local.0.iter_mut().enumerate() {
            if run.exited[i].is_none() {
                if let Ok(Some(status)) = child.try_wait() {
                    use std::os::unix::process::ExitStatusExt;
                    run.exited[i] =
                        Some(process::failure(status.into_raw()).unwrap_or_else(|| "ended".into()));
                }
            }
        }
        if self.remote || run.local.0.is_empty() || run.exited.iter().any(Option::is_none) {
            return Ok(false);
        }
        // One more read: their last reports may be in flight.
        self.read_events(run)?;
        let book = &mut run.book;
        if book.answer.is_none() && !book.settled(run.total) {
            for (i, why) in run.exited.iter().enumerate() {
                book.notes.push(format!(
                    "local worker {i} {}",
                    why.as_deref().unwrap_or("ended")
                ));
            }
            book.failures.push(WorkerFailure {
                worker: format!("{} hunt {}", B::NAME, run.spec.id),
                lost: format!(
                    "{} unsettled tasks",
                    run.total - book.completed - book.failed
                ),
                why: "lost every local worker".to_string(),
            });
        }
        Ok(true)
    }

    /// Retires the hunt with its verdict, lets the local workers leave (or kills
    /// them), and says what happened.
    fn settle(&mut self, mut run: Run, watched: Result<()>) -> Result<Outcome> {
        let stopped_at = Instant::now();
        let book = &mut run.book;
        // A local worker that ended by itself with exit 2 said its answer cannot be
        // trusted (a file truncated under its map, say: its task, taken over, reads a
        // changed file): the hunt's answer is unknown unless found.
        for (i, why) in run.exited.iter().enumerate() {
            if why.as_deref() == process::failure(2 << 8).as_deref() && book.answer.is_none() {
                book.failures.push(WorkerFailure {
                    worker: format!("{} local worker {i}", B::NAME),
                    lost: "its last task".to_string(),
                    why: "exited with code 2, having said why above".to_string(),
                });
            }
        }
        let verdict = match (&book.answer, watched.is_ok() && book.failures.is_empty()) {
            (Some(_), _) => Verdict::Found,
            (None, true) if book.tally.error_count() == 0 => Verdict::NotFound,
            _ => Verdict::Unknown,
        };
        let _ = self.broker.stop(&run.spec.id);
        let _ = self.broker.retire(&run.spec.id, verdict, run.keep);
        // The hunt is over for them: give the local workers a moment to leave by
        // themselves; the guard kills whoever is left.
        let local = &mut run.local;
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline
            && local.0.iter_mut().any(|c| matches!(c.try_wait(), Ok(None)))
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        for (i, child) in local.0.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                if let Some(why) = process::failure(status.into_raw()) {
                    if run.exited[i].is_none() || verdict == Verdict::Found {
                        book.notes
                            .push(format!("local worker {i} {why}; its tasks were taken over"));
                    }
                }
            }
        }
        drop(run.local);
        watched?;
        Ok(outcome(run.book, run.total, stopped_at))
    }
}

/// What the hunt did, from what the coordinator learnt.
fn outcome(mut book: Book, total: u64, stopped_at: Instant) -> Outcome {
    let running = book.running.len() as u64;
    if let Some((_, at)) = &book.answer {
        if running > 0 {
            book.notes.push(format!(
                "{running} task(s) were still held {} after the find (a worker paused or cut off?)",
                crate::units::duration(at.elapsed())
            ));
        }
    }
    if let Some(p) = book.placer.take() {
        book.tally.tracks = p.tracks();
    }
    let mut out = Outcome {
        stop_signal_at: book.answer.as_ref().map(|(_, at)| *at),
        tally: book.tally,
        worker_failures: book.failures,
        notes: book.notes,
        stopped_at: Some(stopped_at),
        ..Outcome::default()
    };
    if let Some((a, at)) = book.answer {
        out.tally.found = Some(Found { index: a.index, at });
        out.found_by = Some(a.worker);
    }
    out.tasks = Some(TaskSummary {
        tasks: total,
        not_started: total.saturating_sub(book.completed + book.failed + running),
        running,
        completed: book.completed,
        failed: book.failed,
        retries: book.retries,
        files_again: Some(book.files_again),
    });
    out
}

impl<B: Backend> Strategy for Coordinator<B> {
    fn hunt(&mut self, job: &Job<'_>) -> Result<Outcome> {
        let mut run = self.publish(job)?;
        let watched = self.watch(&mut run)?;
        self.settle(run, watched)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

#[cfg(test)]
mod tests;
