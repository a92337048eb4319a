//! The spawn strategy's child processes (workers that re-run the `hunt` binary and talk
//! to the parent over pipes): they die with a parent killed mid-hunt, a worker that
//! breaks the pipe protocol is an error naming it, and a library caller inside a test
//! binary finds the `hunt` built beside it. (A spawn worker that dies is in
//! `tests/worker_failures.rs`.)
mod common;
use common::*;
use hunt::strategy::StrategyKind;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `hunt search --dir DIR --strategy spawn` plus `extra`, not started yet.
fn spawn_search(dir: &str, extra: &[&str]) -> Command {
    let mut args = vec!["search", "--dir", dir, "--strategy", "spawn"];
    args.extend_from_slice(extra);
    hunt(&args)
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
        let mut parent = spawn_search(d, &["--workers", "3", "--needle", "nope"])
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

/// Writes an executable shell script `name` into `dir`: a stand-in for `hunt`.
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
        let r = Run::from(
            spawn_search(d, &["--workers", "2"])
                .env("HUNT_EXE", &exe)
                .output()
                .unwrap(),
        );
        assert_eq!(r.code, Some(2), "{name}: {r:?}");
        assert!(
            r.stderr.contains("spawn worker 0 (search positions 0..3)"),
            "{name}: {r:?}"
        );
        assert!(r.stderr.contains(expect), "{name}: {r:?}");
    }
    let r = Run::from(
        spawn_search(d, &[])
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
