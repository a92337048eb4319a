//! [`Broker`] on a Redis server: each method one command, one `MULTI`/`EXEC` or one
//! script (see the module above for the keys, the states and the scripts).

use super::calls::{finish_args, finish_take_args, finished_and_taken, lease_args, take_args};
use super::*;

impl Broker for Redis {
    fn describe(&self) -> String {
        crate::broker::redact(&self.url)
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Redis::connect(&self.url)
    }

    /// A hunt of spec format 1 keeps its queue as a stream, which this build's scripts
    /// do not read.
    fn refuses(&self, spec: &HuntSpec) -> Option<String> {
        (spec.format < 2).then(|| format!(
            "the hunt was published by an older hunt (spec format {}, whose Redis queue is a stream; this worker serves format 2 and later): run a worker of the coordinator's version, or upgrade the coordinator",
            spec.format
        ))
    }

    /// Publishes the hunt in one `MULTI`/`EXEC`, which Redis runs all or not at all.
    /// The coordinator retries a publish whose reply it did not get (a reply timeout
    /// on a loaded machine, a dropped connection), and the first attempt may have run:
    /// a second would then queue every task again. So a publish whose spec key is
    /// already there has been done, and returns at once. Hunt ids are new per hunt, so
    /// the key is ours.
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
                ("stop", "0".into()),
                ("status", HuntState::Running.name().into()),
                ("batch", spec.batch.to_string()),
                ("files", spec.files.to_string()),
                ("max_attempts", spec.max_attempts.to_string()),
            ])
            .ignore();
        // The leases' sorted set holds `-` at +inf from the start and for good, so the
        // key, and the expiry set here, outlive its last lease.
        pipe.cmd("ZADD")
            .arg(format!("{p}:leases"))
            .arg("+inf")
            .arg("-")
            .ignore();
        for chunk in tasks.chunks(1000) {
            let mut push = redis::cmd("RPUSH");
            push.arg(format!("{p}:ready"));
            let mut hset = redis::cmd("HSET");
            hset.arg(format!("{p}:table"));
            for t in chunk {
                push.arg(t.id);
                hset.arg(t.id).arg(r#"{"state":"NotStarted","attempts":0}"#);
            }
            pipe.add_command(push).ignore();
            pipe.add_command(hset).ignore();
        }
        for key in ["state", "ready", "leases", "table"] {
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
        announce(&mut pipe, &spec.id, "new");
        self.call(|c| pipe.query::<()>(c))
    }

    /// One `LMPOP` of every event there is: one round trip per read while events come.
    /// Only when there is none, a `BLPOP` waits for the first, and one more `LMPOP`
    /// takes those a script pushed with it (the caller may read no more once it has
    /// these: the last task's report and the answer come together). `LMPOP`, not the
    /// `LPOP` with a count that does the same, so the server's counts of each command
    /// (`INFO commandstats`, `scripts/round-trips.sh`) tell the coordinator's reads
    /// from the takes' `LPOP`s of the queue.
    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        let key = format!("{}:events", prefix(hunt));
        let pop = |r: &mut Self| -> Result<Vec<String>> {
            let got: Option<(String, Vec<String>)> = r.call(|c| {
                redis::cmd("LMPOP")
                    .arg(1)
                    .arg(&key)
                    .arg("LEFT")
                    .arg("COUNT")
                    .arg(10_000)
                    .query(c)
            })?;
            Ok(got.map(|(_, events)| events).unwrap_or_default())
        };
        let mut got = pop(self)?;
        if got.is_empty() {
            let first: Option<(String, String)> = self.call(|c| {
                redis::cmd("BLPOP")
                    .arg(&key)
                    .arg(wait.as_secs_f64().max(0.01))
                    .query(c)
            })?;
            if let Some((_, e)) = first {
                got.push(e);
                got.extend(pop(self)?);
            }
        }
        // One unreadable event (garbage someone pushed) must not lose the others.
        Ok(got
            .into_iter()
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
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(format!("{p}:state"))
            .arg("stop")
            .arg(1)
            .ignore();
        announce(&mut pipe, hunt, "stop");
        self.call(|c| pipe.query::<()>(c))
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
        // Leases are looked at on every take that finds no new task: one step on the
        // sorted set of deadlines.
        let shape = shape(self, hunt)?;
        let args = take_args(self, hunt, me)?;
        loop {
            if let Some(t) = taken(&self.run(|s| &s.take, &args)?, &shape)? {
                return Ok(t);
            }
        }
    }

    /// One script: `finish.lua`'s report, then `take.lua`'s take for the same consumer.
    fn finish_and_take(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<(Finished, Take)> {
        let args = finish_take_args(self, hunt, me, lease, done)?;
        let reply = self.run(|s| &s.finish_take, &args)?;
        finished_and_taken(self, hunt, me, &reply)
    }

    /// `finish_and_take`'s function call, sent without reading its reply: one worker
    /// thread keeps two calls on the wire, so the server runs one report while the
    /// thread reads the next task's files.
    fn send_finish_and_take(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<bool> {
        let args = finish_take_args(self, hunt, me, lease, done)?;
        self.send(|s| &s.finish_take, args, (hunt, me), true).map(|()| true)
    }

    fn send_take(&mut self, hunt: &str, me: &Me) -> Result<bool> {
        let args = take_args(self, hunt, me)?;
        self.send(|s| &s.take, args, (hunt, me), false).map(|()| true)
    }

    fn receive(&mut self) -> Result<(Option<Finished>, Take)> {
        self.receive_sent()
    }

    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let lease_ms = shape(self, hunt)?.lease_ms;
        let r = self.run(
            |s| &s.renew,
            &[prefix(hunt), me.consumer.clone(), lease.token.clone(), lease_ms.to_string()],
        )?;
        match r.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => bail!("the broker's renew script said {r:?}, which hunt does not know: is another version of hunt's scripts loaded there?"),
        }
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        let args = finish_args(hunt, me, lease, done)?;
        let r = self.run(|s| &s.finish, &args)?;
        crate::broker::contract::finished(&r)
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let mut args = lease_args(hunt, me, lease);
        args.extend([why.to_string(), "0".to_string()]);
        let r = self.run(|s| &s.fail, &args)?;
        match crate::broker::contract::finished(&r)? {
            f @ (Finished::Stale | Finished::Retried) => Ok(f),
            f => bail!("the broker answered a failed attempt with {f:?}: is another version of hunt's scripts loaded there?"),
        }
    }

    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        let mut args = lease_args(hunt, me, lease);
        args.extend(["handed back".to_string(), "1".to_string()]);
        self.run(|s| &s.fail, &args).map(drop)
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
            // Task rows, and beside them the `c:CONSUMER` fields of the scripts.
            let table: std::collections::HashMap<String, String> =
                self.call(|c| redis::cmd("HGETALL").arg(format!("{p}:table")).query(c))?;
            let refused: std::collections::BTreeMap<String, String> =
                self.call(|c| redis::cmd("HGETALL").arg(format!("{p}:refused")).query(c))?;
            let refused: Vec<(String, String)> = refused.into_iter().collect();
            let mut tasks: Vec<TaskRow> = table
                .into_iter()
                .filter_map(|(task, row)| Some(parse_row(task.parse().ok()?, &row, &spec)))
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

/// What a worker needs of a hunt's spec at every take: its lease, and its batch and
/// file count, from which a task's files follow (the scripts hand out task numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub(super) lease_ms: u64,
    pub(super) batch: u64,
    pub(super) files: u64,
}

