//! The RabbitMQ backend of [`crate::broker::Broker`]: Celery's canonical broker, for
//! workers on many hosts. The client is `lapin` (AMQP 0-9-1), each connection driven by a
//! current-thread tokio runtime of its own, so every [`crate::broker::Broker`] call blocks
//! like the other backends' do.
//!
//! # What lives where
//! | name | kind | holds |
//! |---|---|---|
//! | `hunt.ID.tasks` | quorum queue (`x-quorum-initial-group-size` 1, `x-delivery-limit` = `--max-attempts` - 1, dead letters to `hunt.ID.dead`) | one message per task, NotStarted while ready, Running while unacknowledged |
//! | `hunt.ID.dead` | classic queue | the dead letter: tasks delivered `--max-attempts` times and never acknowledged |
//! | `hunt.ID.reply` | classic queue, one consumer: the coordinator | every worker's reports (started, finished, failed, released, refused) |
//! | `hunt.news` | fanout exchange | each running hunt's spec, stop flag and retirement, sent by its coordinator every 200 ms (at once when the stop flag rises) |
//! | `hunt.ask` | fanout exchange | `hunt status`'s asks: every coordinator's reply queue and every worker's news queue is bound to it; coordinators answer with their task table, workers with their last heartbeat |
//! | `hunt.retired` | classic queue | each finished hunt's last table, expiring after the keep time |
//!
//! Every queue of a hunt expires (`x-expires`) a minute after its last use, so a hunt
//! whose coordinator died leaves nothing behind for long.
//!
//! # Leases are connections
//! A worker takes tasks with manual acknowledgements and prefetch 1 (`basic.qos`), on a
//! connection of its own per hunt (the task connection) whose heartbeat timeout is a
//! third of the hunt's `--lease`, rounded up to whole seconds (AMQP counts heartbeats in
//! seconds; at least 1 s): a killed worker's connection closes at once and RabbitMQ
//! hands its unacknowledged task to another worker; a paused or cut-off worker sends no
//! heartbeat, and RabbitMQ closes its connection after two to three timeouts of
//! silence, about one lease, then hands its task over. Live workers
//! need not renew anything: lapin's own I/O thread sends the heartbeats while the
//! worker's threads read files, so [`crate::broker::Broker::renew`] only says whether
//! the task connection still lives. Each return of a task by the broker raises its
//! `x-delivery-count`, which with the attempts its message carries (a failed attempt or
//! a hand-back queues a new copy, at the back) makes the next take's attempt number;
//! past `x-delivery-limit` the quorum queue dead-letters it to `hunt.ID.dead`, which the
//! coordinator reads as Failed.
//!
//! # Where the one answer is decided, and why a late report is fenced
//! RabbitMQ cannot set a key once, so the coordinator decides: it is the single consumer
//! of `hunt.ID.reply` and keeps the task table. Every take sends a `started` report
//! carrying the delivery's identity (a token: the task connection's random nonce and
//! the delivery tag); a report (finish, fail, release) is a request whose reply the
//! worker waits for (direct reply-to). A report counts only when its token is the one the
//! table holds for that task now and the task is Running: a paused worker's task,
//! handed to another worker, holds the new delivery's token, so the old one's report is
//! `stale`; a task already Completed is never counted again. The first counted find is
//! the answer: one consumer handles the reports one at a time, in order, so no second
//! answer can be given. The stop flag goes out in news sent at once, and in every reply
//! from then on, so the worker told of the answer takes no next task. A worker acks its
//! delivery only after the reply; one whose channel died cannot ack at all (its task
//! was already handed back). A retired hunt's last news says so: a worker still
//! awaiting a reply then takes its report as `stale` at once, since no one will read
//! it.
//!
//! # The private node
//! Without `--broker`, hunt starts `rabbitmq-server` (the Debian package's) in a
//! temporary folder, on free loopback ports, as its own child (`rabbitmq/server.rs`):
//! once per hunt (it takes a few seconds) or once per race.

use super::backend::{Backend, PrivateBroker};
use super::{HuntSpec, HuntStatus, WorkerInfo};
use anyhow::{anyhow, Context, Result};
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, Consumer, ExchangeKind};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

mod book;
mod broker;
mod call;
mod report;
mod server;
mod take;
mod wire;

