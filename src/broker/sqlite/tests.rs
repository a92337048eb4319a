//! Unit tests of `src/broker/sqlite.rs`.

use super::*;

fn spec(id: &str, files: u64, batch: u64, lease_ms: u64, max_attempts: u32) -> HuntSpec {
    HuntSpec {
        format: super::super::SPEC_FORMAT,
        id: id.to_string(),
        identity: crate::dataset::identity::Identity {
            digest: "0".repeat(32),
            summary: "a test".into(),
        },
        files,
        needle_hex: "54".into(),
        reader: crate::scan::Reader::Read,
        rotate: 0,
        batch,
        lease_ms,
        max_attempts,
        coordinator: "here".into(),
        trace: false,
        options: Options::from_iter([(POLL_MS.to_string(), 1.into())]),
    }
}

fn me(name: &str) -> Me {
    Me {
        worker: name.into(),
        host: "h".into(),
        consumer: format!("{name}/0"),
    }
}

/// A new queue in a temporary folder, with one hunt published.
fn queue(spec: &HuntSpec) -> (tempfile::TempDir, Sqlite) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("q.db").display());
    let mut q = Sqlite::open(&url, true).unwrap();
    let tasks: Vec<Task> = crate::tasks::cut(spec.files, spec.batch).collect();
    q.publish(spec, &tasks).unwrap();
    (dir, q)
}

fn lease(t: Take) -> Lease {
    match t {
        Take::Task(l) => l,
        other => panic!("no task: {other:?}"),
    }
}

fn done(found: Option<u64>) -> Done {
    Done {
        tally: WireTally {
            files: 1,
            ..WireTally::default()
        },
        found,
        cut_short: false,
        why: String::new(),
    }
}

fn events(q: &mut Sqlite, hunt: &str) -> Vec<Event> {
    q.events(hunt, Duration::from_millis(5)).unwrap()
}

#[test]
fn a_lease_taken_over_fences_off_its_first_holder_and_the_answer_is_committed_once() {
    let (_d, mut q) = queue(&spec("h1", 2, 1, 30, 3));
    let (a, b) = (me("a"), me("b"));
    let la = lease(q.take("h1", &a).unwrap());
    assert_eq!((la.task.id, la.attempt), (0, 1));
    let lb = lease(q.take("h1", &b).unwrap());
    assert_eq!(lb.task.id, 1);
    // Both tasks held, neither lease out: nothing to take.
    assert!(matches!(q.take("h1", &me("c")).unwrap(), Take::Wait));
    std::thread::sleep(Duration::from_millis(60));
    assert!(q.renew("h1", &b, &lb).unwrap(), "b renews in time");
    let lc = lease(q.take("h1", &me("c")).unwrap());
    assert_eq!((lc.task.id, lc.attempt), (0, 2), "a's lease ran out");
    assert!(!q.renew("h1", &a, &la).unwrap());
    assert_eq!(
        q.finish("h1", &a, &la, &done(Some(0))).unwrap(),
        Finished::Stale
    );
    assert_eq!(
        q.finish("h1", &me("c"), &lc, &done(Some(0))).unwrap(),
        Finished::Answered
    );
    assert_eq!(
        q.finish("h1", &b, &lb, &done(Some(1))).unwrap(),
        Finished::Accepted
    );
    let ev = events(&mut q, "h1");
    let answers: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::Answer(_)))
        .collect();
    assert_eq!(answers.len(), 1, "{ev:?}");
    assert!(matches!(answers[0], Event::Answer(Answer { index: 0, .. })));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Stale { task: 0, worker } if worker == "a@h")));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::Finished { .. }))
            .count(),
        2
    );
    // Stopped by the find: nothing more is handed out.
    assert!(matches!(q.take("h1", &a).unwrap(), Take::Over));
    let st = q.status().unwrap();
    assert_eq!(st[0].state, HuntState::Found);
    assert_eq!(st[0].answer.as_ref().map(|a| a.index), Some(0));
    assert_eq!(st[0].tasks[0].attempts, 2);
}

