//! The four strategies beyond the blog's first ones (async, uring, queue, spawn): the
//! same answers as every other strategy, their own flags, and spawn's promise to leave no
//! process behind.
mod common;
use common::*;
use hunt::strategy::StrategyKind;
use std::path::Path;
use std::time::Duration;

const NEW: [StrategyKind; 4] = [
    StrategyKind::Async,
    StrategyKind::Uring,
    StrategyKind::Queue,
    StrategyKind::Spawn,
];

/// The rotation that puts file `treasure` at search position `pos` of `n`.
fn rotate_for(treasure: u64, pos: u64, n: u64) -> u64 {
    (treasure + n - pos) % n
}

#[test]
fn new_strategies_find_the_treasure_first_middle_last_and_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    let (n, treasure) = (23u64, 9u64);
    generate(&dir, n, 12, Some(treasure));
    for s in NEW.into_iter().filter(|s| s.compiled_in()) {
        for &reader in s.readers() {
            for workers in ["1", "2", "3", "7"] {
                for (place, pos) in [("first", 0), ("middle", n / 2), ("last", n - 1)] {
                    let rotate = rotate_for(treasure, pos, n).to_string();
                    let args = [
                        "--strategy",
                        s.name(),
                        "--reader",
                        reader.name(),
                        "--workers",
                        workers,
                        "--rotate",
                        &rotate,
                    ];
                    let r = search_json(&dir, &args);
                    let what = format!("{s} {} x{workers}, treasure {place}", reader.name());
                    assert_eq!(r.code, Some(0), "{what}: {r:?}");
                    let j = r.json();
                    assert_eq!(j["index"], treasure, "{what}");
                    assert!(
                        j["found"]
                            .as_str()
                            .unwrap()
                            .ends_with(&format!("file_{treasure}.txt")),
                        "{what}"
                    );
                    assert_eq!(j["strategy"], s.name(), "{what}");
                    assert_eq!(j["errors"], 0, "{what}");
                    assert!(j["files_scanned"].as_u64().unwrap() >= 1, "{what}");
                }
                let r = search_json(
                    &dir,
                    &[
                        "--strategy",
                        s.name(),
                        "--reader",
                        reader.name(),
                        "--workers",
                        workers,
                        "--needle",
                        "nope",
                    ],
                );
                let what = format!("{s} {} x{workers}, absent", reader.name());
                assert_eq!(r.code, Some(1), "{what}: {r:?}");
                let j = r.json();
                assert!(j["found"].is_null(), "{what}");
                assert_eq!(j["files_scanned"], n, "{what}: every file read once");
                assert_eq!(j["errors"], 0, "{what}");
            }
        }
    }
}

#[test]
fn strategies_left_out_of_the_build_say_how_to_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for (s, feature) in [
        (StrategyKind::Async, "tokio"),
        (StrategyKind::Uring, "uring"),
    ] {
        let r = search_json(&dir, &["--strategy", s.name()]);
        if s.compiled_in() {
            assert_eq!(r.code, Some(0), "{s}: {r:?}");
        } else {
            assert_bad_input(
                &r,
                &format!("hunt was built without the `{feature}` feature: rebuild with `cargo build --features {feature}`"),
            );
        }
    }
}

#[test]
fn async_and_uring_refuse_the_mmap_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 5, 5, Some(1));
    for s in ["async", "uring"] {
        let r = search_json(&dir, &["--strategy", s, "--reader", "mmap"]);
        assert_bad_input(
            &r,
            &format!("--reader mmap does not apply to --strategy {s}"),
        );
    }
}

/// Writes `len` bytes of filler into `path`, with the needle at `at` if given.
fn write_big(path: &Path, len: usize, at: Option<usize>) {
    let mut data: Vec<u8> = b"Not a treasure\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect();
    if let Some(at) = at {
        data[at..at + 8].copy_from_slice(b"Treasure");
    }
    std::fs::write(path, data).unwrap();
}

