//! A worker's one round trip per task ([`hunt::broker::Broker::finish_and_take`]): the
//! report and the next take in one call keep the rules the two calls keep.

use crate::broker::Backend;
use hunt::broker::{Broker, Done, Event, Take, WireTally};
use hunt::tasks::{Finished, Lease, Task};
use std::time::Duration;

/// A fenced report still takes the next task, the task in hand is leased like any
/// other, and a report that ends the hunt (the answer) takes nothing.
pub fn a_report_that_takes_the_next_task_keeps_every_rule(b: &dyn Backend) {
    let server = b.start();
    let mut q = hunt::broker::connect(&server.url()).unwrap();
    let spec = super::library_spec(6, 2, 100, 5);
    let tasks: Vec<Task> = (0..3)
        .map(|i| Task {
            id: i,
            range: i * 2..i * 2 + 2,
        })
        .collect();
    q.publish(&spec, &tasks).unwrap();
    let (a, bb) = (super::library_me("a"), super::library_me("b"));
    let done = |found: Option<u64>| Done {
        tally: WireTally {
            files: 2,
            ..WireTally::default()
        },
        found,
        cut_short: false,
        why: String::new(),
    };
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
    let events = drain(&mut q, &spec.id);
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, Event::Answer(_))), 1, "{events:?}");
    assert_eq!(count(|e| matches!(e, Event::Stale { .. })), 1, "{events:?}");
    assert_eq!(
        count(|e| matches!(e, Event::Finished { .. })),
        3,
        "{events:?}"
    );
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
    let events = drain(&mut q, &spec.id);
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, Event::Stale { .. })), 2, "{events:?}");
    assert_eq!(
        count(|e| matches!(e, Event::Finished { .. })),
        1,
        "{events:?}"
    );
}

/// The lease `t` holds; `who` took it.
fn task(t: Take, who: &str) -> Lease {
    match t {
        Take::Task(l) => l,
        other => panic!("{who} got {other:?}"),
    }
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
