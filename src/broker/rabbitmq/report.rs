//! A worker's reports to the coordinator, which keeps the task table: told (no reply
//! needed), or requested and answered (the verdict), the delivery then settled by it;
//! and reports sent ahead of their verdicts ([`Broker::send_finish_and_take`]): a worker
//! thread in two lanes publishes one lane's report and runs the other lane's task while
//! the coordinator decides on it. Each lane is a consumer with a task connection of its
//! own, so its delivery is its lease as a lone thread's is. The verdict is read when the
//! thread needs that lane's next task: then the delivery is acknowledged (or queued
//! again), and the lane takes its next. Replies that come while another is awaited are
//! kept by correlation id ([`Rabbit::reply_to`]), so calls made in between change no
//! reply.

use super::wire::{Reply, Report};
use super::*;
use crate::broker::{contract, Broker, Done, Me, Take};
use crate::tasks::{Finished, Lease};
use anyhow::bail;

/// How often a worker awaiting the coordinator's reply looks whether the hunt was
/// retired meanwhile (a passive declare of its reply queue: one round trip).
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// A report or a take sent ahead.
pub(super) struct Ahead {
    hunt: String,
    me: Me,
    /// The report's lease, where a report was sent (else a take alone).
    lease: Option<Lease>,
    /// The report's correlation id; `None` where its hunt's reply queue was gone.
    pub(super) id: Option<String>,
}

impl Rabbit {
    /// Sends lane `me`'s report (where `report` is given) without waiting for the
    /// coordinator's reply; the take that follows it waits for [`Broker::receive`].
    pub(super) fn send_ahead(
        &mut self,
        hunt: &str,
        me: &Me,
        report: Option<(&Lease, &Done)>,
    ) -> Result<bool> {
        let (lease, id) = match report {
            Some((lease, done)) => {
                let id = self.send_request(hunt, &Report::finish(me, lease, done))?;
                (Some(lease.clone()), id)
            }
            None => (None, None),
        };
        self.ahead.push_back(Ahead {
            hunt: hunt.to_string(),
            me: me.clone(),
            lease,
            id,
        });
        Ok(true)
    }

    /// [`Broker::receive`]: the oldest report's verdict (its delivery settled by it),
    /// then its lane's next take.
    pub(super) fn receive_ahead(&mut self) -> Result<(Option<Finished>, Take)> {
        let Some(a) = self.ahead.pop_front() else {
            bail!("no report or take was sent ahead on this connection, so there is nothing to receive");
        };
        let finished = match &a.lease {
            Some(lease) => {
                let reply = match &a.id {
                    Some(id) => self.reply_to(&a.hunt, id)?,
                    None => Reply::stale(),
                };
                Some(self.settle_by(&a.hunt, &a.me, lease, &reply)?)
            }
            None => None,
        };
        Ok((finished, self.take(&a.hunt, &a.me)?))
    }
}

/// The worker's side of a report: the request, its reply, and the delivery settled.
impl Rabbit {
    /// Sends a report that needs no reply, waiting for the broker's confirm where
    /// `confirmed`. A take's `started` goes unconfirmed: the report of the same task
    /// (finish, fail, release) goes out after it on the same channel to the same queue,
    /// which AMQP keeps in order, and waits for the coordinator's reply, which confirms
    /// both; where it is lost with its connection, so is the channel the report would
    /// follow it on.
    pub(super) fn tell(&mut self, hunt: &str, report: &Report, confirmed: bool) -> Result<()> {
        let body = serde_json::to_vec(report)?;
        let props = BasicProperties::default();
        self.publish("", &reply_queue(hunt), &body, props, false, confirmed)
            .map(drop)
    }

    /// Sends a report and waits for the coordinator's reply. A hunt whose reply queue
    /// is gone (retired) when the report is sent, or retired while its reply is awaited,
    /// answers `stale`: nothing of the report can count any more. The retirement is heard
    /// in the news this connection listens to (its last news says so), else at the next
    /// look at the reply queue, every [`LOOK_EVERY`]. A reply saying that the hunt's stop
    /// signal is up counts as its stop news heard.
    pub(super) fn request(&mut self, hunt: &str, report: &Report) -> Result<Reply> {
        match self.send_request(hunt, report)? {
            Some(id) => self.reply_to(hunt, &id),
            None => Ok(Reply::stale()),
        }
    }

