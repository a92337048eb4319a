//! [`Broker`] on RabbitMQ (see the module above for the queues, the leases and where
//! the answer is decided).

use super::wire::{Heard, News, Report, Table, TaskMsg};
use super::*;
use crate::broker::{
    contract, Broker, Done, Event, HuntState, Me, Take, Verdict,
};
use crate::tasks::{Finished, Lease, Task};

impl Broker for Rabbit {
    fn describe(&self) -> String {
        shown(&self.url)
    }

    fn connect_again(&self) -> Result<Box<dyn Broker>> {
        Ok(Box::new(Rabbit::open(&self.url)?))
    }

    /// Declares the hunt's queues and publishes every task (waiting for the broker's
    /// confirms), then its news. A publish whose reply was lost is made again by the
    /// coordinator: the book is there, so it is done.
    fn publish(&mut self, spec: &HuntSpec, tasks: &[Task]) -> Result<()> {
        if self.books.contains_key(&spec.id) {
            return Ok(());
        }
        let ch = self.channel()?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        self.wait(ch.queue_declare(&dead_queue(&spec.id), durable, plain_queue_args()))?;
        self.wait(ch.queue_declare(&reply_queue(&spec.id), durable, plain_queue_args()))?;
        self.wait(ch.queue_bind(
            &reply_queue(&spec.id),
            ASK,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        ))?;
        self.wait(ch.queue_declare(&tasks_queue(&spec.id), durable, task_queue_args(spec)))?;
        let bodies: Vec<Vec<u8>> = tasks
            .iter()
            .map(|t| {
                serde_json::to_vec(&TaskMsg {
                    id: t.id,
                    from: t.range.start,
                    to: t.range.end,
                })
            })
            .collect::<Result<_, _>>()?;
        let queue = tasks_queue(&spec.id);
        self.wait(async {
            let mut confirms = Vec::with_capacity(bodies.len());
            for b in &bodies {
                let props = BasicProperties::default().with_delivery_mode(2);
                confirms.push(
                    ch.basic_publish("", &queue, BasicPublishOptions::default(), b, props)
                        .await?,
                );
            }
            for c in confirms {
                c.await?;
            }
            Ok(())
        })?;
        let mut book = Book::new(spec.clone(), tasks);
        book.created_ms = crate::broker::now_ms();
        self.books.insert(spec.id.clone(), book);
        self.announce(&spec.id, true)
    }

    /// Reads the reports, then sends the news when due, or at once when these reports
    /// raised the stop signal (the answer): a worker that has not reported since then
    /// hears it from the news, and stops its task and its takes that much sooner.
    fn events(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        let stopped = |r: &Rabbit| r.books.get(hunt).is_some_and(|b| b.stop);
        let before = stopped(self);
        let events = self.pump(hunt, wait)?;
        let raised = !before && stopped(self);
        self.announce(hunt, raised)?;
        Ok(events)
    }

    fn keep_alive(&mut self, hunt: &str) -> Result<()> {
        self.announce(hunt, false)
    }

    /// Raises the stop flag of a hunt this connection coordinates (workers hear it in
    /// the news, sent now); a worker's stop is the coordinator's business, which it learns
    /// from the answer.
    fn stop(&mut self, hunt: &str) -> Result<()> {
        if let Some(b) = self.books.get_mut(hunt) {
            b.stop = true;
            b.dirty = true;
            return self.announce(hunt, true);
        }
        Ok(())
    }

