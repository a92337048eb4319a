//! Load: hundreds of random hunts through the library (random strategy from the
//! registry, reader, workers, data set and treasure place), every answer checked, under
//! a deadline, with no thread or process left behind; and the largest worker count the
//! CLI accepts, with every strategy, through the binary.
mod adversary;
use adversary::*;
use hunt::dataset::generate;
use hunt::scan::Reader;
use hunt::strategy::{runnable_pairs, StrategyKind, MAX_WORKERS};
use rand::{Rng, SeedableRng};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests here count the process's threads and children, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The whole random run must end within this.
const STRESS_DEADLINE: Duration = Duration::from_secs(180);
/// Random hunts per run (override with HUNT_STRESS_HUNTS).
const HUNTS: usize = 600;

fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Asserts that this test process has no child process left.
fn assert_no_child_left() {
    let left = children(std::process::id() as i32);
    assert!(left.is_empty(), "child processes left: {left:?}");
}

struct Set {
    _tmp: tempfile::TempDir,
    files: hunt::fileset::FileSet,
    count: u64,
    treasure: u64,
}

fn make_set(rng: &mut impl Rng) -> Set {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let files = match rng.gen_range(0..4) {
        0 => rng.gen_range(1..=3),
        1 => rng.gen_range(4..=40),
        2 => rng.gen_range(41..=400),
        _ => rng.gen_range(401..=1500),
    };
    let lines = rng.gen_range(1..=30);
    let at = rng.gen_range(0..files);
    let mut spec = generate::spec(
        dir.clone(),
        Some(files),
        Some(lines),
        Some(rng.gen()),
        Some(at),
        None,
        false,
    )
    .unwrap();
    spec.progress = false;
    let done = generate::generate(&spec).unwrap();
    assert_eq!(done.manifest.treasure_index, at);
    let loaded = hunt::fileset::load(&dir, false).unwrap();
    Set {
        _tmp: tmp,
        files: loaded.files,
        count: files,
        treasure: at,
    }
}

#[test]
fn hundreds_of_random_hunts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seed: u64 = std::env::var("HUNT_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let hunts: usize = std::env::var("HUNT_STRESS_HUNTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(HUNTS);
    eprintln!("stress: seed {seed} (HUNT_STRESS_SEED={seed} replays it), {hunts} hunts");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let started = Instant::now();
    let sets: Vec<Set> = (0..10).map(|_| make_set(&mut rng)).collect();
    // generate's rayon global pool stays; count after it exists.
    let threads_before = threads_now();
    let mut per_strategy = std::collections::BTreeMap::new();
    // A strategy whose private server takes seconds to start (`Facts::slow_private`:
    // RabbitMQ's node) would start one per hunt here; the contract suite, the
    // strategies table and bad input run it against one node per test binary.
    let pairs: Vec<_> = runnable_pairs()
        .into_iter()
        .filter(|(s, _)| !s.facts().slow_private)
        .collect();
    for n in 0..hunts {
        assert!(
            started.elapsed() < STRESS_DEADLINE,
            "only {n} of {hunts} hunts within {STRESS_DEADLINE:?} (seed {seed}): a hang or a crawl"
        );
        let set = &sets[rng.gen_range(0..sets.len())];
        let (strategy, reader) = pairs[rng.gen_range(0..pairs.len())];
        let workers = match rng.gen_range(0..3) {
            0 => 1,
            1 => rng.gen_range(2..=8),
            _ => rng.gen_range(9..=48),
        };
        let rotate: u64 = if rng.gen_bool(0.5) {
            rng.gen()
        } else {
            rng.gen_range(0..set.count)
        };
        let absent = rng.gen_bool(0.2);
        let needle: &[u8] = if absent { b"Nowhere" } else { b"Treasure" };
        let what = format!(
            "hunt {n} (seed {seed}): {strategy} x{workers} {reader:?} on {} files, treasure {}, rotate {rotate}, absent {absent}",
            set.count, set.treasure
        );
        let o = hunt::search::hunt_once(
            &set.files,
            needle,
            strategy,
            NonZeroUsize::new(workers).unwrap(),
            reader,
            rotate,
        )
        .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert!(o.errors().is_empty(), "{what}: {:?}", o.errors());
        assert!(
            o.worker_failures.is_empty(),
            "{what}: {:?}",
            o.worker_failures
        );
        if absent {
            assert!(o.found().is_none(), "{what}");
            assert_eq!(o.tally.files_scanned, set.count, "{what}: every file read");
        } else {
            assert_eq!(o.found().map(|f| f.index), Some(set.treasure), "{what}");
            assert!(
                o.tally.files_scanned >= 1 && o.tally.files_scanned <= set.count,
                "{what}"
            );
        }
        *per_strategy.entry(strategy.name()).or_insert(0u32) += 1;
    }
    eprintln!(
        "stress: {hunts} hunts in {:.1} s: {per_strategy:?}",
        started.elapsed().as_secs_f64()
    );
    // Pools are dropped after each hunt; their threads may take a moment to exit.
    assert!(
        wait_until(Duration::from_secs(10), || threads_now() <= threads_before),
        "threads left behind: {} before, {} after",
        threads_before,
        threads_now()
    );
    assert_no_child_left();
}

