//! A private RabbitMQ node for one hunt or one race, when no `--broker` is given: the
//! Debian package's `rabbitmq-server` (`/usr/lib/rabbitmq/bin`, else on `PATH`), never
//! through systemd, in a temporary folder that holds everything it writes (`HOME` and
//! so its Erlang cookie, the mnesia and log folders, an empty plugins file, a config
//! file), with a node name of its own and free loopback ports for AMQP and Erlang
//! distribution. It starts in about five seconds here (about 130 MB); hunt waits until
//! its AMQP port takes a connection. It runs as hunt's child in a process group of its
//! own, with SIGTERM asked for should hunt die; dropping the guard kills the group
//! (SIGKILL: nothing of it is kept) and removes the folder. The user is `guest`, which
//! RabbitMQ lets in from loopback only, which is where the node listens.
//!
//! `epmd`, Erlang's port mapper, is started by the first node on the host and stays
//! behind on port 4369 after the node ends: it is shared by every Erlang node here, so
//! hunt leaves it be.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What to do when the node's programs are missing.
pub const INSTALL_HINT: &str = "RabbitMQ is not installed: install it (`apt-get install rabbitmq-server`, with a /usr/sbin/policy-rc.d that exits 101 so that the package starts no system service), or pass --broker amqp://USER:PASSWORD@HOST:PORT/VHOST of a running server";

/// How long the node may take to take its first connection.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after a quorum queue is made its Ra server is surely on disk: DETS, which
/// holds the node's Ra directory, writes up to 3 s late.
const RA_WRITE_DELAY: Duration = Duration::from_millis(3500);
/// How long a killed node's processes and ports may take to go.
const PORT_FREE_TIMEOUT: Duration = Duration::from_secs(10);

/// The folder holding `rabbitmq-server`.
pub fn programs() -> Option<PathBuf> {
    let has = |d: &Path| d.join("rabbitmq-server").is_file();
    let debian = PathBuf::from("/usr/lib/rabbitmq/bin");
    if has(&debian) {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has(d))
}

/// Why no private node can start here, if so.
pub fn missing() -> Option<String> {
    programs().is_none().then(|| INSTALL_HINT.to_string())
}

/// A running private node; dropping it stops the node and removes its folder.
pub struct PrivateRabbit {
    node: Option<std::process::Child>,
    dir: tempfile::TempDir,
    url: String,
    /// Its Erlang node name, AMQP port and distribution port, kept for a restart.
    name: String,
    port: u16,
    dist: u16,
}

/// A free TCP port on loopback.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl PrivateRabbit {
    /// Starts a node in a new folder and waits until it takes a connection.
    pub fn start() -> Result<PrivateRabbit> {
        if let Some(why) = missing() {
            bail!("{why}");
        }
        let dir = tempfile::Builder::new()
            .prefix("hunt-rabbitmq-")
            .tempdir_in("/tmp")
            .context("cannot make a private folder for RabbitMQ in /tmp")?;
        let (port, dist) = (free_port()?, free_port()?);
        let name = format!("hunt-{}-{port}@localhost", std::process::id());
        let d = dir.path();
        std::fs::write(d.join("enabled_plugins"), "[].\n")?;
        std::fs::write(
            d.join("rabbitmq.conf"),
            "loopback_users.guest = true\ndisk_free_limit.absolute = 10MB\n",
        )?;
        let mut p = PrivateRabbit {
            node: None,
            url: format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
            dir,
            name,
            port,
            dist,
        };
        p.node = Some(p.spawn()?);
        p.wait_ready()?;
        Ok(p)
    }

    /// Starts `rabbitmq-server` on this guard's folder, node name and ports (a restart
    /// finds its mnesia folder, so its durable queues and persistent messages, there).
    fn spawn(&self) -> Result<std::process::Child> {
        let bin = programs().context(INSTALL_HINT)?;
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("console.log"))?;
        let mut cmd = Command::new(bin.join("rabbitmq-server"));
        cmd.env("HOME", d)
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist.to_string())
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        own_group(&mut cmd);
        cmd.spawn()
            .with_context(|| format!("cannot start {}", bin.join("rabbitmq-server").display()))
    }

    /// `hunt race --fault kill-broker`: SIGKILL to the node's whole group (nothing is
    /// flushed: what survives is what RabbitMQ had on disk, which for a quorum queue is
    /// every message it confirmed), a bounded wait until its ports are free, then the
    /// same node again on the same folder.
    pub fn kill_and_restart(&mut self) -> Result<()> {
        self.wait_ra_written();
        self.kill();
        let started = Instant::now();
        while [self.port, self.dist]
            .iter()
            .any(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_err())
        {
            if started.elapsed() > PORT_FREE_TIMEOUT {
                bail!(
                    "the killed RabbitMQ node's ports {} and {} were still taken after {} s",
                    self.port,
                    self.dist,
                    PORT_FREE_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.node = Some(self.spawn()?);
        self.wait_ready()
    }

    /// Waits until the newest quorum queue is [`RA_WRITE_DELAY`] old. A quorum queue's
    /// Ra server is named in the node's `names.dets` and `meta.dets`, which DETS writes
    /// out up to 3 s late: a node killed sooner restarts without the new queue's server,
    /// and the queue never elects a leader again (seen here in about 1 kill in 12, with
    /// "leader not known" in the node's log and the hunt hung). A wait while the
    /// race's chosen worker is paused is still a kill mid-hunt.
    fn wait_ra_written(&self) {
        let ra = self.dir.path().join("mnesia").join(&self.name).join("quorum").join(&self.name);
        let newest = std::fs::read_dir(&ra)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                m.created().or_else(|_| m.modified()).ok()
            })
            .max();
        let Some(newest) = newest else {
            return;
        };
        let age = newest.elapsed().unwrap_or(RA_WRITE_DELAY);
        std::thread::sleep(RA_WRITE_DELAY.saturating_sub(age));
    }

    /// Kills the node's group with SIGKILL and reaps its leader; waits (bounded) until
    /// no process of the group is left.
    fn kill(&mut self) {
        let Some(mut child) = self.node.take() else {
            return;
        };
        let group = child.id() as libc::pid_t;
        // SAFETY: the group of our own child, which leads it.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = child.wait();
        let started = Instant::now();
        // SAFETY: signal 0 only asks whether the group still has a process.
        while unsafe { libc::kill(-group, 0) } == 0 && started.elapsed() < PORT_FREE_TIMEOUT {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the node's AMQP port takes a connection.
    fn wait_ready(&mut self) -> Result<()> {
        let port = self.port;
        let started = Instant::now();
        let log = self.dir.path().join("console.log");
        loop {
            if let Some(status) = self.node.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!(
                    "the private RabbitMQ node ended at once ({status}): {}",
                    crate::sys::process::last_line(&log)
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && super::Rabbit::open(&self.url).is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the private RabbitMQ node did not answer within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    crate::sys::process::last_line(&log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its URL (`amqp://guest:guest@127.0.0.1:PORT/%2f`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Puts the child in a process group of its own (the node is a shell script and the
/// Erlang VM it starts), with SIGTERM asked for when hunt dies.
fn own_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: between fork and exec, only async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        // Nothing to save: the whole group (the script, the VM, its port programs) is
        // killed at once, and the folder goes with the guard.
        self.kill();
    }
}
