//! Workers that die mid-hunt. `HUNT_TEST_FAIL_WORKER=STRATEGY:w` makes worker `w` fail
//! as it starts; a worker process SIGKILLs itself before it scans, as `kill -9` from
//! outside would. A dead worker must be an error naming the range it lost (never a
//! silent "not found"; a find elsewhere still counts, with a warning), and no worker
//! process may outlive `hunt`. Covered here: fork (every reader and several worker
//! counts, with and without `--rotate`) and spawn.
mod common;
use common::*;
use hunt::scan::Reader;
use hunt::strategy::StrategyKind::{self, Fork, Spawn};
use std::path::Path;

const FILES: u64 = 40;

/// Search positions of worker `w` of `k` over `n` files: contiguous, as even as possible.
fn range_of(n: u64, k: u64, w: u64) -> (u64, u64) {
    (n * w / k, n * (w + 1) / k)
}

/// Runs `hunt search --dir DIR --strategy S` plus `extra`, with worker `kill` of `S`
/// told to die.
fn search_killing(strategy: StrategyKind, dir: &Path, kill: u64, extra: &[&str]) -> Run {
    let mut args = vec!["search", "--dir", s(dir), "--strategy", strategy.name()];
    args.extend(broker_flags(strategy));
    args.extend_from_slice(extra);
    hunt(&args)
        .env(hunt::hooks::FAIL_WORKER_ENV, format!("{strategy}:{kill}"))
        .output()
        .expect("hunt runs")
        .into()
}

/// Asserts that no process (a worker, say) names `path` on its command line.
fn assert_no_process_left(path: &Path) {
    let left = processes_mentioning(s(path));
    assert!(
        left.is_empty(),
        "processes left over after hunt exited: {left:?}"
    );
}

