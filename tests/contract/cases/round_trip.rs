//! A worker's one round trip per task ([`hunt::broker::Broker::finish_and_take`]): the
//! report and the next take in one call keep the rules the two calls keep, waited for
//! or sent ahead of their replies.

use crate::broker::Backend;
use hunt::broker::{Broker, Done, Event, Take, WireTally};
use hunt::tasks::{Finished, Lease, Task};
use std::time::Duration;

/// A fenced report still takes the next task, the task in hand is leased like any
/// other, and a report that ends the hunt (the answer) takes nothing.
pub fn a_report_that_takes_the_next_task_keeps_every_rule(b: &dyn Backend) {
    let server = b.start();
    let mut q = hunt::broker::connect(&server.url()).unwrap();
    let spec = three_tasks(&mut q, 100);
    let (a, bb) = (super::library_me("a"), super::library_me("b"));
    let done = two_files;
    let l0 = task(q.take(&spec.id, &a).unwrap(), "a");
    assert_eq!((l0.task.id, l0.attempt), (0, 1));
    let (f, next) = q.finish_and_take(&spec.id, &a, &l0, &done(None)).unwrap();
    assert_eq!(f, Finished::Accepted);
    let l1 = task(next, "a's report of task 0");
    assert_eq!(
        (l1.task.id, l1.attempt),
        (1, 1),
        "the next task, first attempt"
    );
    assert!(
        q.renew(&spec.id, &a, &l1).unwrap(),
        "the task in hand is leased"
    );
    std::thread::sleep(Duration::from_millis(250));
    // a's lease on task 1 ran out: b takes it over.
    let lb = task(q.take(&spec.id, &bb).unwrap(), "b");
    assert_eq!(
        (lb.task.id, lb.attempt),
        (1, 2),
        "a takeover is a second attempt"
    );
    let (f, next) = q
        .finish_and_take(&spec.id, &a, &l1, &done(Some(2)))
        .unwrap();
    assert_eq!(f, Finished::Stale, "a fenced report counts for nothing");
    let l2 = task(next, "a's fenced report");
    assert_eq!(l2.task.id, 2, "and its take still works");
    let (f, next) = q
        .finish_and_take(&spec.id, &bb, &lb, &done(Some(3)))
        .unwrap();
    assert_eq!(f, Finished::Answered);
    assert!(
        matches!(next, Take::Over),
        "the answer is in: nothing to take, got {next:?}"
    );
    let (f, next) = q.finish_and_take(&spec.id, &a, &l2, &done(None)).unwrap();
    assert_eq!(f, Finished::Accepted, "a's own task still counts");
    assert!(matches!(next, Take::Over), "the hunt is over: got {next:?}");
    assert_events(&mut q, &spec.id, [1, 1, 3]);
}

/// A lease handed back is fenced off like one taken over: the next take of its task
/// gets another token, and the old one's late report counts for nothing. A worker that
/// restarts under its name gets the task it held back at once, as another attempt,
/// and its old lease is fenced off too.
pub fn a_handed_back_lease_is_fenced_and_a_restarted_worker_gets_its_task_back(b: &dyn Backend) {
    let server = b.start();
    let mut q = hunt::broker::connect(&server.url()).unwrap();
    let spec = super::library_spec(1, 1, 60_000, 5);
    q.publish(&spec, &[Task { id: 0, range: 0..1 }]).unwrap();
    let a = super::library_me("a");
    let done = Done {
        tally: WireTally {
            files: 1,
            ..WireTally::default()
        },
        found: None,
        cut_short: false,
        why: String::new(),
    };
    let first = task(q.take(&spec.id, &a).unwrap(), "the first take");
    q.release(&spec.id, &a, &first).unwrap();
    let again = task(
        q.take(&spec.id, &a).unwrap(),
        "the take after the hand-back",
    );
    assert_eq!(
        (again.task.id, again.attempt),
        (0, 1),
        "a hand-back is not an attempt"
    );
    assert_ne!(again.token, first.token, "another take, another token");
    assert_eq!(
        q.finish(&spec.id, &a, &first, &done).unwrap(),
        Finished::Stale,
        "the handed-back lease is fenced off"
    );
    // `a` restarts under its name without reporting.
    let back = task(q.take(&spec.id, &a).unwrap(), "the restarted worker");
    assert_eq!(
        (back.task.id, back.attempt),
        (0, 2),
        "its task, as another attempt"
    );
    assert_ne!(back.token, again.token);
    assert_eq!(
        q.finish(&spec.id, &a, &again, &done).unwrap(),
        Finished::Stale
    );
    assert_eq!(
        q.finish(&spec.id, &a, &back, &done).unwrap(),
        Finished::Accepted
    );
    assert!(matches!(q.take(&spec.id, &a).unwrap(), Take::Over));
    assert_events(&mut q, &spec.id, [0, 2, 1]);
}

