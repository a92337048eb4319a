//! The Redis backend of [`crate::broker::Broker`]: one list of task numbers per hunt as
//! the queue and a sorted set of lease deadlines, Lua (one Redis function library,
//! `library.rs`) for every step that must be atomic, checked against Debian's Redis 7.0.
//! Until spec format 2 (2026-12-06) the queue was a stream with a consumer group;
//! reading the next entry walked the stream's node (about 60,000 of the server's
//! instructions a task), and a worker of this build refuses a hunt of that format
//! ([`crate::broker::Broker::refuses`]).
//!
//! # Keys of hunt `ID` (prefix `hunt:ID`)
//! | key | type | holds |
//! |---|---|---|
//! | `:spec` | string | the [`crate::broker::HuntSpec`], JSON |
//! | `:state` | hash | `tasks`, `stop`, `status`, `batch`, `files`, `max_attempts`, `scan_at` |
//! | `:ready` | list | the numbers of the tasks to run (NotStarted), popped from the left |
//! | `:leases` | zset | consumer -> its lease's deadline (ms, the server's clock): a consumer holds one task at a time; and `-` at +inf, for good |
//! | `:table` | hash | task -> its row (state, token, attempts, worker, note), JSON; and `c:CONSUMER` -> the token of its last take (`TASK-TAKE`) |
//! | `:events` | list | the [`crate::broker::Event`]s, JSON, in order; the coordinator pops them |
//! | `:answer` | string | the committed answer, set once (`SET NX`) |
//! | `:dead` | stream | the dead letter: tasks given up, entries refused |
//! | `:refused` | hash | worker -> why it refused the hunt |
//!
//! Shared: `hunt:active` (zset: hunt -> alive until, by the server's clock),
//! `hunt:index` (zset: hunt -> created), `hunt:control` (stream, capped at ~1000:
//! `new` and `stop` announcements, so idle and busy workers hear at once),
//! `hunt:workers` (hash: name -> [`crate::broker::WorkerInfo`]) and `hunt:workers:seen` (zset).
//!
//! # States
//! A task in `:ready` is NotStarted; with a Running row, Running, under the lease of the
//! consumer whose `c:` field names its token; its row says Completed or Failed once
//! settled (a Failed task also has an entry in `:dead`). A take pops the list (or takes
//! over a task whose consumer's lease is past its deadline, found in O(log n)), writes
//! the Running row with a token new to that take and the consumer's field in one
//! `HSET`, and moves the consumer's one lease with one `ZADD`; a worker restarted under
//! its name gets its task back at once. Every report, renewal and hand-back is fenced
//! by the row: it counts only while the row is still the Running row of its token. A
//! hunt is over when no task is queued or leased; the answer is committed with `SET
//! NX`, all in one function call.
//!
//! # Expiry
//! Every key of a hunt lives as long as its `:spec`: a minute, renewed by the
//! coordinator every second ([`crate::broker::Broker::keep_alive`]); a finished hunt's keys
//! expire after the coordinator's keep time. A coordinator that dies leaves nothing
//! behind after a minute.
//!
//! # Connections
//! The sync API of the `redis` crate, one connection per thread. The read timeout is
//! longer than any blocking read's wait (`BLPOP`, `XREAD ... BLOCK`), so no reply to
//! one is dropped with the event it popped. A connection that fails is dropped and made again on the next call.
//! A `rediss://` URL is TLS (the crate's `tls-rustls`), checked against `--broker-ca`
//! ([`super::tls::ca`]) or the system's roots.

use super::backend::{Backend, PrivateBroker};
mod server;
use server::PrivateRedis;
use super::{
    Answer, Broker, Done, Event, HuntSpec, HuntState, HuntStatus, Me, Take, Verdict, WorkerInfo,
};
use crate::tasks::{Finished, Lease, Task, TaskRow, TaskState};
use anyhow::{anyhow, bail, Context, Result};
use library::{library, Library};
use redis::Connection;
use std::time::Duration;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one reply may take; longer than any `BLOCK` below.
const REPLY_TIMEOUT: Duration = Duration::from_secs(4);
use super::contract::ALIVE_MS;

