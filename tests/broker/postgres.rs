//! PostgreSQL as the tests drive it: a real server of the test's own on a free loopback
//! port, its cluster copied from one `initdb` per test binary (initdb takes seconds
//! here, a copy a fraction of one), with or without a password (scram-sha-256 over
//! TCP); stopped at once (`pg_ctl stop -m immediate`, as a crash) and started again on
//! the same port with its data kept; its rows read with the `postgres` crate where `hunt
//! status` does not show them. PostgreSQL refuses root: as root, its programs run as
//! the `postgres` account (`runuser -u postgres --`).

use super::{free_port, Backend, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The PostgreSQL backend.
#[derive(Default)]
pub struct PostgresBackend;

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn here(&self) -> bool {
        if programs().is_some() {
            return true;
        }
        if std::env::var("HUNT_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
            panic!("PostgreSQL's initdb and pg_ctl are not installed, and HUNT_REQUIRE_SERVERS=1: run scripts/install-test-deps.sh");
        }
        eprintln!(
            "skipped: PostgreSQL is not installed (scripts/install-test-deps.sh installs it)"
        );
        false
    }

    fn start(&self) -> Box<dyn Server> {
        Box::new(Postgres::start(None))
    }

    fn start_with_password(&self, password: &str) -> Result<Box<dyn Server>, &'static str> {
        Ok(Box::new(Postgres::start(Some(password))))
    }

    fn bad_urls(&self, locked: Option<&dyn Server>) -> Vec<(String, &'static str)> {
        let locked = locked.expect("PostgreSQL has passwords");
        let at = locked.named();
        vec![
            (
                "postgres://hunt@127.0.0.1:notaport/postgres".to_string(),
                "is not a PostgreSQL URL",
            ),
            (
                format!("postgres://hunt@127.0.0.1:{}/postgres", free_port()),
                "cannot reach the broker",
            ),
            (
                format!("postgres://hunt:wrong-pw@{at}/postgres"),
                "refused the password",
            ),
            (format!("postgres://hunt@{at}/postgres"), "needs a password"),
            (
                format!("postgresql://hunt@127.0.0.1:{}/postgres", not_postgres()),
                "does not speak PostgreSQL",
            ),
        ]
    }

    fn other_url(&self) -> &'static str {
        "redis://127.0.0.1:1"
    }

    fn slow_poll(&self) -> Result<Vec<&'static str>, &'static str> {
        Err("PostgreSQL wakes idle workers and the coordinator with LISTEN/NOTIFY: it has no poll to slow")
    }

    fn lost_mid_hunt(&self) -> Result<(), &'static str> {
        Ok(()) // stopped at once: every connection to it breaks
    }
}

/// A TCP server that answers anything with an HTTP error: not PostgreSQL.
fn not_postgres() -> u16 {
    use std::io::{Read, Write};
    use std::time::Duration;
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

/// The folder of `initdb` and `pg_ctl`: the newest under `/usr/lib/postgresql`, else
/// on `PATH`.
pub fn programs() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            has(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has(d))
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// One of the server's programs, as the `postgres` account when root.
fn program(name: &str) -> Command {
    let exe = programs().expect("PostgreSQL is installed").join(name);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn run_ok(mut c: Command, what: &str) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A folder under /tmp the server's account may enter.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("hunt-test-postgres-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    if is_root() {
        run_ok(
            {
                let mut c = Command::new("chown");
                c.arg("postgres:postgres").arg(dir.path());
                c
            },
            "chown",
        );
    }
    dir
}

/// One `initdb` per test binary: the cluster every test's server copies.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = folder();
            let mut c = program("initdb");
            c.arg("-D").arg(dir.path().join("data")).args([
                "-A",
                "trust",
                "-U",
                "hunt",
                "-N",
                "-E",
                "UTF8",
                "--locale=C",
            ]);
            run_ok(c, "initdb");
            // A static is never dropped: remove the template when the binary exits.
            extern "C" fn remove_template() {
                if let Some(t) = TEMPLATE.get() {
                    let _ = std::fs::remove_dir_all(t.path());
                }
            }
            // SAFETY: registers a plain function, called once at exit.
            unsafe { libc::atexit(remove_template) };
            dir
        })
        .path()
}

/// A server of the test's own.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    pub password: Option<String>,
    /// Commits wait for their WAL to reach the kernel (`synchronous_commit=on`), so a
    /// crash of the server loses no committed report.
    durable: bool,
}

impl Postgres {
    /// A server on a free loopback port; with `password`, TCP connections need it
    /// (scram-sha-256), while the test's own connections use the Unix socket.
    pub fn start(password: Option<&str>) -> Postgres {
        Postgres::start_with(password, false)
    }

    /// A server whose commits survive its crash ([`Postgres::kill`]); `fsync` stays off,
    /// which only a crash of the machine would show.
    pub fn start_durable() -> Postgres {
        Postgres::start_with(None, true)
    }