    /// Sends the last news (stopped and retired: a worker still awaiting a reply stops
    /// waiting) and the last table to `hunt.retired`, where it
    /// expires after `keep`; then deletes the hunt's queues (their consumers are told,
    /// and a worker's take says the hunt is over).
    fn retire(&mut self, hunt: &str, verdict: Verdict, keep: Duration) -> Result<()> {
        let Some(b) = self.books.get_mut(hunt) else {
            return Ok(());
        };
        b.stop = true;
        b.retired = true;
        b.state = HuntState::from(verdict);
        let table = Heard::Table(Table {
            created_ms: b.created_ms,
            status: b.status(),
        });
        self.announce(hunt, true)?;
        let body = serde_json::to_vec(&table)?;
        let keep_ms = keep.as_millis().max(1).to_string();
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_expiration(short(&keep_ms));
        self.send("", RETIRED, &body, props, false)?;
        self.books.remove(hunt);
        self.pumps.remove(hunt);
        let ch = self.channel()?;
        for q in [tasks_queue(hunt), dead_queue(hunt), reply_queue(hunt)] {
            let _ = self.wait(ch.queue_delete(&q, Default::default()));
        }
        Ok(())
    }

    fn exists(&mut self, hunt: &str) -> Result<bool> {
        self.queue_exists(&reply_queue(hunt))
    }

    /// The running hunts this connection has heard of (subscribing to the news, and
    /// waiting for a round of it, the first time), in id order.
    fn hunts(&mut self) -> Result<Vec<String>> {
        self.hunts_for(None)
    }