use book::Book;
use wire::News;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a connection that reached its broker once keeps dialling it again: a
/// private node killed by `hunt race --fault kill-broker` listens again after about
/// five seconds here.
const REDIAL_PATIENCE: Duration = Duration::from_secs(20);
/// How long one call (a declare, a publish and its confirm, an ack) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a worker waits for the coordinator's reply to a report.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a coordinator sends its hunts' news.
const NEWS_EVERY: Duration = Duration::from_millis(200);
/// How long a new subscriber listens before it says which hunts run: two rounds of
/// news and a margin for a coordinator that is a little late.
const FIRST_LOOK: Duration = Duration::from_millis(450);
/// How long a worker for one hunt listens for its news before it looks whether the
/// hunt is still there, and how often it looks again: longer than a young hunt's news
/// period (`NEWS_EVERY / 4`), so a running hunt is heard first and costs no look.
const GONE_LOOK: Duration = Duration::from_millis(80);
/// How long a hunt whose news stopped coming is still taken for running.
const SILENT: Duration = Duration::from_secs(10);
/// The exchange of news (specs and stop flags).
const NEWS: &str = "hunt.news";
/// The queue of finished hunts' last tables.
const RETIRED: &str = "hunt.retired";
/// The exchange of `hunt status`'s asks: every coordinator's reply queue and every
/// subscriber's queue is bound to it.
const ASK: &str = "hunt.ask";
/// The direct reply-to pseudo-queue.
const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// The RabbitMQ backend, as the backends table knows it.
pub struct RabbitKind;

impl Backend for RabbitKind {
    const NAME: &'static str = "rabbitmq";
    const SCHEMES: &'static [&'static str] = &["amqp://", "amqps://"];
    const URL_FORMS: &'static str =
        "amqp://USER:PASSWORD@HOST:PORT/VHOST, amqps://... (TLS)";
    const SLOW_PRIVATE: bool = true;
    /// A report waits for the coordinator's reply: the coordinator keeps the table.
    const REPORTS_WAIT_FOR_COORDINATOR: bool = true;

    fn connect(url: &str) -> Result<Box<dyn super::Broker>> {
        Ok(Box::new(Rabbit::open(url)?))
    }

    fn private() -> Result<Box<dyn PrivateBroker>> {
        Ok(Box::new(server::PrivateRabbit::start()?))
    }

    fn missing() -> Option<String> {
        server::missing()
    }
}

impl PrivateBroker for server::PrivateRabbit {
    fn url(&self) -> &str {
        server::PrivateRabbit::url(self)
    }

    fn kill_and_restart(&mut self) -> Option<Result<()>> {
        Some(server::PrivateRabbit::kill_and_restart(self))
    }

    fn no_server(&self) -> Option<&'static str> {
        None
    }
}

/// The queue names of hunt `id`.
fn tasks_queue(id: &str) -> String {
    format!("hunt.{id}.tasks")
}
fn dead_queue(id: &str) -> String {
    format!("hunt.{id}.dead")
}
fn reply_queue(id: &str) -> String {
    format!("hunt.{id}.reply")
}

/// The deliveries this process's task connections hold, by token, each with its
/// connection's status: a worker's helper thread renews through a connection of its
/// own, and a lease lives as long as the connection that holds the delivery.
static HELD: std::sync::LazyLock<std::sync::Mutex<HashMap<String, lapin::ConnectionStatus>>> =
    std::sync::LazyLock::new(Default::default);

/// This process's worker, as its last heartbeat said (answered to `hunt status`'s asks
/// by any of its connections).
static BEAT: std::sync::Mutex<Option<WorkerInfo>> = std::sync::Mutex::new(None);

/// The held deliveries, locked.
fn held() -> std::sync::MutexGuard<'static, HashMap<String, lapin::ConnectionStatus>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

/// A worker's taking of one hunt's tasks: a connection whose heartbeat is the lease.
struct Taker {
    conn: Connection,
    channel: Channel,
    consumer: Consumer,
    /// Random per connection: a token names the delivery on this connection.
    nonce: u64,
    /// Deliveries held, by token.
    held: HashMap<String, lapin::acker::Acker>,
}

