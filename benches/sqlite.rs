//! `cargo bench --bench sqlite`: the blog's two claims about a database as the queue,
//! measured on the real SQLite backend ([`hunt::broker::sqlite`]). Prints Markdown
//! tables of medians; docs/BROKERS.md ("SQLite on its own") quotes them.
//!
//! - `claims`: "the table grows with the tasks" and "the querying becomes costly as the
//!   DB grows". A queue of N task rows (1,000 to 1,000,000), all Completed but the last
//!   `--claims` NotStarted (a long history before the work left); then the real
//!   [`Broker::take`] is timed claim by claim, with the `task (hunt, state, id)` index
//!   and after `DROP INDEX`. Also timed: an idle worker's look when nothing is left to
//!   take, and the file's size.
//! - `polling`: what polling costs. K idle `hunt worker` processes on a hunt whose one
//!   task another holds: the SQL statements they run per second (their own count, sent
//!   with their heartbeats) against `--poll`; and `hunt search --strategy sqlite` in
//!   two tasks, the find halfway through the second, from the warm page cache and with
//!   1 ms more per file (the `HUNT_TEST_SLOW_FILE_MS` hook, for slow storage): the time
//!   to the answer, the stop latency and the files read, against `--poll`.
//! - `batch`: what a task costs. A full scan of the default-sized set (10,000 files x
//!   1,000 lines) at `--batch` 16 to 1024, `-j 1` and `-j 2`: two write transactions per
//!   task (the claim and the report) against reading its files.
//!
//! `cargo bench --bench sqlite -- [claims|polling|idle|answer|batch] [--sizes N,..]
//! [--claims N] [--polls S,..] [--workers K] [--seconds S] [--runs R]`. The word picks
//! parts as a libtest filter does (`--exact` too); `-- --list` names the parts; other
//! harness flags are ignored. `cargo test --all-targets` runs it once, small (1,000
//! rows, 5 claims), to check that it works.

use hunt::broker::sqlite::{Sqlite, CLAIM_SQL, STATE_INDEX};
use hunt::broker::{Broker, HuntSpec, Me, Take};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/flags.rs"]
mod flags;
use flags::Harness;

/// The bench's parts, in the order they run; a filter picks among them as libtest's
/// does (`polling` runs both of its parts, `--exact claims` only that one).
const PARTS: [&str; 4] = ["claims", "polling/idle", "polling/answer", "batch"];
/// The bench's own options; each takes a value.
const OWN: [&str; 6] = [
    "--sizes",
    "--claims",
    "--polls",
    "--workers",
    "--seconds",
    "--runs",
];

struct Opts {
    harness: Harness,
    sizes: Vec<u64>,
    claims: usize,
    polls: Vec<f64>,
    workers: usize,
    seconds: f64,
    runs: usize,
}

impl Opts {
    fn runs(&self, part: &str) -> bool {
        self.harness.selects(part)
    }
}

/// A bad value for one of the bench's own options: one line naming the fix, exit 2.
fn bad(flag: &str, value: &str, want: &str) -> ! {
    eprintln!("sqlite bench: {flag} {value:?}: give {want}");
    std::process::exit(2)
}

fn parsed<T: std::str::FromStr>(flag: &str, value: &str, want: &str) -> T {
    value
        .trim()
        .parse()
        .unwrap_or_else(|_| bad(flag, value, want))
}

fn list<T: std::str::FromStr>(flag: &str, value: &str, want: &str) -> Vec<T> {
    value.split(',').map(|v| parsed(flag, v, want)).collect()
}

fn opts() -> Opts {
    let mut harness = Harness::parse(std::env::args().skip(1), &OWN);
    // `all` was this bench's word for every part, before it took libtest's filters.
    harness.filters.retain(|f| f != "all");
    let mut o = Opts {
        harness,
        sizes: vec![1_000, 10_000, 100_000, 1_000_000],
        claims: 100,
        polls: vec![0.005, 0.05, 0.2, 1.0],
        workers: 4,
        seconds: 5.0,
        runs: 5,
    };
    if !o.harness.measures() {
        // `cargo test --all-targets` runs benches without `--bench`: one small pass of
        // the claims, so the bench is known to work, not a measurement.
        o.sizes = vec![1000];
        o.claims = 5;
        return o;
    }
    for (flag, v) in std::mem::take(&mut o.harness.own) {
        match flag.as_str() {
            "--sizes" => o.sizes = list(&flag, &v, "row counts separated by commas"),
            "--claims" => o.claims = parsed(&flag, &v, "a whole number"),
            "--polls" => o.polls = list(&flag, &v, "seconds separated by commas"),
            "--workers" => o.workers = parsed(&flag, &v, "a whole number"),
            "--seconds" => o.seconds = parsed(&flag, &v, "a number of seconds"),
            _ => o.runs = parsed(&flag, &v, "a whole number"),
        }
    }
    o
}

