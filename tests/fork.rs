//! The fork strategy's child-death path. `HUNT_TEST_FAIL_WORKER=fork:w` makes worker
//! `w` SIGKILL itself before it scans, as `kill -9` from outside would. A dead child must be
//! an error naming the range it lost (never a silent "not found"), and no child may
//! outlive `hunt`.
mod common;
use common::*;
use hunt::scan::Reader;
use std::path::Path;

const FILES: u64 = 40;
const KILL_ENV: &str = hunt::hooks::FAIL_WORKER_ENV;

/// Search positions of worker `w` of `k` over `n` files: contiguous, as even as possible.
fn range_of(n: u64, k: u64, w: u64) -> (u64, u64) {
    (n * w / k, n * (w + 1) / k)
}

/// Runs `hunt search --strategy fork` on `dir` with worker `kill` told to die.
fn search_killing(dir: &Path, kill: u64, extra: &[&str]) -> Run {
    let mut args = vec!["search", "--json", "--strategy", "fork", "--dir", s(dir)];
    args.extend_from_slice(extra);
    hunt(&args)
        .env(KILL_ENV, format!("fork:{kill}"))
        .output()
        .expect("hunt runs")
        .into()
}

fn assert_no_leftover_children(tmp: &Path) {
    let left = processes_mentioning(s(tmp));
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
            let flags = ["--workers", &w, "--reader", reader.name()];
            let case = format!(
                "workers {workers}, reader {}, killed worker {kill} ({lo}..{hi})",
                reader.name()
            );

            // Treasure in the lost range: the answer is unknown, so exit 2, never 1.
            let dir = tmp.path().join(format!("in_{workers}_{}", reader.name()));
            generate(&dir, FILES, 10, Some(inside));
            let r = search_killing(&dir, kill, &flags);
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
            let r = search_killing(&dir, kill, &[&flags[..], &["--needle", "Gold"]].concat());
            assert_eq!(r.code, Some(2), "{case}, needle absent: {r:?}");
            assert!(r.stderr.contains(&want), "{case}, needle absent: {r:?}");

            // Treasure outside the lost range: found, exit 0, with a warning.
            let dir = tmp.path().join(format!("out_{workers}_{}", reader.name()));
            generate(&dir, FILES, 10, Some(outside));
            let r = search_killing(&dir, kill, &flags);
            r.no_panic();
            assert_eq!(r.code, Some(0), "{case}, treasure {outside} outside: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], outside, "{case}: {j}");
            assert!(
                r.stderr.contains(&want),
                "{case}: the failure is not reported: {r:?}"
            );
            assert!(r.stderr.contains("warning"), "{case}: no warning: {r:?}");

            assert_no_leftover_children(tmp.path());
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
        &dir,
        1,
        &["--workers", "4", "--rotate", &rotate.to_string()],
    );
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains(&format!("search positions {lo}..{hi}")),
        "{r:?}"
    );
    // Without the rotation file 0 is in worker 0's range: found.
    let r = search_killing(&dir, 1, &["--workers", "4"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_no_leftover_children(tmp.path());
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
    assert_no_leftover_children(tmp.path());
}
