//! What travels between hunt's processes over RabbitMQ (news, tables, heartbeats,
//! tasks, reports and their replies), and lapin's errors as one line.

use super::shown;
use crate::broker::{HuntSpec, HuntStatus, WireTally, WorkerInfo};
use anyhow::anyhow;
use serde::{Deserialize, Serialize};

/// A running hunt as its coordinator announces it on `hunt.news`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct News {
    /// Its spec.
    pub spec: HuntSpec,
    /// The stop signal is up: nothing more is handed out.
    pub stop: bool,
    /// The hunt is retired: its coordinator reads no more reports, so a report still
    /// awaiting its reply is `stale` (absent from older coordinators' news).
    #[serde(default)]
    pub retired: bool,
}

impl News {
    /// This news, filed over `earlier` news of the same hunt: a stop or a retirement
    /// is never undone (news sent before it may arrive after a reply that told of it).
    pub fn over(mut self, earlier: Option<&News>) -> News {
        if let Some(e) = earlier {
            self.stop |= e.stop;
            self.retired |= e.retired;
        }
        self
    }
}

/// A message of the fanout exchanges.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "heard", rename_all = "snake_case")]
pub enum Heard {
    /// A hunt's spec and stop flag.
    News(News),
    /// A hunt's task table.
    Table(Table),
    /// A worker is alive.
    Beat(WorkerInfo),
}

/// A hunt's task table, as status shows it, with when the hunt began (status lists the
/// newest first).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Table {
    /// When the coordinator published the hunt, ms since the epoch (its clock).
    pub created_ms: u64,
    /// The table.
    pub status: HuntStatus,
}

/// One task as its message carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskMsg {
    /// Its number.
    pub id: u64,
    /// Its first search position.
    pub from: u64,
    /// One past its last.
    pub to: u64,
}

/// A worker's report to the coordinator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    /// A task taken.
    Started {
        task: u64,
        worker: String,
        attempt: u32,
        token: String,
    },
    /// A task run to its end (or cut short).
    Finish {
        task: u64,
        worker: String,
        token: String,
        tally: WireTally,
        found: Option<u64>,
        cut_short: bool,
        why: String,
    },
    /// An attempt given up.
    Fail {
        task: u64,
        worker: String,
        token: String,
        why: String,
    },
    /// A task handed back unfinished.
    Release {
        task: u64,
        worker: String,
        token: String,
    },
    /// A task delivered more often than the hunt allows (counted across copies).
    TooOften { task: u64, attempt: u32 },
    /// A worker will not serve the hunt.
    Refuse { worker: String, why: String },
    /// A queue entry that is not a task of the hunt.
    Garbage { entry: String, why: String },
    /// `hunt status` asks every coordinator for its table and every worker whether it
    /// lives (sent to the `hunt.ask` exchange, answered to its reply-to).
    Ask,
}

/// The coordinator's reply to a report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reply {
    /// `accepted`, `answer`, `retried` or `stale` ([`crate::broker::contract::finished`]).
    pub finished: String,
    /// For `retried`: the delivery goes back on the queue (else it is acknowledged:
    /// the dead letter was decided).
    pub requeue: bool,
    /// The hunt's stop signal is up (the answer is in): the worker takes no next task,
    /// without waiting for the news (absent from older coordinators' replies).
    #[serde(default)]
    pub stop: bool,
}

impl Report {
    /// The report of a task run to its end (or cut short) under `lease`.
    pub fn finish(me: &crate::broker::Me, lease: &crate::tasks::Lease, done: &crate::broker::Done) -> Report {
        Report::Finish {
            task: lease.task.id,
            worker: me.label(),
            token: lease.token.clone(),
            tally: done.tally.clone(),
            found: done.found,
            cut_short: done.cut_short,
            why: done.why.clone(),
        }
    }
}

impl Reply {
    /// The reply of a hunt that is gone: nothing of the report counts.
    pub fn stale() -> Reply {
        Reply {
            finished: "stale".into(),
            requeue: false,
            stop: true,
        }
    }
}

/// A lapin error as one line naming the broker and the fix, never its password.
pub fn explain(e: &lapin::Error, url: &str) -> anyhow::Error {
    let at = shown(url);
    let said = e.to_string();
    let said = match url_password(url) {
        Some(pw) if !pw.is_empty() => said.replace(&pw, "***"),
        _ => said,
    };
    if said.contains("certificate") || said.contains("UnknownIssuer") {
        return anyhow!("the broker's certificate is not one the CA vouches for, so hunt refused it: give the CA that signed it with --broker-ca FILE, and a HOST its certificate names (the broker at {at}: {said})");
    }
    if url.to_ascii_lowercase().starts_with("amqps://")
        && (said.contains("corrupt message") || said.contains("InvalidContentType"))
    {
        return anyhow!("the server at {at} does not speak TLS there: give its TLS port (5671 by default), or amqp:// for a plain one");
    }
    if said.contains("ACCESS_REFUSED") || said.contains("403") {
        return anyhow!("the broker at {at} refused the user or password: give the right ones in --broker (amqp://USER:PASSWORD@HOST:PORT/VHOST)");
    }
    if said.contains("NOT_ALLOWED") || said.contains("530") {
        return anyhow!("the broker at {at} refused the vhost ({said}): create it (`rabbitmqctl add_vhost`), give the user permissions, or fix --broker");
    }
    if said.contains("refused") || said.contains("timed out") || said.contains("unreachable") {
        return anyhow!("cannot reach the broker at {at} ({said}): is RabbitMQ running there? start it, or fix --broker");
    }
    if said.contains("aborted")
        || said.contains("reset")
        || said.contains("protocol")
        || said.contains("parse")
        || said.contains("EOF")
    {
        let tls = if url.to_ascii_lowercase().starts_with("amqp://") {
            " (a TLS port takes amqps://)"
        } else {
            ""
        };
        return anyhow!("the server at {at} does not speak AMQP ({said}): is --broker the address of a RabbitMQ server?{tls}");
    }
    if said.contains("IO error") || said.contains("connection") {
        return anyhow!("cannot reach the broker at {at} ({said}): is RabbitMQ running there? start it, or fix --broker");
    }
    anyhow!("the broker at {at} failed: {said}")
}

/// The password in `url`'s userinfo, if any.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let auth = rest.split('/').next()?;
    let (user, _) = auth.rsplit_once('@')?;
    user.split_once(':').map(|(_, pw)| pw.to_string())
}