/// The maximum worker count the CLI accepts, with every strategy, on a set with more
/// files than workers and one with fewer: completes and finds the treasure.
#[test]
fn maximum_worker_count() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let max = MAX_WORKERS.to_string();
    for (files, at) in [(3000u64, 2999u64), (50, 17)] {
        let dir = tmp.path().join(format!("set{files}"));
        adversary::generate(&dir, files, 1, at);
        // The worker count is what is under test; the mmap reader only on the small set
        // keeps the run short on a loaded machine.
        // Not a strategy whose private server takes seconds to start (RabbitMQ's node):
        // 1,024 worker processes make three connections each to it, which a node on a
        // loaded 2-core machine does not take within the run's bound (measured: not
        // done in 30 s).
        let pairs = runnable_pairs()
            .into_iter()
            .filter(|&(s, r)| !s.facts().slow_private && (files <= 100 || r == Reader::Read));
        for (s, r) in pairs {
            let run = search(&dir, &strategy_flags(s, r, &max));
            run.no_panic();
            assert_eq!(run.code, Some(0), "{s}/{r:?} on {files}: {run:?}");
            assert_eq!(run.json()["index"], at, "{s}/{r:?}");
        }
    }
    let over = (MAX_WORKERS + 1).to_string();
    let run = search(tmp.path(), &["--workers", &over]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("--workers must be between 1 and 1024"),
        "{run:?}"
    );
    assert_no_child_left();
}

/// `hunt race` at the maximum worker count, with strategies of every kind (threads,
/// forked and spawned processes, the one-worker baseline) on a tiny set: every run
/// completes, the race exits 0, and every contender is in the JSON export, unfailed.
#[test]
fn race_with_the_maximum_worker_count() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    adversary::generate(&dir, 20, 1, 7);
    let json = tmp.path().join("race.json");
    let strategies = compiled_names(&[
        StrategyKind::Sequential,
        StrategyKind::Threads,
        StrategyKind::Rayon,
        StrategyKind::Fork,
        StrategyKind::Spawn,
    ]);
    let max = MAX_WORKERS.to_string();
    let run = adversary::run(hunt(&[
        "race",
        "--dir",
        dir.to_str().unwrap(),
        "--strategies",
        &strategies.join(","),
        "--workers",
        &max,
        "--runs",
        "1",
        "--warmup",
        "0",
        "--seed",
        "5",
        "--export-json",
        json.to_str().unwrap(),
    ]));
    run.no_panic();
    assert_eq!(run.code, Some(0), "{run:?}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["rounds_done"], 1, "{j}");
    let contenders = j["contenders"].as_array().unwrap();
    let mut named: Vec<&str> = contenders
        .iter()
        .map(|c| c["strategy"].as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut want = strategies.clone();
    want.sort_unstable();
    assert_eq!(named, want, "{j}");
    for c in contenders {
        assert!(c["failed"].is_null(), "{c}");
        assert_eq!(c["runs"], 1, "{c}");
        if c["strategy"] != "sequential" {
            assert_eq!(c["workers"], MAX_WORKERS as u64, "{c}");
        }
    }
    assert_no_child_left();
}
