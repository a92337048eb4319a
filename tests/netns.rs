//! Across hosts: the broker, three workers and the coordinator each in a network
//! namespace of their own, joined by veth pairs, each worker with its own copy of the
//! data set made by `hunt generate` from the same seed. One worker's link is cut
//! mid-hunt for longer than the lease, then healed: its task is taken over, its late
//! report counts for nothing, and every answer is right.
//!
//! One case, run once per server backend ([`Server`]): Redis (`redis-server` on the
//! broker namespace's addresses), PostgreSQL (a cluster of the test's own, listening
//! on TCP there, trusting 10.77.0.0/16) and RabbitMQ (a node of the test's own there,
//! with a user and password: `guest` may log in from loopback only).
//!
//! Needs root and a working `ip netns` (iproute2); elsewhere it is skipped with a line
//! saying why. Traffic goes only to addresses inside the namespaces the test makes
//! (10.77.N.0/24), and the test removes them at the end, also when it fails.
#![cfg(any(feature = "redis", feature = "postgres", feature = "rabbitmq"))]

mod adversary;
mod broker;
use adversary::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Namespaces and veth pairs of this test, and the processes started in them;
/// dropping it kills those and removes the namespaces, also when the test fails.
struct Net {
    names: Vec<String>,
    pids: std::cell::RefCell<Vec<i32>>,
}

impl Net {
    fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Starts `cmd` inside namespace `i`; it is killed when the test ends.
    fn start(&self, i: usize, cmd: &Command) -> Started {
        let s = start(inside(self.ns(i), cmd));
        self.pids.borrow_mut().push(s.pid());
        s
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for &pid in self.pids.borrow().iter() {
            kill(pid, libc::SIGKILL);
        }
        for n in &self.names {
            // Deleting a namespace kills nothing by itself; the processes in it were
            // killed by their guards already, but for daemons they started (Erlang's
            // port mapper, which a RabbitMQ node starts where none runs). Its veth ends
            // go with it.
            if let Ok(o) = Command::new("ip").args(["netns", "pids", n]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        kill(pid, libc::SIGKILL);
                    }
                }
            }
            let _ = Command::new("ip").args(["netns", "delete", n]).status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    assert!(ip(args), "ip {}", args.join(" "));
}

/// Can this machine make namespaces? Root and iproute2.
fn possible() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let probe = format!("huntprobe{}", std::process::id());
    if !ip(&["netns", "add", &probe]) {
        return Some("`ip netns add` does not work here".into());
    }
    let _ = ip(&["netns", "delete", &probe]);
    None
}

/// This process's tag for the namespaces and links of the case `case` (one letter).
fn tag(case: char) -> String {
    format!("{}{case}", std::process::id() % 100_000)
}

/// Namespace 0 is the broker; 1..=n the others, each linked to the broker by a veth
/// pair on 10.77.N.0/24 (the broker at 10.77.N.1, the other end at 10.77.N.2).
fn build(n: usize, case: char) -> Net {
    let tag = tag(case);
    let names: Vec<String> = (0..=n).map(|i| format!("hunt{tag}n{i}")).collect();
    let net = Net {
        names,
        pids: Default::default(),
    };
    for name in &net.names {
        must(&["netns", "add", name]);
        must(&["-n", name, "link", "set", "lo", "up"]);
    }
    for i in 1..=n {
        let (b, o) = (format!("h{tag}b{i}"), format!("h{tag}o{i}"));
        must(&["link", "add", &b, "type", "veth", "peer", "name", &o]);
        must(&["link", "set", &b, "netns", net.ns(0)]);
        must(&["link", "set", &o, "netns", net.ns(i)]);
        must(&[
            "-n",
            net.ns(0),
            "addr",
            "add",
            &format!("10.77.{i}.1/24"),
            "dev",
            &b,
        ]);
        must(&[
            "-n",
            net.ns(i),
            "addr",
            "add",
            &format!("10.77.{i}.2/24"),
            "dev",
            &o,
        ]);
        must(&["-n", net.ns(0), "link", "set", &b, "up"]);
        must(&["-n", net.ns(i), "link", "set", &o, "up"]);
    }
    net
}

/// `cmd` run inside namespace `ns`.
fn inside(ns: &str, cmd: &Command) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

