//! The output rules (src/output.rs): a result that cannot be written is an error (exit
//! 2, one line), a closed pipe ends quietly with the answer's exit code, and a stderr
//! that cannot be written changes nothing. Every strategy and command that prints.
mod adversary;
use adversary::*;
use hunt::scan::Reader;
use hunt::strategy::{runnable_pairs, StrategyKind};
use std::process::Stdio;

fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// `search --dir DIR` with `s` and `r` on two workers.
fn search_args(dir: &str, s: StrategyKind, r: Reader) -> Vec<&str> {
    let mut args = vec!["search", "--dir", dir];
    args.extend(strategy_flags(s, r, "2"));
    args
}

#[test]
fn a_result_that_cannot_be_written_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 4, 2, 1);
    let d = dir.to_str().unwrap();
    for (s, rd) in runnable_pairs() {
        let args = search_args(d, s, rd);
        for json in [false, true] {
            let mut c = hunt(&args);
            if json {
                c.arg("--json");
            }
            c.stdout(dev_full());
            let r = run(c);
            r.no_panic();
            assert_eq!(r.code, Some(2), "{s}/{rd:?} json {json}: {r:?}");
            assert_eq!(
                r.stderr.trim_end().lines().count(),
                1,
                "{s}/{rd:?}: one line: {r:?}"
            );
            assert!(
                r.stderr.contains("cannot write the result to stdout")
                    && r.stderr.contains("No space left on device"),
                "{s}/{rd:?}: {r:?}"
            );
        }
    }
    // Both full: still exit 2 and no panic (the line about it is lost too).
    let mut c = hunt(&["search", "--dir", d]);
    c.stdout(dev_full()).stderr(dev_full());
    let r = run(c);
    assert_eq!(r.code, Some(2), "{r:?}");
    // The other commands that print a result.
    let set = tmp.path().join("gen");
    let mut c = hunt(&["generate", "--dir", set.to_str().unwrap(), "--files", "3"]);
    c.stdout(dev_full());
    let r = run(c);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("cannot write the result to stdout"),
        "{r:?}"
    );
    let mut c = hunt(&[
        "race",
        "--dir",
        d,
        "--runs",
        "1",
        "--warmup",
        "0",
        "--seed",
        "1",
        "-j",
        "1",
        "--strategies",
        "sequential",
    ]);
    c.stdout(dev_full());
    let r = run(c);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("cannot write the result to stdout"),
        "{r:?}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly_with_the_answers_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 4, 2, 1);
    let d = dir.to_str().unwrap();
    for (needle, code) in [("Treasure", 0), ("Nowhere", 1)] {
        // A pipe whose reader is gone before hunt starts: the write fails with EPIPE.
        let mut fds = [0; 2];
        // SAFETY: a valid out-array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fresh descriptors we own; the read end is closed at once.
        let (read, write) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        drop(read);
        let mut c = hunt(&["search", "--dir", d, "--needle", needle]);
        c.stdout(Stdio::from(write)).stderr(Stdio::piped());
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{needle}: {stderr}");
        assert_eq!(stderr, "", "{needle}: a closed pipe is not an error");
    }
}

#[test]
fn a_stderr_that_cannot_be_written_changes_no_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    generate(&dir, 4, 2, 1);
    let d = dir.to_str().unwrap();
    let mut c = hunt(&["search", "--dir", "/nonexistent/hunt"]);
    c.stderr(dev_full());
    assert_eq!(run(c).code, Some(2));
    for (s, rd) in runnable_pairs() {
        let args = search_args(d, s, rd);
        let mut c = hunt(&args);
        c.stderr(dev_full());
        let r = run(c);
        assert_eq!(r.code, Some(0), "{s}/{rd:?}: {r:?}");
        assert!(r.stdout.starts_with("found "), "{s}/{rd:?}: {r:?}");
    }
}