/// The Redis backend, as the backends table knows it.
pub struct RedisKind;

impl Backend for RedisKind {
    const NAME: &'static str = "redis";
    const SCHEMES: &'static [&'static str] = &["redis://", "rediss://", "redis+unix://", "unix://"];
    const URL_FORMS: &'static str =
        "redis://[:PASSWORD@]HOST:PORT[/DB], rediss://... (TLS), redis+unix:///PATH";

    fn connect(url: &str) -> Result<Box<dyn Broker>> {
        Redis::connect(url)
    }

    fn private() -> Result<Box<dyn PrivateBroker>> {
        Ok(Box::new(PrivateRedis::start()?))
    }

    fn missing() -> Option<String> {
        (!server::installed()).then(|| server::INSTALL_HINT.to_string())
    }
}

impl PrivateBroker for PrivateRedis {
    fn url(&self) -> &str {
        PrivateRedis::url(self)
    }

    fn kill_and_restart(&mut self) -> Option<Result<()>> {
        Some(PrivateRedis::kill_and_restart(self))
    }

    fn no_server(&self) -> Option<&'static str> {
        None
    }
}

/// One connection to a Redis broker.
pub struct Redis {
    url: String,
    client: redis::Client,
    conn: Option<Connection>,
    /// The last `hunt:control` entry this connection has seen.
    control: Option<String>,
    /// The shape of the hunt this connection last took from: a hunt's spec never
    /// changes, so a take reads it once, not once per task.
    shape: Option<(String, broker::Shape)>,
    /// Calls sent ahead of their replies ([`Broker::send_finish_and_take`]), oldest
    /// first, each with its reply once read off the wire. Replies come in the order
    /// the calls went out, so every other call reads the wire up to date first
    /// ([`Redis::call_raw`]) and leaves those replies here for [`Broker::receive`].
    sent: std::collections::VecDeque<calls::Sent>,
}

impl Redis {
    /// Connects to `url` and checks that a Redis 7 server answers there.
    pub fn connect(url: &str) -> Result<Box<dyn Broker>> {
        let client = tls_client(url).map_err(|e| {
            anyhow!(
                "--broker {} is not a Redis URL hunt can use ({}): write redis://[:PASSWORD@]HOST:PORT[/DB], rediss://... for TLS, or redis+unix:///PATH",
                super::redact(url),
                scrub(&e.to_string(), url)
            )
        })?;
        let mut r = Redis {
            url: url.to_string(),
            client,
            conn: None,
            control: None,
            shape: None,
            sent: std::collections::VecDeque::new(),
        };
        // INFO changes nothing, so a call cut short by a signal is simply made again.
        let info: String =
            again_if_interrupted(|| r.call_raw(|c| redis::cmd("INFO").arg("server").query(c)))
                .map_err(|e| explain(&e, url))?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("")
            .trim()
            .to_string();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < 7 {
            bail!(
                "the broker at {} runs Redis {version:?}, and hunt needs Redis 7.0 or newer (for its functions and LMPOP): upgrade it",
                r.describe()
            );
        }
        Ok(Box::new(r))
    }

    /// The connection, made now if there is none. A connect cut short (`EINTR`, which
    /// the `redis` crate passes on) is tried again. A timed `connect` returns `EINTR`,
    /// not a transparent restart, whenever the thread has a signal pending: one of
    /// hunt's own handlers (installed without `SA_RESTART`, see `crate::interrupt`), or,
    /// most likely in the one case seen (the stress test, many strategies in one
    /// process), io_uring's task-work notification on a thread that has used a ring.
    fn conn(&mut self) -> redis::RedisResult<&mut Connection> {
        if self.conn.is_none() {
            let c =
                again_if_interrupted(|| self.client.get_connection_with_timeout(CONNECT_TIMEOUT))?;
            c.set_read_timeout(Some(REPLY_TIMEOUT))?;
            c.set_write_timeout(Some(REPLY_TIMEOUT))?;
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("made just above"))
    }

    /// Runs `f` on the connection; a failed connection is dropped (the next call makes
    /// a new one), and the error names the broker.
    fn call<T>(&mut self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        self.call_raw(f).map_err(|e| explain(&e, &self.url))
    }

