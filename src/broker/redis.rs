//! The Redis backend of [`super::Broker`]: one stream per hunt with a consumer group
//! as the queue, Lua scripts for every step that must be atomic, checked against
//! Debian's Redis 7.0 (no `XREADGROUP ... CLAIM`, `XNACK` or `XACKDEL`, which are newer).
//!
//! # Keys of hunt `ID` (prefix `hunt:ID`)
//! | key | type | holds |
//! |---|---|---|
//! | `:spec` | string | the [`super::HuntSpec`], JSON |
//! | `:state` | hash | `tasks`, `terminal` (tasks Completed or Failed), `stop`, `status`, `batch`, `files`, `max_attempts` |
//! | `:tasks` | stream | one entry per task to run: `task`, `from`, `to`; group `workers` |
//! | `:table` | hash | task -> its row (state, worker, attempts, note), for `hunt status` |
//! | `:events` | list | the [`super::Event`]s, JSON, in order; the coordinator pops them |
//! | `:answer` | string | the committed answer, set once (`SET NX`) |
//! | `:dead` | stream | the dead letter: tasks given up, entries refused |
//! | `:refused` | hash | worker -> why it refused the hunt |
//!
//! Shared: `hunt:active` (zset: hunt -> alive until, by the server's clock),
//! `hunt:index` (zset: hunt -> created), `hunt:control` (stream, capped at ~1000:
//! `new` and `stop` announcements, so idle and busy workers hear at once),
//! `hunt:workers` (hash: name -> [`super::WorkerInfo`]) and `hunt:workers:seen` (zset).
//!
//! # States
//! A task's entry not yet delivered is NotStarted; in a consumer's pending list,
//! Running; acknowledged, Completed (or requeued as a new entry for another attempt);
//! given up, Failed, with an entry in `:dead`. A lease is the entry's idle time: a
//! worker renews it with `XCLAIM ... JUSTID` (checked against the owner first, since
//! `XCLAIM` takes any entry), and an entry idle for longer than the lease is taken over
//! with `XAUTOCLAIM`. Every report checks that the reporter still owns its entry
//! (`XACK` takes no consumer, so a stale worker could otherwise ack an entry another now
//! holds) and commits the answer with `SET NX`, all in one script.
//!
//! # Expiry
//! Every key of a hunt lives as long as its `:spec`: a minute, renewed by the
//! coordinator every second ([`super::Broker::keep_alive`]); a finished hunt's keys
//! expire after the coordinator's keep time. A coordinator that dies leaves nothing
//! behind after a minute.
//!
//! # Connections
//! The sync API of the `redis` crate, one connection per thread. The read timeout is
//! longer than any `BLOCK`, so no blocked reply is dropped while its entry stays
//! pending. A connection that fails is dropped and made again on the next call.

use super::backend::{Backend, PrivateBroker};
mod server;
use server::PrivateRedis;
use super::{
    Answer, Broker, Done, Event, HuntSpec, HuntState, HuntStatus, Me, Take, Verdict, WorkerInfo,
};
use crate::tasks::{Finished, Lease, Task, TaskRow, TaskState};
use anyhow::{anyhow, bail, Context, Result};
use redis::{Connection, Script};
use std::time::Duration;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one reply may take; longer than any `BLOCK` below.
const REPLY_TIMEOUT: Duration = Duration::from_secs(4);
use super::contract::ALIVE_MS;

macro_rules! script {
    ($name:literal) => {
        concat!(
            include_str!("redis/common.lua"),
            include_str!(concat!("redis/", $name, ".lua"))
        )
    };
}

/// The scripts, loaded once per connection (by their SHA, then `EVALSHA`).
struct Scripts {
    take: Script,
    renew: Script,
    finish: Script,
    fail: Script,
    alive: Script,
    retire: Script,
    clock: Script,
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            take: Script::new(script!("take")),
            renew: Script::new(script!("renew")),
            finish: Script::new(script!("finish")),
            fail: Script::new(script!("fail")),
            alive: Script::new(script!("alive")),
            retire: Script::new(script!("retire")),
            clock: Script::new(script!("clock")),
        }
    }
}

/// The Redis backend, as the backends table knows it.
pub struct RedisKind;

impl Backend for RedisKind {
    const NAME: &'static str = "redis";
    const SCHEMES: &'static [&'static str] = &["redis://", "redis+unix://", "unix://"];
    const URL_FORMS: &'static str = "redis://[:PASSWORD@]HOST:PORT[/DB], redis+unix:///PATH";

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
}

