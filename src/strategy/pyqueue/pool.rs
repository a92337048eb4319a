//! The Python side's processes: where the virtual environment is, why a Python strategy
//! cannot run here (its sit-out line), and the worker pool with its long-lived client,
//! started once and waited for until it has run a ping task.
//!
//! The client and the pool share one process group, so one `killpg` ends them all,
//! Celery's prefork children included. A pool started for one `hunt search` dies with
//! it; a pool started on a shared server (`--python-pool URL`, what `hunt race` gives)
//! is left serving and recorded in the hash [`POOLS`], and the race ends every recorded
//! pool when it stops its server ([`stop_all`]). Should the server go first, the client
//! ends its own group.

use crate::broker::lists::Lists;
use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The virtual environment `scripts/install-python-deps.sh` makes.
pub const DEFAULT_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
/// Another Python, with the packages of `python/requirements.txt`.
pub const PYTHON_ENV: &str = "HUNT_PYTHON";
/// The task module (`python/hunt_tasks`), put on the pool's `PYTHONPATH`.
const TASKS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");
/// The fix every sit-out and refusal names.
pub const FIX: &str = "run scripts/install-python-deps.sh (or set HUNT_PYTHON to a python that has python/requirements.txt installed)";
/// Every pool started on a shared server: process group -> its log file.
const POOLS: &str = "hunt:py:pools";
/// How long a pool may take to run its first task (a loaded machine, a cold import).
const START_PATIENCE: Duration = Duration::from_secs(120);

/// The Python that runs the pools.
pub fn python() -> PathBuf {
    std::env::var_os(PYTHON_ENV).map_or_else(|| PathBuf::from(DEFAULT_PYTHON), PathBuf::from)
}

/// Why a pool of `package` cannot run here, if it cannot: one line with the fix.
pub fn missing(package: &str) -> Option<String> {
    if let Some(why) = crate::broker::lists::missing() {
        return Some(why);
    }
    let py = python();
    if !py.exists() {
        return Some(format!("{} is missing: {FIX}", py.display()));
    }
    if !Path::new(TASKS_DIR).join("hunt_tasks").is_dir() {
        return Some(format!(
            "the task module {TASKS_DIR}/hunt_tasks is missing: check out hunt's python/ folder"
        ));
    }
    let probe = format!(
        "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('{package}') else 1)"
    );
    match Command::new(&py)
        .args(["-c", &probe])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        Ok(_) => Some(format!(
            "{} has no `{package}` package: {FIX}",
            py.display()
        )),
        Err(e) => Some(format!("cannot run {}: {e}: {FIX}", py.display())),
    }
}

/// One pool: which strategy, how many workers, the lease it was started with.
pub struct PoolSpec<'a> {
    /// The strategy's name (`celery-reliable`).
    pub name: &'static str,
    /// The Python package, and the client's kind (`celery` or `rq`).
    pub package: &'static str,
    /// Settings the task module reads (`HUNT_CELERY_MODE`).
    pub env: &'static [(&'static str, &'static str)],
    /// The worker processes' command lines, for `workers` workers on `queue`.
    pub commands: fn(&Path, &str, &str, usize) -> Vec<Command>,
    /// Workers.
    pub workers: usize,
    /// hunt's lease (the reliable visibility timeout; the wait for siblings).
    pub lease: Duration,
    /// The server.
    pub url: &'a str,
}

