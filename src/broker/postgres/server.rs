//! A private PostgreSQL server for one hunt or one race, when no `--broker` is given:
//! `initdb` and `postgres` (the newest of `/usr/lib/postgresql/*/bin`, else on `PATH`) in
//! a temporary folder under `/tmp`, a Unix socket there, no TCP port, durability off
//! (`fsync`, `synchronous_commit`, `full_page_writes`: it is thrown away afterwards).
//! PostgreSQL refuses to run as root: as root, both run as the `postgres` account
//! (`runuser -u postgres --` for `initdb`; the server itself is started as hunt's child
//! with that account's uid and gid), in a folder given to it; otherwise as this user.
//! Dropping the guard stops the server at once (SIGQUIT, what `pg_ctl stop -m
//! immediate` sends) and removes the folder. The server is hunt's child, not `pg_ctl`'s
//! daemon, so that it dies with hunt: a hunt killed with SIGKILL runs no destructor,
//! and the server gets SIGQUIT from the kernel (`PR_SET_PDEATHSIG`) instead of running
//! on; only its folder is left then, and the next private start removes it
//! ([`super::leftovers`]).
//!
//! The cluster is a copy of one made once per user and PostgreSQL version
//! ([`super::template`]), not a fresh `initdb` per server.
//!
//! The durability settings are in the cluster's `postgresql.conf`, not on the command
//! line, so that `hunt race --fault kill-broker` can turn them on with `ALTER SYSTEM`
//! and a reload before it kills the server ([`PrivatePostgres::kill_and_restart`]).

use crate::sys::process::last_line;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to do when the server's programs are missing.
pub const INSTALL_HINT: &str = "PostgreSQL's initdb and pg_ctl are not installed: install them (`apt-get install postgresql`), or pass --broker postgres://USER@HOST/DB of a running server";

/// The account the server runs as when hunt runs as root.
const ACCOUNT: &str = "postgres";

/// A running private server; dropping it stops the server and removes its folder.
pub struct PrivatePostgres {
    bin: PathBuf,
    /// The postmaster, once started.
    server: Option<std::process::Child>,
    dir: tempfile::TempDir,
    url: String,
}

/// The settings of a server that is thrown away, appended to its `postgresql.conf`.
const THROWN_AWAY: &str =
    "\n# hunt: a private server, thrown away afterwards\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";

/// How long a killed postmaster's backends may take to exit, before they get SIGKILL
/// too (and as long again after it).
const BACKENDS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The processes whose parent is `pid`, from `/proc`.
fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|&p| stat(p).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

/// A process's state letter and parent, from `/proc/PID/stat` (after the command's
/// closing parenthesis, which may itself hold spaces).
fn stat(pid: libc::pid_t) -> Option<(char, libc::pid_t)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.next()?.parse().ok()?))
}

/// Waits up to `timeout` until none of `pids` runs (gone, or a zombie no longer
/// holding anything); `Err` with those left.
fn wait_gone(
    pids: &[libc::pid_t],
    timeout: std::time::Duration,
) -> std::result::Result<(), Vec<libc::pid_t>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left: Vec<libc::pid_t> = pids
            .iter()
            .copied()
            .filter(|&p| stat(p).is_some_and(|(state, _)| state != 'Z' && state != 'X'))
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(left);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How long the server may take to accept its first connection.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The folder holding `initdb`, `pg_ctl` and `postgres`: the newest version under
/// `/usr/lib/postgresql`, else the one on `PATH`.
pub fn programs() -> Option<PathBuf> {
    let has = |d: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|p| d.join(p).is_file());
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let v: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            let bin = e.path().join("bin");
            v.filter(|_| has(&bin)).map(|v| (v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has(d))
}

/// Why no private server can start here, if so.
pub fn missing() -> Option<String> {
    if programs().is_none() {
        return Some(INSTALL_HINT.to_string());
    }
    if is_root() && account().is_none() {
        return Some(format!("PostgreSQL refuses to run as root, and there is no `{ACCOUNT}` account to run it as: install the package (`apt-get install postgresql`, which makes it), or run hunt as another user"));
    }
    None
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The `postgres` account's uid and gid.
fn account() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(ACCOUNT).ok()?;
    // SAFETY: a valid C string; the result is read at once, before any other call.
    unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        (!pw.is_null()).then(|| ((*pw).pw_uid, (*pw).pw_gid))
    }
}