    /// A worker for one hunt stops its first look at the news once it has heard that
    /// hunt's (a coordinator's own workers: the whole first look otherwise, each hunt).
    fn hunts_for(&mut self, only: Option<&str>) -> Result<Vec<String>> {
        self.listen_news(only)?;
        let mut ids: Vec<String> = self
            .news
            .iter()
            .filter(|(_, (n, at))| !n.stop && at.elapsed() < SILENT)
            .map(|(id, _)| id.clone())
            .chain(self.books.iter().filter(|(_, b)| !b.stop).map(|(id, _)| id.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn spec(&mut self, hunt: &str) -> Result<Option<HuntSpec>> {
        self.spec_of(hunt)
    }

    fn take(&mut self, hunt: &str, me: &Me) -> Result<Take> {
        self.take_one(hunt, me)
    }

    /// A lease lives as long as the task connection that holds its delivery: the
    /// broker closes a connection that stops sending heartbeats (a paused or cut-off
    /// worker) and hands its task to another worker.
    fn renew(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<bool> {
        let _ = (hunt, me);
        Ok(held().get(&lease.token).is_some_and(|s| s.connected()))
    }

    fn finish(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<Finished> {
        self.report(hunt, me, lease, Report::finish(me, lease, done))
    }

    fn send_finish_and_take(&mut self, hunt: &str, me: &Me, lease: &Lease, done: &Done) -> Result<bool> {
        self.send_ahead(hunt, me, Some((lease, done)))
    }

    fn send_take(&mut self, hunt: &str, me: &Me) -> Result<bool> {
        self.send_ahead(hunt, me, None)
    }

    fn receive(&mut self) -> Result<(Option<Finished>, Take)> {
        self.receive_ahead()
    }

    fn fail(&mut self, hunt: &str, me: &Me, lease: &Lease, why: &str) -> Result<Finished> {
        let report = Report::Fail {
            task: lease.task.id,
            worker: me.label(),
            token: lease.token.clone(),
            why: why.to_string(),
        };
        self.report(hunt, me, lease, report)
    }

    /// Hands the task back: the coordinator marks it NotStarted; the delivery is
    /// acknowledged and a copy queued that carries the attempts so far, so the hand-back
    /// is not an attempt. Where the channel died, the broker has handed it back already.
    fn release(&mut self, hunt: &str, me: &Me, lease: &Lease) -> Result<()> {
        let report = Report::Release {
            task: lease.task.id,
            worker: me.label(),
            token: lease.token.clone(),
        };
        // Stale or not (another connection of this process may have handed it back
        // first, for the event), a delivery this connection holds goes back as a copy.
        let r = self.request(hunt, &report);
        self.requeue(hunt, me, lease, lease.attempt.saturating_sub(1), true);
        r.map(drop)
    }

    fn refuse(&mut self, hunt: &str, me: &Me, why: &str) -> Result<()> {
        let report = Report::Refuse {
            worker: me.label(),
            why: why.to_string(),
        };
        self.tell(hunt, &report, true)
    }

    /// The hunts among `hunts` whose stop flag is up in their news, or whose news
    /// stopped coming ([`SILENT`]) after this connection began to listen.
    fn stopped(&mut self, hunts: &[String], wait: Duration) -> Result<Vec<String>> {
        self.subscribe(NEWS)?;
        let deadline = Instant::now() + wait;
        loop {
            let since = self.heard.as_ref().map_or_else(Instant::now, |(_, s)| *s);
            let out: Vec<String> = hunts
                .iter()
                .filter(|h| {
                    if let Some(b) = self.books.get(h.as_str()) {
                        return b.stop;
                    }
                    match self.news.get(h.as_str()) {
                        Some((n, at)) => n.stop || at.elapsed() >= SILENT,
                        None => since.elapsed() >= SILENT,
                    }
                })
                .cloned()
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            if !out.is_empty() || (left.is_zero() && !hunts.is_empty()) {
                return Ok(out);
            }
            if left.is_zero() {
                return Ok(Vec::new());
            }
            self.hear(left.min(Duration::from_millis(25)))?;
            if crate::interrupt::requested() || crate::interrupt::terminating() {
                return Ok(Vec::new());
            }
        }
    }

    /// Kept for `hunt status`'s asks, which any connection of this process answers;
    /// this one listens, so that an idle worker answers too.
    fn heartbeat(&mut self, info: &WorkerInfo) -> Result<()> {
        *BEAT.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.clone());
        self.subscribe(NEWS)?;
        self.hear(Duration::ZERO).map(drop)
    }

    fn status(&mut self) -> Result<Vec<HuntStatus>> {
        self.read_status()
    }

    /// RabbitMQ has no clock to read: this host's.
    fn clock(&mut self) -> Result<u64> {
        Ok(crate::broker::now_ms())
    }

    fn workers(&mut self) -> Result<Vec<WorkerInfo>> {
        let now = crate::broker::now_ms();
        let mut w: Vec<WorkerInfo> = self
            .beats
            .values()
            .filter(|(_, at)| now.saturating_sub(*at) < contract::ALIVE_MS)
            .map(|(w, at)| WorkerInfo {
                last_seen_ms: *at,
                ..w.clone()
            })
            .collect();
        w.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(w)
    }
}

/// The coordinator's side: sending news and tables, reading reports and dead letters.
impl Rabbit {
    /// Whether queue `name` exists (a passive declare).
    pub(super) fn queue_exists(&mut self, name: &str) -> Result<bool> {
        // A passive declare of a missing queue closes its channel: a channel of its own.
        let ch = self.side_channel()?;
        let opts = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let r = self.bounded(ch.queue_declare(name, opts, FieldTable::default()));
        let _ = self.bounded(ch.close(200, "looked"));
        match r {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) if e.to_string().contains("NOT_FOUND") => Ok(false),
            Some(Err(e)) => Err(wire::explain(&e, &self.url)),
            None => {
                self.drop_control();
                Err(self.silent())
            }
        }
    }

    /// Sends hunt `hunt`'s news when due (or `now`).
    fn announce(&mut self, hunt: &str, now: bool) -> Result<()> {
        let Some(b) = self.books.get_mut(hunt) else {
            return Ok(());
        };
        // In a hunt's first second its workers are starting, and each waits to hear the
        // news before it takes a task: the news goes out four times as often then.
        let young = crate::broker::now_ms().saturating_sub(b.created_ms) < 1000;
        let every = if young { NEWS_EVERY / 4 } else { NEWS_EVERY };
        if !now && b.news_at.is_some_and(|t| t.elapsed() < every) {
            return Ok(());
        }
        b.news_at = Some(Instant::now());
        let news = Heard::News(News {
            spec: b.spec.clone(),
            stop: b.stop,
            retired: b.retired,
        });
        self.send(NEWS, "", &serde_json::to_vec(&news)?, BasicProperties::default(), false)
            .map(drop)
    }

    /// Reads the hunt's reports and dead letters (waiting up to `wait` for the first),
    /// counts each in its book, answers each request, and returns the events.
    fn pump(&mut self, hunt: &str, wait: Duration) -> Result<Vec<Event>> {
        use futures_lite::StreamExt;
        if !self.books.contains_key(hunt) {
            return Ok(Vec::new());
        }
        let ch = self.channel()?;
        if !self.pumps.contains_key(hunt) {
            let opts = BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            };
            let r = self.wait(ch.basic_consume(&reply_queue(hunt), "", opts, FieldTable::default()))?;
            let d = self.wait(ch.basic_consume(&dead_queue(hunt), "", opts, FieldTable::default()))?;
            self.pumps.insert(hunt.to_string(), (r, d));
        }
        let (mut reports, mut dead) = self.pumps.remove(hunt).expect("made above");
        let mut got: Vec<(bool, lapin::message::Delivery)> = Vec::new();
        let mut limit = wait;
        let r: Result<()> = loop {
            let a = async { (true, reports.next().await) };
            let b = async { (false, dead.next().await) };
            match self.within(limit, futures_lite::future::or(a, b)) {
                None => break Ok(()),
                Some((_, None)) => break Err(anyhow!("the broker cancelled the hunt's consumers")),
                Some((_, Some(Err(e)))) => break Err(wire::explain(&e, &self.url)),
                Some((is_report, Some(Ok(d)))) => got.push((is_report, d)),
            }
            limit = Duration::ZERO;
        };
        if r.is_ok() {
            self.pumps.insert(hunt.to_string(), (reports, dead));
        } else {
            self.drop_control();
        }
        let mut events = Vec::new();
        for (is_report, d) in got {
            events.extend(self.count(hunt, is_report, &d)?);
        }
        r.map(|()| events)
    }

    /// Counts one report or dead letter, and answers a request.
    fn count(
        &mut self,
        hunt: &str,
        is_report: bool,
        d: &lapin::message::Delivery,
    ) -> Result<Vec<Event>> {
        let Some(book) = self.books.get_mut(hunt) else {
            return Ok(Vec::new());
        };
        if !is_report {
            return Ok(match serde_json::from_slice::<TaskMsg>(&d.data) {
                Ok(t) => book.dead_lettered(t.id),
                Err(e) => vec![garbage("a dead letter", &e, &d.data)],
            });
        }
        let report = match serde_json::from_slice::<Report>(&d.data) {
            Ok(r) => r,
            Err(e) => return Ok(vec![garbage("a report", &e, &d.data)]),
        };
        let to = d.properties.reply_to().clone();
        if let (wire::Report::Ask, Some(to)) = (&report, &to) {
            let table = Heard::Table(Table {
                created_ms: book.created_ms,
                status: book.status(),
            });
            let body = serde_json::to_vec(&table)?;
            self.send("", to.as_str(), &body, BasicProperties::default(), false)?;
            return Ok(Vec::new());
        }
        let (events, reply) = book.apply(report);
        if let (Some(reply), Some(to)) = (reply, to) {
            let mut props = BasicProperties::default();
            if let Some(c) = d.properties.correlation_id() {
                props = props.with_correlation_id(c.clone());
            }
            let body = serde_json::to_vec(&reply)?;
            self.send("", to.as_str(), &body, props, false)?;
        }
        Ok(events)
    }
}

/// A message hunt cannot read, as an event.
fn garbage(what: &str, e: &serde_json::Error, body: &[u8]) -> Event {
    Event::Garbage {
        entry: what.to_string(),
        why: format!(
            "not one hunt can read ({e}): {:.200}",
            String::from_utf8_lossy(body)
        ),
    }
}
