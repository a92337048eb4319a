//! RabbitMQ as the tests drive it: one node per test binary (`rabbitmq-server` in a
//! temporary folder on free loopback ports, started on first use and stopped at exit:
//! a node takes seconds to start), and a vhost of its own per test, so that tests
//! running side by side never see each other's hunts. A broker that goes away is its
//! vhost deleted (every connection to it closed, and new ones refused); it comes back
//! empty, as a broker that keeps nothing would. A password is a user of the test's own.

use super::{free_port, Backend, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The RabbitMQ backend.
#[derive(Default)]
pub struct RabbitBackend;

/// The folder of `rabbitmq-server` and `rabbitmqctl`.
pub fn programs() -> Option<PathBuf> {
    let d = PathBuf::from("/usr/lib/rabbitmq/bin");
    d.join("rabbitmq-server").is_file().then_some(d)
}

impl Backend for RabbitBackend {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn here(&self) -> bool {
        if programs().is_some() {
            return true;
        }
        if std::env::var("HUNT_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
            panic!("rabbitmq-server is not installed, and HUNT_REQUIRE_SERVERS=1: run scripts/install-test-deps.sh");
        }
        eprintln!("skipped: RabbitMQ is not installed (scripts/install-test-deps.sh installs it)");
        false
    }

    fn start(&self) -> Box<dyn Server> {
        Box::new(Rabbit::start(None))
    }

    fn start_with_password(&self, password: &str) -> Result<Box<dyn Server>, &'static str> {
        Ok(Box::new(Rabbit::start(Some(password))))
    }

    fn bad_urls(&self, locked: Option<&dyn Server>) -> Vec<(String, &'static str)> {
        let locked = locked.expect("RabbitMQ has passwords");
        let at = locked.named();
        let vhost = locked.url().rsplit('/').next().unwrap_or("").to_string();
        let user = locked
            .url()
            .split("://")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .unwrap_or("")
            .to_string();
        vec![
            (
                "amqp://guest:guest@127.0.0.1:notaport/".to_string(),
                "is not a RabbitMQ URL",
            ),
            (
                format!("amqp://guest:guest@127.0.0.1:{}/", free_port()),
                "cannot reach the broker",
            ),
            (
                format!("amqp://{user}:wrong-pw@{at}/{vhost}"),
                "refused the user or password",
            ),
            (
                format!("amqp://{user}@{at}/{vhost}"),
                "refused the user or password",
            ),
            (
                format!("amqp://guest:guest@127.0.0.1:{}/", not_amqp()),
                "does not speak AMQP",
            ),
        ]
    }

    fn other_url(&self) -> &'static str {
        "redis://127.0.0.1:1"
    }

    fn slow_poll(&self) -> Result<Vec<&'static str>, &'static str> {
        Err("RabbitMQ pushes deliveries to waiting consumers: it has no poll to slow")
    }

    fn lost_mid_hunt(&self) -> Result<(), &'static str> {
        Ok(()) // its vhost deleted: every connection to it closes
    }
}

/// A TCP server that answers anything with an HTTP error: not AMQP.
fn not_amqp() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten().take(20) {
            let mut buf = [0u8; 256];
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

/// A RabbitMQ node of the test binary's own.
pub struct Node {
    dir: tempfile::TempDir,
    name: String,
    /// Its AMQP port (plain).
    pub port: u16,
    pid: i32,
    /// The network namespace it runs in (`ip netns`), if not this process's.
    ns: Option<String>,
}

/// The node every test of this binary shares, stopped at exit.
fn node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| {
        let n = Node::launch("");
        extern "C" fn stop_node() {
            if let Some(n) = NODE.get() {
                n.kill();
            }
        }
        // SAFETY: registers a plain function, called once at exit.
        unsafe { libc::atexit(stop_node) };
        n
    })
}

impl Node {
    /// Starts a node in a temporary folder on free loopback ports, with `conf` added
    /// to its `rabbitmq.conf` (`{dir}` in it is the node's folder), and waits until
    /// its plain AMQP port takes connections. Dropped, it is killed; should the test
    /// binary die, the kernel kills it.
    pub fn launch(conf: &str) -> Node {
        Node::launch_in(None, conf)
    }