#[test]
fn every_strategy_finds_the_needle_deep_in_files_bigger_than_the_buffer() {
    const CHUNK: usize = 256 * 1024;
    // After the first chunk; across the first chunk boundary; across the second one
    // (which sits 7 bytes earlier, the carried-over overlap).
    for (case, at) in [
        ("after", 300_000),
        ("straddling", CHUNK - 3),
        ("second", 2 * CHUNK - 7 - 4),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("big");
        std::fs::create_dir(&dir).unwrap();
        write_big(&dir.join("a.txt"), 3 * CHUNK, None);
        write_big(&dir.join("b.txt"), 3 * CHUNK + 11, Some(at));
        write_big(&dir.join("c.txt"), CHUNK, None);
        for &s in StrategyKind::ALL.iter().filter(|s| s.compiled_in()) {
            for &reader in s.readers() {
                let r = search_json(
                    &dir,
                    &[
                        "--strategy",
                        s.name(),
                        "--reader",
                        reader.name(),
                        "--workers",
                        "2",
                    ],
                );
                let what = format!("{s} {} {case}", reader.name());
                assert_eq!(r.code, Some(0), "{what}: {r:?}");
                assert!(
                    r.json()["found"].as_str().unwrap().ends_with("b.txt"),
                    "{what}"
                );
            }
        }
        // And not found: every byte of every file read, none twice.
        for s in NEW.into_iter().filter(|s| s.compiled_in()) {
            let r = search_json(
                &dir,
                &["--strategy", s.name(), "--needle", "nope", "--workers", "2"],
            );
            assert_eq!(r.code, Some(1), "{s} {case}: {r:?}");
            assert_eq!(
                r.json()["bytes_scanned"],
                (7 * CHUNK + 11) as u64,
                "{s} {case}"
            );
        }
    }
}

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

#[test]
fn a_killed_spawn_worker_is_an_error_naming_its_range_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("killed-worker-set");
    generate(&dir, 30, 5, Some(2));
    let d = dir.to_str().unwrap();
    let out = hunt(&[
        "search",
        "--dir",
        d,
        "--strategy",
        "spawn",
        "--workers",
        "3",
        "--needle",
        "nope",
    ])
    .env(hunt::hooks::FAIL_WORKER_ENV, "spawn:1")
    .output()
    .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr
            .contains("spawn worker 1 (search positions 10..20) was killed by signal 9 (SIGKILL)"),
        "{r:?}"
    );
    assert!(r.stderr.contains("may be there"), "{r:?}");
    let left = processes_mentioning(d);
    assert!(left.is_empty(), "processes left behind: {left:?}");

    // The treasure in a surviving worker's range is still found, with a warning.
    let out = hunt(&[
        "search",
        "--dir",
        d,
        "--strategy",
        "spawn",
        "--workers",
        "3",
    ])
    .env(hunt::hooks::FAIL_WORKER_ENV, "spawn:1")
    .output()
    .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("file_2.txt"), "{r:?}");
    assert!(
        r.stderr
            .contains("spawn worker 1 (search positions 10..20)"),
        "{r:?}"
    );
}

#[test]
fn spawn_workers_die_with_a_parent_killed_mid_hunt() {
    // SIGKILL: no destructor, no handler runs. SIGINT to the parent alone (not its
    // process group, as Ctrl-C would): the workers are not told directly.
    for (signal, name) in [(libc::SIGKILL, "kill"), (libc::SIGINT, "int")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(format!("orphan-test-set-{name}"));
        generate(&dir, 300, 2, Some(0));
        let d = dir.to_str().unwrap();
        // 100 files per worker at 50 ms each: the hunt would take five seconds, and the
        // workers are given two to go.
        let mut parent = hunt(&[
            "search",
            "--dir",
            d,
            "--strategy",
            "spawn",
            "--workers",
            "3",
            "--needle",
            "nope",
        ])
        .env(hunt::hooks::SLOW_FILE_ENV, "50")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        let started = wait_until(Duration::from_secs(10), || {
            processes_mentioning(d)
                .iter()
                .filter(|p| p.contains(" worker "))
                .count()
                == 3
        });
        assert!(
            started,
            "{name}: workers never showed up: {:?}",
            processes_mentioning(d)
        );
        // SAFETY: signalling our own child, not yet reaped.
        assert_eq!(unsafe { libc::kill(parent.id() as libc::pid_t, signal) }, 0);
        let status = parent.wait().unwrap();
        assert!(
            status.code().is_none() || status.code() == Some(130),
            "{name}: {status:?}"
        );
        let gone = wait_until(Duration::from_secs(2), || {
            processes_mentioning(d).is_empty()
        });
        assert!(
            gone,
            "{name}: workers outlived their parent: {:?}",
            processes_mentioning(d)
        );
    }
}