    /// [`Redis::call`] with the `redis` crate's own error.
    fn call_raw<T>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        self.read_wire()?;
        let result = f(self.conn()?);
        if let Err(e) = &result {
            self.dropped_if_broken(e);
        }
        result
    }

    /// Forgets a connection that failed (the next call makes a new one), and with it
    /// every call sent on it and not yet received: their replies are lost.
    fn dropped_if_broken(&mut self, e: &redis::RedisError) {
        if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
            self.conn = None;
            self.sent.clear();
        }
    }

    /// Calls one of the library's functions (`FCALL`), loading the library first where
    /// the server does not have it yet.
    fn run(&mut self, which: fn(&Library) -> &String, args: &[String]) -> Result<String> {
        let lib = library();
        let function = which(lib);
        let fcall = |c: &mut Connection| {
            let mut cmd = redis::cmd("FCALL");
            cmd.arg(function).arg(0).arg(args);
            cmd.query::<String>(c)
        };
        match self.call_raw(fcall) {
            Err(e) if missing_function(&e) => {}
            other => return other.map_err(|e| explain(&e, &self.url)),
        }
        let loaded = self.call_raw(|c| {
            redis::cmd("FUNCTION")
                .arg("LOAD")
                .arg(&lib.code)
                .query::<String>(c)
        });
        match loaded {
            // Another connection loaded it first: the same text, by its name.
            Err(e) if e.to_string().contains("already exists") => {}
            other => {
                other.map_err(|e| explain(&e, &self.url))?;
            }
        }
        self.call(fcall)
    }
}

/// Whether the server lacks the function called: the library is not loaded there.
fn missing_function(e: &redis::RedisError) -> bool {
    e.to_string().contains("Function not found")
}

/// The client of `url`: a `rediss://` URL verifies the server against `--broker-ca`
/// ([`super::tls::ca`]) where one was given, else against the system's roots (the
/// `redis` crate's `tls-rustls`, which reads them with `rustls-native-certs`).
fn tls_client(url: &str) -> redis::RedisResult<redis::Client> {
    // The `redis` crate builds its TLS configuration with the process's default
    // provider: ring, set once (a later call finds it set and changes nothing).
    // ring, not aws-lc-rs, so no C toolchain beyond cc is needed to build hunt (rustls
    // 0.23.48 marks ring's provider deprecated for lacking post-quantum key exchange).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    match super::tls::ca() {
        Some(ca) if url.get(..9).is_some_and(|s| s.eq_ignore_ascii_case("rediss://")) => {
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.pem.clone()),
                },
            )
        }
        _ => redis::Client::open(url),
    }
}

/// How many times a connect, or the first `INFO`, is made when a signal cuts it short.
const EINTR_ATTEMPTS: u32 = 5;

/// `f`, made again (up to [`EINTR_ATTEMPTS`] times in all) while a signal cuts it short.
fn again_if_interrupted<T>(mut f: impl FnMut() -> redis::RedisResult<T>) -> redis::RedisResult<T> {
    let mut attempts = 1;
    loop {
        match f() {
            Err(e) if interrupted(&e) && attempts < EINTR_ATTEMPTS => attempts += 1,
            other => return other,
        }
    }
}

/// True when `e` is a system call cut short by a signal (`EINTR`).
fn interrupted(e: &redis::RedisError) -> bool {
    let Some(source) = std::error::Error::source(e) else {
        return false;
    };
    // The crate keeps an `io::Error` behind an `Arc<dyn Error>`.
    let io = source.downcast_ref::<std::io::Error>().or_else(|| {
        source
            .downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
    });
    io.is_some_and(|io| io.kind() == std::io::ErrorKind::Interrupted)
}

/// `hunt:ID`.
fn prefix(hunt: &str) -> String {
    format!("hunt:{hunt}")
}

