//! What only SQLite can have: its "broker" is a file, so files that are not hunt's
//! queue (text, an empty file, another program's database, a newer hunt's queue, a
//! read-only file) are refused and left byte for byte as they were, a locked queue
//! likewise, a missing queue is made by `search` and `worker` but never by `status`,
//! and a full disk gives one clear line. The rules every backend keeps are the
//! contract suite's (`tests/contract/`, `sqlite::CASE`); every answer right is the
//! table-driven test (`tests/strategies.rs`).
#![cfg(feature = "sqlite")]

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// `hunt status --broker URL --json`.
fn status(url: &str) -> Value {
    let r = run(&["status", "--broker", url, "--json"]);
    assert_eq!(r.code, Some(0), "status: {r:?}");
    r.json()
}

/// Every entry in `dir`, with a file's bytes.
fn files(dir: &Path) -> Vec<Entry> {
    snapshot(dir)
}

/// A hunt queue made by hunt itself, at `db`.
fn made_queue(tmp: &Path, db: &Path) {
    let dir = tmp.join("set");
    if !dir.exists() {
        generate(&dir, 4, 2, Some(1));
    }
    let r = search_json(
        &dir,
        &["--strategy", "sqlite", "--broker", &url(db), "-j", "1"],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
}

/// The commands that open a queue, with `url`.
fn openers(url: &str, data: &Path) -> Vec<Vec<String>> {
    let d = s(data).to_string();
    let u = url.to_string();
    vec![
        vec!["status".into(), "--broker".into(), u.clone()],
        vec![
            "worker".into(),
            "--broker".into(),
            u.clone(),
            "--dir".into(),
            d.clone(),
        ],
        vec![
            "search".into(),
            "--strategy".into(),
            "sqlite".into(),
            "--broker".into(),
            u,
            "--dir".into(),
            d,
        ],
    ]
}

fn run_args(args: &[String]) -> Run {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    output_within(hunt(&a), 30)
}

/// Writes a file that is not hunt's queue (or not one it may use).
type Maker = Box<dyn Fn(&Path)>;

#[test]
fn files_that_are_not_hunts_queue_are_refused_and_left_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    generate(&data, 4, 2, Some(1));
    let cases: Vec<(&str, &str, Maker)> = vec![
        (
            "text",
            "is not an SQLite database",
            Box::new(|p: &Path| std::fs::write(p, "id,name\n1,treasure\n".repeat(20)).unwrap()),
        ),
        (
            "empty",
            "is an empty file",
            Box::new(|p: &Path| std::fs::write(p, "").unwrap()),
        ),
        (
            "other",
            "database of another program",
            Box::new(|p: &Path| {
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute_batch(
                    "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');",
                )
                .unwrap();
            }),
        ),
        (
            "other-wal",
            "database of another program",
            Box::new(|p: &Path| {
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA application_id = 7; CREATE TABLE task (id INTEGER);").unwrap();
            }),
        ),
        (
            "newer",
            "a queue of a newer hunt",
            Box::new(|p: &Path| {
                made_queue(p.parent().unwrap(), p);
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute_batch("PRAGMA user_version = 2;").unwrap();
            }),
        ),
        (
            "read-only",
            "is read-only",
            Box::new(|p: &Path| {
                made_queue(p.parent().unwrap(), p);
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o444)).unwrap();
            }),
        ),
    ];
    for (name, expect, make) in &cases {
        let folder = tmp.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        let db = folder.join("q.db");
        make(&db);
        let before = files(&folder);
        for args in openers(&url(&db), &data) {
            let r = run_args(&args);
            let what = format!("{name}: hunt {}", args.join(" "));
            assert_bad_input(&r, expect);
            assert!(
                r.stderr.contains(&db.display().to_string()),
                "{what}: {r:?}"
            );
            assert_eq!(files(&folder), before, "{what} changed the folder");
        }
    }
}

#[test]
fn a_locked_queue_is_refused_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    generate(&data, 4, 2, Some(1));
    let folder = tmp.path().join("locked");
    std::fs::create_dir(&folder).unwrap();
    let db = folder.join("q.db");
    made_queue(tmp.path(), &db);
    let before = files(&folder);
    // A write lock on the whole file, as a program holding the database would take.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&db)
        .unwrap();
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and lock description.
    assert_eq!(
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &lock) },
        0
    );
    for args in openers(&url(&db), &data) {
        if args[0] == "worker" {
            continue; // as `status`: the first connection fails the same way
        }
        let r = run_args(&args);
        assert_bad_input(&r, "is locked by another program");
    }
    drop(f); // releases the lock
    assert_eq!(files(&folder), before, "a refused open changed the queue");
}

#[test]
fn a_missing_queue_is_made_by_search_and_worker_never_by_status() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    generate(&data, 4, 2, Some(1));
    let db = tmp.path().join("new.db");
    let r = run(&["status", "--broker", &url(&db)]);
    assert_bad_input(&r, "there is no queue at");
    assert!(!db.exists(), "status made a file");
    let r = search_json(
        &data,
        &["--strategy", "sqlite", "--broker", &url(&db), "-j", "1"],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let head = std::fs::read(&db).unwrap();
    assert_eq!(&head[..16], b"SQLite format 3\0");
    assert_eq!(&head[68..72], b"HUNT", "application_id");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "set")
        .collect();
    assert_eq!(names, ["new.db"], "nothing left beside the queue");
    let st = status(&url(&db));
    assert_eq!(st["hunts"][0]["state"], "found");
    // The private queue of a search without --broker is removed with its folder.
    let r = search_json(&data, &["--strategy", "sqlite", "-j", "1"]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn a_full_disk_gives_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("set");
    // 400 one-file tasks need pages beyond those of a new queue's empty tables.
    generate(&data, 400, 1, Some(1));
    for broker in [Some(tmp.path().join("q.db")), None] {
        let mut args = vec![
            "search",
            "--dir",
            s(&data),
            "--strategy",
            "sqlite",
            "--batch",
            "1",
        ];
        let u;
        if let Some(db) = &broker {
            u = url(db);
            args.extend(["--broker", &u]);
        }
        let r = output_within(
            {
                let mut c = hunt(&args);
                c.env(hunt::broker::sqlite::FULL_ENV, "1");
                c
            },
            60,
        );
        assert_bad_input(&r, "is full: free some space");
    }
}