    /// Makes this connection's consumer of direct replies, once.
    pub(super) fn listen_for_replies(&mut self) -> Result<()> {
        let ch = self.channel()?;
        if self.replies.is_none() {
            let opts = BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            };
            let c = self.wait(ch.basic_consume(REPLY_TO, "", opts, FieldTable::default()))?;
            self.replies = Some(c);
        }
        Ok(())
    }

    /// Sends a report for the coordinator to answer: its correlation id, or `None` for
    /// a hunt whose reply queue is gone (nothing of the report can count).
    pub(super) fn send_request(&mut self, hunt: &str, report: &Report) -> Result<Option<String>> {
        self.listen_for_replies()?;
        let id = format!("{:016x}", rand::random::<u64>());
        let props = BasicProperties::default()
            .with_reply_to(short(REPLY_TO))
            .with_correlation_id(short(&id));
        let body = serde_json::to_vec(report)?;
        if !self.send("", &reply_queue(hunt), &body, props, true)? {
            return Ok(None);
        }
        Ok(Some(id))
    }

    /// The coordinator's reply to the report of correlation id `id`: one that came
    /// while another was awaited, or the next to come.
    pub(super) fn reply_to(&mut self, hunt: &str, id: &str) -> Result<Reply> {
        let reply = match self.early.remove(id) {
            Some(r) => r,
            None => self.await_reply(hunt, id)?,
        };
        if reply.stop {
            self.told_stop(hunt);
        }
        Ok(reply)
    }

    /// Waits for the reply of correlation id `id` to a report of hunt `hunt`, and hears
    /// the news meanwhile (a retired hunt's reply never comes).
    fn await_reply(&mut self, hunt: &str, id: &str) -> Result<Reply> {
        use futures_lite::StreamExt;
        enum Came {
            Reply(Option<lapin::Result<lapin::message::Delivery>>),
            News(Option<lapin::Result<lapin::message::Delivery>>),
        }
        let retired = |r: &Rabbit| r.news_of(hunt).is_some_and(|n| n.retired);
        let mut c = self.replies.take().expect("made by request");
        let mut news = self.heard.take();
        // `hunt status`'s asks heard meanwhile, answered once the wait is over.
        let mut asks = Vec::new();
        let deadline = Instant::now() + REPLY_TIMEOUT;
        // The next look at the reply queue: news heard meanwhile does not put it off.
        let mut look_at = Instant::now() + LOOK_EVERY;
        let r = loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            // Retired: a reply already here still counts; none will come after it.
            let slice = if retired(self) {
                Duration::ZERO
            } else {
                left.min(look_at.saturating_duration_since(now))
            };
            let next = self.within(slice, async {
                let reply = async { Came::Reply(c.next().await) };
                let heard = async {
                    match news.as_mut() {
                        Some((h, _)) => Came::News(h.next().await),
                        None => std::future::pending().await,
                    }
                };
                futures_lite::future::or(reply, heard).await
            });
            match next {
                None if retired(self) => break Ok(Reply::stale()),
                // No reply yet: a report that reached the reply queue just before the
                // coordinator retired the hunt (its last read done, the queue deleted
                // under the message) is answered by no one. Nothing of it can count.
                None if slice < left => {
                    look_at = Instant::now() + LOOK_EVERY;
                    match self.exists(hunt) {
                        Ok(true) => {}
                        Ok(false) => break Ok(Reply::stale()),
                        Err(e) => break Err(e),
                    }
                }
                None => break Err(anyhow!(
                    "the coordinator of hunt {hunt} did not answer a report within {} s: is it still running?",
                    REPLY_TIMEOUT.as_secs()
                )),
                Some(Came::News(Some(Ok(d)))) => {
                    self.file(&d.data);
                    if let Some(to) = d.properties.reply_to() {
                        asks.push((d.data, to.as_str().to_string()));
                    }
                }
                // The subscription ended: wait for the reply alone.
                Some(Came::News(_)) => news = None,
                Some(Came::Reply(None)) => break Err(anyhow!("the broker at {} ended the reply consumer", shown(&self.url))),
                Some(Came::Reply(Some(Err(e)))) => break Err(wire::explain(&e, &self.url)),
                Some(Came::Reply(Some(Ok(d)))) => {
                    let cid = d.properties.correlation_id().as_ref().map(|s| s.as_str().to_string());
                    if cid.as_deref() == Some(id) {
                        break serde_json::from_slice::<Reply>(&d.data)
                            .context("the coordinator's reply is not one hunt can read");
                    }
                    // The reply of a report sent ahead: kept for its turn.
                    if let Some(cid) = cid.filter(|c| self.ahead.iter().any(|a| a.id.as_deref() == Some(c.as_str()))) {
                        if let Ok(r) = serde_json::from_slice::<Reply>(&d.data) {
                            self.early.insert(cid, r);
                        }
                    }
                }
            }
        };
        if r.is_ok() {
            self.replies = Some(c);
            if news.is_some() && self.heard.is_none() {
                self.heard = news;
            }
        }
        for (body, to) in asks {
            // A status's answer is best effort: its failure must not undo a report's
            // reply (the report counted); the next ask is answered by the helper.
            let _ = self.answer_ask(&body, &to);
        }
        r
    }

    /// Sends a finish or a failure, settles the delivery by the reply.
    pub(super) fn report(&mut self, hunt: &str, me: &Me, lease: &Lease, report: Report) -> Result<Finished> {
        let reply = self.request(hunt, &report)?;
        self.settle_by(hunt, me, lease, &reply)
    }

    /// Settles a report's delivery by the coordinator's reply: acknowledged, or queued
    /// again for a retry.
    pub(super) fn settle_by(&mut self, hunt: &str, me: &Me, lease: &Lease, reply: &Reply) -> Result<Finished> {
        let finished = contract::finished(&reply.finished)?;
        if finished == Finished::Retried && reply.requeue {
            // Queued again as a new entry, behind what is queued now,
            // carrying this attempt.
            self.requeue(hunt, me, lease, lease.attempt, false);
        } else {
            self.settle(hunt, me, &lease.token);
        }
        Ok(finished)
    }

    /// Acknowledges the delivery `token`; a channel that died cannot, and the broker
    /// has handed the task back already.
    fn settle(&mut self, hunt: &str, me: &Me, token: &str) {
        use lapin::options::BasicAckOptions;
        held().remove(token);
        let key = (hunt.to_string(), me.consumer.clone());
        let Some(t) = self.takers.get_mut(&key) else {
            return;
        };
        let Some(acker) = t.held.remove(token) else {
            return;
        };
        if crate::interrupt::terminating() || crate::interrupt::requested() {
            // Ending: no next delivery may be pushed to this consumer after the ack (it
            // would come back with one more delivery counted).
            let (ch, tag) = (t.channel.clone(), t.consumer.tag());
            let _ = self.bounded(ch.basic_cancel(tag.as_str(), Default::default()));
        }
        let _ = self.bounded(acker.ack(BasicAckOptions::default()));
    }
}
