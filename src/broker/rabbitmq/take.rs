//! A worker's takes on RabbitMQ (a task connection per hunt whose heartbeat is the
//! lease, prefetch 1, manual acknowledgements), and what `hunt status` reads.

use super::wire::{Heard, Report, TaskMsg};
use super::*;
use crate::broker::{contract, Me, Take};
use crate::tasks::{Lease, Task};

/// How long a take waits for a delivery before it says `Wait`.
const TAKE_WAIT: Duration = Duration::from_millis(100);
/// How long `hunt status` waits for answers to its ask, at most.
const ASK_WAIT: Duration = Duration::from_millis(600);
/// How long without a new answer, after the first, ends the wait (a coordinator answers
/// within its next read of reports, an idle worker within 25 ms).
const QUIET: Duration = Duration::from_millis(40);
/// The header of a task's copy that carries the attempts made before it.
const BEFORE: &str = "hunt-attempts-before";

impl Rabbit {
    /// One take: a task delivered on this thread's task connection, reported to the
    /// coordinator as started; `Wait` when none came within [`TAKE_WAIT`]; `Over` when
    /// the stop flag is up or the hunt's task queue is gone.
    pub(super) fn take_one(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        use futures_lite::StreamExt;
        if self.heard.is_some() {
            self.hear(Duration::ZERO)?;
        }
        let key = (hunt.to_string(), me.consumer.clone());
        let stopped = match self.books.get(hunt) {
            Some(b) => b.stop,
            None => self.news_of(hunt).is_some_and(|n| n.stop),
        };
        let Some(spec) = self.spec_of(hunt)? else {
            self.drop_taker(&key);
            return Ok(Take::Over);
        };
        if stopped {
            self.drop_taker(&key);
            return Ok(Take::Over);
        }
        if !self.takers.contains_key(&key) {
            match self.make_taker(&spec, me) {
                Ok(t) => {
                    self.takers.insert(key.clone(), t);
                }
                Err(e) if format!("{e:#}").contains("NOT_FOUND") => return Ok(Take::Over),
                Err(_) if self.retired_under(hunt) => return Ok(Take::Over),
                Err(e) => return Err(e),
            }
        }
        loop {
            let t = self.takers.get_mut(&key).expect("made above");
            let next = self
                .rt
                .block_on(async { tokio::time::timeout(TAKE_WAIT, t.consumer.next()).await });
            let d = match next {
                Err(_) => return Ok(Take::Wait),
                Ok(None) => {
                    // The queue was deleted: the hunt is retired.
                    self.drop_taker(&key);
                    return Ok(Take::Over);
                }
                Ok(Some(Err(e))) => {
                    self.drop_taker(&key);
                    if self.retired_under(hunt) {
                        return Ok(Take::Over);
                    }
                    return Err(wire::explain(&e, &self.url));
                }
                Ok(Some(Ok(d))) => d,
            };
            let nonce = t.nonce;
            if let Some(lease) = self.lease_of(&spec, me, &key, nonce, d)? {
                return Ok(Take::Task(lease));
            }
        }
    }