/// An error of the `redis` crate as one line naming the broker and the fix, never its
/// password.
fn explain(e: &redis::RedisError, url: &str) -> anyhow::Error {
    let at = super::redact(url);
    // One line: the crate's parse errors span several.
    let said = scrub(&e.to_string(), url)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let code = e.code().unwrap_or("");
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || code == "WRONGPASS"
        || said.contains("WRONGPASS")
        || said.contains("invalid password")
    {
        return anyhow!("the broker at {at} refused the password: give the right one in --broker (redis://:PASSWORD@HOST:PORT)");
    }
    if code == "NOPERM" && (said.contains("function") || said.contains("fcall")) {
        return anyhow!("the broker at {at} does not let this user run hunt's Lua functions ({said}): allow FUNCTION LOAD and FCALL in its ACL (+function|load +fcall)");
    }
    if code == "NOAUTH" || said.contains("NOAUTH") {
        return anyhow!("the broker at {at} needs a password: give it in --broker (redis://:PASSWORD@HOST:PORT)");
    }
    if let Some(why) = tls_failure(&said, url) {
        return anyhow!("{why} (the broker at {at}: {said})");
    }
    if e.is_timeout() {
        return anyhow!("the broker at {at} did not answer within {} s: is it overloaded, or cut off? check --broker", REPLY_TIMEOUT.as_secs());
    }
    if e.kind() == redis::ErrorKind::Parse || said.contains("parse") || said.contains("Parse") {
        return anyhow!("the server at {at} does not speak Redis ({said}): is --broker the address of a Redis server?");
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        let tls_hint = if at.starts_with("redis://") { " (rediss:// for a TLS port)" } else { "" };
        return anyhow!("cannot reach the broker at {at} ({said}): is redis-server running there? start it, or fix --broker{tls_hint}");
    }
    anyhow!("the broker at {at} failed: {said}")
}

/// What a failed TLS connection means, with the fix, if `said` is one.
fn tls_failure(said: &str, url: &str) -> Option<&'static str> {
    let tls = url.get(..9).is_some_and(|s| s.eq_ignore_ascii_case("rediss://"));
    if said.contains("invalid peer certificate") {
        return Some("the broker's certificate is not one the CA vouches for, so hunt refused it: give the CA that signed it with --broker-ca FILE, and a HOST its certificate names");
    }
    if tls && (said.contains("corrupt message") || said.contains("InvalidContentType") || said.contains("HandshakeFailure") || said.contains("peer is incompatible")) {
        return Some("the broker did not complete a TLS handshake: is its port a TLS port (redis-server --tls-port)? use redis:// for a plain one");
    }
    None
}

/// `text` with the password of `url`, if any, replaced.
fn scrub(text: &str, url: &str) -> String {
    let shown = super::redact(url);
    let mut out = text.replace(url, &shown);
    if let Some(pw) = password(url) {
        if !pw.is_empty() {
            out = out.replace(pw, "***");
        }
    }
    out
}

fn password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(userinfo.split_once(':').map_or(userinfo, |(_, p)| p))
}

/// The reply of the take script.
#[derive(serde::Deserialize)]
struct Taken {
    kind: String,
    entry: Option<String>,
    task: Option<u64>,
    attempt: Option<u32>,
}

/// What a take's JSON reply (`take.lua`'s table) says, the task's files following from
/// its number and the hunt's `shape`; `None` for `again`: an entry was used up, take
/// again at once.
fn taken(reply: &str, shape: &broker::Shape) -> Result<Option<Take>> {
    let t: Taken = serde_json::from_str(reply)
        .with_context(|| format!("the broker's take script said {reply:?}"))?;
    Ok(Some(match (t.kind.as_str(), t.task, t.attempt, t.entry) {
        ("task", Some(id), Some(attempt), Some(token)) => Take::Task(Lease {
            task: Task {
                id,
                range: crate::tasks::range(id, shape.batch, shape.files),
            },
            attempt,
            token,
        }),
        ("again", ..) => return Ok(None),
        ("wait", ..) => Take::Wait,
        ("over", ..) => Take::Over,
        _ => bail!("the broker's take script said {reply:?}, which hunt does not know: is another version of hunt's scripts loaded there?"),
    }))
}

mod calls;
mod broker;
mod library;
pub mod lists;
#[cfg(test)]
mod tests;