impl PrivatePostgres {
    /// Makes a cluster in a new folder, starts it and waits until it answers.
    pub fn start() -> Result<PrivatePostgres> {
        if let Some(why) = missing() {
            bail!("{why}");
        }
        let bin = programs().expect("checked by missing()");
        let dir = tempfile::Builder::new()
            .prefix("hunt-postgres-")
            .tempdir_in("/tmp")
            .context("cannot make a private folder for PostgreSQL in /tmp")?;
        if is_root() {
            let (uid, gid) = account().expect("checked by missing()");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("cannot give the private PostgreSQL folder to the postgres account")?;
        }
        // Named as this hunt's before anything else, so another hunt's tidying (below)
        // knows it is in use; then the folders of killed hunts go.
        super::leftovers::claim(dir.path())
            .context("cannot write into the private PostgreSQL folder")?;
        let owner = if is_root() {
            account().expect("checked by missing()")
        } else {
            // SAFETY: geteuid and getegid have no preconditions.
            unsafe { (libc::geteuid(), libc::getegid()) }
        };
        super::leftovers::remove_stale(owner.0);
        let data = dir.path().join("data");
        let log = dir.path().join("log");
        let mut p = PrivatePostgres {
            url: format!("postgres://hunt@/postgres?host={}", dir.path().display()),
            bin,
            server: None,
            dir,
        };
        // A copy of the cached cluster (one initdb per user and version); a fresh
        // initdb where there is none and none can be made.
        let made = super::template::template(&p.bin, owner, &|folder| {
            p.initdb(&folder.join("data"))
        });
        let copied = made.and_then(|t| super::template::copy(&t, &data, owner));
        if copied.is_err() {
            let _ = std::fs::remove_dir_all(&data);
            p.initdb(&data)?;
        }
        p.server = Some(p.launch(&data, &log)?);
        p.wait_ready(&log)?;
        Ok(p)
    }

