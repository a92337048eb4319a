//! Unit tests of `src/strategy/coordinator.rs`: what the coordinator sums from a hunt's
//! events.

use super::*;
use crate::broker::WireTally;

fn spec() -> HuntSpec {
    HuntSpec {
        format: broker::SPEC_FORMAT,
        id: "h".into(),
        identity: crate::dataset::identity::Identity {
            digest: "0".repeat(32),
            summary: "a test".into(),
        },
        files: 100,
        needle_hex: "54".into(),
        reader: crate::scan::Reader::Read,
        rotate: 0,
        batch: 10,
        lease_ms: 1000,
        max_attempts: 3,
        coordinator: "here".into(),
        trace: false,
        options: broker::Options::default(),
    }
}

fn started(task: u64, worker: &str, attempt: u32) -> Event {
    Event::Started {
        task,
        worker: worker.into(),
        attempt,
    }
}

fn finished(task: u64, worker: &str, files: u64, attempt: u32) -> Event {
    Event::Finished {
        task,
        worker: worker.into(),
        tally: WireTally {
            files,
            attempt,
            ..WireTally::default()
        },
        cut_short: false,
    }
}

/// A worker killed holding task 1 after reading some of it: its reads die with it. The
/// takeover (attempt 2) reads 6 files, the dead letter's last take (attempt 3) 4 with a
/// failed file: 10 files again. First takes, and a stale report, add nothing.
#[test]
fn the_work_done_again_is_what_later_takes_read() {
    let spec = spec();
    let mut book = Book::default();
    let failed_tally = WireTally {
        files: 4,
        attempt: 3,
        errors: vec![(25, libc::EIO)],
        ..WireTally::default()
    };
    for e in [
        started(0, "a", 1),
        finished(0, "a", 10, 1),
        started(1, "b", 1),
        started(2, "a", 1),
        finished(2, "a", 10, 1),
        // b is killed; a takes task 1 over once its lease runs out.
        started(1, "a", 2),
        finished(1, "a", 6, 2),
        // b's report, were it to come: the lease was taken over, nothing counts.
        Event::Stale {
            task: 1,
            worker: "b".into(),
        },
        started(3, "a", 3),
        Event::Failed {
            task: 3,
            why: "a file could not be read".into(),
            tally: Some(failed_tally),
        },
    ] {
        book.read(e, &spec, "broker");
    }
    assert_eq!(book.retries, 2);
    assert_eq!(book.files_again, 10);
    assert_eq!(book.tally.files_scanned, 30);
    let out = outcome(book, 10, Instant::now());
    let tasks = out.tasks.unwrap();
    assert_eq!((tasks.retries, tasks.files_again), (2, Some(10)));
}

/// No takeover: nothing was read again, and the report says 0, not "unknown".
#[test]
fn a_hunt_without_a_takeover_read_nothing_again() {
    let spec = spec();
    let mut book = Book::default();
    for e in [started(0, "a", 1), finished(0, "a", 10, 1)] {
        book.read(e, &spec, "broker");
    }
    let tasks = outcome(book, 1, Instant::now()).tasks.unwrap();
    assert_eq!((tasks.retries, tasks.files_again), (0, Some(0)));
}