    /// [`Node::launch`] inside network namespace `ns` (`ip netns exec`), listening on
    /// every address there on the AMQP port 5672; `rabbitmqctl` runs there too. Erlang's
    /// port mapper, which the node starts in a namespace that has none, stays behind
    /// there: the namespace's owner kills what is left in it.
    pub fn launch_in(ns: Option<&str>, conf: &str) -> Node {
        let dir = tempfile::Builder::new()
            .prefix("hunt-test-rabbitmq-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let (port, dist) = match ns {
            Some(_) => (5672, 25672),
            None => (free_port(), free_port()),
        };
        let name = format!("hunt-test-{}-{port}@localhost", std::process::id());
        let d = dir.path();
        std::fs::write(d.join("enabled_plugins"), "[].\n").unwrap();
        let conf = conf.replace("{dir}", &d.display().to_string());
        std::fs::write(
            d.join("rabbitmq.conf"),
            format!("disk_free_limit.absolute = 10MB\n{conf}"),
        )
        .unwrap();
        let log = std::fs::File::create(d.join("console.log")).unwrap();
        let mut c = in_ns(ns, programs().expect("installed").join("rabbitmq-server"));
        env(&mut c, d, &name)
            .env(
                "RABBITMQ_NODE_IP_ADDRESS",
                if ns.is_some() { "0.0.0.0" } else { "127.0.0.1" },
            )
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: setpgid and prctl are async-signal-safe.
            unsafe {
                c.pre_exec(|| {
                    libc::setpgid(0, 0);
                    libc::prctl(
                        libc::PR_SET_PDEATHSIG,
                        libc::SIGKILL as libc::c_ulong,
                        0,
                        0,
                        0,
                    );
                    Ok(())
                });
            }
        }
        // PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, and
        // libtest ends each test's thread with its test: the node is forked by a thread
        // of its own that lives until the test binary exits (never reaped: its group is
        // killed).
        let (pid_tx, pid_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("rabbitmq-node".into())
            .spawn(move || {
                #[allow(clippy::zombie_processes)]
                let child = c.spawn().map(|ch| ch.id());
                let _ = pid_tx.send(child);
                loop {
                    std::thread::park();
                }
            })
            .expect("a thread for the node");
        let pid = pid_rx
            .recv()
            .expect("the node's thread answers")
            .expect("rabbitmq-server starts");
        let started = Instant::now();
        while !listening(ns, port) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the test's RabbitMQ node did not start: see {}",
                d.join("console.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Node {
            dir,
            name,
            port,
            pid: pid as i32,
            ns: ns.map(String::from),
        }
    }

    /// Kills the node's group and removes its folder.
    fn kill(&self) {
        // SAFETY: the node's own process group.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        let _ = std::fs::remove_dir_all(self.dir.path());
    }

