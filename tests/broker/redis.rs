//! Redis as the tests drive it: a real `redis-server` each test starts on a free
//! loopback port (killed and its folder removed when dropped; killed and started again
//! on the same port, with or without its append-only file), and its keys read where
//! `hunt status` does not show them.

use super::{free_port, Backend, Server};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Redis backend.
#[derive(Default)]
pub struct RedisBackend;

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn here(&self) -> bool {
        super::have("redis-server")
    }

    fn start(&self) -> Box<dyn Server> {
        Box::new(Redis::start())
    }

    fn start_with_password(&self, password: &str) -> Result<Box<dyn Server>, &'static str> {
        Ok(Box::new(Redis::start_with(Some(password), false)))
    }

    fn bad_urls(&self, locked: Option<&dyn Server>) -> Vec<(String, &'static str)> {
        let locked = locked.expect("Redis has passwords");
        let port = locked.named();
        let port = port.rsplit(':').next().unwrap();
        vec![
            (
                "redis://127.0.0.1:notaport".to_string(),
                "is not a Redis URL",
            ),
            (
                format!("redis://127.0.0.1:{}", free_port()),
                "cannot reach the broker",
            ),
            (
                format!("redis://:wrong-pw@127.0.0.1:{port}"),
                "refused the password",
            ),
            (format!("redis://127.0.0.1:{port}"), "needs a password"),
            (
                format!("redis://127.0.0.1:{}", not_redis()),
                "does not speak Redis",
            ),
        ]
    }

    fn other_url(&self) -> &'static str {
        "sqlite:/tmp/x.db"
    }

    fn slow_poll(&self) -> Result<Vec<&'static str>, &'static str> {
        Err("Redis pushes stop signals and events (blocking reads): it has no poll to slow")
    }

    fn lost_mid_hunt(&self) -> Result<(), &'static str> {
        Ok(()) // `kill -9`: every connection to it breaks
    }
}

/// A TCP server that answers anything with an HTTP error: not Redis.
fn not_redis() -> u16 {
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

/// A `redis-server` of the test's own.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    pub password: Option<String>,
    pub dir: tempfile::TempDir,
    persistent: bool,
}

impl Redis {
    /// A server on a free loopback port, no persistence.
    pub fn start() -> Redis {
        Redis::start_with(None, false)
    }

    /// A server with `password` (`requirepass`) and, with `persistent`, an append-only
    /// file synced every second.
    pub fn start_with(password: Option<&str>, persistent: bool) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            password: password.map(String::from),
            dir: tempfile::tempdir().expect("tempdir"),
            persistent,
        };
        r.launch();
        r
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", ""])
            .args([
                "--appendonly",
                if self.persistent { "yes" } else { "no" },
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = &self.password {
            cmd.args(["--requirepass", pw]);
        }
        self.child = Some(cmd.spawn().expect("redis-server starts"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server never listened");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://[:PASSWORD@]127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// A connection, for looking at the keys.
    pub fn conn(&self) -> ::redis::Connection {
        ::redis::Client::open(self.url())
            .expect("url")
            .get_connection()
            .expect("connect")
    }

    /// `kill -9` the server.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (with its append-only file, if persistent).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// The members of the sorted set `key`.
    pub fn zrange(&self, key: &str) -> Vec<String> {
        ::redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(&mut self.conn())
            .expect("ZRANGE")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server for Redis {
    fn url(&self) -> String {
        Redis::url(self)
    }

    fn named(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn go_away(&mut self) {
        self.kill();
    }

    fn come_back(&mut self) {
        self.restart();
    }

    fn events(&self) -> Result<Vec<Value>, &'static str> {
        Err("Redis hands each event to the coordinator (a list it pops), so none is left to read afterwards")
    }

    fn add_garbage(&self, hunt: &str) -> usize {
        let mut conn = self.conn();
        // The queue is a list of task numbers: one past the hunt's tasks, one that is
        // not a number, and a path.
        let entries = ["999999", "1x", "../../etc/passwd"];
        let _: usize = ::redis::cmd("RPUSH")
            .arg(format!("hunt:{hunt}:ready"))
            .arg(&entries)
            .query(&mut conn)
            .expect("RPUSH");
        entries.len()
    }

    fn hunt_ids(&self) -> Vec<String> {
        self.zrange("hunt:index")
    }

    fn active(&self) -> Vec<String> {
        self.zrange("hunt:active")
    }

    fn records(&self, hunt: &str) -> Vec<String> {
        ::redis::cmd("KEYS")
            .arg(format!("hunt:{hunt}:*"))
            .query(&mut self.conn())
            .expect("KEYS")
    }

    fn expiries(&self, hunt: &str) -> Vec<(String, i64)> {
        let mut conn = self.conn();
        self.records(hunt)
            .into_iter()
            .map(|key| {
                let ttl: i64 = ::redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
                (key, ttl)
            })
            .collect()
    }
}