/// A broker server of one backend, in the broker's namespace.
#[derive(Clone, Copy)]
enum Server {
    #[cfg(feature = "redis")]
    Redis,
    /// Redis over TLS (`rediss://`, a password, a CA the test makes), so what crosses
    /// the links is encrypted.
    #[cfg(feature = "redis")]
    RedisTls,
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "rabbitmq")]
    Rabbit,
}

/// The TLS broker's password.
#[cfg(feature = "redis")]
const PW: &str = "netns-tls-pw-2718";

/// The RabbitMQ broker's password (its `guest` logs in from loopback only).
#[cfg(feature = "rabbitmq")]
const RABBIT_PW: &str = "netns-rabbit-pw-1414";

impl Server {
    fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "redis")]
            Server::Redis | Server::RedisTls => "redis",
            #[cfg(feature = "postgres")]
            Server::Postgres => "postgres",
            #[cfg(feature = "rabbitmq")]
            Server::Rabbit => "rabbitmq",
        }
    }

    /// The one letter of its namespaces' names (the cases run at the same time).
    fn letter(self) -> char {
        match self {
            #[cfg(feature = "redis")]
            Server::Redis => 'r',
            #[cfg(feature = "redis")]
            Server::RedisTls => 't',
            #[cfg(feature = "postgres")]
            Server::Postgres => 'p',
            #[cfg(feature = "rabbitmq")]
            Server::Rabbit => 'q',
        }
    }

    /// Flags every hunt command of the case takes (`--broker-ca` for TLS).
    fn flags(self, tmp: &std::path::Path) -> Vec<String> {
        match self {
            #[cfg(feature = "redis")]
            Server::RedisTls => vec!["--broker-ca".into(), s(&tmp.join("ca.pem")).into()],
            _ => Vec::new(),
        }
    }

    /// True when its server is installed here (a line says why not).
    fn here(self) -> bool {
        match self {
            #[cfg(feature = "redis")]
            Server::Redis | Server::RedisTls => broker::have("redis-server"),
            #[cfg(feature = "postgres")]
            Server::Postgres => {
                let here = broker::postgres::programs().is_some();
                if !here {
                    eprintln!("skipped: PostgreSQL is not installed (scripts/install-test-deps.sh installs it)");
                }
                here
            }
            #[cfg(feature = "rabbitmq")]
            Server::Rabbit => {
                let here = broker::rabbitmq::programs().is_some();
                if !here {
                    eprintln!("skipped: RabbitMQ is not installed (scripts/install-test-deps.sh installs it)");
                }
                here
            }
        }
    }

    /// Its URL as namespace `i` reaches it.
    fn url(self, i: usize) -> String {
        match self {
            #[cfg(feature = "redis")]
            Server::Redis => format!("redis://10.77.{i}.1:6379"),
            #[cfg(feature = "redis")]
            Server::RedisTls => format!("rediss://:{PW}@10.77.{i}.1:6379"),
            #[cfg(feature = "postgres")]
            Server::Postgres => format!("postgres://hunt@10.77.{i}.1:5432/postgres"),
            #[cfg(feature = "rabbitmq")]
            Server::Rabbit => format!("amqp://hunt:{RABBIT_PW}@10.77.{i}.1:5672/%2f"),
        }
    }

    /// Starts it in namespace 0 of `net`, with its files in `tmp`; it stops when the
    /// guard it returns is dropped.
    fn start(self, net: &Net, tmp: &std::path::Path) -> Box<dyn std::any::Any> {
        match self {
            #[cfg(feature = "redis")]
            Server::Redis => {
                let _ = tmp;
                let mut server = Command::new("redis-server");
                server.args([
                    "--bind",
                    "0.0.0.0",
                    "--port",
                    "6379",
                    "--protected-mode",
                    "no",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]);
                let redis = net.start(0, &server);
                let up = wait_until(Duration::from_secs(10), || {
                    Command::new("ip")
                        .args([
                            "netns",
                            "exec",
                            net.ns(4),
                            "redis-cli",
                            "-h",
                            "10.77.4.1",
                            "ping",
                        ])
                        .output()
                        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
                });
                assert!(up, "the broker answers inside its namespace");
                Box::new(redis)
            }
            #[cfg(feature = "redis")]
            Server::RedisTls => {
                let ca = tls_files(tmp);
                let mut server = Command::new("redis-server");
                server
                    .args(["--bind", "0.0.0.0", "--port", "0", "--tls-port", "6379"])
                    .args(["--protected-mode", "no", "--save", "", "--appendonly", "no"])
                    .args(["--tls-auth-clients", "no", "--requirepass", PW])
                    .args(["--tls-cert-file", s(&tmp.join("server.crt"))])
                    .args(["--tls-key-file", s(&tmp.join("server.key"))])
                    .args(["--tls-ca-cert-file", s(&ca)]);
                let redis = net.start(0, &server);
                let up = wait_until(Duration::from_secs(10), || {
                    Command::new("ip")
                        .args(["netns", "exec", net.ns(4), "redis-cli", "--tls", "--cacert"])
                        .arg(&ca)
                        .args(["-h", "10.77.4.1", "-a", PW, "--no-auth-warning", "ping"])
                        .output()
                        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
                });
                assert!(up, "the TLS broker answers inside its namespace");
                Box::new(redis)
            }
            #[cfg(feature = "postgres")]
            Server::Postgres => Box::new(pg::start(net.ns(0), tmp)),
            #[cfg(feature = "rabbitmq")]
            Server::Rabbit => {
                let _ = tmp;
                let node = broker::rabbitmq::Node::launch_in(Some(net.ns(0)), "");
                node.ctl(&["add_user", "hunt", RABBIT_PW]);
                node.ctl(&["set_permissions", "-p", "/", "hunt", ".*", ".*", ".*"]);
                Box::new(node)
            }
        }
    }
}

