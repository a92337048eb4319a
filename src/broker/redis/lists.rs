//! What the Python task queues (`--strategy celery`, `celery-reliable`, `rq`) need of
//! Redis, given to them through the broker layer: the private server (the same one the
//! `redis` strategy starts) and a plain connection to the keys and lists over which hunt
//! and the long-lived Python client talk. Celery and RQ keep their own keys on the same
//! server; hunt never reads those.

use super::RedisKind;
use crate::broker::backend::{Backend, PrivateBroker};
use crate::knob::{Kind, Knob};
use anyhow::{Context, Result};
use redis::{Connection, RedisResult};
use std::time::{Duration, Instant};

/// How long a [`Lists`] call rides out a server that cannot be reached (a broker killed
/// and started again by `hunt race --fault kill-broker` is back in about half a
/// second): as long as hunt's coordinator waits for its broker, and as long as the
/// Python client's connection (`python/hunt_tasks/__init__.py`, `PATIENCE_S`).
const PATIENCE: Duration = Duration::from_secs(5);

/// A private server for one hunt.
pub fn private() -> Result<Box<dyn PrivateBroker>> {
    RedisKind::private()
}

/// A private server for a whole race.
pub fn private_for_race() -> Result<Box<dyn PrivateBroker>> {
    RedisKind::private_for_race()
}

/// Why no private server can be started here (its install line), if it cannot.
pub fn missing() -> Option<String> {
    RedisKind::missing()
}

/// `--python-pool URL`: the server where the pools of the Python strategies serve.
pub static PYTHON_POOL: Knob = Knob {
    name: "python-pool",
    value_name: "URL",
    help: "The Redis URL where the pools of the celery, celery-reliable and rq strategies serve: one is started there for each worker count on first use and left serving (hunt race gives its own and stops them at its end) [default: a private server and pool for this hunt]",
    kind: Kind::Text,
};

/// Refuses a `--python-pool` URL of another kind, with the forms it takes.
pub fn check_url(url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    if RedisKind::SCHEMES.iter().any(|s| lower.starts_with(s)) {
        return Ok(());
    }
    anyhow::bail!(
        "--python-pool {} is not a Redis URL: give {}",
        crate::broker::redact(url),
        RedisKind::URL_FORMS
    )
}

/// One connection to the server, for plain keys and lists. A call that finds the
/// connection broken or refused reconnects and tries again for up to [`PATIENCE`].
pub struct Lists {
    url: String,
    conn: Connection,
}

/// Opens a connection whose read timeout outlasts every wait asked of [`Lists::pop`].
fn open(url: &str) -> Result<Connection> {
    let shown = crate::broker::redact(url);
    let client = redis::Client::open(url).with_context(|| format!("bad URL {shown}"))?;
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .with_context(|| format!("cannot connect to {shown}: is the server running?"))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(conn)
}

/// True for an error that waiting mends: no connection, or a restarted server still
/// loading its append-only file (`LOADING`: it listens before it can answer).
fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(e.retry_method(), redis::RetryMethod::WaitAndRetry)
}

impl Lists {
    /// Connects to `url`.
    pub fn connect(url: &str) -> Result<Lists> {
        Ok(Lists {
            url: url.to_string(),
            conn: open(url)?,
        })
    }

    /// Runs `call`, reconnecting and calling again while the server is unreachable, for
    /// up to [`PATIENCE`]. A call lost with the connection is sent again: each is a
    /// read, an overwrite, or a push the race makes before any fault.
    fn patient<T>(&mut self, mut call: impl FnMut(&mut Connection) -> RedisResult<T>) -> Result<T> {
        let since = Instant::now();
        loop {
            match call(&mut self.conn) {
                Ok(v) => return Ok(v),
                Err(e) if unreachable(&e) && since.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(50));
                    if let Ok(conn) = open(&self.url) {
                        self.conn = conn;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The string at `key`.
    pub fn get(&mut self, key: &str) -> Result<Option<String>> {
        self.patient(|c| redis::cmd("GET").arg(key).query(c))
    }

    /// Sets `key` to `value` for `ttl` only if it is unset; true when this call set it.
    pub fn claim(&mut self, key: &str, value: &str, ttl: Duration) -> Result<bool> {
        let set: Option<String> = self.patient(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .query(c)
        })?;
        Ok(set.is_some())
    }

    /// Sets `key` to `value` for `ttl`.
    pub fn set(&mut self, key: &str, value: &str, ttl: Duration) -> Result<()> {
        self.patient(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .query::<()>(c)
        })
    }

    /// Appends `value` to the list `key`.
    pub fn push(&mut self, key: &str, value: &str) -> Result<()> {
        self.patient(|c| redis::cmd("RPUSH").arg(key).arg(value).query::<()>(c))
    }

    /// Takes the first value of the list `key`, waiting up to `wait` (at most 5 s).
    pub fn pop(&mut self, key: &str, wait: Duration) -> Result<Option<String>> {
        let secs = wait.min(Duration::from_secs(5)).as_secs_f64().max(0.001);
        let got: Option<(String, String)> =
            self.patient(|c| redis::cmd("BLPOP").arg(key).arg(secs).query(c))?;
        Ok(got.map(|(_, v)| v))
    }

    /// Sets field `field` of the hash `key`.
    pub fn hset(&mut self, key: &str, field: &str, value: &str) -> Result<()> {
        self.patient(|c| {
            redis::cmd("HSET")
                .arg(key)
                .arg(field)
                .arg(value)
                .query::<()>(c)
        })
    }

    /// Every field of the hash `key`, with its value.
    pub fn hgetall(&mut self, key: &str) -> Result<Vec<(String, String)>> {
        self.patient(|c| redis::cmd("HGETALL").arg(key).query(c))
    }
}