/// One connection to a Redis broker.
pub struct Redis {
    url: String,
    client: redis::Client,
    conn: Option<Connection>,
    scripts: Scripts,
    /// The last `hunt:control` entry this connection has seen.
    control: Option<String>,
}

impl Redis {
    /// Connects to `url` and checks that a Redis 7 server answers there.
    pub fn connect(url: &str) -> Result<Box<dyn Broker>> {
        let client = redis::Client::open(url).map_err(|e| {
            anyhow!(
                "--broker {} is not a Redis URL hunt can use ({}): write redis://[:PASSWORD@]HOST:PORT[/DB] or redis+unix:///PATH",
                super::redact(url),
                scrub(&e.to_string(), url)
            )
        })?;
        let mut r = Redis {
            url: url.to_string(),
            client,
            conn: None,
            scripts: Scripts::new(),
            control: None,
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
                "the broker at {} runs Redis {version:?}, and hunt needs Redis 7.0 or newer (for XAUTOCLAIM): upgrade it",
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
        let result = f(self.conn()?);
        if let Err(e) = &result {
            if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                self.conn = None;
            }
        }
        result
    }

    fn run(&mut self, which: fn(&Scripts) -> &Script, args: &[String]) -> Result<String> {
        let script = which(&self.scripts).clone();
        self.call(move |c| {
            let mut inv = script.prepare_invoke();
            for a in args {
                inv.arg(a);
            }
            inv.invoke(c)
        })
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
    if code == "NOAUTH" || said.contains("NOAUTH") {
        return anyhow!("the broker at {at} needs a password: give it in --broker (redis://:PASSWORD@HOST:PORT)");
    }
    if e.is_timeout() {
        return anyhow!("the broker at {at} did not answer within {} s: is it overloaded, or cut off? check --broker", REPLY_TIMEOUT.as_secs());
    }
    if e.kind() == redis::ErrorKind::Parse || said.contains("parse") || said.contains("Parse") {
        return anyhow!("the server at {at} does not speak Redis ({said}): is --broker the address of a Redis server?");
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        return anyhow!("cannot reach the broker at {at} ({said}): is redis-server running there? start it, or fix --broker");
    }
    anyhow!("the broker at {at} failed: {said}")
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
    from: Option<u64>,
    to: Option<u64>,
    attempt: Option<u32>,
}

impl Broker for Redis {
    fn describe(&self) -> String {
        super::redact(&self.url)
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Redis::connect(&self.url)
    }

