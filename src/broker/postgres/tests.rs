//! Unit tests of `src/broker/postgres.rs` that need no server (the contract suite,
//! `tests/contract/`, runs every rule against a real one).

use super::*;

#[test]
fn urls_of_both_schemes_and_unix_sockets_are_read() {
    for url in [
        "postgres://u:pw@127.0.0.1:5433/db",
        "postgresql://u@localhost/db",
        "postgres://u@/db?host=/tmp/some-folder",
    ] {
        assert!(Config::from_str(url).is_ok(), "{url}");
    }
    let c = Config::from_str("postgres://u@/db?host=/tmp/f").unwrap();
    assert!(matches!(
        c.get_hosts(),
        [postgres::config::Host::Unix(p)] if p == std::path::Path::new("/tmp/f")
    ));
}

#[test]
fn a_bad_url_is_refused_without_its_password() {
    let e = Postgres::open("postgres://u:s3cret@h:notaport/db", true)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("is not a PostgreSQL URL") && !e.contains("s3cret"), "{e}");
}

#[test]
fn passwords_are_scrubbed_from_messages() {
    let url = "postgres://u:s3cret@h/db";
    assert_eq!(
        scrub("failed at postgres://u:s3cret@h/db: s3cret", url),
        "failed at postgres://u:***@h/db: ***"
    );
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

/// The advisory locks' first key, written as a number in the SQL, is "HUNT".
#[test]
fn the_advisory_lock_class_is_hunts() {
    assert_eq!(LOCK_CLASS, 1_213_550_164);
    assert!(LOCK_ADVISORY_SQL.iter().all(|s| s.contains("1213550164")));
}

#[test]
fn urls_are_shown_with_their_user_and_without_their_password() {
    assert_eq!(shown("postgres://hunt@127.0.0.1:5432/db"), "postgres://hunt@127.0.0.1:5432/db");
    assert_eq!(shown("postgres://hunt:pw@h/db"), "postgres://hunt:***@h/db");
    assert_eq!(
        shown("postgresql://u@/db?host=/tmp/x&password=pw"),
        "postgresql://u@/db?host=/tmp/x&password=***"
    );
}

/// `hunt.finish_take` writes its `started` event in SQL: the keys it writes are the ones
/// hunt reads, and its locks are hunt's advisory locks.
#[test]
fn the_function_writes_events_hunt_reads_and_takes_hunts_locks() {
    let written = serde_json::json!({"event": "started", "task": 3, "worker": "w@h", "attempt": 2});
    let read: Event = serde_json::from_value(written).unwrap();
    assert_eq!(
        read,
        Event::Started {
            task: 3,
            worker: "w@h".into(),
            attempt: 2
        }
    );
    assert!(FINISH_TAKE_FN_SQL.contains(
        "json_build_object('event', 'started', 'task', o_id, 'worker', p_label, 'attempt', o_attempt)"
    ));
    assert!(FINISH_TAKE_FN_SQL.contains("pg_advisory_xact_lock_shared(1213550164, hashtext('stop ' || p_hunt))"));
    assert!(FINISH_TAKE_FN_SQL.contains("pg_advisory_xact_lock_shared(1213550164, hashtext(p_hunt)), pg_notify('hunt_events', p_hunt)"));
    // Writers share the event lock; the coordinator's read takes it whole.
    assert!(EVENT_LOCK.contains("pg_advisory_xact_lock_shared(1213550164, hashtext($1))"));
    assert!(EVENTS_AFTER_FN_SQL.contains("pg_advisory_xact_lock(1213550164, hashtext(p_hunt))"));
}