#[test]
fn a_killed_child_is_an_error_naming_its_range_and_none_is_left_over() {
    let tmp = tempfile::tempdir().unwrap();
    for workers in [2u64, 3, 4, 7] {
        let kill = 1;
        let (lo, hi) = range_of(FILES, workers, kill);
        let inside = (lo + hi) / 2;
        let outside = if lo > 0 { 0 } else { FILES - 1 };
        for reader in Reader::ALL {
            let w = workers.to_string();
            let flags = ["--json", "--workers", &w, "--reader", reader.name()];
            let case = format!(
                "workers {workers}, reader {}, killed worker {kill} ({lo}..{hi})",
                reader.name()
            );

            // Treasure in the lost range: the answer is unknown, so exit 2, never 1.
            let dir = tmp.path().join(format!("in_{workers}_{}", reader.name()));
            generate(&dir, FILES, 10, Some(inside));
            let r = search_killing(Fork, &dir, kill, &flags);
            r.no_panic();
            assert_eq!(r.code, Some(2), "{case}, treasure {inside} inside: {r:?}");
            let want = format!("search positions {lo}..{hi}");
            assert!(
                r.stderr.contains(&want),
                "{case}: stderr lacks {want:?}: {r:?}"
            );
            assert!(
                r.stderr.contains("SIGKILL"),
                "{case}: stderr lacks SIGKILL: {r:?}"
            );
            assert!(
                r.stderr.contains(&format!("fork worker {kill}")),
                "{case}: {r:?}"
            );
            let j = r.json();
            assert!(j["found"].is_null(), "{case}: {j}");
            let failures = j["worker_failures"].as_array().expect("worker_failures");
            assert_eq!(failures.len(), 1, "{case}: {j}");
            assert!(failures[0].as_str().unwrap().contains(&want), "{case}: {j}");
            // The other workers read their whole ranges.
            assert_eq!(j["files_scanned"], FILES - (hi - lo), "{case}: {j}");

            // Needle absent everywhere: still unknown, because a range went unsearched.
            let r = search_killing(
                Fork,
                &dir,
                kill,
                &[&flags[..], &["--needle", "Gold"]].concat(),
            );
            assert_eq!(r.code, Some(2), "{case}, needle absent: {r:?}");
            assert!(r.stderr.contains(&want), "{case}, needle absent: {r:?}");

            // Treasure outside the lost range: found, exit 0, with a warning.
            let dir = tmp.path().join(format!("out_{workers}_{}", reader.name()));
            generate(&dir, FILES, 10, Some(outside));
            let r = search_killing(Fork, &dir, kill, &flags);
            r.no_panic();
            assert_eq!(r.code, Some(0), "{case}, treasure {outside} outside: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], outside, "{case}: {j}");
            assert!(
                r.stderr.contains(&want),
                "{case}: the failure is not reported: {r:?}"
            );
            assert!(r.stderr.contains("warning"), "{case}: no warning: {r:?}");

            assert_no_process_left(tmp.path());
        }
    }
}

#[test]
fn rotation_moves_the_lost_range_with_the_search_order() {
    // With --rotate, worker ranges are in search positions: position p is file
    // (p + rotate) % n. Put the treasure in file 0 and rotate it into worker 1's range.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 10, Some(0));
    let (lo, hi) = range_of(FILES, 4, 1);
    let rotate = FILES - lo; // file 0 sits at search position lo
    let r = search_killing(
        Fork,
        &dir,
        1,
        &["--json", "--workers", "4", "--rotate", &rotate.to_string()],
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains(&format!("search positions {lo}..{hi}")),
        "{r:?}"
    );
    // Without the rotation file 0 is in worker 0's range: found.
    let r = search_killing(Fork, &dir, 1, &["--json", "--workers", "4"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_no_process_left(tmp.path());
}

#[test]
fn without_the_kill_switch_no_child_is_left_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 10, Some(3));
    for needle in ["Treasure", "Gold"] {
        let r = search_json(
            &dir,
            &["--strategy", "fork", "--workers", "7", "--needle", needle],
        );
        assert_eq!(r.code, Some(if needle == "Gold" { 1 } else { 0 }), "{r:?}");
        assert!(r.stderr.is_empty(), "{r:?}");
    }
    assert_no_process_left(tmp.path());
}

#[test]
fn a_killed_spawn_worker_is_an_error_naming_its_range_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("killed-worker-set");
    generate(&dir, 30, 5, Some(2));
    let r = search_killing(Spawn, &dir, 1, &["--workers", "3", "--needle", "nope"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr
            .contains("spawn worker 1 (search positions 10..20) was killed by signal 9 (SIGKILL)"),
        "{r:?}"
    );
    assert!(r.stderr.contains("may be there"), "{r:?}");
    assert_no_process_left(&dir);

    // The treasure in a surviving worker's range is still found, with a warning.
    let r = search_killing(Spawn, &dir, 1, &["--workers", "3"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("file_2.txt"), "{r:?}");
    assert!(
        r.stderr
            .contains("spawn worker 1 (search positions 10..20)"),
        "{r:?}"
    );
}

/// Every strategy reports a failed worker the same way: the report is still printed
/// (`--json` too), `worker_failures` names the worker and the part of the search it
/// lost, and with nothing found the answer is unknown (exit 2), never "not found". A
/// task-queue strategy with leases may instead re-run what the worker lost; then "not
/// found" is the truth, every file was read, and the retry is counted.
#[test]
fn every_strategy_reports_a_failed_worker_in_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, FILES, 3, Some(5));
    for (strategy, reader) in hunt::strategy::runnable_pairs() {
        let what = format!("{strategy}/{}", reader.name());
        // Slow files, so every worker gets work before the others finish it.
        let flags = [
            "--json",
            "--reader",
            reader.name(),
            "--workers",
            "3",
            "--needle",
            "Gold",
            "--batch",
            "4",
            "--lease",
            "1",
        ];
        let r: Run = hunt(
            &[
                &["search", "--dir", s(&dir), "--strategy", strategy.name()][..],
                &broker_flags(strategy),
                &flags,
            ]
            .concat(),
        )
        .env(hunt::hooks::FAIL_WORKER_ENV, format!("{strategy}:0"))
        .env(hunt::hooks::SLOW_FILE_ENV, "20")
        .output()
        .expect("hunt runs")
        .into();
        r.no_panic();
        let j = r.json();
        match r.code {
            Some(2) => {
                let failures = j["worker_failures"].as_array().expect("worker_failures");
                assert_eq!(failures.len(), 1, "{what}: {j}");
                let f = failures[0].as_str().unwrap();
                assert!(
                    f.starts_with(&format!("{strategy} worker 0 (")),
                    "{what}: {f}"
                );
                assert!(
                    f.contains("search positions") && f.contains("went unsearched"),
                    "{what}: {f}"
                );
                assert!(r.stderr.contains(f), "{what}: named on stderr too: {r:?}");
                assert!(r.stderr.contains("may be there"), "{what}: {r:?}");
                assert!(j["files_scanned"].as_u64().unwrap() < FILES, "{what}: {j}");
            }
            Some(1) => {
                assert!(
                    j["tasks"]["retries"].as_u64().unwrap_or(0) >= 1,
                    "{what}: 'not found' without a retry: {j}"
                );
                assert_eq!(j["files_scanned"], FILES, "{what}: {j}");
                assert!(
                    j["worker_failures"].as_array().unwrap().is_empty(),
                    "{what}: {j}"
                );
            }
            _ => panic!("{what}: {r:?}"),
        }
    }
}