    /// Runs `rabbitmqctl -n NODE ARGS` on this node; its output.
    pub fn ctl(&self, args: &[&str]) -> String {
        let mut c = in_ns(
            self.ns.as_deref(),
            programs().expect("installed").join("rabbitmqctl"),
        );
        env(&mut c, self.dir.path(), &self.name)
            .arg("-n")
            .arg(&self.name)
            .args(args);
        let out = c.stdin(Stdio::null()).output().expect("rabbitmqctl runs");
        assert!(
            out.status.success(),
            "rabbitmqctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `program`, run inside network namespace `ns` where given.
fn in_ns(ns: Option<&str>, program: PathBuf) -> Command {
    match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Whether `port` on the loopback of namespace `ns` (or this process's) takes a
/// connection.
fn listening(ns: Option<&str>, port: u16) -> bool {
    match ns {
        None => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        Some(ns) => Command::new("ip")
            .args(["netns", "exec", ns, "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/127.0.0.1/{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    }
}

/// The environment of the node and of `rabbitmqctl` (which reads its cookie from HOME).
fn env<'a>(c: &'a mut Command, d: &Path, name: &str) -> &'a mut Command {
    c.env("HOME", d)
        .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", d.join("log"))
        .env("RABBITMQ_NODENAME", name)
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
        .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
        .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
}

/// Runs `rabbitmqctl -n NODE ARGS` on the shared node; its output.
fn ctl(args: &[&str]) -> String {
    node().ctl(args)
}

/// A vhost of the test's own on the shared node.
pub struct Rabbit {
    vhost: String,
    user: String,
    password: String,
}

impl Rabbit {
    pub fn start(password: Option<&str>) -> Rabbit {
        static N: AtomicU64 = AtomicU64::new(0);
        let i = N.fetch_add(1, Ordering::SeqCst);
        let r = Rabbit {
            vhost: format!("t{i}"),
            user: if password.is_some() {
                format!("u{i}")
            } else {
                "guest".into()
            },
            password: password.unwrap_or("guest").to_string(),
        };
        if password.is_some() {
            ctl(&["add_user", &r.user, &r.password]);
        }
        r.make();
        r
    }

    fn make(&self) {
        ctl(&["add_vhost", &self.vhost]);
        ctl(&[
            "set_permissions",
            "-p",
            &self.vhost,
            &self.user,
            ".*",
            ".*",
            ".*",
        ]);
    }

    /// The names of the vhost's queues.
    fn queues(&self) -> Vec<String> {
        ctl(&[
            "list_queues",
            "-q",
            "--no-table-headers",
            "-p",
            &self.vhost,
            "name",
        ])
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| ctl(&["delete_vhost", &self.vhost]));
    }
}

impl Server for Rabbit {
    /// Without a password for `guest` (lapin's default user), so that it shows as given.
    fn url(&self) -> String {
        if self.user == "guest" {
            return format!("amqp://127.0.0.1:{}/{}", node().port, self.vhost);
        }
        format!(
            "amqp://{}:{}@127.0.0.1:{}/{}",
            self.user,
            self.password,
            node().port,
            self.vhost
        )
    }

    fn named(&self) -> String {
        format!("127.0.0.1:{}", node().port)
    }

    fn go_away(&mut self) {
        ctl(&["delete_vhost", &self.vhost]);
    }

    fn come_back(&mut self) {
        self.make();
    }

    fn events(&self) -> Result<Vec<Value>, &'static str> {
        Err("the coordinator is the one consumer of a hunt's reports: RabbitMQ keeps none once read")
    }

    /// Messages that are not tasks, put in front of the tasks ready on the hunt's task
    /// queue: a FIFO, so the ready tasks are taken off (unacknowledged), the garbage
    /// published, the tasks published again behind it (each copy carrying the attempts
    /// its message had, as hunt's own copies do), and the originals acknowledged.
    fn add_garbage(&self, hunt: &str) -> usize {
        use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions};
        use lapin::types::{AMQPValue, FieldTable};
        use lapin::{BasicProperties, Connection, ConnectionProperties};
        let bodies: [&[u8]; 3] = [
            b"{\"id\":0,\"from\":0,\"to\":1000000000}",
            b"{\"id\":7,\"from\":7,\"to\":3}",
            b"not json",
        ];
        let queue = format!("hunt.{hunt}.tasks");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = Connection::connect(&self.url(), ConnectionProperties::default())
                .await
                .expect("a test connection");
            let ch = c.create_channel().await.unwrap();
            let mut ready = Vec::new();
            while let Some(m) = ch
                .basic_get(&queue, BasicGetOptions { no_ack: false })
                .await
                .unwrap()
            {
                ready.push(m.delivery);
            }
            let publish = |body: Vec<u8>, props: BasicProperties| {
                let ch = ch.clone();
                let queue = queue.clone();
                async move {
                    ch.basic_publish("", &queue, BasicPublishOptions::default(), &body, props)
                        .await
                        .unwrap()
                        .await
                        .unwrap();
                }
            };
            for b in bodies {
                publish(b.to_vec(), BasicProperties::default()).await;
            }
            for d in &ready {
                let int = |name: &str| {
                    d.properties
                        .headers()
                        .as_ref()
                        .and_then(|h| h.inner().get(name).cloned())
                        .map_or(0, |v| match v {
                            AMQPValue::LongLongInt(n) => n,
                            AMQPValue::LongInt(n) => i64::from(n),
                            _ => 0,
                        })
                };
                let mut h = FieldTable::default();
                let before = int("hunt-attempts-before") + int("x-delivery-count");
                h.insert(
                    "hunt-attempts-before".into(),
                    AMQPValue::LongLongInt(before),
                );
                publish(d.data.clone(), BasicProperties::default().with_headers(h)).await;
            }
            for d in ready {
                d.acker.ack(BasicAckOptions::default()).await.unwrap();
            }
            let _ = c.close(200, "done").await;
        });
        bodies.len()
    }

    /// Each hunt the broker tells of: running (its coordinator answers) or retired
    /// (its last table kept). Asked through the library, as `hunt status` does: a
    /// `rabbitmqctl` call takes longer than these tests' hunts.
    fn hunt_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = hunt::broker::connect(&self.url())
            .and_then(|mut b| b.status())
            .map(|v| v.into_iter().map(|h| h.spec.id).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Hunts whose task queue exists: it is deleted when the hunt is retired.
    fn active(&self) -> Vec<String> {
        self.queues()
            .iter()
            .filter_map(|q| {
                q.strip_prefix("hunt.")?
                    .strip_suffix(".tasks")
                    .map(String::from)
            })
            .collect()
    }

    /// The hunt's queues, and its last table in `hunt.retired` while it is kept.
    fn records(&self, hunt: &str) -> Vec<String> {
        let mut r: Vec<String> = self
            .queues()
            .into_iter()
            .filter(|q| q.starts_with(&format!("hunt.{hunt}.")))
            .collect();
        let st = crate::broker::status(&self.url());
        if st["hunts"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["spec"]["id"] == hunt))
        {
            r.push("retired table".into());
        }
        r
    }

    /// The retired table's expiry: the message's TTL, the keep time (RabbitMQ does not
    /// say how much of it is left).
    fn expiries(&self, hunt: &str) -> Vec<(String, i64)> {
        if self.records(hunt).is_empty() {
            return Vec::new();
        }
        vec![("retired table".into(), 600_000)]
    }
}
