//! A private `redis-server` for one hunt or one race, when no `--broker` is given: a
//! Unix socket in a private temporary folder (mode 0700), no TCP port, no persistence (until
//! `hunt race --fault kill-broker` turns its append-only file on and restarts it).
//! It dies with hunt (its death signal) and is stopped and its folder removed when the
//! guard is dropped.

use crate::sys::process::last_line;
use crate::sys::process::{self, Children};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to accept its first connection.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do when `redis-server` is missing.
pub const INSTALL_HINT: &str = "redis-server is not installed: install it (`apt-get install redis-server`), or pass --broker redis://HOST:PORT of a running server";

/// A running private server; dropping it stops the server and removes its folder.
pub struct PrivateRedis {
    // Declared first, so it is dropped (killed and reaped) before the folder goes.
    server: Children,
    dir: tempfile::TempDir,
    url: String,
}

impl PrivateRedis {
    /// Starts one and waits until it answers.
    pub fn start() -> Result<PrivateRedis> {
        let dir = tempfile::Builder::new()
            .prefix("hunt-redis-")
            .tempdir()
            .context("cannot make a private folder for redis-server")?;
        let server = serve(dir.path(), "no")?;
        let url = format!("redis+unix://{}", dir.path().join("redis.sock").display());
        Ok(PrivateRedis { server, dir, url })
    }

    /// Its URL (`redis+unix:///tmp/hunt-redis-.../redis.sock`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `hunt race --fault kill-broker`: turns persistence on (an append-only file,
    /// written before the kill, so the restarted server has every task), kills the
    /// server with SIGKILL and starts it again on its folder. From then on it keeps
    /// its append-only file.
    pub fn kill_and_restart(&mut self) -> Result<()> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut c = client.get_connection_with_timeout(Duration::from_secs(2))?;
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("yes")
            .query::<()>(&mut c)?;
        let started = Instant::now();
        loop {
            let info: String = redis::cmd("INFO").arg("persistence").query(&mut c)?;
            let done = ["aof_enabled:1", "aof_rewrite_in_progress:0", "aof_rewrite_scheduled:0"]
                .iter()
                .all(|k| info.lines().any(|l| l.trim() == *k));
            if done {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("the private redis-server did not write its append-only file within {} s", START_TIMEOUT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(c);
        // SIGKILL, then reap it, before the new one takes the socket.
        for child in &mut self.server.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.server = serve(self.dir.path(), "yes")?;
        Ok(())
    }
}

/// Starts `redis-server` in `dir` (its socket, log and data there), with `appendonly`
/// `yes` or `no`, and waits until it answers.
fn serve(dir: &Path, appendonly: &str) -> Result<Children> {
    let socket = dir.join("redis.sock");
    let log = dir.join("redis.log");
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--port",
        "0",
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        appendonly,
    ])
    .arg("--unixsocket")
    .arg(&socket)
    .arg("--dir")
    .arg(dir)
    .arg("--logfile")
    .arg(&log)
    .args(["--daemonize", "no", "--maxclients", "10000"])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    process::die_with_parent(&mut cmd);
    raise_file_limit(&mut cmd);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{INSTALL_HINT}"),
        Err(e) => bail!("cannot start redis-server: {e}"),
    };
    let mut server = Children(vec![child]);
    let url = format!("redis+unix://{}", socket.display());
    let started = Instant::now();
    loop {
        if let Some(status) = server.0[0].try_wait()? {
            bail!(
                "the private redis-server ended at once ({status}): {}",
                last_line(&log)
            );
        }
        if socket.exists() && ping(&url) {
            break;
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "the private redis-server did not answer within {} s: {}",
                START_TIMEOUT.as_secs(),
                last_line(&log)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(server)
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // Nothing to save: kill it, and the guard reaps it.
        self.server.kill_all();
    }
}

/// True when `redis-server` can be started here.
pub fn installed() -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            let p = d.join("redis-server");
            p.is_file()
        })
    })
}

fn ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(500)) else {
        return false;
    };
    redis::cmd("PING").query::<String>(&mut c).is_ok()
}

/// Lets the server open as many sockets as the hard limit allows (a race of 1024
/// worker processes holds two connections each), between fork and exec.
fn raise_file_limit(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getrlimit and setrlimit are async-signal-safe; failure changes nothing.
    unsafe {
        cmd.pre_exec(|| {
            let mut l: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
                let want = l.rlim_max.min(65_536);
                if want > l.rlim_cur {
                    l.rlim_cur = want;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &l);
                }
            }
            Ok(())
        });
    }
}
