//! Helpers shared by the integration tests: run the real `hunt` binary and make small
//! data sets in temporary folders.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `hunt` binary cargo built for these tests.
pub fn hunt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hunt"))
}

/// A `Command` for `hunt` with `args`, stdin closed.
pub fn hunt(args: &[&str]) -> Command {
    let mut c = Command::new(hunt_bin());
    c.args(args).stdin(std::process::Stdio::null());
    c
}

/// What one run of the binary printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as the `--json` report.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?} / stderr {:?}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `hunt` with `args` in `cwd` and waits.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    hunt(args)
        .current_dir(cwd)
        .output()
        .expect("hunt runs")
        .into()
}

/// Runs `hunt` with `args` and waits.
pub fn run(args: &[&str]) -> Run {
    hunt(args).output().expect("hunt runs").into()
}

/// Generates a data set with the real binary; panics unless it succeeds.
pub fn generate(dir: &Path, files: u64, lines: u64, treasure_at: Option<u64>) {
    let files_s = files.to_string();
    let lines_s = lines.to_string();
    let mut args = vec![
        "generate",
        "--dir",
        dir.to_str().expect("utf-8 temp path"),
        "--files",
        &files_s,
        "--lines",
        &lines_s,
        "--seed",
        "7",
    ];
    let at;
    if let Some(t) = treasure_at {
        at = t.to_string();
        args.extend(["--treasure-at", &at]);
    }
    let r = run(&args);
    assert_eq!(r.code, Some(0), "generate failed: {r:?}");
}

/// Searches `dir` with `--json` plus `extra` flags.
pub fn search_json(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "search",
        "--json",
        "--dir",
        dir.to_str().expect("utf-8 temp path"),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Asserts a bad-input run: exit 2, one line on stderr containing `expect`, no panic.
pub fn assert_bad_input(r: &Run, expect: &str) {
    assert_eq!(r.code, Some(2), "exit code: {r:?}");
    assert!(
        r.stderr.contains(expect),
        "stderr lacks {expect:?}: {:?}",
        r.stderr
    );
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "not one line: {:?}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "panic: {:?}", r.stderr);
    assert!(
        !r.stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {:?}",
        r.stderr
    );
}