/// One connection to a RabbitMQ broker (its hunts' coordinator, a worker thread, or
/// `hunt status`).
pub struct Rabbit {
    url: String,
    /// Whether a dial has reached the broker: from then on, a failed dial is retried.
    reached: std::cell::Cell<bool>,
    rt: Runtime,
    /// The control connection: news, reports, replies. `None` after it failed.
    conn: Option<(Connection, Channel)>,
    /// The consumer of direct replies on the control channel, once made.
    replies: Option<Consumer>,
    /// The subscription to news (and asks), once made.
    heard: Option<(Consumer, Instant)>,
    /// News heard, by hunt, with when.
    news: HashMap<String, (News, Instant)>,
    /// Tables and heartbeats answered to this connection's ask (status).
    tables: HashMap<String, (wire::Table, Instant)>,
    beats: HashMap<String, (WorkerInfo, u64)>,
    /// A worker thread's task connections, by (hunt, consumer).
    takers: HashMap<(String, String), Taker>,
    /// The hunts this connection coordinates.
    books: HashMap<String, Book>,
    /// Their consumers of reports and dead letters, while the control connection lives.
    pumps: HashMap<String, (Consumer, Consumer)>,
    /// Reports and takes sent ahead, oldest first, and replies kept for them ([`report`]).
    ahead: std::collections::VecDeque<report::Ahead>,
    early: HashMap<String, wire::Reply>,
}

/// A string header or argument.
fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

/// `url` as messages show it: the password is `***`.
pub fn shown(url: &str) -> String {
    super::redact(url)
}