/// A CA and a certificate it signed for the broker's addresses (10.77.1.1 to
/// 10.77.4.1), written to `tmp` (`ca.pem`, `server.crt`, `server.key`); the CA's path.
#[cfg(feature = "redis")]
fn tls_files(tmp: &std::path::Path) -> std::path::PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "hunt netns CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = (1..=4).map(|i| format!("10.77.{i}.1")).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(tmp.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(tmp.join("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(tmp.join("ca.pem"), ca.pem()).unwrap();
    tmp.join("ca.pem")
}

/// A PostgreSQL cluster of the test's own on the broker namespace's addresses.
#[cfg(feature = "postgres")]
mod pg {
    use super::broker;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};

    /// The cluster's folder; dropping it stops the server at once.
    pub struct Cluster {
        data: PathBuf,
        /// Removed after the server stops (fields drop after [`Drop::drop`]).
        _dir: tempfile::TempDir,
    }

    /// A PostgreSQL program, run inside namespace `ns` (as the `postgres` account:
    /// the test runs as root, which PostgreSQL refuses).
    fn pg(ns: Option<&str>, name: &str) -> Command {
        let exe = broker::postgres::programs().unwrap().join(name);
        let mut c = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "runuser"]);
                c
            }
            None => Command::new("runuser"),
        };
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    }

    fn ok(c: &mut Command, what: &str) {
        let out = c.stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start(ns: &str, _tmp: &Path) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("hunt-test-netns-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        ok(
            Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()),
            "chown",
        );
        let data = dir.path().join("data");
        let mut c = pg(None, "initdb");
        c.arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "hunt", "-N", "--locale=C"]);
        ok(&mut c, "initdb");
        let hba = "local all all trust\nhost all all 10.77.0.0/16 trust\n";
        ok(
            Command::new("runuser")
                .args(["-u", "postgres", "--", "sh", "-c"])
                .arg(format!(
                    "printf '{hba}' > {}",
                    data.join("pg_hba.conf").display()
                )),
            "pg_hba.conf",
        );
        let mut c = pg(Some(ns), "pg_ctl");
        c.arg("-D").arg(&data).arg("-l").arg(dir.path().join("log"));
        c.args(["-w", "-t", "30", "-o"]).arg(format!(
            "-k {} -p 5432 -c listen_addresses=* -c fsync=off -c synchronous_commit=off",
            dir.path().display()
        ));
        ok(c.arg("start"), "pg_ctl start");
        Cluster { data, _dir: dir }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let mut c = pg(None, "pg_ctl");
            c.arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = c.stdin(Stdio::null()).output();
        }
    }
}

#[cfg(feature = "redis")]
#[test]
fn workers_in_other_namespaces_survive_a_cut_link_and_every_answer_is_right() {
    a_cut_link_is_survived(Server::Redis);
}

