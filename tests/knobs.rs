//! The strategies' knobs as flags of `hunt search`: `--queue-depth` (uring's files in
//! flight per worker) and `--batch` (queue's files per task) are range-checked whatever
//! the strategy, every value in range gives the same answer, and the queue reports
//! counts that add up.
mod common;
use common::*;
use hunt::strategy::StrategyKind;

#[test]
fn zero_queue_depth_and_batch_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    let r = search_json(&dir, &["--strategy", "uring", "--queue-depth", "0"]);
    assert_bad_input(&r, "--queue-depth must be at least 1");
    let r = search_json(&dir, &["--strategy", "uring", "--queue-depth", "5000"]);
    assert_bad_input(&r, "--queue-depth must be at most 1024");
    let r = search_json(&dir, &["--strategy", "queue", "--batch", "0"]);
    assert_bad_input(&r, "--batch must be at least 1");
    // Checked whatever the strategy, so a sweep cannot carry a bad value unnoticed.
    let r = search_json(&dir, &["--strategy", "threads", "--batch", "0"]);
    assert_bad_input(&r, "--batch must be at least 1");
}

#[test]
fn uring_queue_depths_and_queue_batches_all_give_the_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let n = 40u64;
    generate(&dir, n, 5, Some(33));
    let depths: &[&str] = if StrategyKind::Uring.compiled_in() {
        &["1", "2", "3", "64", "1024"]
    } else {
        &[]
    };
    for &depth in depths {
        for workers in ["1", "3"] {
            let args = [
                "--strategy",
                "uring",
                "--queue-depth",
                depth,
                "--workers",
                workers,
            ];
            let r = search_json(&dir, &args);
            assert_eq!(r.code, Some(0), "depth {depth} x{workers}: {r:?}");
            assert_eq!(r.json()["index"], 33, "depth {depth}");
            let r = search_json(&dir, &[&args[..], &["--needle", "nope"]].concat());
            assert_eq!(r.code, Some(1), "depth {depth}: {r:?}");
            assert_eq!(r.json()["files_scanned"], n, "depth {depth}");
        }
    }
    for batch in [1u64, 4, 7, 40, 1000] {
        let b = batch.to_string();
        for workers in ["1", "3"] {
            let args = ["--strategy", "queue", "--batch", &b, "--workers", workers];
            let r = search_json(&dir, &args);
            assert_eq!(r.code, Some(0), "batch {batch}: {r:?}");
            let j = r.json();
            assert_eq!(j["index"], 33, "batch {batch}");
            let q = &j["queue"];
            let get = |k: &str| q[k].as_u64().unwrap_or_else(|| panic!("queue.{k} in {q}"));
            assert_eq!(get("batch"), batch);
            assert_eq!(get("tasks"), n.div_ceil(batch));
            assert_eq!(get("queued"), get("started") + get("drained"), "{q}");
            assert_eq!(get("started"), get("done") + get("cut_short"), "{q}");
            assert!(get("queued") <= get("tasks"), "{q}");
            assert!(get("peak_running") >= 1, "{q}");

            let r = search_json(&dir, &[&args[..], &["--needle", "nope"]].concat());
            assert_eq!(r.code, Some(1), "batch {batch}: {r:?}");
            let q = &r.json()["queue"];
            let tasks = n.div_ceil(batch);
            assert_eq!(q["queued"], tasks, "{q}");
            assert_eq!(
                q["done"], tasks,
                "not found: every task ran to its end: {q}"
            );
            assert_eq!(q["drained"], 0, "{q}");
        }
    }
    // Other strategies report no queue.
    let r = search_json(&dir, &["--strategy", "threads"]);
    assert!(r.json()["queue"].is_null());
}

/// `--ring` takes a list of known io_uring features, and refuses unknown words and
/// combinations the kernel cannot do, with one line naming the fix.
#[test]
fn bad_ring_features_are_refused() {
    if !StrategyKind::Uring.compiled_in() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    let r = search_json(
        &dir,
        &["--strategy", "uring", "--ring", "fixed-files,turbo"],
    );
    assert_bad_input(&r, "unknown feature \"turbo\"");
    let r = search_json(&dir, &["--strategy", "uring", "--ring", "link"]);
    assert_bad_input(&r, "--ring link needs fixed-files");
    let r = search_json(
        &dir,
        &["--strategy", "uring", "--ring", "statx,fixed-files"],
    );
    assert_bad_input(&r, "--ring statx cannot check a direct descriptor");
    let r = search_json(
        &dir,
        &["--strategy", "uring", "--ring", "fixed-files, link"],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.json()["index"], 1);
}