impl Rabbit {
    /// Connects to `url` (checking it first: a URL hunt cannot use is one line).
    pub fn open(url: &str) -> Result<Rabbit> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the RabbitMQ client's runtime")?;
        parse(url, None)?;
        let mut r = Rabbit {
            url: url.to_string(),
            reached: std::cell::Cell::new(false),
            rt,
            conn: None,
            replies: None,
            heard: None,
            news: HashMap::new(),
            tables: HashMap::new(),
            beats: HashMap::new(),
            takers: HashMap::new(),
            ahead: std::collections::VecDeque::new(),
            early: HashMap::new(),
            books: HashMap::new(),
            pumps: HashMap::new(),
        };
        r.channel()?;
        Ok(r)
    }

    /// The control channel, made now where there is none (declaring the shared
    /// exchanges and the retired queue).
    fn channel(&mut self) -> Result<Channel> {
        if let Some((c, ch)) = &self.conn {
            if c.status().connected() && ch.status().connected() {
                return Ok(ch.clone());
            }
        }
        self.drop_control();
        let conn = self.dial(None)?;
        let ch = self.wait(conn.create_channel())?;
        // Confirms: a report to a queue that is gone comes back (`mandatory`).
        self.wait(ch.confirm_select(lapin::options::ConfirmSelectOptions::default()))?;
        for ex in [NEWS, ASK] {
            let opts = ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            };
            self.wait(ch.exchange_declare(ex, ExchangeKind::Fanout, opts, FieldTable::default()))?;
        }
        let opts = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        self.wait(ch.queue_declare(RETIRED, opts, FieldTable::default()))?;
        self.conn = Some((conn, ch.clone()));
        Ok(ch)
    }

    /// Runs one lapin call to its end; a failure drops the control connection (the next
    /// call makes a new one) and is named with the broker.
    fn wait<T>(&mut self, f: impl std::future::Future<Output = lapin::Result<T>>) -> Result<T> {
        match self.bounded(f) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => {
                self.drop_control();
                Err(wire::explain(&e, &self.url))
            }
            None => {
                self.drop_control();
                Err(self.silent())
            }
        }
    }

    /// A channel of its own on the control connection (for a call that may close it).
    fn side_channel(&mut self) -> Result<Channel> {
        self.channel()?;
        let conn = &self.conn.as_ref().expect("made above").0;
        match self.bounded(conn.create_channel()) {
            Some(Ok(ch)) => Ok(ch),
            Some(Err(e)) => {
                self.drop_control();
                Err(wire::explain(&e, &self.url))
            }
            None => {
                self.drop_control();
                Err(self.silent())
            }
        }
    }

    /// Forgets the control connection and what hangs on it.
    fn drop_control(&mut self) {
        self.conn = None;
        self.replies = None;
        self.heard = None;
        self.pumps.clear();
    }

    /// Publishes `body` to `exchange` with `key` and waits for the broker's confirm;
    /// false when a `mandatory` message came back (no queue took it).
    fn send(
        &mut self,
        exchange: &str,
        key: &str,
        body: &[u8],
        props: BasicProperties,
        mandatory: bool,
    ) -> Result<bool> {
        self.publish(exchange, key, body, props, mandatory, true)
    }

    /// [`Rabbit::send`], with the wait for the broker's confirm only when `confirmed`
    /// (without it, true once lapin has the frame).
    fn publish(
        &mut self,
        exchange: &str,
        key: &str,
        body: &[u8],
        props: BasicProperties,
        mandatory: bool,
        confirmed: bool,
    ) -> Result<bool> {
        let ch = self.channel()?;
        let opts = BasicPublishOptions {
            mandatory,
            ..Default::default()
        };
        let confirm = self.wait(async {
            let confirm = ch.basic_publish(exchange, key, opts, body, props).await?;
            if confirmed {
                confirm.await.map(Some)
            } else {
                Ok(None)
            }
        })?;
        Ok(confirm.is_none_or(|c| c.take_message().is_none()))
    }

    /// Subscribes this connection to `exchange` (news) and to `hunt status`'s asks,
    /// with a queue of its own, once.
    fn subscribe(&mut self, exchange: &str) -> Result<()> {
        if self.heard.is_some() {
            return Ok(());
        }
        let ch = self.channel()?;
        let opts = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        };
        let q = self.wait(ch.queue_declare("", opts, FieldTable::default()))?;
        let name = q.name().as_str().to_string();
        for ex in [exchange, ASK] {
            self.wait(ch.queue_bind(&name, ex, "", QueueBindOptions::default(), FieldTable::default()))?;
        }
        let opts = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let c = self.wait(ch.basic_consume(&name, "", opts, FieldTable::default()))?;
        self.heard = Some((c, Instant::now()));
        Ok(())
    }

    /// Takes what the subscription holds, waiting up to `wait` for the first message.
    fn hear(&mut self, wait: Duration) -> Result<usize> {
        use futures_lite::StreamExt;
        let Some((mut c, since)) = self.heard.take() else {
            return Ok(0);
        };
        let mut got = Vec::new();
        let mut limit = wait;
        let r: Result<()> = loop {
            match self.within(limit, c.next()) {
                None => break Ok(()),
                Some(None) => break Err(anyhow!("the broker ended the subscription")),
                Some(Some(Err(e))) => break Err(wire::explain(&e, &self.url)),
                Some(Some(Ok(d))) => got.push((d.data, d.properties.reply_to().clone())),
            }
            limit = Duration::ZERO;
        };
        if r.is_ok() {
            self.heard = Some((c, since));
        }
        let n = got.len();
        for (body, reply_to) in got {
            self.file(&body);
            if let Some(to) = reply_to {
                self.answer_ask(&body, to.as_str())?;
            }
        }
        r.map(|()| n)
    }

    /// Answers `hunt status`'s ask (sent to every subscriber): this process's worker,
    /// where it is one, says it is alive.
    fn answer_ask(&mut self, body: &[u8], to: &str) -> Result<()> {
        let Ok(wire::Report::Ask) = serde_json::from_slice::<wire::Report>(body) else {
            return Ok(());
        };
        let me = BEAT.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(info) = me {
            let body = serde_json::to_vec(&wire::Heard::Beat(info))?;
            self.send("", to, &body, BasicProperties::default(), false)?;
        }
        Ok(())
    }

    /// Files one message heard: news (never undoing a stop or a retirement, see
    /// [`wire::News::over`]), a table or a heartbeat.
    fn file(&mut self, body: &[u8]) {
        match serde_json::from_slice::<wire::Heard>(body) {
            Ok(wire::Heard::News(n)) => {
                let id = n.spec.id.clone();
                let n = n.over(self.news.get(&id).map(|(e, _)| e));
                self.news.insert(id, (n, Instant::now()));
            }
            Ok(wire::Heard::Table(t)) => {
                self.tables
                    .insert(t.status.spec.id.clone(), (t, Instant::now()));
            }
            Ok(wire::Heard::Beat(w)) => {
                let now = super::now_ms();
                self.beats.insert(w.name.clone(), (w, now));
            }
            Err(_) => {}
        }
    }

    /// A reply of hunt `id`'s coordinator said its stop signal is up: this connection
    /// takes it as heard, ahead of the news.
    fn told_stop(&mut self, id: &str) {
        if let Some((n, _)) = self.news.get_mut(id) {
            n.stop = true;
        }
    }

    /// The news of hunt `id`, if heard recently.
    fn news_of(&self, id: &str) -> Option<&News> {
        self.news
            .get(id)
            .filter(|(_, at)| at.elapsed() < SILENT)
            .map(|(n, _)| n)
    }

    /// The spec of hunt `id`, from its coordinator's book or its news (subscribing and
    /// waiting for the next news where none was heard yet).
    fn spec_of(&mut self, id: &str) -> Result<Option<HuntSpec>> {
        if let Some(b) = self.books.get(id) {
            return Ok(Some(b.spec.clone()));
        }
        if self.news_of(id).is_none() {
            self.listen_news(Some(id))?;
        }
        Ok(self.news_of(id).map(|n| n.spec.clone()))
    }

    /// Subscribes to news and, the first time, waits [`FIRST_LOOK`]: two rounds of
    /// news and a margin, so that every running coordinator (each sends its news every
    /// [`NEWS_EVERY`]) has been heard. The wait never ends at the first message heard:
    /// on a broker serving several hunts that may be another hunt's news (a stopped one,
    /// say), and a worker started for one hunt (`hunt worker --hunt ID`, a coordinator's
    /// own) that missed its hunt at its first look would end having taken nothing. So
    /// it ends early only where the caller serves one hunt, `want`, and heard it, or
    /// where that hunt is gone: a coordinator's own worker that starts after its hunt
    /// ended (a treasure found in the first tasks, before every worker was up) hears no
    /// more news of it, so from [`GONE_LOOK`] on it looks whether the hunt's reply queue
    /// still exists, rather than waiting out the whole look while its coordinator waits
    /// for it to leave.
    fn listen_news(&mut self, want: Option<&str>) -> Result<()> {
        let fresh = self.heard.is_none();
        self.subscribe(NEWS)?;
        let wait = if fresh { FIRST_LOOK } else { Duration::ZERO };
        let deadline = Instant::now() + wait;
        let mut look_at = Instant::now() + GONE_LOOK;
        loop {
            self.hear(Duration::ZERO)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || want.is_some_and(|id| self.news_of(id).is_some()) {
                return Ok(());
            }
            if let Some(id) = want.filter(|_| Instant::now() >= look_at) {
                // A failed look is no answer: listen on.
                if let Ok(false) = self.queue_exists(&reply_queue(id)) {
                    return Ok(());
                }
                look_at = Instant::now() + GONE_LOOK;
            }
            self.hear(left.min(Duration::from_millis(10)))?;
        }
    }
}