#[cfg(feature = "redis")]
#[test]
fn tls_workers_in_other_namespaces_survive_a_cut_link_and_every_answer_is_right() {
    a_cut_link_is_survived(Server::RedisTls);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_workers_in_other_namespaces_survive_a_cut_link_and_every_answer_is_right() {
    a_cut_link_is_survived(Server::Postgres);
}

#[cfg(feature = "rabbitmq")]
#[test]
fn rabbitmq_workers_in_other_namespaces_survive_a_cut_link_and_every_answer_is_right() {
    a_cut_link_is_survived(Server::Rabbit);
}

/// The case: three workers and a coordinator, each in a namespace of its own; w1's
/// link cut for three leases mid-hunt, then healed.
fn a_cut_link_is_survived(kind: Server) {
    if !kind.here() {
        return;
    }
    if let Some(why) = possible() {
        eprintln!("skipped: {why}: the namespaces test needs root and `ip netns`");
        return;
    }
    let net = build(4, kind.letter()); // 1..=3 workers, 4 the coordinator
    let tmp = tempfile::tempdir().unwrap();
    let server = kind.start(&net, tmp.path());
    let flags = kind.flags(tmp.path());

    // Each "host" makes its own copy of the set from the same flags and seed.
    let dirs: Vec<_> = (1..=4)
        .map(|i| broker::set(tmp.path(), &format!("host{i}"), 45, 3, 2026, 40))
        .collect();
    for d in &dirs[1..] {
        // Snapshots name files relative to their folder.
        assert!(snapshot(d) == snapshot(&dirs[0]), "byte-identical sets");
    }
    let mut workers = Vec::new();
    for i in 1..=3 {
        let url = kind.url(i);
        let mut extra = vec!["-j", "1"];
        extra.extend(flags.iter().map(String::as_str));
        let mut c = broker::worker_command(&url, &dirs[i - 1], &format!("w{i}"), &extra);
        c.env(hunt::hooks::SLOW_FILE_ENV, "100");
        workers.push(net.start(i, &c));
    }
    let url = kind.url(4);
    let search = |needle: Option<&str>| {
        let mut args = vec![
            "search",
            "--json",
            "--strategy",
            kind.name(),
            "--broker",
            &url,
            "--remote-workers",
            "--lease",
            "1",
            "--batch",
            "3",
            "--dir",
            s(&dirs[3]),
        ];
        args.extend(flags.iter().map(String::as_str));
        if let Some(n) = needle {
            args.extend(["--needle", n]);
        }
        inside(net.ns(4), &hunt(&args))
    };

    // A full scan while w1's link is cut for three leases: every file counted once.
    let coord = start(search(Some("Gold")));
    net.pids.borrow_mut().push(coord.pid());
    let deadline = Instant::now() + Duration::from_secs(20);
    let cut = loop {
        // Before the coordinator publishes, a PostgreSQL broker has no queue to show.
        let mut args = vec!["status", "--broker", &url, "--json"];
        args.extend(flags.iter().map(String::as_str));
        let st = run(inside(net.ns(4), &hunt(&args)));
        let held = st.code == Some(0)
            && broker::newest_tasks(&st.json()).iter().any(|t| {
                t["state"] == "Running"
                    && t["worker"].as_str().is_some_and(|w| w.starts_with("w1@"))
            });
        if held {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err(st.stderr);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        cut.is_ok(),
        "w1 never held a task (hunt status said {cut:?})"
    );
    let link = format!("h{}b1", tag(kind.letter()));
    must(&["-n", net.ns(0), "link", "set", &link, "down"]);
    std::thread::sleep(Duration::from_secs(3));
    must(&["-n", net.ns(0), "link", "set", &link, "up"]);
    let r = coord.wait(Duration::from_secs(60));
    r.no_panic();
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(
        j["files_scanned"], 45,
        "no file counted twice or missed: {j}"
    );
    assert!(
        j["tasks"]["retries"].as_u64().unwrap() >= 1,
        "w1's task was taken over: {j}"
    );

    // Healed, w1 serves again; the treasure is found and named by worker and host.
    let r = run(search(None));
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 40, "{j}");
    assert!(j["found_by"].as_str().unwrap().contains('@'), "{j}");

    for w in workers {
        // `ip netns exec` runs hunt in its place, so the signal reaches it.
        kill(w.pid(), libc::SIGTERM);
        let done = w.wait(Duration::from_secs(15));
        done.no_panic();
        assert_eq!(done.code, Some(0), "{done:?}");
    }
    drop(server);
    drop(net);
}
