//! TLS to the brokers, against servers the tests start on loopback with a CA the test
//! makes itself (rcgen): `rediss://` to a `redis-server --tls-port`,
//! `postgres://...?sslmode=verify-full` to a PostgreSQL with `ssl=on` that takes TCP
//! only over TLS (`hostssl`), and `amqps://` to a RabbitMQ node with a TLS listener. A hunt over TLS finds the right file (its local workers
//! handed `--broker-ca`); a server whose certificate another CA signed is refused in
//! one line, exit 2; a plain URL to a TLS-only port fails in one line; a CA file that
//! is missing is named with the fix; the password appears in no output.
#![cfg(any(feature = "redis", feature = "postgres", feature = "rabbitmq"))]

mod adversary;
mod broker;
use adversary::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The brokers' password, looked for in every output.
const PW: &str = "tls-secret-pw-5813";

/// A CA, a server certificate it signed (for 127.0.0.1 and localhost), and a second CA
/// that signed nothing the servers hold.
struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        (p.self_signed(&key).unwrap(), key)
    };
    let (ca_cert, ca_key) = ca("hunt test CA");
    let (other, _) = ca("hunt test CA (another)");
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("hunt-test-tls-")
        .tempdir_in("/tmp")
        .unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        other_ca: write("other-ca.pem", other.pem()),
        cert: write("server.crt", cert.pem()),
        key: write("server.key", key.serialize_pem()),
        dir,
    }
}

/// A run refused cleanly: exit 2, one line on stderr holding `expect`, no password.
fn refused(r: &Run, expect: &str) {
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains(expect), "stderr lacks {expect:?}: {r:?}");
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "not one line: {r:?}"
    );
    no_password(r);
}

fn no_password(r: &Run) {
    r.no_panic();
    assert!(
        !r.stdout.contains(PW) && !r.stderr.contains(PW),
        "the password shows: {r:?}"
    );
}

/// The checks every TLS backend passes: `url` is the TLS URL (with [`PW`]), `plain` a
/// plain URL to the same TLS-only port, `plain_says` what its refusal names.
fn every_check(strategy: &str, url: &str, plain: &str, plain_says: &str, p: &Pki) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = broker::set(tmp.path(), "set", 40, 3, 23, 31);
    let ca = s(&p.ca);
    let found = search(
        &dir,
        &[
            "--strategy",
            strategy,
            "-j",
            "2",
            "--batch",
            "4",
            "--broker",
            url,
            "--broker-ca",
            ca,
        ],
    );
    assert_eq!(found.code, Some(0), "{found:?}");
    assert_eq!(found.json()["index"], 31, "the right file over TLS");
    no_password(&found);

    let status = run(hunt(&["status", "--broker", url, "--broker-ca", ca]));
    assert_eq!(status.code, Some(0), "{status:?}");
    no_password(&status);

    let flags = |ca: &str| {
        vec!["--strategy", strategy, "--broker", url, "--broker-ca", ca]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let with = |f: &[String]| search(&dir, &f.iter().map(String::as_str).collect::<Vec<_>>());
    refused(&with(&flags(s(&p.other_ca))), "not one the CA vouches for");
    refused(
        &with(&["--strategy", strategy, "--broker", url].map(String::from)),
        "not one the CA vouches for",
    );
    refused(
        &search(
            &dir,
            &["--strategy", strategy, "--broker", plain, "--broker-ca", ca],
        ),
        plain_says,
    );
    let missing = p.dir.path().join("missing.pem");
    refused(&with(&flags(s(&missing))), "cannot read it");
    refused(
        &run(hunt(&[
            "worker",
            "--broker",
            url,
            "--broker-ca",
            s(&missing),
            "--dir",
            s(&dir),
        ])),
        "--broker-ca",
    );
    refused(
        &run(hunt(&[
            "status",
            "--broker",
            url,
            "--broker-ca",
            s(&p.other_ca),
        ])),
        "not one the CA vouches for",
    );
    // A race hands the CA to each of its runs.
    let race = run(hunt(&quick_race(&dir, strategy, url, ca)));
    assert_eq!(race.code, Some(0), "{race:?}");
    no_password(&race);

    // The race says its seed and notes first; the refusal is its last line.
    let race = run(hunt(&quick_race(&dir, strategy, url, s(&missing))));
    assert_eq!(race.code, Some(2), "{race:?}");
    let last = race.stderr.trim_end().lines().last().unwrap_or("");
    assert!(
        last.contains("--broker-ca") && last.contains("cannot read it"),
        "{race:?}"
    );
    no_password(&race);
}

fn quick_race<'a>(dir: &'a Path, strategy: &'a str, url: &'a str, ca: &'a str) -> Vec<&'a str> {
    vec![
        "race",
        "--dir",
        s(dir),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--strategies",
        strategy,
        "--broker",
        url,
        "--broker-ca",
        ca,
    ]
}

fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(feature = "redis")]
#[test]
fn redis_over_tls() {
    if !have("redis-server") {
        return;
    }
    let p = pki();
    let port = broker::free_port();
    let mut child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(&p.cert)
        .arg("--tls-key-file")
        .arg(&p.key)
        .arg("--tls-ca-cert-file")
        .arg(&p.ca)
        .args(["--requirepass", PW])
        .arg("--dir")
        .arg(p.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    wait_listening(port, "redis-server --tls-port");
    let url = format!("rediss://:{PW}@127.0.0.1:{port}");
    let plain = format!("redis://:{PW}@127.0.0.1:{port}");
    every_check("redis", &url, &plain, "the broker at redis://:***@", &p);
    let _ = child.kill();
    let _ = child.wait();
}

/// A PostgreSQL server with `ssl=on`, TCP over TLS only, stopped when dropped.
#[cfg(feature = "postgres")]
struct TlsPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

#[cfg(feature = "postgres")]
impl TlsPostgres {
    fn start(p: &Pki) -> TlsPostgres {
        let dir = tempfile::Builder::new()
            .prefix("hunt-test-pgtls-")
            .tempdir_in("/tmp")
            .unwrap();
        owned(dir.path());
        let data = dir.path().join("data");
        let mut c = pg("initdb");
        c.arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "hunt", "-N", "--locale=C"]);
        ok(&mut c, "initdb");
        for (from, to) in [(&p.cert, "server.crt"), (&p.key, "server.key")] {
            std::fs::copy(from, data.join(to)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        owned(&data);
        let port = broker::free_port();
        let mut c = pg("pg_ctl");
        c.arg("-D").arg(&data).arg("-l").arg(dir.path().join("log"));
        c.args(["-w", "-t", "30", "-o"]).arg(format!(
            "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key",
            dir.path().display()
        ));
        ok(c.arg("start"), "pg_ctl start");
        let server = TlsPostgres { dir, port };
        let mut conn = postgres::Config::new();
        conn.host_path(server.dir.path())
            .port(port)
            .user("hunt")
            .dbname("postgres");
        conn.connect(postgres::NoTls)
            .unwrap()
            .batch_execute(&format!(
                "SET password_encryption = 'scram-sha-256'; ALTER USER hunt PASSWORD '{PW}'"
            ))
            .unwrap();
        server
    }
}

#[cfg(feature = "postgres")]
impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let mut c = pg("pg_ctl");
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.stdin(Stdio::null()).output();
    }
}

/// A PostgreSQL program, as the `postgres` account when root (PostgreSQL refuses root).
#[cfg(feature = "postgres")]
fn pg(name: &str) -> Command {
    let exe = broker::postgres::programs().unwrap().join(name);
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// Gives `path` (and what is in it) to the `postgres` account when root.
#[cfg(feature = "postgres")]
fn owned(path: &Path) {
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("chown");
        c.args(["-R", "postgres:postgres"]).arg(path);
        ok(&mut c, "chown");
    }
}

#[cfg(feature = "postgres")]
fn ok(c: &mut Command, what: &str) {
    let out = c.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_over_tls() {
    if broker::postgres::programs().is_none() {
        eprintln!(
            "skipped: PostgreSQL is not installed (scripts/install-test-deps.sh installs it)"
        );
        return;
    }
    let p = pki();
    let server = TlsPostgres::start(&p);
    let at = format!("hunt:{PW}@127.0.0.1:{}/postgres", server.port);
    let url = format!("postgres://{at}?sslmode=verify-full");
    let plain = format!("postgres://{at}");
    every_check("postgres", &url, &plain, "add ?sslmode=verify-full", &p);
    // verify-ca takes a certificate for another name, if the CA signed it.
    let other_name = format!(
        "postgres://hunt:{PW}@localhost:{}/postgres?sslmode=verify-ca",
        server.port
    );
    let r = run(hunt(&[
        "status",
        "--broker",
        &other_name,
        "--broker-ca",
        s(&p.ca),
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    no_password(&r);
}

#[cfg(feature = "rabbitmq")]
#[test]
fn rabbitmq_over_tls() {
    if broker::rabbitmq::programs().is_none() {
        eprintln!("skipped: RabbitMQ is not installed (scripts/install-test-deps.sh installs it)");
        return;
    }
    let p = pki();
    let tls_port = broker::free_port();
    // A TLS listener beside the plain one (which only rabbitmqctl's checks and the
    // node's start use); the server's certificate and key are the test's.
    let node = broker::rabbitmq::Node::launch(&format!(
        "listeners.ssl.default = {tls_port}\n\
         ssl_options.cacertfile = {}\n\
         ssl_options.certfile = {}\n\
         ssl_options.keyfile = {}\n\
         ssl_options.verify = verify_none\n\
         ssl_options.fail_if_no_peer_cert = false\n",
        p.ca.display(),
        p.cert.display(),
        p.key.display()
    ));
    wait_listening(tls_port, "RabbitMQ's TLS listener");
    node.ctl(&["add_user", "hunt", PW]);
    node.ctl(&["set_permissions", "-p", "/", "hunt", ".*", ".*", ".*"]);
    let url = format!("amqps://hunt:{PW}@localhost:{tls_port}/%2f");
    let plain = format!("amqp://hunt:{PW}@localhost:{tls_port}/%2f");
    every_check("rabbitmq", &url, &plain, "amqps://", &p);
}
