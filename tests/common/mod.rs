//! Helpers shared by the integration tests: run the real `hunt` binary and make small
//! data sets in temporary folders.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `hunt` binary cargo built for these tests.
pub fn hunt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hunt"))
}

/// A `Command` for `hunt` with `args`, stdin closed, and `HUNT_EXE` naming this build so
/// `--strategy spawn` starts its workers from it.
pub fn hunt(args: &[&str]) -> Command {
    let mut c = Command::new(hunt_bin());
    c.args(args)
        .stdin(std::process::Stdio::null())
        .env("HUNT_EXE", hunt_bin())
        // Test hooks from the environment the tests run in never leak into a run; a
        // test that wants one sets it on the returned command.
        .env_remove(hunt::hooks::SLOW_FILE_ENV)
        .env_remove(hunt::hooks::FAIL_WORKER_ENV);
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

/// A temp path as `&str`, for argument lists.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Runs `hunt generate --dir dir` with `extra` flags.
pub fn generate_with(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["generate", "--dir", s(dir)];
    args.extend_from_slice(extra);
    run(&args)
}

/// The data set's `manifest.json`, parsed without the library (so a bug there cannot
/// hide behind it).
pub fn read_manifest(dir: &Path) -> serde_json::Value {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The manifest's treasure: its index and the treasure file's path inside `dir`.
pub fn manifest_treasure(dir: &Path) -> (u64, PathBuf) {
    let m = read_manifest(dir);
    let index = m["treasure_index"].as_u64().expect("treasure_index");
    let file = m["treasure_file"].as_str().expect("treasure_file");
    (index, dir.join(file))
}

/// Asserts the run did not panic or print a backtrace.
pub fn assert_no_panic(r: &Run) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!r.stderr.contains(bad), "{bad}: {r:?}");
    }
}

/// Every regular file below `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("dir entry");
            let t = e.file_type().expect("file type");
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let rel = e.path().strip_prefix(dir).expect("below dir").to_path_buf();
                out.push((rel, std::fs::read(e.path()).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// Runs `cmd` and waits at most `secs` seconds: a hang (a read blocked on a named
/// pipe, say) fails the test instead of stalling the suite.
pub fn output_within(mut cmd: Command, secs: u64) -> Run {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hunt starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hunt did not finish within {secs} s: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Small outputs fit in the pipe buffer, so reading after the exit cannot block.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut err)
        .expect("stderr");
    let status = child.wait().expect("wait");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        r,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}