    fn start_with(password: Option<&str>, durable: bool) -> Postgres {
        let dir = folder();
        let mut cp = Command::new("cp");
        cp.arg("-a")
            .arg(template().join("data"))
            .arg(dir.path().join("data"));
        run_ok(cp, "copying the template cluster");
        if password.is_some() {
            let hba = dir.path().join("data/pg_hba.conf");
            std::fs::write(
                &hba,
                "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
            )
            .expect("pg_hba.conf");
        }
        let p = Postgres {
            dir,
            port: free_port(),
            password: password.map(String::from),
            durable,
        };
        p.launch();
        if let Some(pw) = password {
            p.conn()
                .batch_execute(&format!(
                    "SET password_encryption = 'scram-sha-256'; ALTER USER hunt PASSWORD '{pw}'"
                ))
                .expect("setting the password");
        }
        p
    }

    fn launch(&self) {
        let mut c = program("pg_ctl");
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "-o"])
            .arg(format!(
                "-k {} -p {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit={} -c full_page_writes=off",
                self.dir.path().display(),
                self.port,
                if self.durable { "on" } else { "off" }
            ))
            .arg("start");
        run_ok(c, "pg_ctl start");
    }

    /// Starts it again on the same port, with its data.
    pub fn restart(&self) {
        self.kill();
        self.launch();
    }

    /// Stops it at once, as a crash would (its data stays).
    pub fn kill(&self) {
        let mut c = program("pg_ctl");
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.stdin(Stdio::null()).output();
    }

    /// A connection over the Unix socket (trusted: no password).
    pub fn conn(&self) -> postgres::Client {
        let mut c = postgres::Config::new();
        c.host_path(self.dir.path())
            .port(self.port)
            .user("hunt")
            .dbname("postgres");
        c.connect(postgres::NoTls).expect("a test connection")
    }

    /// The first column of every row of `sql` as text; none before the queue is made.
    fn texts(&self, sql: &str, hunt: &str) -> Vec<String> {
        let mut c = self.conn();
        let made: bool = c
            .query_one("SELECT to_regclass('hunt.meta') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        if !made {
            return Vec::new();
        }
        let rows = if sql.contains("$1") {
            c.query(sql, &[&hunt])
        } else {
            c.query(sql, &[])
        };
        rows.expect("a query")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server for Postgres {
    fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("postgres://hunt:{pw}@127.0.0.1:{}/postgres", self.port),
            None => format!("postgres://hunt@127.0.0.1:{}/postgres", self.port),
        }
    }

    fn named(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn go_away(&mut self) {
        self.kill();
    }

    fn come_back(&mut self) {
        self.launch();
    }

    fn events(&self) -> Result<Vec<Value>, &'static str> {
        Ok(self
            .texts(
                "SELECT body FROM hunt.event WHERE hunt = (SELECT id FROM hunt.hunt ORDER BY created DESC, id DESC LIMIT 1) ORDER BY seq",
                "",
            )
            .iter()
            // A row holds one event, or a task's events in order as an array.
            .flat_map(|b| match serde_json::from_str(b).expect("an event is JSON") {
                Value::Array(events) => events,
                one => vec![one],
            })
            .collect())
    }

    /// Rows with negative ids: a claim takes the lowest id first, so a worker meets
    /// them before any real task left.
    fn add_garbage(&self, hunt: &str) -> usize {
        let rows: [(i64, i64, i64); 3] = [(-3, 0, 2), (-2, 0, 1_000_000_000), (-1, 7, 3)];
        let mut c = self.conn();
        for (id, from, to) in rows {
            c.execute(
                "INSERT INTO hunt.task (hunt, id, pos_from, pos_to) VALUES ($1, $2, $3, $4)",
                &[&hunt, &id, &from, &to],
            )
            .expect("INSERT");
        }
        rows.len()
    }

    fn hunt_ids(&self) -> Vec<String> {
        self.texts("SELECT id FROM hunt.hunt ORDER BY created", "")
    }

    fn active(&self) -> Vec<String> {
        self.texts("SELECT id FROM hunt.hunt WHERE expires IS NULL", "")
    }

    fn records(&self, hunt: &str) -> Vec<String> {
        self.texts(
            "SELECT 'hunt ' || id FROM hunt.hunt WHERE id = $1
             UNION ALL SELECT 'task ' || id FROM hunt.task WHERE hunt = $1
             UNION ALL SELECT 'event ' || seq FROM hunt.event WHERE hunt = $1
             UNION ALL SELECT 'refusal ' || worker FROM hunt.refusal WHERE hunt = $1
             UNION ALL SELECT 'answer' FROM hunt.answer WHERE hunt = $1",
            hunt,
        )
    }

    /// The hunt's row: its other rows are deleted with it (`ON DELETE CASCADE`).
    fn expiries(&self, hunt: &str) -> Vec<(String, i64)> {
        self.texts(
            "SELECT coalesce((extract(epoch FROM expires - now()) * 1000)::bigint, -1)::text FROM hunt.hunt WHERE id = $1",
            hunt,
        )
        .iter()
        .map(|e| ("hunt row".to_string(), e.parse().expect("a number")))
        .collect()
    }
}
