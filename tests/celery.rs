//! The real Python task queues (`celery`, `celery-reliable`, `rq`): each finds the
//! manifest's file and says "not found" on a needle no file holds, a race runs them on
//! pools it starts once and leaves nothing running, each `--fault` reaches their
//! workers (or their Redis) and never makes them answer wrong or hang, and a missing
//! Python or a bad `--python-pool` is refused on one line that names the fix.
//!
//! They need the virtual environment `scripts/install-python-deps.sh` makes (CI runs it
//! through `scripts/install-test-deps.sh`) and redis-server: without them the tests that
//! run a pool are skipped with a line, unless `HUNT_REQUIRE_SERVERS=1`.
mod common;
use common::*;
use hunt::strategy::{Knobs, RaceService, StrategyKind};

const PYTHON: [StrategyKind; 3] = [
    StrategyKind::Celery,
    StrategyKind::CeleryReliable,
    StrategyKind::Rq,
];

/// True when the Python strategies can run here; prints why not otherwise, and panics
/// where they are required.
fn python_ready() -> bool {
    if !have("redis-server") {
        return false;
    }
    match StrategyKind::Celery.race_service(&Knobs::default()) {
        Ok(RaceService::SitOut(why)) => {
            if std::env::var("HUNT_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
                panic!("the Python strategies cannot run, and HUNT_REQUIRE_SERVERS=1: {why}");
            }
            eprintln!("skipped: {why}");
            false
        }
        Ok(_) => true,
        Err(e) => panic!("{e:#}"),
    }
}

#[test]
fn each_finds_the_manifest_file_and_says_not_found_when_no_file_holds_the_needle() {
    if !python_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 300, 10, Some(217));
    for s in PYTHON {
        let r = search_json(
            &dir,
            &["--strategy", s.name(), "--workers", "2", "--batch", "16"],
        );
        assert_eq!(r.code, Some(0), "{s}: {r:?}");
        let j = r.json();
        assert_eq!(j["index"], 217, "{s}: {r:?}");
        assert!(
            j["found"].as_str().unwrap().ends_with("file_217.txt"),
            "{s}"
        );
        assert_eq!(j["strategy"], s.name());
        // Rotated: the search order moves, the answer does not.
        let r = search_json(
            &dir,
            &["--strategy", s.name(), "--workers", "3", "--rotate", "250"],
        );
        assert_eq!(r.code, Some(0), "{s} rotated: {r:?}");
        assert_eq!(r.json()["index"], 217, "{s} rotated");
        let r = search_json(
            &dir,
            &["--strategy", s.name(), "--workers", "2", "--needle", "Gold"],
        );
        assert_eq!(r.code, Some(1), "{s} absent: {r:?}");
        let j = r.json();
        assert_eq!(j["files_scanned"], 300, "{s} absent: every file read once");
        assert_eq!(j["errors"], 0, "{s} absent");
    }
}

#[test]
fn a_race_starts_their_pools_once_and_leaves_nothing_running() {
    if !python_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 200, 10, None);
    let names = PYTHON.map(|s| s.name()).join(",");
    // Its private server and the pools' logs go under our folder, so the processes
    // it leaves (if any) carry our folder in their environment.
    let mut cmd = hunt(&quick_race_args(
        &dir,
        "5",
        &["--strategies", &names, "--workers", "1,2"],
    ));
    cmd.env("TMPDIR", tmp.path());
    let r = output_within(cmd, 600);
    assert_eq!(r.code, Some(0), "{r:?}");
    r.no_panic();
    for k in PYTHON {
        assert!(
            r.stdout.contains(k.name()),
            "{k} missing from the table: {r:?}"
        );
    }
    let needle = s(tmp.path()).to_string();
    assert!(
        wait_until(std::time::Duration::from_secs(5), || with_in_environment(
            &needle
        )
        .is_empty()),
        "left running: {:?}",
        with_in_environment(&needle)
    );
}

/// Races the three under `fault` once each and returns their JSON export's contenders.
fn fault_race(fault: &str) -> Vec<serde_json::Value> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 300, 10, None);
    let json = tmp.path().join("race.json");
    let names = PYTHON.map(|s| s.name()).join(",");
    let mut args = quick_race_args(&dir, "9", &["--strategies", &names, "--workers", "2"]);
    args.extend(["--lease", "1", "--fault", fault, "--export-json", s(&json)]);
    let mut cmd = hunt(&args);
    cmd.env("TMPDIR", tmp.path());
    let r = output_within(cmd, 600);
    assert_eq!(r.code, Some(0), "{fault}: {r:?}");
    r.no_panic();
    let text = std::fs::read_to_string(&json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let contenders = v["contenders"].as_array().unwrap().clone();
    assert_eq!(contenders.len(), PYTHON.len(), "{fault}: {text}");
    for c in &contenders {
        assert!(c["failed"].is_null(), "{fault}: {c}");
        let f = &c["fault"];
        // The task announced itself in hunt's protocol (a format the race cannot read
        // would leave it stopped for ever, and the run hung).
        assert_eq!(f["fired"], 1, "{fault}: the fault did not fire: {c}");
        assert_eq!(c["outcomes"]["wrong"], 0, "{fault}: {c}");
        assert_eq!(c["outcomes"]["hung"], 0, "{fault}: {c}");
    }
    contenders
}

fn outcome_of(contenders: &[serde_json::Value], s: StrategyKind) -> &serde_json::Value {
    let c = contenders.iter().find(|c| c["strategy"] == s.name());
    &c.unwrap_or_else(|| panic!("{s} not raced"))["outcomes"]
}

#[test]
fn a_killed_celery_child_is_answered_right_only_with_the_reliable_settings() {
    if !python_ready() {
        return;
    }
    let c = fault_race("kill-worker");
    // task_acks_late + task_reject_on_worker_lost: the dead child's task runs again.
    assert_eq!(
        outcome_of(&c, StrategyKind::CeleryReliable)["right"],
        1,
        "{c:?}"
    );
    // Early ack (Celery's default) and RQ: the task is lost, and the answer says so.
    for lost in [StrategyKind::Celery, StrategyKind::Rq] {
        assert_eq!(outcome_of(&c, lost)["unknown"], 1, "{lost}: {c:?}");
    }
}

#[test]
fn a_paused_worker_or_a_restarted_redis_leaves_every_python_queue_right() {
    if !python_ready() {
        return;
    }
    for fault in ["pause-worker", "kill-broker"] {
        let c = fault_race(fault);
        for s in PYTHON {
            assert_eq!(outcome_of(&c, s)["right"], 1, "{fault}, {s}: {c:?}");
        }
    }
}

/// Live processes whose environment mentions `needle`.
fn with_in_environment(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if String::from_utf8_lossy(&env).contains(needle) && alive(pid) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

#[test]
fn a_missing_python_is_refused_on_one_line_that_names_the_install_script() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 20, 5, Some(3));
    for k in PYTHON {
        let r = output_within(
            {
                let mut cmd = hunt(&["search", "--dir", s(&dir), "--strategy", k.name()]);
                cmd.env("HUNT_PYTHON", tmp.path().join("no-python"));
                cmd
            },
            60,
        );
        assert_bad_input(&r, "scripts/install-python-deps.sh");
    }
}

#[test]
fn a_python_pool_url_of_another_kind_is_refused_with_the_forms() {
    if !python_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 20, 5, Some(3));
    let r = run(&[
        "search",
        "--dir",
        s(&dir),
        "--strategy",
        "rq",
        "--python-pool",
        "http://127.0.0.1:1",
    ]);
    assert_bad_input(&r, "is not a Redis URL: give redis://");
}