    /// After a failed call on hunt `hunt`'s task queue: whether the hunt was retired
    /// under it (its stop news heard, or its task queue gone, looked at for up to two
    /// rounds of news). RabbitMQ 3.10 may answer a consume on a quorum queue being
    /// deleted with INTERNAL_ERROR, closing the connection, rather than NOT_FOUND: the
    /// hunt is over, not the broker away.
    fn retired_under(&mut self, hunt: &str) -> bool {
        let deadline = Instant::now() + NEWS_EVERY * 2;
        loop {
            if self.news_of(hunt).is_some_and(|n| n.stop) {
                return true;
            }
            match self.queue_exists(&tasks_queue(hunt)) {
                Ok(false) => return true,
                Ok(true) => {}
                Err(_) => return false,
            }
            if Instant::now() >= deadline {
                return false;
            }
            if self.heard.is_some() {
                let _ = self.hear(Duration::from_millis(50));
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The lease of delivery `d`, reported as started; `None` for a delivery refused
    /// (not a task of this hunt, or taken too often), which is acknowledged and told.
    fn lease_of(
        &mut self,
        spec: &HuntSpec,
        me: &Me,
        key: &(String, String),
        nonce: u64,
        d: lapin::message::Delivery,
    ) -> Result<Option<Lease>> {
        use lapin::options::BasicAckOptions;
        let hunt = &spec.id;
        let tasks = spec.files.div_ceil(spec.batch.max(1));
        let task = serde_json::from_slice::<TaskMsg>(&d.data).ok().filter(|t| {
            t.id < tasks && crate::tasks::range(t.id, spec.batch, spec.files) == (t.from..t.to)
        });
        let attempt = header(&d.properties, "x-delivery-count").unwrap_or(0)
            + header(&d.properties, BEFORE).unwrap_or(0)
            + 1;
        let attempt = u32::try_from(attempt.max(1)).unwrap_or(u32::MAX);
        let refusal = match &task {
            None => Some(Report::Garbage {
                entry: format!("a message of {}", tasks_queue(hunt)),
                why: format!(
                    "not a task of this hunt: {:.200}",
                    String::from_utf8_lossy(&d.data)
                ),
            }),
            Some(t) if contract::taken_too_often(attempt, spec.max_attempts).is_some() => {
                Some(Report::TooOften {
                    task: t.id,
                    attempt,
                })
            }
            Some(_) => None,
        };
        if let Some(r) = refusal {
            self.tell(hunt, &r, true)?;
            let _ = self.bounded(d.acker.ack(BasicAckOptions::default()));
            return Ok(None);
        }
        let t = task.expect("refused above");
        let token = format!("{nonce:016x}.{}", d.delivery_tag);
        if let Some(taker) = self.takers.get_mut(key) {
            taker.held.insert(token.clone(), d.acker);
            held().insert(token.clone(), taker.conn.status().clone());
        }
        let started = Report::Started {
            task: t.id,
            worker: me.label(),
            attempt,
            token: token.clone(),
        };
        self.tell(hunt, &started, false)?;
        Ok(Some(Lease {
            task: Task {
                id: t.id,
                range: t.from..t.to,
            },
            attempt,
            token,
        }))
    }

    /// A task connection for hunt `spec`: its heartbeat is the lease, prefetch 1.
    fn make_taker(&mut self, spec: &HuntSpec, me: &Me) -> Result<Taker> {
        let conn = self.dial(Some(heartbeat_of(spec.lease_ms)))?;
        let explain = |e: lapin::Error| wire::explain(&e, &self.url);
        let channel = self
            .bounded(conn.create_channel())
            .ok_or_else(|| self.silent())?
            .map_err(explain)?;
        self.bounded(channel.basic_qos(1, BasicQosOptions::default()))
            .ok_or_else(|| self.silent())?
            .map_err(explain)?;
        let consumer = self
            .bounded(channel.basic_consume(
                &tasks_queue(&spec.id),
                &me.consumer,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ))
            .ok_or_else(|| self.silent())?
            .map_err(|e| anyhow!("{e}"))?;
        Ok(Taker {
            conn,
            channel,
            consumer,
            nonce: rand::random(),
            held: HashMap::new(),
        })
    }

    /// Closes a task connection: what it held goes back on the queue.
    pub(super) fn drop_taker(&mut self, key: &(String, String)) {
        if let Some(t) = self.takers.remove(key) {
            let mut h = held();
            for token in t.held.keys() {
                h.remove(token);
            }
            drop(h);
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), t.conn.close(200, "done")).await
            });
        }
    }

    /// Queues task `lease` again as a copy at the back of the queue that carries the
    /// attempts made so far (`before`), and acknowledges the delivery; with `leaving`,
    /// the consumer is cancelled first and the task connection closed (a worker handing
    /// its task back takes no next one: it would come back with one more delivery
    /// counted). Where the channel died the broker has returned the task already.
    pub(super) fn requeue(&mut self, hunt: &str, me: &Me, lease: &Lease, before: u32, leaving: bool) {
        use lapin::options::BasicAckOptions;
        let key = (hunt.to_string(), me.consumer.clone());
        held().remove(&lease.token);
        let Some(t) = self.takers.get_mut(&key) else {
            return;
        };
        let Some(acker) = t.held.remove(&lease.token) else {
            return;
        };
        let ch = t.channel.clone();
        let tag = t.consumer.tag();
        let Ok(body) = serde_json::to_vec(&TaskMsg {
            id: lease.task.id,
            from: lease.task.range.start,
            to: lease.task.range.end,
        }) else {
            return;
        };
        let mut h = FieldTable::default();
        h.insert(BEFORE.into(), AMQPValue::LongLongInt(i64::from(before)));
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_headers(h);
        let queue = tasks_queue(hunt);
        let _ = self.bounded(async {
            if leaving {
                ch.basic_cancel(tag.as_str(), Default::default()).await?;
            }
            ch.basic_publish("", &queue, BasicPublishOptions::default(), &body, props)
                .await?
                .await?;
            acker.ack(BasicAckOptions::default()).await
        });
        if leaving {
            self.drop_taker(&key);
        }
    }

    /// `hunt status`: asks every coordinator for its table and every worker whether it
    /// lives (the `hunt.ask` exchange), takes the answers until none has come for
    /// [`QUIET`] (at most [`ASK_WAIT`]), and adds the finished hunts' tables
    /// (`hunt.retired`); newest first.
    pub(super) fn read_status(&mut self) -> Result<Vec<HuntStatus>> {
        use futures_lite::StreamExt;
        self.listen_for_replies()?;
        let body = serde_json::to_vec(&Report::Ask)?;
        let props = BasicProperties::default().with_reply_to(short(REPLY_TO));
        self.send(ASK, "", &body, props, false)?;
        self.tables.clear();
        let mut c = self.replies.take().expect("made above");
        let deadline = Instant::now() + ASK_WAIT;
        let mut got = Vec::new();
        let r: Result<()> = loop {
            // The first answer may take up to ASK_WAIT; then QUIET without one ends it.
            let mut left = deadline.saturating_duration_since(Instant::now());
            if !got.is_empty() {
                left = left.min(QUIET);
            }
            let next = self.rt.block_on(async { tokio::time::timeout(left, c.next()).await });
            match next {
                Err(_) => break Ok(()),
                Ok(None) => break Err(anyhow!("the broker ended the reply consumer")),
                Ok(Some(Err(e))) => break Err(wire::explain(&e, &self.url)),
                Ok(Some(Ok(d))) => got.push(d.data),
            }
        };
        if r.is_ok() {
            self.replies = Some(c);
        }
        r?;
        for b in got {
            self.file(&b);
        }
        let mut all: HashMap<String, wire::Table> = self
            .tables
            .iter()
            .map(|(id, (t, _))| (id.clone(), t.clone()))
            .collect();
        for t in self.retired()? {
            all.insert(t.status.spec.id.clone(), t);
        }
        let mut v: Vec<wire::Table> = all.into_values().collect();
        v.sort_by(|a, b| {
            (b.created_ms, &b.status.spec.id).cmp(&(a.created_ms, &a.status.spec.id))
        });
        Ok(v.into_iter().map(|t| t.status).collect())
    }

    /// The finished hunts' last tables, read from `hunt.retired` on a channel of their
    /// own, which is then closed: every message goes back.
    fn retired(&mut self) -> Result<Vec<wire::Table>> {
        use lapin::options::BasicGetOptions;
        let ch = self.side_channel()?;
        let mut out = Vec::new();
        loop {
            let got = self.wait(ch.basic_get(RETIRED, BasicGetOptions { no_ack: false }))?;
            let Some(m) = got else { break };
            if let Ok(Heard::Table(t)) = serde_json::from_slice::<Heard>(&m.delivery.data) {
                out.push(t);
            }
            if out.len() > 10_000 {
                break;
            }
        }
        let _ = self.bounded(ch.close(200, "read"));
        Ok(out)
    }
}

/// An integer read from a header, whatever width the broker sent.
fn int(v: &AMQPValue) -> Option<i64> {
    Some(match v {
        AMQPValue::ShortShortInt(n) => i64::from(*n),
        AMQPValue::ShortShortUInt(n) => i64::from(*n),
        AMQPValue::ShortInt(n) => i64::from(*n),
        AMQPValue::ShortUInt(n) => i64::from(*n),
        AMQPValue::LongInt(n) => i64::from(*n),
        AMQPValue::LongUInt(n) => i64::from(*n),
        AMQPValue::LongLongInt(n) => *n,
        _ => return None,
    })
}

/// Header `name` of `props`, as an integer.
fn header(props: &BasicProperties, name: &str) -> Option<i64> {
    props
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(name).and_then(int))
}