    /// Publishes the hunt in one `MULTI`/`EXEC`, which Redis runs all or not at all.
    /// The coordinator retries a publish whose reply it did not get (a reply timeout
    /// on a loaded machine, a dropped connection), and the first attempt may have run:
    /// a second would then add every task to the stream again (and fail on the
    /// existing consumer group). So a publish whose spec key is already there has
    /// been done, and returns at once. Hunt ids are new per hunt, so the key is ours.
    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()> {
        let p = prefix(&spec.id);
        let done: bool = self.call(|c| redis::cmd("EXISTS").arg(format!("{p}:spec")).query(c))?;
        if done {
            return Ok(());
        }
        let spec_json = serde_json::to_string(spec)?;
        let now = self.clock()?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET")
            .arg(format!("{p}:spec"))
            .arg(&spec_json)
            .arg("PX")
            .arg(ALIVE_MS)
            .ignore();
        pipe.cmd("HSET")
            .arg(format!("{p}:state"))
            .arg(&[
                ("tasks", tasks.len().to_string()),
                ("terminal", "0".into()),
                ("stop", "0".into()),
                ("status", HuntState::Running.name().into()),
                ("batch", spec.batch.to_string()),
                ("files", spec.files.to_string()),
                ("max_attempts", spec.max_attempts.to_string()),
            ])
            .ignore();
        pipe.cmd("XGROUP")
            .arg("CREATE")
            .arg(format!("{p}:tasks"))
            .arg("workers")
            .arg("$")
            .arg("MKSTREAM")
            .ignore();
        for chunk in tasks.chunks(1000) {
            for t in chunk {
                pipe.cmd("XADD")
                    .arg(format!("{p}:tasks"))
                    .arg("*")
                    .arg("task")
                    .arg(t.id)
                    .arg("from")
                    .arg(t.range.start)
                    .arg("to")
                    .arg(t.range.end)
                    .ignore();
            }
            let mut hset = redis::cmd("HSET");
            hset.arg(format!("{p}:table"));
            for t in chunk {
                hset.arg(t.id).arg(r#"{"state":"NotStarted","attempts":0}"#);
            }
            pipe.add_command(hset).ignore();
        }
        for key in ["state", "tasks", "table"] {
            pipe.cmd("PEXPIRE")
                .arg(format!("{p}:{key}"))
                .arg(ALIVE_MS)
                .ignore();
        }
        pipe.cmd("ZADD")
            .arg("hunt:index")
            .arg(now)
            .arg(&spec.id)
            .ignore();
        pipe.cmd("ZADD")
            .arg("hunt:active")
            .arg(now + ALIVE_MS)
            .arg(&spec.id)
            .ignore();
        pipe.cmd("XADD")
            .arg("hunt:control")
            .arg("MAXLEN")
            .arg("~")
            .arg(1000)
            .arg("*")
            .arg("hunt")
            .arg(&spec.id)
            .arg("kind")
            .arg("new")
            .ignore();
        self.call(|c| pipe.query::<()>(c))
    }

    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        let key = format!("{}:events", prefix(hunt));
        let first: Option<(String, String)> = self.call(|c| {
            redis::cmd("BLPOP")
                .arg(&key)
                .arg(wait.as_secs_f64().max(0.01))
                .query(c)
        })?;
        let Some((_, first)) = first else {
            return Ok(Vec::new());
        };
        let rest: Option<Vec<String>> =
            self.call(|c| redis::cmd("LPOP").arg(&key).arg(10_000).query(c))?;
        // One unreadable event (garbage someone pushed) must not lose the others.
        Ok(std::iter::once(first)
            .chain(rest.unwrap_or_default())
            .map(|e| {
                serde_json::from_str(&e).unwrap_or_else(|err| Event::Garbage {
                    entry: "an event".to_string(),
                    why: format!("an event hunt cannot read ({err}): {e:.200}"),
                })
            })
            .collect())
    }

    fn keep_alive(&mut self, hunt: &str) -> Result<()> {
        self.run(
            |s| &s.alive,
            &[prefix(hunt), hunt.to_string(), ALIVE_MS.to_string()],
        )
        .map(drop)
    }

    fn stop(&mut self, hunt: &str) -> Result<()> {
        let p = prefix(hunt);
        self.call(|c| {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(format!("{p}:state"))
                .arg("stop")
                .arg(1)
                .ignore()
                .cmd("XADD")
                .arg("hunt:control")
                .arg("MAXLEN")
                .arg("~")
                .arg(1000)
                .arg("*")
                .arg("hunt")
                .arg(hunt)
                .arg("kind")
                .arg("stop")
                .ignore()
                .query::<()>(c)
        })
    }

    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()> {
        self.run(
            |s| &s.retire,
            &[
                prefix(hunt),
                hunt.to_string(),
                verdict.name().to_string(),
                (keep.as_millis().max(1) as u64).to_string(),
            ],
        )
        .map(drop)
    }

    fn exists(&mut self, hunt: &str) -> Result<bool> {
        let key = format!("{}:spec", prefix(hunt));
        self.call(|c| redis::cmd("EXISTS").arg(&key).query(c))
    }