/// Parses `url` as an AMQP URI, with a heartbeat where given; one line naming the
/// forms otherwise.
fn parse(url: &str, heartbeat: Option<u16>) -> Result<lapin::uri::AMQPUri> {
    let mut uri: lapin::uri::AMQPUri = url.parse().map_err(|e: String| {
        anyhow!(
            "--broker {} is not a RabbitMQ URL hunt can use ({e}): write {}",
            shown(url),
            RabbitKind::URL_FORMS
        )
    })?;
    uri.query.connection_timeout = Some(CONNECT_TIMEOUT.as_millis() as u64);
    if let Some(h) = heartbeat {
        uri.query.heartbeat = Some(h);
    }
    Ok(uri)
}

/// The heartbeat timeout, in whole seconds, of a task connection for a hunt of
/// `lease_ms`: a third of the lease, rounded up, at least 1 s. RabbitMQ closes a
/// connection silent for two to three timeouts (measured here with `hunt race --fault
/// pause-worker`, a 10 s pause: under a 5 s timeout the paused worker kept its task;
/// under 3 s the answer came at 9.96 s, under 2 s at 7.07 s, its task taken over,
/// against 1.8 s unpaused), so a paused worker's task goes back after about one lease (later for a
/// lease under 3 s, where the 1 s floor holds).
fn heartbeat_of(lease_ms: u64) -> u16 {
    u16::try_from(lease_ms.div_ceil(3000).clamp(1, 600)).unwrap_or(600)
}

/// The arguments of a hunt's task queue.
fn task_queue_args(spec: &HuntSpec) -> FieldTable {
    let mut a = FieldTable::default();
    a.insert("x-queue-type".into(), text("quorum"));
    a.insert("x-quorum-initial-group-size".into(), AMQPValue::LongInt(1));
    let limit = i32::try_from(spec.max_attempts.saturating_sub(1)).unwrap_or(i32::MAX);
    a.insert("x-delivery-limit".into(), AMQPValue::LongInt(limit));
    a.insert("x-dead-letter-exchange".into(), text(""));
    a.insert("x-dead-letter-routing-key".into(), text(&dead_queue(&spec.id)));
    a.insert(
        "x-expires".into(),
        AMQPValue::LongInt(super::contract::ALIVE_MS as i32),
    );
    a
}

/// The arguments of a hunt's other queues.
fn plain_queue_args() -> FieldTable {
    let mut a = FieldTable::default();
    a.insert(
        "x-expires".into(),
        AMQPValue::LongInt(super::contract::ALIVE_MS as i32),
    );
    a
}

/// A short string, for lapin's names.
fn short(s: &str) -> ShortString {
    s.into()
}

#[cfg(test)]
mod tests;
