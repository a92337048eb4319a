//! The RabbitMQ backend's own checks: its pieces without a server (the lease's
//! heartbeat, URLs, the coordinator's book), and, against a server named by
//! `HUNT_RABBITMQ_URL`, the round trip docs/BROKERS.md quotes (ignored by default: it
//! measures, it asserts no speed).

use super::book::Book;
use super::wire::Report;
use super::*;
use crate::broker::{Event, WireTally};
use crate::tasks::Task;

fn spec(max_attempts: u32) -> HuntSpec {
    serde_json::from_value(serde_json::json!({
        "format": 1, "id": "00000000000000aa",
        "identity": { "digest": "0".repeat(32), "summary": "t" },
        "files": 4, "needle_hex": "54", "reader": "read", "rotate": 0, "batch": 2,
        "lease_ms": 1500, "max_attempts": max_attempts, "coordinator": "here",
    }))
    .unwrap()
}

fn started(task: u64, token: &str, attempt: u32) -> Report {
    Report::Started {
        task,
        worker: "w@h".into(),
        attempt,
        token: token.into(),
    }
}

fn finish(task: u64, token: &str, found: Option<u64>) -> Report {
    Report::Finish {
        task,
        worker: "w@h".into(),
        token: token.into(),
        tally: WireTally::default(),
        found,
        cut_short: false,
        why: String::new(),
    }
}

#[test]
fn the_heartbeat_is_a_third_of_the_lease_in_whole_seconds() {
    assert_eq!(heartbeat_of(100), 1);
    assert_eq!(heartbeat_of(1000), 1);
    assert_eq!(heartbeat_of(3000), 1);
    assert_eq!(heartbeat_of(5000), 2);
    assert_eq!(heartbeat_of(86_400_000), 600);
}

#[test]
fn tls_urls_parse_and_bad_urls_are_refused_in_one_line() {
    let uri = parse("amqps://u:pw@h:5671/v", None).unwrap();
    assert_eq!(uri.scheme, lapin::uri::AMQPScheme::AMQPS);
    assert_eq!(uri.authority.port, 5671);
    let e = parse("amqp://u:pw@h:notaport/v", None).unwrap_err().to_string();
    assert!(e.contains("is not a RabbitMQ URL") && !e.contains(":pw@"), "{e}");
    assert_eq!(parse("amqp://h:1/v", Some(3)).unwrap().query.heartbeat, Some(3));
}

/// The fence and the one answer: a report counts only from the delivery that holds the
/// task now, a settled task is never counted again, and the first find is the answer.
#[test]
fn the_book_counts_each_task_once_and_gives_one_answer() {
    let tasks = [Task { id: 0, range: 0..2 }, Task { id: 1, range: 2..4 }];
    let mut b = Book::new(spec(3), &tasks);
    b.apply(started(0, "a", 1));
    // a's connection died: the broker handed task 0 to b.
    b.apply(started(0, "b", 2));
    let (ev, r) = b.apply(finish(0, "a", Some(1)));
    assert!(matches!(ev[..], [Event::Stale { task: 0, .. }]), "{ev:?}");
    assert_eq!(r.unwrap().finished, "stale");
    let (ev, r) = b.apply(finish(0, "b", Some(1)));
    assert_eq!(r.unwrap().finished, "answer");
    assert!(matches!(ev[..], [Event::Finished { .. }, Event::Answer(_)]), "{ev:?}");
    let (_, r) = b.apply(finish(0, "b", Some(1)));
    assert_eq!(r.unwrap().finished, "stale", "a repeated report");
    // A copy of the settled task, delivered again, changes nothing.
    let (ev, _) = b.apply(started(0, "c", 3));
    assert!(ev.is_empty());
    b.apply(started(1, "d", 1));
    let (ev, r) = b.apply(finish(1, "d", Some(3)));
    assert_eq!(r.unwrap().finished, "accepted", "a second find is no answer");
    assert!(!ev.iter().any(|e| matches!(e, Event::Answer(_))));
    assert_eq!(b.answer.as_ref().map(|a| a.index), Some(1));
    assert!(b.stop);
}

