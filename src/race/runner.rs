//! One run of one contender: a fresh `hunt search --json` child process, timed from
//! outside, its JSON read back and its answer checked against the manifest.
//!
//! A fresh process per run is how a user meets hunt, and it means no contender inherits
//! another's threads, heap, rayon pool or page-table warmth. The child's stdout and
//! stderr go to anonymous in-memory files (`memfd_create`) rather than pipes, so the
//! parent does nothing while the child runs (no reader thread) and a chatty child can
//! never block on a full pipe.

use crate::dataset::manifest;
use crate::scan::Reader;
use crate::search::SearchReport;
use crate::strategy::StrategyKind;
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What one child is asked to do.
#[derive(Clone, Debug)]
pub struct RunSpec<'a> {
    /// The data set.
    pub dir: &'a Path,
    /// The strategy.
    pub strategy: StrategyKind,
    /// Workers to ask for.
    pub workers: usize,
    /// The reader.
    pub reader: Reader,
    /// Rotation of the search order (puts the treasure at this round's position).
    pub rotate: u64,
    /// A needle other than the manifest's (`--full-scan`).
    pub needle: Option<&'a str>,
    /// The strategy's knob flags, values included ([`crate::strategy::Knobs::args_for`]).
    pub knobs: &'a [OsString],
    /// Write the run's timeline there (`--trace`): the report's untimed traced runs.
    pub trace: Option<&'a Path>,
}

/// The answer a run must give.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Found the treasure in the file with this index (exit 0).
    Treasure(u64),
    /// Found nothing (exit 1) after reading every one of this many files: a full scan
    /// for a needle no file holds.
    FullScan {
        /// Files in the data set.
        files: u64,
    },
}

/// The `hunt search` arguments of one run. Every flag the child gets is added here and
/// only here; a strategy's knobs come in [`RunSpec::knobs`], so a knob a strategy gains
/// later is passed through with no change here.
pub fn search_args(spec: &RunSpec<'_>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["search".into(), "--json".into(), "--dir".into()];
    args.push(spec.dir.as_os_str().to_owned());
    for (flag, value) in [
        ("--strategy", spec.strategy.name().to_string()),
        ("--workers", spec.workers.to_string()),
        ("--reader", spec.reader.name().to_string()),
        ("--rotate", spec.rotate.to_string()),
    ] {
        args.push(flag.into());
        args.push(value.into());
    }
    if let Some(needle) = spec.needle {
        args.push("--needle".into());
        args.push(needle.into());
    }
    args.extend(spec.knobs.iter().cloned());
    if let Some(path) = spec.trace {
        args.push("--trace".into());
        args.push(path.as_os_str().to_owned());
    }
    args
}

/// What one successful run measured.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The child's own report: its `--json` output read back.
    pub report: SearchReport,
    /// Whole-process wall time: from just before the spawn until `wait4` returned.
    pub wall_s: f64,
    /// Peak resident memory in KiB (see [`run`]).
    pub peak_rss_kib: u64,
}

/// Runs `exe search ...` once and checks its answer against `expect`.
///
/// Peak memory is the child's `ru_maxrss` from `wait4`. On Linux that value covers the
/// child *and every child it reaped itself*, so the `fork` strategy's worker processes
/// are included; it is the peak of the largest single process in that tree, not the sum
/// of all of them (forked workers share most pages copy-on-write, so a sum would count
/// them several times). One more thing Linux folds in: at `exec` the kernel keeps the
/// high-water mark of the memory the child had *before* it, a copy of this race process,
/// so the figure is at least the race's own resident size at the moment of the spawn.
/// The race keeps that small (it builds no strategy itself) and docs/TRACING.md says so; a
/// figure near the race's own size means "no more than that".
///
/// The error is a one-line message saying what went wrong.
pub fn run(exe: &Path, spec: &RunSpec<'_>, expect: Expect) -> Result<Measured, String> {
    let stdout = memfd("hunt-race-stdout")?;
    let stderr = memfd("hunt-race-stderr")?;
    let mut cmd = Command::new(exe);
    cmd.args(search_args(spec))
        .stdin(Stdio::null())
        .stdout(Stdio::from(dup(&stdout)?))
        .stderr(Stdio::from(dup(&stderr)?));
    crate::sys::process::die_with_parent(&mut cmd);

    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    // `cmd` holds the parent's copies of the memfds' duplicates; they do not matter to
    // the child, which has its own.
    let (status, rusage) = crate::sys::process::wait_interruptibly(
        child.id() as libc::pid_t,
        crate::interrupt::requested,
    )?;
    let wall_s = start.elapsed().as_secs_f64();
    drop(child); // already reaped by wait4; dropping a Child never waits

    let out = read_all(stdout)?;
    let err = read_all(stderr)?;
    let peak_rss_kib = u64::try_from(rusage.ru_maxrss).unwrap_or(0);

    let stderr_says = stderr_summary(&err);
    let code = crate::sys::process::exit_code(status)
        .map_err(|why| format!("hunt search {why}{stderr_says}"))?;
    if code != 0 && code != 1 {
        return Err(format!("hunt search failed (exit {code}){stderr_says}"));
    }
    let report: SearchReport = serde_json::from_slice(&out).map_err(|e| {
        format!(
            "hunt search printed no valid JSON report ({e}): {:?}",
            String::from_utf8_lossy(&out)
                .chars()
                .take(120)
                .collect::<String>()
        )
    })?;
    check_answer(&report, code, expect, spec)?;
    Ok(Measured {
        report,
        wall_s,
        peak_rss_kib,
    })
}