#[cfg(unix)]
fn fake_exe(dir: &Path, name: &str, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn spawn_workers_that_break_the_protocol_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 6, 5, Some(2));
    let d = dir.to_str().unwrap();
    for (name, script, expect) in [
        ("garbled", "echo hello", "sent garbled output \"hello\""),
        ("silent", "exit 0", "ended without reporting its counts"),
        (
            "failing",
            "echo 'done 3 3 0 0'; exit 3",
            "exited with code 3",
        ),
        (
            "fatal",
            "echo 'fatal no data here'; exit 2",
            "could not run: no data here",
        ),
    ] {
        let exe = fake_exe(tmp.path(), name, script);
        let out = hunt(&[
            "search",
            "--dir",
            d,
            "--strategy",
            "spawn",
            "--workers",
            "2",
        ])
        .env("HUNT_EXE", &exe)
        .output()
        .unwrap();
        let r = Run::from(out);
        assert_eq!(r.code, Some(2), "{name}: {r:?}");
        assert!(
            r.stderr.contains("spawn worker 0 (search positions 0..3)"),
            "{name}: {r:?}"
        );
        assert!(r.stderr.contains(expect), "{name}: {r:?}");
    }
    let r = Run::from(
        hunt(&["search", "--dir", d, "--strategy", "spawn"])
            .env("HUNT_EXE", tmp.path().join("no-such-hunt"))
            .output()
            .unwrap(),
    );
    assert_bad_input(&r, "HUNT_EXE=");
}

#[test]
fn spawn_from_a_test_binary_finds_the_hunt_built_beside_it() {
    if std::env::var_os("HUNT_EXE").is_some() {
        eprintln!("skipped: HUNT_EXE is set in this test's environment");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 3, 3, Some(1));
    let loaded = hunt::fileset::load(&dir, false).unwrap();
    // This test binary lives in target/<profile>/deps; cargo put `hunt` one folder up.
    let out = hunt::search::hunt_once(
        &loaded.files,
        b"Treasure",
        StrategyKind::Spawn,
        std::num::NonZeroUsize::new(2).unwrap(),
        hunt::scan::Reader::Read,
        0,
    )
    .expect("spawn finds target/<profile>/hunt from a test binary");
    assert_eq!(out.found().map(|f| f.index), Some(1));
}

#[test]
fn every_strategy_reports_a_missing_file_and_a_pipe_in_a_files_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 12, 5, Some(9));
    std::fs::remove_file(dir.join("file_3.txt")).unwrap();
    std::fs::remove_file(dir.join("file_4.txt")).unwrap();
    let fifo = std::ffi::CString::new(dir.join("file_4.txt").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    for &s in StrategyKind::ALL.iter().filter(|s| s.compiled_in()) {
        for &reader in s.readers() {
            let what = format!("{s} {}", reader.name());
            let base = [
                "--strategy",
                s.name(),
                "--reader",
                reader.name(),
                "--workers",
                "3",
            ];
            let mut args = base.to_vec();
            args.extend(["--needle", "nope"]);
            let r = search_json(&dir, &args);
            assert_eq!(r.code, Some(2), "{what}: the answer is unknown: {r:?}");
            let j = r.json();
            assert_eq!(j["errors"], 2, "{what}: {r:?}");
            let msgs = j["error_messages"].to_string();
            assert!(msgs.contains("file_3.txt: No such file"), "{what}: {msgs}");
            assert!(
                msgs.contains("file_4.txt: not a regular file"),
                "{what}: {msgs}"
            );
            assert_eq!(j["files_scanned"], 10, "{what}");

            let r = search_json(&dir, &base);
            assert_eq!(
                r.code,
                Some(0),
                "{what}: found despite the bad files: {r:?}"
            );
            assert_eq!(r.json()["index"], 9, "{what}");
        }
    }
}