/// Calls sent ahead of their replies ([`Broker::send_take`],
/// [`Broker::send_finish_and_take`]): replies come back in the order sent, a call made
/// in between gets its own reply, and a report sent ahead is fenced and counted as one
/// waited for is. A backend that cannot pipeline says so and sends nothing: a take
/// after its refusal is the first of that consumer's.
pub fn calls_sent_ahead_are_answered_in_order_under_the_same_rules(b: &dyn Backend) {
    let server = b.start();
    let mut q = hunt::broker::connect(&server.url()).unwrap();
    let spec = three_tasks(&mut q, 60_000);
    let (a, bb, c) = (
        super::library_me("a"),
        super::library_me("b"),
        super::library_me("c"),
    );
    let done = two_files;
    if !q.send_take(&spec.id, &a).unwrap() {
        assert!(q.receive().is_err(), "nothing was sent, nothing to receive");
        let l0 = task(q.take(&spec.id, &a).unwrap(), "a, after the refusal");
        assert_eq!(
            (l0.task.id, l0.attempt),
            (0, 1),
            "the refused send took nothing"
        );
        return;
    }
    assert!(q.send_take(&spec.id, &bb).unwrap());
    // A call made with two on the wire reads its own reply.
    let l2 = task(q.take(&spec.id, &c).unwrap(), "c, between the sends");
    assert_eq!(l2.task.id, 2, "the server ran the calls in the order sent");
    let (f, t) = q.receive().unwrap();
    let l0 = task(t, "a's take sent ahead");
    assert_eq!((f, l0.task.id, l0.attempt), (None, 0, 1));
    let (f, t) = q.receive().unwrap();
    let l1 = task(t, "b's take sent ahead");
    assert_eq!((f, l1.task.id, l1.attempt), (None, 1, 1));
    // b's lease is handed back: its report sent ahead is fenced, and its take still
    // works (task 1 again, under another token); a's counts, and finds nothing left.
    q.release(&spec.id, &bb, &l1).unwrap();
    assert!(q
        .send_finish_and_take(&spec.id, &bb, &l1, &done(Some(3)))
        .unwrap());
    assert!(q
        .send_finish_and_take(&spec.id, &a, &l0, &done(None))
        .unwrap());
    let (f, t) = q.receive().unwrap();
    assert_eq!(
        f,
        Some(Finished::Stale),
        "a fenced report counts for nothing"
    );
    let l1b = task(t, "b's fenced report");
    assert_eq!((l1b.task.id, l1b.attempt), (1, 1));
    assert_ne!(l1b.token, l1.token);
    let (f, t) = q.receive().unwrap();
    assert_eq!(f, Some(Finished::Accepted));
    assert!(matches!(t, Take::Wait), "every task is held: got {t:?}");
    assert!(q
        .send_finish_and_take(&spec.id, &c, &l2, &done(Some(4)))
        .unwrap());
    let (f, t) = q.receive().unwrap();
    assert_eq!(f, Some(Finished::Answered));
    assert!(matches!(t, Take::Over), "the answer is in: got {t:?}");
    assert_eq!(
        q.finish(&spec.id, &bb, &l1b, &done(None)).unwrap(),
        Finished::Accepted
    );
    assert!(q.receive().is_err(), "every reply was received");
    assert_events(&mut q, &spec.id, [1, 1, 3]);
}

/// A hunt of 6 files in 3 tasks of 2, its lease `lease_ms`, published on `q`.
fn three_tasks(q: &mut Box<dyn Broker>, lease_ms: u64) -> hunt::broker::HuntSpec {
    let spec = super::library_spec(6, 2, lease_ms, 5);
    let tasks: Vec<Task> = (0..3)
        .map(|i| Task {
            id: i,
            range: i * 2..i * 2 + 2,
        })
        .collect();
    q.publish(&spec, &tasks).unwrap();
    spec
}

/// A report of a task's two files read, and its find.
fn two_files(found: Option<u64>) -> Done {
    Done {
        tally: WireTally {
            files: 2,
            ..WireTally::default()
        },
        found,
        cut_short: false,
        why: String::new(),
    }
}

/// The lease `t` holds; `who` took it.
fn task(t: Take, who: &str) -> Lease {
    match t {
        Take::Task(l) => l,
        other => panic!("{who} got {other:?}"),
    }
}

/// The hunt's events hold `[answers, stale reports, finished reports]`.
fn assert_events(q: &mut Box<dyn Broker>, hunt: &str, want: [usize; 3]) {
    let events = drain(q, hunt);
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    let got = [
        count(|e| matches!(e, Event::Answer(_))),
        count(|e| matches!(e, Event::Stale { .. })),
        count(|e| matches!(e, Event::Finished { .. })),
    ];
    assert_eq!(got, want, "answers, stale, finished: {events:?}");
}

/// Every event of `hunt` the broker holds now.
fn drain(q: &mut Box<dyn Broker>, hunt: &str) -> Vec<Event> {
    let mut all = Vec::new();
    loop {
        let got = q.events(hunt, Duration::from_millis(100)).unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}
