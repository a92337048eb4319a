//! What only PostgreSQL has among the brokers, against real servers the tests start on
//! loopback: its data outlives the server, so a server crashed (`pg_ctl stop -m
//! immediate`) and started again mid-hunt loses no committed report, and the hunt goes
//! on to the right answer with every file counted once. The rules every backend keeps
//! are the contract suite's (`tests/contract/`, `postgres::CASE`); the table-driven
//! tests (tests/strategies.rs) run the strategy on its private server like every other.
#![cfg(feature = "postgres")]

mod adversary;
mod broker;
use adversary::*;
use broker::postgres::{Postgres, PostgresBackend};
use broker::{set, status, wait_running, worker_command, Backend};
use hunt::hooks::SLOW_FILE_ENV;
use std::time::Duration;

/// `hunt search --json --strategy postgres` on `dir` with `extra`.
fn coordinator(dir: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec![
        "search",
        "--json",
        "--strategy",
        "postgres",
        "--dir",
        s(dir),
    ];
    args.extend_from_slice(extra);
    hunt(&args)
}

#[test]
fn a_server_crashed_and_restarted_mid_hunt_loses_nothing() {
    if !PostgresBackend.here() {
        return;
    }
    let server = Postgres::start_durable();
    let url = broker::Server::url(&server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 30, 3, 14, 28);
    for (needle, code) in [("Gold", 1), ("Treasure", 0)] {
        let mut wc = worker_command(&url, &dir, "w", &["-j", "2"]);
        wc.env(SLOW_FILE_ENV, "100");
        let w = start(wc);
        let coord = start(coordinator(
            &dir,
            &[
                "--broker",
                &url,
                "--remote-workers",
                "--batch",
                "3",
                "--lease",
                "1",
                "--needle",
                needle,
            ],
        ));
        assert!(wait_running(&url, 0, Duration::from_secs(20)).is_some());
        std::thread::sleep(Duration::from_millis(500));
        server.restart();
        let r = coord.wait(Duration::from_secs(40));
        r.no_panic();
        assert_eq!(r.code, Some(code), "{needle}: {r:?}");
        let j = r.json();
        if code == 0 {
            assert_eq!(j["index"], 28, "the right answer after the restart: {j}");
        } else {
            assert_eq!(j["files_scanned"], 30, "every file counted once: {j}");
            let st = status(&url);
            assert!(
                st["hunts"][0]["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["state"] == "Completed"),
                "{st}"
            );
        }
        kill(w.pid(), libc::SIGTERM);
        let wr = w.wait(Duration::from_secs(10));
        assert_eq!(wr.code, Some(0), "{wr:?}");
        assert!(wr.stderr.contains("reconnect"), "{wr:?}");
    }
}

/// The coordinator's read of events (`hunt.events_after`) never skips an event: a
/// writer holds a share of the hunt's event lock from its insert to its commit, so an
/// event whose seq is handed out before another's but committed after it is read with
/// it, or the read returns nothing until it commits; never the later one alone, after
/// which the cursor would pass the earlier for good. A plain read shows the gap.
#[test]
fn an_event_committed_late_is_never_skipped_by_the_coordinators_read() {
    if !PostgresBackend.here() {
        return;
    }
    let server = Postgres::start(None);
    let url = broker::Server::url(&server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 4, 2, 1, 1);
    // A hunt makes the queue's schema (and its functions).
    let r = run(coordinator(&dir, &["--broker", &url, "-j", "1"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut setup = server.conn();
    setup
        .batch_execute(
            "INSERT INTO hunt.hunt (id, spec, alive_until, tasks, batch, files, max_attempts, lease_ms)
             VALUES ('late', '{}', now() + interval '1 hour', 2, 1, 2, 3, 1000)",
        )
        .unwrap();
    let lock = "SELECT pg_advisory_xact_lock_shared(1213550164, hashtext('late'))";
    let insert = "INSERT INTO hunt.event (hunt, body) VALUES ('late', $1) RETURNING seq";
    let (mut first, mut second, mut reader) = (server.conn(), server.conn(), server.conn());
    let mut a = first.transaction().unwrap();
    a.execute(lock, &[]).unwrap();
    let seq_a: i64 = a.query_one(insert, &[&"a"]).unwrap().get(0);
    let mut b = second.transaction().unwrap();
    b.execute(lock, &[]).unwrap();
    let seq_b: i64 = b.query_one(insert, &[&"b"]).unwrap().get(0);
    b.commit().unwrap();
    assert!(seq_a < seq_b);
    let bodies = |c: &mut postgres::Client, sql: &str| -> Vec<String> {
        c.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(1))
            .collect()
    };
    // The hazard: without the lock, b alone.
    let plain = "SELECT seq, body FROM hunt.event WHERE hunt = 'late' ORDER BY seq";
    assert_eq!(bodies(&mut reader, plain), ["b"]);
    // The coordinator's read waits for a (its lock_timeout, 100 ms), then gives nothing.
    let read = "SELECT seq, body FROM hunt.events_after('late', 0)";
    assert_eq!(bodies(&mut reader, read), Vec::<String>::new());
    a.commit().unwrap();
    assert_eq!(bodies(&mut reader, read), ["a", "b"]);
}

/// A queue of schema 2 (the hunt's row with its count of settled tasks, `terminal`,
/// which every report updated) is brought up to 3 by the first hunt that connects: the
/// count dropped, the functions replaced, the version written; and the hunt on it
/// answers right.
#[test]
fn a_schema_2_queue_is_brought_up_to_3() {
    if !PostgresBackend.here() {
        return;
    }
    let server = Postgres::start(None);
    let url = broker::Server::url(&server);
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 6, 2, 1, 4);
    let r = run(coordinator(&dir, &["--broker", &url, "-j", "1"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // Made back into what schema 2 was: the count, the version, no events_after.
    let mut c = server.conn();
    c.batch_execute(
        "ALTER TABLE hunt.hunt ADD COLUMN terminal bigint NOT NULL DEFAULT 0;
         DROP FUNCTION hunt.events_after(text, bigint);
         UPDATE hunt.meta SET value = '2' WHERE key = 'schema'",
    )
    .unwrap();
    let r = run(coordinator(
        &dir,
        &["--broker", &url, "-j", "2", "--batch", "1"],
    ));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["index"], 4, "{v}");
    let version: String = c
        .query_one("SELECT value FROM hunt.meta WHERE key = 'schema'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "3");
    let columns: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns
              WHERE table_schema = 'hunt' AND table_name = 'hunt' AND column_name = 'terminal'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 0, "the count is still there");
}

/// Where `initdb` and `pg_ctl` are missing (hidden here under an empty folder, in a
/// mount namespace of the test's own), a hunt without `--broker` says how to add them
/// in one line (exit 2), and `hunt race` sits the strategy out with that line.
#[test]
fn without_its_programs_the_strategy_says_how_to_add_them() {
    // SAFETY: no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !broker::have("unshare") || !std::path::Path::new("/usr/lib/postgresql").is_dir() {
        eprintln!(
            "skipped: hiding PostgreSQL's programs takes root, unshare and /usr/lib/postgresql"
        );
        return;
    }
    if std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("initdb").is_file())
    {
        eprintln!("skipped: initdb is on PATH too, where this test cannot hide it");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = set(tmp.path(), "set", 5, 2, 1, 1);
    let hidden = |args: &[&str]| {
        let mut c = std::process::Command::new("unshare");
        c.args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs none /usr/lib/postgresql && exec \"$@\"",
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_hunt"))
        .args(args);
        run(c)
    };
    let r = hidden(&["search", "--strategy", "postgres", "--dir", s(&dir)]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "one line: {r:?}");
    assert!(r.stderr.contains("apt-get install postgresql"), "{r:?}");
    let r = hidden(&[
        "race",
        "--strategies",
        "postgres,sequential",
        "--runs",
        "1",
        "--dir",
        s(&dir),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stderr.contains("postgres sits out") && r.stderr.contains("apt-get install postgresql"),
        "{r:?}"
    );
}