fn main() {
    let o = opts();
    if o.harness.list {
        print!("{}", o.harness.listing(&PARTS));
        return;
    }
    if o.runs("claims") {
        claims(&o);
    }
    if !o.harness.measures() {
        // The other parts start `hunt` processes and take seconds: bench only.
        return;
    }
    if o.runs("polling/idle") {
        idle(&o);
    }
    if o.runs("polling/answer") {
        answer(&o);
    }
    if o.runs("batch") {
        batch(&o);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn spec(
    id: &str,
    files: u64,
    batch: u64,
    poll_ms: u64,
    identity: hunt::dataset::identity::Identity,
) -> HuntSpec {
    HuntSpec {
        format: hunt::broker::SPEC_FORMAT,
        id: id.into(),
        identity,
        files,
        needle_hex: hunt::sys::hex::hex(b"Treasure"),
        reader: hunt::scan::Reader::Read,
        rotate: 0,
        batch,
        lease_ms: 600_000,
        max_attempts: 3,
        coordinator: "bench".into(),
        options: serde_json::Map::from_iter([("poll_ms".to_string(), poll_ms.into())]),
        trace: false,
    }
}

fn me(i: usize) -> Me {
    Me {
        worker: format!("b{i}"),
        host: "bench".into(),
        consumer: format!("b{i}/0"),
    }
}

fn url(p: &Path) -> String {
    format!("sqlite:{}", p.display())
}

/// Times `n` takes, each by another consumer; seconds each, and whether each got a task.
fn time_takes(q: &mut Sqlite, from: usize, n: usize, want_task: bool) -> Vec<f64> {
    (from..from + n)
        .map(|i| {
            // Untimed: a hunt without its coordinator's keep-alive for a minute is gone.
            q.keep_alive("h").unwrap();
            let t = Instant::now();
            let got = q.take("h", &me(i)).unwrap();
            let s = t.elapsed().as_secs_f64();
            assert_eq!(matches!(got, Take::Task(_)), want_task, "take {i}: {got:?}");
            s
        })
        .collect()
}

fn plan(c: &rusqlite::Connection) -> String {
    let mut st = c
        .prepare(&format!("EXPLAIN QUERY PLAN {CLAIM_SQL}"))
        .unwrap();
    let rows: Vec<String> = st
        .query_map(
            rusqlite::named_params! {":hunt": "h", ":now": 0, ":until": 0, ":worker": "", ":consumer": ""},
            |r| r.get::<_, String>(3),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.join("; ")
}

fn claims(o: &Opts) {
    println!(
        "### Claim cost against table size ({} claims each, medians)\n",
        o.claims
    );
    println!("| task rows | file | index on state | claim (median) | claim (max) | idle look, nothing to take (median) |");
    println!("|---:|---:|---|---:|---:|---:|");
    let mut plans = Vec::new();
    for &n in &o.sizes {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("q.db");
        let mut q = Sqlite::open(&url(&db), true).unwrap();
        let identity = hunt::dataset::identity::Identity {
            digest: "0".repeat(32),
            summary: "bench".into(),
        };
        let tasks: Vec<hunt::tasks::Task> = hunt::tasks::cut(n, 1).collect();
        q.publish(&spec("h", n, 1, 50, identity), &tasks).unwrap();
        q.keep_alive("h").unwrap();
        let m = o.claims.min(n as usize / 2);
        let raw = rusqlite::Connection::open(&db).unwrap();
        raw.busy_timeout(Duration::from_secs(30)).unwrap();
        let history = n - m as u64;
        raw.execute(
            "UPDATE task SET state = 'Completed', attempts = 1, worker = 'old@bench' WHERE hunt = 'h' AND id < ?1",
            [history as i64],
        )
        .unwrap();
        raw.execute(
            "UPDATE hunt SET terminal = ?1 WHERE id = 'h'",
            [history as i64],
        )
        .unwrap();
        raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let size = std::fs::metadata(&db).unwrap().len();
        for indexed in [true, false] {
            if !indexed {
                raw.execute_batch(&format!(
                    "DROP INDEX {STATE_INDEX}; DELETE FROM event;
                     UPDATE task SET state = 'NotStarted', attempts = 0, consumer = NULL, lease_until = NULL
                      WHERE hunt = 'h' AND id >= {history};"
                ))
                .unwrap();
            }
            if n == *o.sizes.last().unwrap() {
                plans.push((indexed, plan(&raw)));
            }
            let mut took = time_takes(&mut q, 0, m, true);
            let max = took.iter().copied().fold(0.0, f64::max);
            let med = median(&mut took);
            // Every task is held now, none expired: what an idle worker's poll costs.
            let mut idle = time_takes(&mut q, m, 20, false);
            println!(
                "| {n} | {} | {} | {} | {} | {} |",
                hunt::units::bytes(size),
                if indexed { "yes" } else { "no (dropped)" },
                hunt::units::secs(med),
                hunt::units::secs(max),
                hunt::units::secs(median(&mut idle)),
            );
        }
    }
    println!();
    for (indexed, p) in plans {
        println!(
            "- query plan of the claim, {}: `{p}`",
            if indexed { "with the index" } else { "without" }
        );
    }
    println!();
}

fn hunt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hunt"))
}

fn generate(dir: &Path, files: u64, lines: u64, at: u64) {
    let ok = Command::new(hunt_bin())
        .args(["generate", "--dir"])
        .arg(dir)
        .args(["--files", &files.to_string(), "--lines", &lines.to_string()])
        .args(["--seed", "7", "--treasure-at", &at.to_string()])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "hunt generate failed");
}

/// Statements per second of each worker in the queue, from two heartbeats `secs` apart.
fn rates(db: &Path, names: &[String], secs: f64) -> Vec<f64> {
    let raw = rusqlite::Connection::open(db).unwrap();
    raw.busy_timeout(Duration::from_secs(30)).unwrap();
    let read = || -> Vec<(i64, i64)> {
        names
            .iter()
            .map(|n| {
                raw.query_row(
                    "SELECT last_seen_ms, statements FROM worker WHERE name = ?1",
                    [n],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap_or((0, 0))
            })
            .collect()
    };
    let a = read();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let b = read();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (y.1 - x.1) as f64 / ((y.0 - x.0).max(1) as f64 / 1000.0))
        .collect()
}

fn idle(o: &Opts) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 2000, 100, 1000);
    let loaded = hunt::fileset::load(&dir, false).unwrap();
    let identity = loaded.files.identity().unwrap();
    println!(
        "### Idle workers: SQL statements per second ({} workers of 1 thread, on a hunt whose one task another holds; {} s)\n",
        o.workers, o.seconds
    );
    println!("| --poll | statements/s, all workers | per worker |");
    println!("|---:|---:|---:|");
    let mut cases: Vec<Option<f64>> = vec![None];
    cases.extend(o.polls.iter().copied().map(Some));
    for poll in cases {
        let q_dir = tempfile::tempdir().unwrap();
        let db = q_dir.path().join("q.db");
        let mut q = Sqlite::open(&url(&db), true).unwrap();
        if let Some(p) = poll {
            let ms = (p * 1000.0).round().max(1.0) as u64;
            q.publish(
                &spec("h", 2000, 2000, ms, identity.clone()),
                &hunt::tasks::cut(2000, 2000).collect::<Vec<_>>(),
            )
            .unwrap();
            assert!(matches!(q.take("h", &me(999)).unwrap(), Take::Task(_)));
        }
        let names: Vec<String> = (0..o.workers).map(|i| format!("idle{i}")).collect();
        let mut kids: Vec<std::process::Child> = names
            .iter()
            .map(|n| {
                Command::new(hunt_bin())
                    .args([
                        "worker",
                        "--broker",
                        &url(&db),
                        "--name",
                        n,
                        "-j",
                        "1",
                        "--dir",
                    ])
                    .arg(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Let them start, learn the hunt and send two heartbeats.
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if poll.is_some() {
                q.keep_alive("h").unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let r = rates(&db, &names, o.seconds);
        for k in &mut kids {
            let _ = k.kill();
            let _ = k.wait();
        }
        let total: f64 = r.iter().sum();
        println!(
            "| {} | {:.0} | {:.0} |",
            poll.map_or("no hunt (waiting for one)".to_string(), |p| format!(
                "{p} s"
            )),
            total,
            total / o.workers as f64
        );
    }
    println!();
}

fn answer(o: &Opts) {
    let tmp = tempfile::tempdir().unwrap();
    // Two tasks: the treasure halfway through the second, so the worker on the first
    // is mid-task at the find and hears of it only by polling. Once from the warm page
    // cache (the default-sized set), once with every file taking 1 ms more (the
    // HUNT_TEST_SLOW_FILE_MS hook, standing in for slow storage).
    let big = tmp.path().join("big");
    generate(&big, 10_000, 1000, 7500);
    let slow_set = tmp.path().join("slow");
    generate(&slow_set, 2000, 100, 1500);
    for (set, files, treasure, slow) in [
        (&big, 10_000u64, 7500u64, None),
        (&slow_set, 2000, 1500, Some("1")),
    ] {
        let batch = (files / 2).to_string();
        println!(
            "### Time to the answer and to the stop against --poll (hunt search --strategy sqlite -j 2 --batch {batch}, {files} files, treasure in file {treasure}, {}; {} runs, medians)\n",
            if slow.is_some() { "1 ms more per file" } else { "warm page cache" },
            o.runs
        );
        println!("| --poll | time to the answer | stop latency (find to last worker stopped) | files read | hunt (elapsed_s) |");
        println!("|---:|---:|---:|---:|---:|");
        for &p in &o.polls {
            let (mut find, mut stop, mut read, mut all) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..o.runs {
                let mut c = Command::new(hunt_bin());
                c.args([
                    "search",
                    "--json",
                    "--strategy",
                    "sqlite",
                    "-j",
                    "2",
                    "--batch",
                    &batch,
                ])
                .args(["--poll", &p.to_string(), "--dir"])
                .arg(set);
                if let Some(ms) = slow {
                    c.env("HUNT_TEST_SLOW_FILE_MS", ms);
                }
                let out = c.output().unwrap();
                let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(j["index"], treasure, "{j}");
                find.push(j["time_to_find_s"].as_f64().unwrap());
                stop.push(j["stop_latency_s"].as_f64().unwrap());
                read.push(j["files_scanned"].as_f64().unwrap());
                all.push(j["elapsed_s"].as_f64().unwrap());
            }
            println!(
                "| {p} s | {} | {} | {:.0} | {} |",
                hunt::units::secs(median(&mut find)),
                hunt::units::secs(median(&mut stop)),
                median(&mut read),
                hunt::units::secs(median(&mut all)),
            );
        }
        println!();
    }
}

fn batch(o: &Opts) {
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("big");
    generate(&set, 10_000, 1000, 7500);
    println!(
        "### Task size: a full scan (hunt search --strategy sqlite --needle Doubloon, 10,000 files x 1,000 lines, warm page cache; {} runs, medians of elapsed_s)\n",
        o.runs
    );
    println!("| --batch | tasks | -j 1 | -j 2 |");
    println!("|---:|---:|---:|---:|");
    for b in [16u64, 64, 256, 1024] {
        let mut cells = Vec::new();
        for j in ["1", "2"] {
            let mut all = Vec::new();
            for _ in 0..o.runs {
                let out = Command::new(hunt_bin())
                    .args([
                        "search",
                        "--json",
                        "--strategy",
                        "sqlite",
                        "-j",
                        j,
                        "--needle",
                        "Doubloon",
                    ])
                    .args(["--batch", &b.to_string(), "--dir"])
                    .arg(&set)
                    .output()
                    .unwrap();
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(v["files_scanned"], 10_000, "{v}");
                all.push(v["elapsed_s"].as_f64().unwrap());
            }
            cells.push(hunt::units::secs(median(&mut all)));
        }
        println!(
            "| {b} | {} | {} | {} |",
            10_000u64.div_ceil(b),
            cells[0],
            cells[1]
        );
    }
    println!();
}
