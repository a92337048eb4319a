//! `--strategy sqlite`, `hunt worker --broker sqlite:PATH` and `hunt status` through
//! the real binary: the properties of issue 11. Every answer right is the table-driven
//! test (`tests/strategies.rs`, which runs every registered strategy); here: one
//! answer, early stop, a killed worker's task finished by another, a paused worker that
//! comes back harmlessly, the dead letter ("unknown", never "not found"), and files
//! that are not hunt's queue refused and left byte for byte as they were.
#![cfg(feature = "sqlite")]

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Processes started by a test, killed (and reaped) when it ends, whatever happens.
#[derive(Default)]
struct Procs(Vec<(String, Child)>);

impl Procs {
    fn get(&mut self, name: &str) -> &mut Child {
        &mut self
            .0
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no process {name}"))
            .1
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            signal(c, libc::SIGCONT);
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(c: &Child, sig: libc::c_int) {
    // SAFETY: a signal to a child this test started and has not reaped.
    unsafe {
        libc::kill(c.id() as libc::pid_t, sig);
    }
}

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// `hunt worker --broker URL --dir DIR --name NAME -j 1`, each file slowed by `slow_ms`.
fn worker(url: &str, dir: &Path, name: &str, slow_ms: u64) -> Child {
    hunt(&[
        "worker",
        "--broker",
        url,
        "--dir",
        s(dir),
        "--name",
        name,
        "-j",
        "1",
    ])
    .env(hunt::hooks::SLOW_FILE_ENV, slow_ms.to_string())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("hunt worker starts")
}

/// A coordinator using the workers already serving `url`.
fn coordinator(url: &str, dir: &Path, extra: &[&str]) -> Child {
    let mut args = vec![
        "search",
        "--json",
        "--strategy",
        "sqlite",
        "--broker",
        url,
        "--remote-workers",
        "--dir",
        s(dir),
    ];
    args.extend_from_slice(extra);
    hunt(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hunt search starts")
}

/// Waits for `child` at most `secs` seconds and collects what it printed.
fn finish(mut child: Child, secs: u64) -> Run {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("did not finish within {secs} s: {:?}", Run::from(out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output").into()
}

/// `hunt status --broker URL --json`.
fn status(url: &str) -> Value {
    let r = run(&["status", "--broker", url, "--json"]);
    assert_eq!(r.code, Some(0), "status: {r:?}");
    r.json()
}

/// The status, or `None` while no worker has made the queue yet.
fn status_once_made(url: &str) -> Option<Value> {
    let r = run(&["status", "--broker", url, "--json"]);
    if r.code == Some(2) && r.stderr.contains("there is no queue at") {
        return None;
    }
    assert_eq!(r.code, Some(0), "status: {r:?}");
    Some(r.json())
}

/// Polls the status until `pick` finds something in the newest hunt, for `secs` at most.
fn wait_for<T>(url: &str, secs: u64, what: &str, pick: impl Fn(&Value) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let st = status_once_made(url).unwrap_or_default();
        if let Some(v) = st["hunts"].get(0).and_then(&pick) {
            return v;
        }
        assert!(Instant::now() < deadline, "no {what} within {secs} s: {st}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// The worker (its `--name`) holding `task` now, if it is Running.
fn holder(hunt: &Value, task: u64, attempts: u64) -> Option<String> {
    let t = &hunt["tasks"][task as usize];
    (t["state"] == "Running" && t["attempts"] == attempts).then(|| {
        t["worker"]
            .as_str()
            .unwrap_or("")
            .split('@')
            .next()
            .unwrap_or("")
            .to_string()
    })
}

/// Every event of the queue's newest hunt, in order, as JSON.
fn events(db: &Path) -> Vec<Value> {
    let c = rusqlite::Connection::open(db).expect("the queue opens");
    let mut st = c
        .prepare("SELECT body FROM event WHERE hunt = (SELECT id FROM hunt ORDER BY created_ms DESC, rowid DESC LIMIT 1) ORDER BY seq")
        .unwrap();
    let bodies: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect()
}

fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["event"] == kind).collect()
}

/// No task finished twice, and the report's files are exactly those of the finished
/// reports: nothing counted twice.
fn assert_counted_once(report: &Value, ev: &[Value]) {
    let finished = of_kind(ev, "finished");
    let mut tasks: Vec<u64> = finished
        .iter()
        .map(|e| e["task"].as_u64().unwrap())
        .collect();
    tasks.sort_unstable();
    let n = tasks.len();
    tasks.dedup();
    assert_eq!(tasks.len(), n, "a task finished twice: {ev:?}");
    let files: u64 = finished
        .iter()
        .map(|e| e["tally"]["files"].as_u64().unwrap())
        .sum();
    assert_eq!(report["files_scanned"], files, "{report}\n{ev:?}");
}

#[test]
fn several_finds_give_one_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 30, 4, Some(21));
    let holders = [3u64, 9, 12, 21, 27];
    for i in holders {
        std::fs::write(dir.join(format!("file_{i}.txt")), "Treasure\n").unwrap();
    }
    let db = tmp.path().join("q.db");
    let r = search_json(
        &dir,
        &[
            "--strategy",
            "sqlite",
            "--broker",
            &url(&db),
            "-j",
            "3",
            "--batch",
            "1",
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    let index = j["index"].as_u64().unwrap();
    assert!(holders.contains(&index), "{j}");
    let ev = events(&db);
    let answers = of_kind(&ev, "answer");
    assert_eq!(answers.len(), 1, "{ev:?}");
    assert_eq!(answers[0]["index"], index);
    let st = status(&url(&db));
    assert_eq!(st["hunts"][0]["state"], "found");
    assert_eq!(st["hunts"][0]["answer"]["index"], index);
    assert_counted_once(&j, &ev);
}

/// A slow `--poll` (workers look for stop signals once a second) changes the pace, not
/// the answers.
#[test]
fn a_slow_poll_gives_the_same_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 40, 4, Some(29));
    for (needle, code) in [("Treasure", 0), ("Gold", 1)] {
        let r = search_json(
            &dir,
            &[
                "--strategy",
                "sqlite",
                "-j",
                "2",
                "--batch",
                "4",
                "--poll",
                "1",
                "--needle",
                needle,
            ],
        );
        assert_eq!(r.code, Some(code), "{needle}: {r:?}");
        let j = r.json();
        if code == 0 {
            assert_eq!(j["index"], 29, "{j}");
        } else {
            assert_eq!(j["files_scanned"], 40, "{j}");
        }
        assert!(r.stderr.is_empty(), "{r:?}");
    }
}

#[test]
fn the_find_stops_the_hunt_early() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 200, 4, Some(3));
    let r = hunt(&[
        "search",
        "--json",
        "--dir",
        s(&dir),
        "--strategy",
        "sqlite",
        "-j",
        "2",
        "--batch",
        "4",
    ])
    .env(hunt::hooks::SLOW_FILE_ENV, "20")
    .output()
    .expect("hunt runs");
    let r = Run::from(r);
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 3);
    let scanned = j["files_scanned"].as_u64().unwrap();
    assert!(
        scanned < 40,
        "read {scanned} of 200 files after an early find: {j}"
    );
    assert!(j["tasks"]["not_started"].as_u64().unwrap() > 40, "{j}");
    assert!(j["stop_latency_s"].is_number(), "{j}");
}

