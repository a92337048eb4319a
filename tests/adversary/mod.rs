//! Helpers for the adversarial suites (hostile folders, signals, output, stress): every
//! run of the real binary has a deadline (a hang is a failure, never a stuck test), and
//! hostile folder entries (pipes with writers, sockets, devices) are made here. The
//! rest comes from `tests/common/mod.rs`, re-exported below.
#![allow(dead_code)] // each test file uses a different subset

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A run that takes longer than this is a hang.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)] // each test file uses a different subset
pub use common::{
    alive, children, compiled_names, descendants, have, kill, mkfifo, processes_mentioning, s,
    search_json_args, snapshot, start, strategy_flags, wait_until, Run, Started,
};

/// [`common::hunt`] (the built binary, `HUNT_EXE` set, test hooks cleared) with stdout
/// and stderr piped, for runs watched under a deadline.
pub fn hunt(args: &[&str]) -> Command {
    let mut c = common::hunt(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Runs `cmd` to the end, within [`DEADLINE`].
pub fn run(cmd: Command) -> Run {
    start(cmd).wait(DEADLINE)
}

/// `hunt search --json --dir DIR` plus `extra`, within the deadline.
pub fn search(dir: &Path, extra: &[&str]) -> Run {
    run(hunt(&common::search_json_args(dir, extra)))
}

/// Generates a data set with the real binary (see [`common::generate`]).
pub fn generate(dir: &Path, files: u64, lines: u64, treasure_at: u64) {
    common::generate(dir, files, lines, Some(treasure_at));
}

/// True when `pid` or one of its descendants has `path` open (an fd, or an io_uring
/// direct descriptor) or mapped.
pub fn tree_uses(pid: i32, path: &Path) -> bool {
    let mut pids = vec![pid];
    pids.extend(descendants(pid));
    let want = path.as_os_str().as_bytes();
    pids.iter().any(|p| {
        let fds = std::fs::read_dir(format!("/proc/{p}/fd"))
            .map(|d| {
                d.flatten().any(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| l.as_os_str().as_bytes() == want)
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        let maps = std::fs::read(format!("/proc/{p}/maps"))
            .map(|m| m.windows(want.len()).any(|w| w == want))
            .unwrap_or(false);
        // A file open as an io_uring direct descriptor has no entry in /proc/PID/fd;
        // the ring's fdinfo lists it under "UserFiles" as "  N: PATH".
        let line = [b": ", want, b"\n"].concat();
        let ring_files = std::fs::read_dir(format!("/proc/{p}/fdinfo"))
            .map(|d| {
                d.flatten().any(|e| {
                    std::fs::read(e.path())
                        .map(|m| {
                            m.windows(10).any(|w| w == b"UserFiles:")
                                && m.windows(line.len()).any(|w| w == line.as_slice())
                        })
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        fds || maps || ring_files
    })
}

/// Opens a named pipe read-write (never blocks on Linux) and writes `data` into it: a
/// writer that keeps the pipe open, with bytes waiting, for as long as the file lives.
pub fn fifo_with_writer(path: &Path, data: &[u8]) -> std::fs::File {
    use std::io::Write;
    mkfifo(path);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open fifo O_RDWR");
    f.write_all(data).expect("write into fifo");
    f
}

/// Binds a unix socket at `path` (kept alive by the returned listener).
pub fn socket(path: &Path) -> std::os::unix::net::UnixListener {
    std::os::unix::net::UnixListener::bind(path).expect("bind socket")
}

/// Makes a character device like /dev/null; `false` when not permitted (not root).
pub fn char_device(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid path; makedev(1, 3) is /dev/null's number.
    unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) == 0 }
}