impl PoolSpec<'_> {
    /// The pool's name on the server: its request list and its queue are named after it.
    pub fn key(&self) -> String {
        format!("{}-{}-{}", self.name, self.workers, self.lease.as_millis())
    }

    /// The list hunts are asked on.
    pub fn requests(&self) -> String {
        format!("hunt:py:requests:{}", self.key())
    }

    fn ready(&self) -> String {
        format!("hunt:py:ready:{}", self.key())
    }

    /// The client and the workers, in a new process group (the client's), their
    /// stderr in `log`.
    fn start(&self, attached: bool, log: &Path) -> Result<Started> {
        let py = python();
        let key = self.key();
        let queue = format!("hunt-{key}");
        let lease = format!("{}", self.lease.as_secs_f64());
        let prepare = |cmd: &mut Command, group: i32| -> Result<()> {
            let err = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .with_context(|| format!("cannot write the pool's log {}", log.display()))?;
            cmd.env("PYTHONPATH", TASKS_DIR)
                .env("HUNT_BROKER_URL", self.url)
                .env("HUNT_QUEUE", &queue)
                .env("HUNT_LEASE_S", &lease)
                .env_remove(crate::fault::FAULT_ENV)
                .envs(self.env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .process_group(group);
            if attached {
                crate::sys::process::die_with_parent(cmd);
            }
            Ok(())
        };
        let mut client = Command::new(&py);
        client.args([
            "-m",
            "hunt_tasks.client",
            &key,
            self.package,
            self.url,
            &self.ready(),
        ]);
        prepare(&mut client, 0)?;
        let client = client
            .spawn()
            .with_context(|| format!("cannot start {}: {FIX}", py.display()))?;
        let pgid = client.id() as i32;
        let mut started = Started {
            pgid,
            children: vec![client],
        };
        for mut cmd in (self.commands)(&py, &queue, self.url, self.workers) {
            prepare(&mut cmd, pgid)?;
            started.children.push(
                cmd.spawn()
                    .with_context(|| format!("cannot start the {} pool", self.name))?,
            );
        }
        Ok(started)
    }

    /// Waits until the client says the pool ran its ping task.
    fn wait_ready(&self, lists: &mut Lists, started: &mut Started, log: &Path) -> Result<()> {
        let since = Instant::now();
        let ready = self.ready();
        loop {
            if lists.get(&ready)?.is_some() {
                return Ok(());
            }
            crate::interrupt::check()?;
            for c in &mut started.children {
                if let Ok(Some(status)) = c.try_wait() {
                    use std::os::unix::process::ExitStatusExt;
                    let why = crate::sys::process::failure(status.into_raw())
                        .unwrap_or_else(|| "ended".into());
                    bail!(
                        "the {} pool did not start (a process {why}): {}",
                        self.name,
                        crate::sys::process::last_line(log)
                    );
                }
            }
            if since.elapsed() > START_PATIENCE {
                bail!(
                    "the {} pool ran no task within {} s: {}",
                    self.name,
                    START_PATIENCE.as_secs(),
                    crate::sys::process::last_line(log)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The processes of one pool.
struct Started {
    pgid: i32,
    children: Vec<Child>,
}

impl Started {
    fn kill(&mut self) {
        // SAFETY: a process group we made.
        unsafe { libc::killpg(self.pgid, libc::SIGKILL) };
        for c in &mut self.children {
            let _ = c.wait();
        }
    }
}

/// A pool started for one hunt: killed (the whole group) when dropped.
pub struct Attached {
    started: Started,
    _log: tempfile::TempDir,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.started.kill();
    }
}

/// Starts a pool for this process alone and waits until it serves.
pub fn attached(spec: &PoolSpec<'_>, lists: &mut Lists) -> Result<Attached> {
    let dir = tempfile::Builder::new()
        .prefix("hunt-pool-")
        .tempdir()
        .context("cannot make a folder for the pool's log")?;
    let log = dir.path().join("pool.log");
    let mut started = spec.start(true, &log)?;
    if let Err(e) = spec.wait_ready(lists, &mut started, &log) {
        started.kill();
        return Err(e);
    }
    Ok(Attached { started, _log: dir })
}

/// Makes sure a pool of `spec` serves the shared server: starts one (left serving) if
/// none has said it is ready.
pub fn shared(spec: &PoolSpec<'_>, lists: &mut Lists) -> Result<()> {
    let ready = spec.ready();
    if lists.get(&ready)?.is_some() {
        return Ok(());
    }
    let key = spec.key();
    if !lists.claim(&format!("hunt:py:starting:{key}"), "1", START_PATIENCE)? {
        // Another process is starting it.
        let since = Instant::now();
        while lists.get(&ready)?.is_none() {
            crate::interrupt::check()?;
            if since.elapsed() > START_PATIENCE {
                bail!(
                    "the {} pool another hunt started is not ready after {} s",
                    spec.name,
                    START_PATIENCE.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        return Ok(());
    }
    let log = std::env::temp_dir().join(format!("hunt-pool-{key}-{}.log", std::process::id()));
    let mut started = spec.start(false, &log)?;
    lists.hset(POOLS, &started.pgid.to_string(), &log.to_string_lossy())?;
    if let Err(e) = spec.wait_ready(lists, &mut started, &log) {
        started.kill();
        return Err(e);
    }
    // Left serving: the race ends it (stop_all).
    Ok(())
}

/// Ends every pool recorded on the server at `url`, and removes their logs.
pub fn stop_all(url: &str) {
    let Ok(mut lists) = Lists::connect(url) else {
        return;
    };
    for (pgid, log) in lists.hgetall(POOLS).unwrap_or_default() {
        if let Ok(pgid) = pgid.parse::<i32>() {
            if pgid > 1 {
                // SAFETY: a process group a hunt of ours made.
                unsafe { libc::killpg(pgid, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_file(log);
    }
}