#[test]
fn attempts_beyond_the_maximum_are_the_dead_letter() {
    let (_d, mut q) = queue(&spec("h2", 2, 1, 5, 2));
    let a = me("a");
    // Task 0 fails twice (files unreadable): Failed, with its tally.
    for attempt in 1..=2 {
        let l = lease(q.take("h2", &a).unwrap());
        assert_eq!((l.task.id, l.attempt), (0, attempt));
        let mut d = done(None);
        d.why = "1 file(s) could not be read".into();
        assert_eq!(q.finish("h2", &a, &l, &d).unwrap(), Finished::Retried);
    }
    // Task 1 is taken twice by workers that die: the third take gives it up.
    for _ in 0..2 {
        let l = lease(q.take("h2", &a).unwrap());
        assert_eq!(l.task.id, 1);
        // Its worker dies: the lease (5 ms) runs out.
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(10));
    assert!(matches!(q.take("h2", &me("b")).unwrap(), Take::Over));
    let ev = events(&mut q, "h2");
    let failed: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 2, "{ev:?}");
    assert!(matches!(
        failed[0],
        Event::Failed {
            task: 0,
            tally: Some(_),
            ..
        }
    ));
    assert!(matches!(
        failed[1],
        Event::Failed {
            task: 1,
            tally: None,
            ..
        }
    ));
    let st = q.status().unwrap();
    assert!(st[0].tasks.iter().all(|t| t.state == TaskState::Failed));
}

/// The decision table of [`contract::after_failure`] and [`contract::taken_too_often`],
/// run through a real queue: each case's attempt fails, and the task's row and events
/// say what the Rust rule says.
#[test]
fn failed_attempts_follow_the_contract_case_by_case() {
    for &(attempt, max) in contract::CASES.iter().filter(|(a, m)| a <= m) {
        let id = format!("c{attempt}-{max}");
        let (_d, mut q) = queue(&spec(&id, 1, 1, 60_000, max));
        let a = me("a");
        let mut l = lease(q.take(&id, &a).unwrap());
        for _ in 1..attempt {
            q.fail(&id, &a, &l, "earlier").unwrap();
            l = lease(q.take(&id, &a).unwrap());
        }
        assert_eq!(l.attempt, attempt);
        assert_eq!(q.fail(&id, &a, &l, "its files failed").unwrap(), Finished::Retried);
        let row = q.status().unwrap()[0].tasks[0].clone();
        match contract::after_failure(attempt, max, "its files failed") {
            AfterFailure::DeadLetter { why } => {
                assert_eq!((row.state, row.note), (TaskState::Failed, Some(why)));
            }
            AfterFailure::Retry { note } => {
                assert_eq!((row.state, row.note), (TaskState::NotStarted, Some(note)));
            }
        }
    }
    // A task taken too often is given up at the next take, in the contract's words.
    let (_d, mut q) = queue(&spec("gone", 1, 1, 1, 1));
    lease(q.take("gone", &me("a")).unwrap());
    std::thread::sleep(Duration::from_millis(5));
    assert!(matches!(q.take("gone", &me("b")).unwrap(), Take::Over));
    let row = q.status().unwrap()[0].tasks[0].clone();
    assert_eq!(row.note, contract::taken_too_often(2, 1));
}

#[test]
fn a_released_task_is_not_an_attempt_and_a_restarted_consumer_takes_its_own_back() {
    let (_d, mut q) = queue(&spec("h3", 3, 1, 60_000, 3));
    let a = me("a");
    let l = lease(q.take("h3", &a).unwrap());
    q.release("h3", &a, &l).unwrap();
    let l = lease(q.take("h3", &a).unwrap());
    assert_eq!(
        (l.task.id, l.attempt),
        (0, 1),
        "a release is not an attempt"
    );
    // `a` restarts under its name without reporting: it gets its task back at once,
    // and the old lease is fenced off.
    let again = lease(q.take("h3", &a).unwrap());
    assert_eq!(again.task.id, 0);
    assert_ne!(again.token, l.token);
    assert_eq!(q.fail("h3", &a, &l, "late").unwrap(), Finished::Stale);
}

#[test]
fn rows_that_are_not_tasks_of_the_hunt_are_refused() {
    let (_d, mut q) = queue(&spec("h4", 2, 1, 60_000, 3));
    q.conn
        .execute_batch("UPDATE task SET pos_to = 99 WHERE id = 0; INSERT INTO task (hunt, id, pos_from, pos_to) VALUES ('h4', 7, 0, 1000);")
        .unwrap();
    let l = lease(q.take("h4", &me("a")).unwrap());
    assert_eq!(l.task.id, 1, "only the real, intact task is handed out");
    let ev = events(&mut q, "h4");
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::Garbage { .. }))
            .count(),
        1,
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Failed { task: 0, .. })));
    let l7 = q.take("h4", &me("b")).unwrap();
    assert!(matches!(l7, Take::Wait), "{l7:?}");
    let ev = events(&mut q, "h4");
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Garbage { entry, .. } if entry == "task row 7")));
}