/// The child's own account of what went wrong: its first few stderr lines, on one
/// (`: line; line`), or nothing.
pub(super) fn stderr_summary(err: &[u8]) -> String {
    let err_text = String::from_utf8_lossy(err);
    let said: Vec<&str> = err_text
        .lines()
        .map(|l| l.trim())
        .map(|l| l.strip_prefix("hunt: ").unwrap_or(l))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    if said.is_empty() {
        String::new()
    } else {
        format!(": {}", said.join("; "))
    }
}

/// Checks the child's answer (exit `code`, `report`) against `expect`.
fn check_answer(
    report: &SearchReport,
    code: i32,
    expect: Expect,
    spec: &RunSpec<'_>,
) -> Result<(), String> {
    let expected = match expect {
        Expect::Treasure(i) => format!(
            "the manifest puts the treasure in {}",
            manifest::file_name(i)
        ),
        Expect::FullScan { .. } => format!(
            "the full-scan needle {:?} is in no file",
            spec.needle.unwrap_or_default()
        ),
    };
    match (expect, report.index) {
        (Expect::Treasure(t), Some(i)) if i == t && code == 0 => Ok(()),
        (Expect::FullScan { files }, None) if code == 1 => {
            if report.files_total != files || report.files_scanned != files {
                return Err(format!(
                    "hunt search answered \"not found\" after reading {} of {} files, but a full scan must read all {files} files of the set",
                    report.files_scanned, report.files_total
                ));
            }
            Ok(())
        }
        (_, Some(i)) => Err(format!(
            "wrong answer: hunt search found {} (exit {code}), but {expected}",
            manifest::file_name(i)
        )),
        (_, None) if code == 1 => Err(format!(
            "hunt search found nothing (exit 1), but {expected}"
        )),
        (_, None) => Err(format!(
            "hunt search exited {code} without naming a file; {expected}"
        )),
    }
}

/// Evicts every data file of the set in `dir` from the page cache, so the next run reads
/// from the disk. `sync` first writes back dirty pages (a freshly generated set has
/// them, and the kernel drops only clean pages). Directory entries and inodes stay
/// cached: there is no per-file way to drop them.
pub fn evict(dir: &Path, files: u64, sync: bool) -> Result<(), String> {
    for i in 0..files {
        let path: PathBuf = dir.join(manifest::file_name(i));
        let f = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if sync {
            f.sync_data()
                .map_err(|e| format!("cannot flush {}: {e}", path.display()))?;
        }
        // SAFETY: a valid descriptor; offset 0 and length 0 mean the whole file.
        let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(format!(
                "cannot evict {} from the page cache: {}",
                path.display(),
                std::io::Error::from_raw_os_error(rc)
            ));
        }
    }
    Ok(())
}

/// True when `dir` is on tmpfs, whose pages are the storage itself and cannot be evicted.
pub fn on_tmpfs(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills the zeroed struct; `c` is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    // The two types differ between architectures, hence the casts.
    #[allow(clippy::unnecessary_cast)]
    let tmpfs = st.f_type as i64 == libc::TMPFS_MAGIC as i64;
    rc == 0 && tmpfs
}

pub(super) fn memfd(name: &str) -> Result<File, String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!(
            "cannot make a buffer for the child's output: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

pub(super) fn dup(f: &File) -> Result<File, String> {
    f.try_clone()
        .map_err(|e| format!("cannot pass the output buffer to the child: {e}"))
}

pub(super) fn read_all(mut f: File) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    f.rewind()
        .and_then(|_| f.read_to_end(&mut v))
        .map_err(|e| format!("cannot read the child's output: {e}"))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_arguments() {
        let spec = RunSpec {
            dir: Path::new("some dir"),
            strategy: StrategyKind::Rayon,
            workers: 4,
            reader: Reader::Mmap,
            rotate: 17,
            needle: None,
            knobs: &[],
            trace: None,
        };
        let args: Vec<String> = search_args(&spec)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "search",
                "--json",
                "--dir",
                "some dir",
                "--strategy",
                "rayon",
                "--workers",
                "4",
                "--reader",
                "mmap",
                "--rotate",
                "17"
            ]
        );
        let full = RunSpec {
            needle: Some("Doubloon"),
            ..spec
        };
        let args: Vec<String> = search_args(&full)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args[args.len() - 2..], ["--needle", "Doubloon"]);
        let knobs: Vec<OsString> = vec!["--batch".into(), "7".into()];
        let tuned = RunSpec {
            knobs: &knobs,
            ..spec
        };
        let args = search_args(&tuned);
        assert_eq!(args[args.len() - 2..], ["--batch", "7"]);
        let traced = RunSpec {
            trace: Some(Path::new("t.json")),
            ..spec
        };
        let args = search_args(&traced);
        assert_eq!(args[args.len() - 2..], ["--trace", "t.json"]);
    }
}