/// A reply says whether the stop signal is up, so that the worker told of the answer
/// (or reporting after it) takes no next task; news sent earlier never lowers it again.
#[test]
fn replies_carry_the_stop_and_earlier_news_never_lowers_it() {
    let tasks = [Task { id: 0, range: 0..2 }, Task { id: 1, range: 2..4 }];
    let mut b = Book::new(spec(3), &tasks);
    b.apply(started(0, "a", 1));
    b.apply(started(1, "b", 1));
    let (_, r) = b.apply(finish(0, "a", None));
    assert!(!r.unwrap().stop, "no answer yet");
    let (_, r) = b.apply(finish(1, "b", Some(2)));
    let r = r.unwrap();
    assert!(r.finished == "answer" && r.stop, "{r:?}");
    let (_, r) = b.apply(finish(1, "b", Some(2)));
    assert!(r.unwrap().stop, "a stale reply after the answer says so too");
    let news = |stop, retired| wire::News {
        spec: spec(3),
        stop,
        retired,
    };
    let late = news(false, false).over(Some(&news(true, false)));
    assert!(late.stop && !late.retired);
    let late = news(true, false).over(Some(&news(true, true)));
    assert!(late.stop && late.retired);
    let first = news(false, false).over(None);
    assert!(!first.stop && !first.retired);
}

#[test]
fn failed_attempts_are_retried_then_dead_lettered() {
    let tasks = [Task { id: 0, range: 0..2 }, Task { id: 1, range: 2..4 }];
    let mut b = Book::new(spec(2), &tasks);
    let fail = |token: &str| Report::Fail {
        task: 0,
        worker: "w@h".into(),
        token: token.into(),
        why: "no".into(),
    };
    b.apply(started(0, "a", 1));
    let (_, r) = b.apply(fail("a"));
    let r = r.unwrap();
    assert!(r.finished == "retried" && r.requeue);
    b.apply(started(0, "b", 2));
    let (ev, r) = b.apply(fail("b"));
    let r = r.unwrap();
    assert!(r.finished == "retried" && !r.requeue, "the dead letter");
    assert!(matches!(ev[..], [Event::Failed { task: 0, .. }]), "{ev:?}");
    // The broker's own dead letter of task 1 (its workers died).
    let ev = b.dead_lettered(1);
    assert!(matches!(&ev[..], [Event::Failed { task: 1, why, .. }] if why.contains("taken 2 times")));
    assert!(b.dead_lettered(1).is_empty(), "once");
}

/// After the answer, a dead letter is the returns of leaving workers' prefetched
/// tasks, not attempts: the task goes back (not running), and nothing fails.
#[test]
fn a_dead_letter_after_the_answer_is_handed_back_not_failed() {
    let tasks = [
        Task { id: 0, range: 0..2 },
        Task { id: 1, range: 2..4 },
        Task { id: 2, range: 4..4 },
    ];
    let mut b = Book::new(spec(3), &tasks);
    b.apply(started(0, "a", 1));
    b.apply(started(1, "b", 1));
    b.apply(finish(0, "a", Some(1)));
    let ev = b.dead_lettered(1);
    assert!(matches!(ev[..], [Event::Released { task: 1, .. }]), "{ev:?}");
    assert_eq!(b.rows[1].state, crate::tasks::TaskState::NotStarted);
    let (_, r) = b.apply(finish(1, "b", None));
    assert_eq!(r.unwrap().finished, "stale", "its old holder's report is fenced");
    let (ev, _) = b.apply(Report::TooOften { task: 2, attempt: 4 });
    assert!(matches!(ev[..], [Event::Released { task: 2, .. }]), "{ev:?}");
    assert!(b.rows.iter().all(|r| r.state != crate::tasks::TaskState::Failed));
}

/// One client's publish-consume round trip on a server of your own:
/// `HUNT_RABBITMQ_URL=amqp://... cargo test --lib rabbitmq::tests::round_trip -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: needs HUNT_RABBITMQ_URL"]
fn round_trip() {
    use futures_lite::StreamExt;
    let Ok(url) = std::env::var("HUNT_RABBITMQ_URL") else {
        return;
    };
    let r = Rabbit::open(&url).unwrap();
    let conn = r.dial(None).unwrap();
    r.rt.block_on(async {
        let ch = conn.create_channel().await.unwrap();
        let q = ch
            .queue_declare("", QueueDeclareOptions { exclusive: true, ..Default::default() }, FieldTable::default())
            .await
            .unwrap();
        let name = q.name().as_str().to_string();
        let mut c = ch
            .basic_consume(&name, "", BasicConsumeOptions { no_ack: true, ..Default::default() }, FieldTable::default())
            .await
            .unwrap();
        for (round, n) in [(0, 500u32), (1, 5000)] {
            let t = Instant::now();
            for _ in 0..n {
                ch.basic_publish("", &name, BasicPublishOptions::default(), b"x", BasicProperties::default())
                    .await
                    .unwrap();
                c.next().await.unwrap().unwrap();
            }
            if round == 1 {
                let per = t.elapsed() / n;
                println!("publish-consume round trip, one client: {per:?} ({:.0} a second)", 1.0 / per.as_secs_f64());
            }
        }
    });
}