/// The worker holding the treasure's task is killed (SIGKILL); another takes the task
/// over when its lease runs out and finds the treasure; nothing is counted twice.
#[test]
fn a_killed_workers_task_is_finished_by_another() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 30, 4, Some(12));
    let db = tmp.path().join("q.db");
    let u = url(&db);
    let mut procs = Procs::default();
    for name in ["w1", "w2"] {
        procs.0.push((name.into(), worker(&u, &dir, name, 200)));
    }
    let search = coordinator(&u, &dir, &["--batch", "5", "--lease", "1"]);
    // File 12 is in task 2 (files 10..15).
    let victim = wait_for(&u, 30, "task 2 running", |h| holder(h, 2, 1));
    procs.get(&victim).kill().unwrap();
    let r = finish(search, 60);
    assert_eq!(r.code, Some(0), "{r:?}");
    let j = r.json();
    assert_eq!(j["index"], 12, "{j}");
    let survivor = if victim == "w1" { "w2" } else { "w1" };
    assert!(j["found_by"].as_str().unwrap().starts_with(survivor), "{j}");
    assert!(j["tasks"]["retries"].as_u64().unwrap() >= 1, "{j}");
    let ev = events(&db);
    let started: Vec<&Value> = of_kind(&ev, "started")
        .into_iter()
        .filter(|e| e["task"] == 2)
        .collect();
    assert_eq!(started.len(), 2, "{ev:?}");
    assert_eq!(started[1]["attempt"], 2);
    assert!(started[1]["worker"].as_str().unwrap().starts_with(survivor));
    assert_counted_once(&j, &ev);
    assert!(
        !of_kind(&ev, "finished").iter().any(|e| e["worker"]
            .as_str()
            .unwrap()
            .starts_with(&victim)
            && e["task"] == 2),
        "{ev:?}"
    );
    let st = status(&u);
    let t2 = &st["hunts"][0]["tasks"][2];
    assert_eq!(t2["state"], "Completed", "{st}");
    assert_eq!(t2["attempts"], 2, "{st}");
}

