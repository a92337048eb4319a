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