#[test]
fn hunts_expire_after_their_keep_time_or_a_minute_without_keep_alive() {
    let (_d, mut q) = queue(&spec("old", 4, 1, 1000, 3));
    let tasks: Vec<Task> = crate::tasks::cut(4, 1).collect();
    q.publish(&spec("live", 4, 1, 1000, 3), &tasks).unwrap();
    q.publish(&spec("done", 4, 1, 1000, 3), &tasks).unwrap();
    q.retire("done", Verdict::NotFound, Duration::from_secs(600))
        .unwrap();
    assert_eq!(q.hunts().unwrap(), ["old", "live"]);
    q.skew_ms = 30_000;
    q.keep_alive("live").unwrap();
    q.skew_ms = 61_000;
    // `old` had no keep-alive for a minute: gone, for workers and for status.
    assert_eq!(q.hunts().unwrap(), ["live"]);
    assert!(!q.exists("old").unwrap());
    assert!(matches!(q.take("old", &me("a")).unwrap(), Take::Over));
    let st = q.status().unwrap();
    let ids: Vec<&str> = st.iter().map(|h| h.spec.id.as_str()).collect();
    assert_eq!(ids, ["done", "live"]);
    q.skew_ms = 601_000;
    assert!(q.status().unwrap().is_empty());
    let rows: i64 = q
        .conn
        .query_row("SELECT (SELECT count(*) FROM task) + (SELECT count(*) FROM event) + (SELECT count(*) FROM hunt)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "every row of the expired hunts is deleted");
}

/// The schema's CHECKs on a hunt's status and a task's state list exactly the states
/// hunt knows.
#[test]
fn the_schema_knows_every_hunt_and_task_state() {
    let names: Vec<String> = HuntState::ALL
        .iter()
        .map(|s| format!("'{}'", s.name()))
        .collect();
    let check = format!("CHECK (status IN ({}))", names.join(", "));
    assert!(SCHEMA_SQL.contains(&check), "schema.sql lacks {check}");
    let names: Vec<String> = TaskState::ALL
        .iter()
        .map(|s| format!("'{}'", s.name()))
        .collect();
    let check = format!("CHECK (state IN ({}))", names.join(", "));
    assert!(SCHEMA_SQL.contains(&check), "schema.sql lacks {check}");
}

#[test]
fn urls_name_plain_files() {
    assert_eq!(path_of("sqlite:q.db").unwrap(), PathBuf::from("q.db"));
    assert_eq!(
        path_of("SQLITE:///tmp/q.db").unwrap(),
        PathBuf::from("/tmp/q.db")
    );
    for bad in [
        "sqlite:",
        "sqlite::memory:",
        "sqlite:file:q.db?mode=memory",
        "other://h",
    ] {
        assert!(path_of(bad).is_err(), "{bad}");
    }
    // A file has no user or password: refused, the password never shown.
    for bad in [
        "sqlite://:s3cret-pw@/x/q.db",
        "sqlite://user:s3cret-pw@host/x/q.db",
        "SQLITE://s3cret-pw@/q.db",
    ] {
        let e = path_of(bad).unwrap_err().to_string();
        assert!(e.contains("sqlite URLs take no user or password: use sqlite:PATH"), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
    }
    // An '@' in the path is a file name's.
    assert_eq!(
        path_of("sqlite:///tmp/a@b/q.db").unwrap(),
        PathBuf::from("/tmp/a@b/q.db")
    );
}

/// A queue file removed or replaced under an open connection goes on working for it;
/// only `moved` tells, and says which.
#[test]
fn a_connection_tells_when_its_file_was_removed_or_replaced() {
    let (dir, q) = queue(&spec("h", 4, 1, 60_000, 3));
    let path = dir.path().join("q.db");
    assert_eq!(q.moved(), None);
    std::fs::rename(&path, dir.path().join("old.db")).unwrap();
    let why = q.moved().expect("removed");
    assert!(why.contains("was removed: this worker makes a new queue there"), "{why}");
    let again = Sqlite::open(&format!("sqlite:{}", path.display()), true).unwrap();
    let why = q.moved().expect("replaced");
    assert!(why.contains("was replaced by another file"), "{why}");
    assert_eq!(again.moved(), None);
    std::fs::remove_dir_all(dir.path()).unwrap();
    let why = again.moved().expect("removed with its folder");
    assert!(why.contains("removed with its folder"), "{why}");
}