/// A worker paused (SIGSTOP) past its lease loses its task to another; resumed, it
/// learns so and reports nothing that counts (a `stale` event): every file is read
/// exactly once, and the answer is "not found".
#[test]
fn a_paused_worker_comes_back_harmlessly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 20, 4, Some(5));
    let db = tmp.path().join("q.db");
    let u = url(&db);
    let mut procs = Procs::default();
    for name in ["w1", "w2"] {
        procs.0.push((name.into(), worker(&u, &dir, name, 150)));
    }
    let search = coordinator(
        &u,
        &dir,
        &["--batch", "10", "--lease", "0.5", "--needle", "Gold"],
    );
    // Both tasks held; pause the holder of task 0.
    let paused = wait_for(&u, 30, "both tasks running", |h| {
        holder(h, 1, 1)?;
        holder(h, 0, 1)
    });
    signal(procs.get(&paused), libc::SIGSTOP);
    let taker = wait_for(&u, 30, "task 0 taken over", |h| holder(h, 0, 2));
    assert_ne!(taker, paused);
    signal(procs.get(&paused), libc::SIGCONT);
    let r = finish(search, 60);
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(j["files_scanned"], 20, "every file read exactly once: {j}");
    assert_eq!(j["tasks"]["retries"], 1, "{j}");
    // The paused worker's report comes in after it wakes: fenced off.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ev = loop {
        let ev = events(&db);
        if of_kind(&ev, "stale").iter().any(|e| e["task"] == 0) {
            break ev;
        }
        assert!(Instant::now() < deadline, "no stale report: {ev:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stale = of_kind(&ev, "stale");
    assert!(
        stale[0]["worker"].as_str().unwrap().starts_with(&paused),
        "{ev:?}"
    );
    assert_counted_once(&j, &ev);
    let fin = of_kind(&ev, "finished");
    assert!(fin
        .iter()
        .all(|e| !(e["task"] == 0 && e["worker"].as_str().unwrap().starts_with(&paused))));
    let st = status(&u);
    assert_eq!(st["hunts"][0]["state"], "not found", "{st}");
    assert_eq!(st["hunts"][0]["tasks"][0]["state"], "Completed");
}

/// Workers that die holding a task, more often than `--max-attempts`: the task is
/// Failed and the answer "unknown" (exit 2), never "not found".
#[test]
fn max_attempts_lead_to_failed_and_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 20, 4, Some(5));
    let r = hunt(&[
        "search",
        "--json",
        "--dir",
        s(&dir),
        "--strategy",
        "sqlite",
        "-j",
        "2",
        "--batch",
        "2",
        "--max-attempts",
        "1",
        "--lease",
        "0.3",
        "--needle",
        "Gold",
    ])
    .env(hunt::hooks::SLOW_FILE_ENV, "50")
    .env(hunt::hooks::FAIL_WORKER_ENV, "sqlite:0")
    .output()
    .expect("hunt runs");
    let r = Run::from(r);
    assert_eq!(r.code, Some(2), "{r:?}");
    let j = r.json();
    assert_eq!(j["tasks"]["failed"], 1, "{j}");
    assert!(j["found"].is_null());
    assert!(!j["worker_failures"].as_array().unwrap().is_empty(), "{j}");
    assert!(r.stderr.contains("may be there"), "{r:?}");
}

/// A file that cannot be read, in every attempt: the task is Failed with its last
/// attempt's counts, the answer unknown.
#[test]
fn a_task_whose_files_fail_every_attempt_is_the_dead_letter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 12, 4, Some(2));
    std::fs::remove_file(dir.join("file_9.txt")).unwrap();
    mkfifo(&dir.join("file_9.txt"));
    let db = tmp.path().join("q.db");
    let r = search_json(
        &dir,
        &[
            "--strategy",
            "sqlite",
            "--broker",
            &url(&db),
            "-j",
            "2",
            "--batch",
            "4",
            "--max-attempts",
            "2",
            "--needle",
            "Gold",
        ],
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    let j = r.json();
    assert_eq!(
        (
            j["tasks"]["failed"].as_u64(),
            j["tasks"]["retries"].as_u64()
        ),
        (Some(1), Some(1)),
        "{j}"
    );
    assert!(j["errors"].as_u64().unwrap() >= 1, "{j}");
    let st = status(&url(&db));
    let t2 = &st["hunts"][0]["tasks"][2];
    assert_eq!(
        (&t2["state"], &t2["attempts"]),
        (&Value::from("Failed"), &Value::from(2)),
        "{st}"
    );
    assert!(
        t2["note"].as_str().unwrap().starts_with("attempt 2 of 2"),
        "{st}"
    );
    assert_eq!(st["hunts"][0]["state"], "unknown");
    let ev = events(&db);
    let failed = of_kind(&ev, "failed");
    assert_eq!(failed.len(), 1, "{ev:?}");
    assert!(failed[0]["tally"]["files"].is_number(), "{ev:?}");
    assert_eq!(of_kind(&ev, "retried").len(), 1, "{ev:?}");
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