/// The hunt's [`Shape`], from its spec, read once per connection and hunt: a `GET` per
/// take was one round trip in three of a worker's per task.
pub(super) fn shape(r: &mut Redis, hunt: &str) -> Result<Shape> {
    if let Some((h, shape)) = &r.shape {
        if h == hunt {
            return Ok(*shape);
        }
    }
    match r.spec(hunt)? {
        Some(s) => {
            let shape = Shape {
                lease_ms: s.lease_ms,
                batch: s.batch,
                files: s.files,
            };
            r.shape = Some((hunt.to_string(), shape));
            Ok(shape)
        }
        // Gone: the take says `over`, whatever the shape.
        None => Ok(Shape {
            lease_ms: 1000,
            batch: 1,
            files: 0,
        }),
    }
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
        /// By its name; a state hunt does not know makes the row unreadable.
        state: TaskState,
        worker: Option<String>,
        attempts: Option<u32>,
        note: Option<String>,
    }
    let range = crate::tasks::range(task, spec.batch, spec.files);
    match serde_json::from_str::<Row>(json) {
        Ok(r) => TaskRow {
            id: task,
            range,
            state: r.state,
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

/// Adds to `pipe` the `hunt:control` entry that tells every worker of `hunt`'s news
/// (`kind`: `new` or `stop`), the stream capped as `finish.lua` caps it too.
fn announce(pipe: &mut redis::Pipeline, hunt: &str, kind: &str) {
    pipe.cmd("XADD")
        .arg("hunt:control")
        .arg("MAXLEN")
        .arg("~")
        .arg(1000)
        .arg("*")
        .arg("hunt")
        .arg(hunt)
        .arg("kind")
        .arg(kind)
        .ignore();
}