    fn hunts(&mut self) -> Result<Vec<String>> {
        let now = self.clock()?;
        self.call(|c| {
            redis::cmd("ZRANGEBYSCORE")
                .arg("hunt:active")
                .arg(now)
                .arg("+inf")
                .query(c)
        })
    }

    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>> {
        let key = format!("{}:spec", prefix(hunt));
        let text: Option<String> = self.call(|c| redis::cmd("GET").arg(&key).query(c))?;
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t).map(Some).with_context(|| {
                format!("hunt {hunt}'s spec on the broker is not one hunt can read")
            }),
        }
    }

    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        // Leases are looked at on every take: the scan is bounded by the pending list,
        // one entry per worker thread.
        let lease = lease_ms(self, hunt)?.to_string();
        loop {
            let reply = self.run(
                |s| &s.take,
                &[
                    prefix(hunt),
                    me.consumer.clone(),
                    me.label(),
                    lease.clone(),
                    "1".to_string(),
                ],
            )?;
            let t: Taken = serde_json::from_str(&reply)
                .with_context(|| format!("the broker's take script said {reply:?}"))?;
            return Ok(match (t.kind.as_str(), t.task, t.from, t.to, t.attempt, t.entry) {
                ("task", Some(id), Some(from), Some(to), Some(attempt), Some(token)) => {
                    Take::Task(Lease {
                        task: Task {
                            id,
                            range: from..to,
                        },
                        attempt,
                        token,
                    })
                }
                ("again", ..) => continue,
                ("wait", ..) => Take::Wait,
                ("over", ..) => Take::Over,
                _ => bail!("the broker's take script said {reply:?}, which hunt does not know: is another version of hunt's scripts loaded there?"),
            });
        }
    }

    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let r = self.run(
            |s| &s.renew,
            &[prefix(hunt), me.consumer.clone(), lease.token.clone()],
        )?;
        match r.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => bail!("the broker's renew script said {r:?}, which hunt does not know: is another version of hunt's scripts loaded there?"),
        }
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        let r = self.run(
            |s| &s.finish,
            &[
                prefix(hunt),
                me.consumer.clone(),
                me.label(),
                lease.token.clone(),
                lease.task.id.to_string(),
                lease.attempt.to_string(),
                serde_json::to_string(&done.tally)?,
                done.found.map_or("-1".to_string(), |i| i.to_string()),
                u8::from(done.cut_short).to_string(),
                done.why.clone(),
                hunt.to_string(),
            ],
        )?;
        super::contract::finished(&r)
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let r = self.run(
            |s| &s.fail,
            &[
                prefix(hunt),
                me.consumer.clone(),
                me.label(),
                lease.token.clone(),
                lease.task.id.to_string(),
                lease.attempt.to_string(),
                why.to_string(),
                "0".to_string(),
            ],
        )?;
        match super::contract::finished(&r)? {
            f @ (Finished::Stale | Finished::Retried) => Ok(f),
            f => bail!("the broker answered a failed attempt with {f:?}: is another version of hunt's scripts loaded there?"),
        }
    }

    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        self.run(
            |s| &s.fail,
            &[
                prefix(hunt),
                me.consumer.clone(),
                me.label(),
                lease.token.clone(),
                lease.task.id.to_string(),
                lease.attempt.to_string(),
                "handed back".to_string(),
                "1".to_string(),
            ],
        )
        .map(drop)
    }

    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()> {
        let p = prefix(hunt);
        let event = serde_json::to_string(&Event::Refused {
            worker: me.label(),
            why: why.to_string(),
        })?;
        self.call(|c| {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(format!("{p}:refused"))
                .arg(me.label())
                .arg(why)
                .ignore()
                .cmd("PEXPIRE")
                .arg(format!("{p}:refused"))
                .arg(ALIVE_MS)
                .ignore()
                .cmd("RPUSH")
                .arg(format!("{p}:events"))
                .arg(event)
                .ignore()
                .cmd("PEXPIRE")
                .arg(format!("{p}:events"))
                .arg(ALIVE_MS)
                .ignore()
                .query::<()>(c)
        })
    }

    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>> {
        if self.control.is_none() {
            let last: redis::Value = self.call(|c| {
                redis::cmd("XREVRANGE")
                    .arg("hunt:control")
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query(c)
            })?;
            let ids = entry_ids(&last);
            self.control = Some(ids.first().cloned().unwrap_or_else(|| "0-0".to_string()));
        }
        let now = stopped_now(self, hunts)?;
        if !now.is_empty() || hunts.is_empty() && wait.is_zero() {
            return Ok(now);
        }
        let since = self.control.clone().unwrap_or_else(|| "0-0".to_string());
        let reply: redis::Value = self.call(|c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(1000)
                .arg("BLOCK")
                .arg(wait.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg("hunt:control")
                .arg(&since)
                .query(c)
        })?;
        // [[stream, [[id, fields], ...]]], or nil when the wait ran out.
        let mut seen = false;
        if let redis::Value::Array(streams) = &reply {
            for s in streams {
                if let redis::Value::Array(pair) = s {
                    if let Some(entries) = pair.get(1) {
                        if let Some(last) = entry_ids(entries).pop() {
                            self.control = Some(last);
                            seen = true;
                        }
                    }
                }
            }
        }
        if seen {
            stopped_now(self, hunts)
        } else {
            Ok(Vec::new())
        }
    }

    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()> {
        let now = self.clock()?;
        let info = WorkerInfo {
            last_seen_ms: now,
            ..info.clone()
        };
        let json = serde_json::to_string(&info)?;
        self.call(|c| {
            redis::pipe()
                .cmd("HSET")
                .arg("hunt:workers")
                .arg(&info.name)
                .arg(&json)
                .ignore()
                .cmd("ZADD")
                .arg("hunt:workers:seen")
                .arg(now)
                .arg(&info.name)
                .ignore()
                .query::<()>(c)
        })
    }

    fn status(&mut self) -> Result<Vec<HuntStatus>> {
        let ids: Vec<String> = self.call(|c| {
            redis::cmd("ZREVRANGE")
                .arg("hunt:index")
                .arg(0)
                .arg(-1)
                .query(c)
        })?;
        let mut out = Vec::new();
        for id in ids {
            let p = prefix(&id);
            let Some(spec) = self.spec(&id).ok().flatten() else {
                // Expired: the index forgets it too.
                self.call(|c| redis::cmd("ZREM").arg("hunt:index").arg(&id).query::<()>(c))?;
                continue;
            };
            let state: std::collections::HashMap<String, String> =
                self.call(|c| redis::cmd("HGETALL").arg(format!("{p}:state")).query(c))?;
            let answer: Option<String> =
                self.call(|c| redis::cmd("GET").arg(format!("{p}:answer")).query(c))?;
            let table: std::collections::HashMap<u64, String> =
                self.call(|c| redis::cmd("HGETALL").arg(format!("{p}:table")).query(c))?;
            let refused: std::collections::BTreeMap<String, String> =
                self.call(|c| redis::cmd("HGETALL").arg(format!("{p}:refused")).query(c))?;
            let refused: Vec<(String, String)> = refused.into_iter().collect();
            let mut tasks: Vec<TaskRow> = table
                .into_iter()
                .map(|(task, row)| parse_row(task, &row, &spec))
                .collect();
            tasks.sort_by_key(|r| r.id);
            out.push(HuntStatus {
                state: match state.get("status") {
                    Some(name) => HuntState::from_name(name, &id)?,
                    None => HuntState::Running,
                },
                answer: answer.and_then(|a| serde_json::from_str::<Answer>(&a).ok()),
                tasks,
                refused,
                spec,
            });
        }
        Ok(out)
    }

    fn clock(&mut self) -> Result<u64> {
        let s = self.run(|s| &s.clock, &["hunt:-".to_string()])?;
        s.parse().context("the broker's clock is not a number")
    }

    fn workers(&mut self) -> Result<Vec<WorkerInfo>> {
        let now = self.clock()?;
        let cutoff = now.saturating_sub(60_000);
        let gone: Vec<String> = self.call(|c| {
            redis::cmd("ZRANGEBYSCORE")
                .arg("hunt:workers:seen")
                .arg("-inf")
                .arg(format!("({cutoff}"))
                .query(c)
        })?;
        if !gone.is_empty() {
            self.call(|c| {
                redis::pipe()
                    .cmd("HDEL")
                    .arg("hunt:workers")
                    .arg(&gone)
                    .ignore()
                    .cmd("ZREM")
                    .arg("hunt:workers:seen")
                    .arg(&gone)
                    .ignore()
                    .query::<()>(c)
            })?;
        }
        let all: std::collections::HashMap<String, String> =
            self.call(|c| redis::cmd("HGETALL").arg("hunt:workers").query(c))?;
        let mut out: Vec<WorkerInfo> = all
            .values()
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect();
        out.sort_by(|a: &WorkerInfo, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// The ids of a stream reply's entries (`[[id, fields], ...]`), in order.
fn entry_ids(v: &redis::Value) -> Vec<String> {
    let redis::Value::Array(entries) = v else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| match e {
            redis::Value::Array(pair) => match pair.first() {
                Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                Some(redis::Value::SimpleString(s)) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The hunt's lease, from its spec (read once per connection and hunt would be
/// cheaper; a take is far rarer than a file, so one `GET` more does not show).
fn lease_ms(r: &mut Redis, hunt: &str) -> Result<u64> {
    Ok(r.spec(hunt)?.map_or(1000, |s| s.lease_ms))
}

/// The hunts among `hunts` whose stop signal is up or that are gone.
fn stopped_now(r: &mut Redis, hunts: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for h in hunts {
        let key = format!("{}:state", prefix(h));
        let stop: Option<String> = r.call(|c| redis::cmd("HGET").arg(&key).arg("stop").query(c))?;
        if stop.as_deref() != Some("0") {
            out.push(h.clone());
        }
    }
    Ok(out)
}

/// One row of `:table`, as the scripts write it.
fn parse_row(task: u64, json: &str, spec: &HuntSpec) -> TaskRow {
    #[derive(serde::Deserialize)]
    struct Row {
        state: String,
        worker: Option<String>,
        attempts: Option<u32>,
        note: Option<String>,
    }
    let range = crate::tasks::range(task, spec.batch, spec.files);
    match serde_json::from_str::<Row>(json) {
        Ok(r) => TaskRow {
            id: task,
            range,
            state: TaskState::from_name(&r.state).unwrap_or(TaskState::Failed),
            worker: r.worker,
            attempts: r.attempts.unwrap_or(0),
            note: r.note,
        },
        Err(_) => TaskRow {
            id: task,
            range,
            state: TaskState::Failed,
            worker: None,
            attempts: 0,
            note: Some("its row on the broker is not one hunt can read".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::contract::{self, AfterFailure};

    /// The scripts repeat the contract in Lua (`common.lua`): run their copies on a real
    /// redis-server, case by case, against the Rust rules they repeat.
    #[test]
    fn the_scripts_keep_the_rust_contract() {
        if !server::installed() {
            eprintln!("skipped: {}", server::INSTALL_HINT);
            return;
        }
        let server = PrivateRedis::start().unwrap();
        let mut c = redis::Client::open(server.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let body = r#"
local out = {}
for i = 2, #ARGV, 2 do
  local a, m = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local verdict, note = after_failure(a, m, 'its files failed')
  table.insert(out, verdict .. '|' .. note .. '|' .. (taken_too_often(a, m) or '-'))
end
for _, t in ipairs({ {0, 3, 10}, {2, 3, 10}, {3, 3, 10}, {0, 64, 5}, {1, 1, 1} }) do
  local from, to = task_range(t[1], t[2], t[3])
  table.insert(out, from .. '..' .. to)
end
return out
"#;
        let lua = redis::Script::new(&format!("{}{body}", include_str!("redis/common.lua")));
        let mut script = lua.prepare_invoke();
        script.arg("hunt:test");
        for &(attempt, max) in contract::CASES {
            script.arg(attempt).arg(max);
        }
        let got: Vec<String> = script.invoke(&mut c).unwrap();
        let mut want: Vec<String> = contract::CASES
            .iter()
            .map(|&(attempt, max)| {
                let (verdict, note) = match contract::after_failure(attempt, max, "its files failed") {
                    AfterFailure::Retry { note } => ("retry", note),
                    AfterFailure::DeadLetter { why } => ("dead", why),
                };
                let gone = contract::taken_too_often(attempt, max).unwrap_or_else(|| "-".into());
                format!("{verdict}|{note}|{gone}")
            })
            .collect();
        for (id, batch, n) in [(0, 3, 10), (2, 3, 10), (3, 3, 10), (0, 64, 5), (1, 1, 1)] {
            let r = crate::tasks::range(id, batch, n);
            want.push(format!("{}..{}", r.start, r.end));
        }
        assert_eq!(got, want);
        let common = include_str!("redis/common.lua");
        assert!(
            common.contains(&format!("local CUT_SHORT = '{}'", contract::CUT_SHORT)),
            "common.lua's CUT_SHORT differs from contract::CUT_SHORT"
        );
        assert!(script!("finish").contains(&format!("'status', '{}'", HuntState::Found.name())));
        for reply in ["accepted", "answer", "retried", "stale"] {
            assert!(contract::finished(reply).is_ok(), "{reply}");
            let returned = format!("return '{reply}'");
            assert!(
                [script!("finish"), script!("fail")].iter().any(|s| s.contains(&returned)),
                "no script returns {reply}"
            );
        }
    }

    #[test]
    fn only_a_call_cut_short_by_a_signal_counts_as_interrupted() {
        let os = |code| redis::RedisError::from(std::io::Error::from_raw_os_error(code));
        assert!(interrupted(&os(libc::EINTR)));
        assert!(!interrupted(&os(libc::ECONNREFUSED)));
        assert!(!interrupted(&os(libc::ENOENT)));
        let parse = redis::RedisError::from((redis::ErrorKind::Parse, "bad reply"));
        assert!(!interrupted(&parse));
    }
}