    /// Makes a cluster in `data` for the `hunt` superuser, trusting local connections,
    /// with the thrown-away settings.
    fn initdb(&self, data: &Path) -> Result<()> {
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "hunt".as_ref(),
                "-N".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        // Thrown away afterwards: no durability, until a race's kill-broker asks for it
        // (where the command line could not be overridden, the configuration file can).
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(THROWN_AWAY.as_bytes()))
            .context("cannot write the private PostgreSQL server's settings")
    }

    /// `hunt race --fault kill-broker`: turns durability on (`synchronous_commit`,
    /// `fsync`, `full_page_writes`, by `ALTER SYSTEM` and a reload, then a checkpoint,
    /// so what was committed before is on disk and what is committed after waits for
    /// its WAL), kills the postmaster with SIGKILL, waits (bounded) until its backends
    /// have gone (they hold the data folder's shared memory, and a new postmaster
    /// refuses a folder whose memory is still in use), and starts it again on the same
    /// folder, which replays its WAL. From then on it keeps what it commits.
    pub fn kill_and_restart(&mut self) -> Result<()> {
        let mut c = self.config().connect(postgres::NoTls)?;
        // One statement each: ALTER SYSTEM refuses a transaction block.
        for sql in [
            "ALTER SYSTEM SET synchronous_commit = on",
            "ALTER SYSTEM SET fsync = on",
            "ALTER SYSTEM SET full_page_writes = on",
            // The restart's crash recovery first syncs the data folder: one syncfs of
            // its file system rather than an fsync per file (2 s here).
            "ALTER SYSTEM SET recovery_init_sync_method = syncfs",
            "SELECT pg_reload_conf()",
        ] {
            c.batch_execute(sql)?;
        }
        // Each session takes the reload at its next statement; a statement already
        // running commits as before, and the checkpoint below writes it out.
        std::thread::sleep(std::time::Duration::from_millis(50));
        c.batch_execute("CHECKPOINT")?;
        drop(c);
        let Some(mut child) = self.server.take() else {
            bail!("the private PostgreSQL server is not running");
        };
        let pid = child.id() as libc::pid_t;
        let backends = children_of(pid);
        let _ = child.kill();
        let _ = child.wait();
        wait_gone(&backends, BACKENDS_TIMEOUT).or_else(|left| {
            // Bounded: what is left gets SIGKILL too, as a crash of the host would.
            for &b in &left {
                // SAFETY: a process that was the postmaster's child, found above.
                unsafe { libc::kill(b, libc::SIGKILL) };
            }
            wait_gone(&left, BACKENDS_TIMEOUT).map_err(|left| {
                anyhow::anyhow!(
                    "the killed PostgreSQL server's backends {left:?} did not exit within {} s",
                    2 * BACKENDS_TIMEOUT.as_secs()
                )
            })
        })?;
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        self.server = Some(self.launch(&data, &log)?);
        self.wait_ready(&log)
    }

    /// How to reach the server as `hunt`.
    fn config(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host_path(self.dir.path())
            .user("hunt")
            .dbname("postgres")
            .connect_timeout(std::time::Duration::from_millis(500));
        config
    }

    /// Starts the postmaster as this process's child: as the `postgres` account when
    /// root, with SIGQUIT (an immediate shutdown) asked for when hunt dies.
    fn launch(&self, data: &Path, log: &Path) -> Result<std::process::Child> {
        use std::os::unix::process::CommandExt;
        // Appended to: a restart (kill-broker) keeps what the first server said.
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .context("cannot make the private PostgreSQL log")?;
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(data)
            .arg("-k")
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=",
                "-c",
                "max_connections=300",
            ])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let ids = if is_root() { account() } else { None };
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: between fork and exec, only async-signal-safe system calls. The death
        // signal is asked for after the uid changes, which would clear it.
        unsafe {
            cmd.pre_exec(move || {
                if let Some((uid, gid)) = ids {
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setgid(gid) != 0
                        || libc::setuid(uid) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::raise(libc::SIGKILL);
                }
                Ok(())
            });
        }
        cmd.spawn()
            .with_context(|| format!("cannot start {}", self.bin.join("postgres").display()))
    }

    /// Waits until the server takes a connection on its socket.
    fn wait_ready(&mut self, log: &Path) -> Result<()> {
        let started = std::time::Instant::now();
        let config = self.config();
        loop {
            if let Some(status) = self.server.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!(
                    "the private PostgreSQL server ended at once ({status}): {}",
                    last_line(log)
                );
            }
            if config.connect(postgres::NoTls).is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the private PostgreSQL server did not answer within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    last_line(log)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Its URL (`postgres://hunt@/postgres?host=/tmp/hunt-postgres-...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one of the server's programs (as the `postgres` account when root), its
    /// output kept for the error.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
        let exe = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", ACCOUNT, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            bail!(
                "the private PostgreSQL server's {program} failed ({}): {said}",
                out.status
            );
        }
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Nothing to save: an immediate shutdown (SIGQUIT), then the folder goes with
        // the guard. A server that does not end within 5 s is killed.
        let Some(mut child) = self.server.take() else {
            return;
        };
        let pid = child.id() as libc::pid_t;
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while matches!(child.try_wait(), Ok(None)) {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    /// A kill-broker restart keeps what was committed before it (under the thrown-away
    /// settings) and after it, and the server takes connections again.
    #[test]
    fn a_killed_server_comes_back_with_its_committed_rows() {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("HUNT_REQUIRE_SERVERS").is_none(),
                "HUNT_REQUIRE_SERVERS is set: {why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
        let mut p = PrivatePostgres::start().unwrap();
        let mut c = p.config().connect(postgres::NoTls).unwrap();
        c.batch_execute("CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
            .unwrap();
        let pid = p.server.as_ref().unwrap().id();
        p.kill_and_restart().unwrap();
        assert_ne!(p.server.as_ref().unwrap().id(), pid, "a new postmaster");
        // The old connection died with its backend.
        assert!(c.batch_execute("SELECT 1").is_err());
        let mut c = p.config().connect(postgres::NoTls).unwrap();
        c.batch_execute("INSERT INTO t VALUES (2)").unwrap();
        let on: String = c.query_one("SHOW synchronous_commit", &[]).unwrap().get(0);
        assert_eq!(on, "on");
        p.kill_and_restart().unwrap();
        let mut c = p.config().connect(postgres::NoTls).unwrap();
        let rows: Vec<i32> = c
            .query("SELECT n FROM t ORDER BY n", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, [1, 2]);
    }
}
