//! Child processes, once for every part of hunt that starts them (`fork` and `spawn`
//! workers, the race's `hunt search` runs, a broker's local workers and its private
//! server): starting them so they die with their parent, a guard that kills and reaps
//! whatever is left on every way out, and reading a wait status.
//!
//! # Children never outlive the parent
//! A child asks the kernel for `SIGKILL` when its parent dies (`PR_SET_PDEATHSIG`), then
//! compares `getppid` with the parent's pid taken before it was started, which closes
//! the race of a parent that died before the request. Both calls are
//! async-signal-safe, so they may run between `fork` and `exec` ([`die_with_parent`])
//! or in a forked child that never execs ([`forked_child_dies_with`]). The death signal
//! follows the *thread* that started the child, so children are started from the
//! thread that waits for them, and reaped before it returns.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};

/// Environment variable naming the `hunt` binary to start workers from.
pub const EXE_ENV: &str = "HUNT_EXE";

/// `HUNT_EXE` if set, else this program when it is `hunt`, else the `hunt` that cargo
/// builds beside a test or bench binary (those live in `target/<profile>/deps/`, the
/// `hunt` binary one folder up), so library callers under `cargo test` and `cargo bench`
/// need no set-up. Every strategy that starts `hunt worker` processes finds it here.
pub fn hunt_exe() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os(EXE_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            anyhow::bail!(
                "{EXE_ENV}={} is not a file: point it at the hunt binary, or unset it",
                p.display()
            );
        }
        return Ok(p);
    }
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this program's path: {e}"))?;
    if exe.file_stem().is_some_and(|n| n == "hunt") {
        return Ok(exe);
    }
    if let Some(deps) = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
    {
        let beside = deps.with_file_name("hunt");
        if beside.is_file() {
            return Ok(beside);
        }
    }
    anyhow::bail!(
        "this strategy re-runs the hunt binary, but this program is {}: set {EXE_ENV} to the path of `hunt`",
        exe.display()
    )
}

/// Makes the child of `cmd` die with this process (see the module doc).
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
    // calls (prctl, getppid, raise).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        })
    }
}

/// In a child made by `fork` that does not exec: ask for `SIGKILL` when the parent
/// `parent` dies, and die now if it already has. Async-signal-safe.
pub fn forked_child_dies_with(parent: libc::pid_t) {
    // SAFETY: prctl, getppid and _exit are async-signal-safe.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
}

/// Children started and not yet reaped. Dropping the guard kills and reaps every one
/// of them, so no way out (success, an error, a panic) leaves a process behind.
#[derive(Default)]
pub struct Children(pub Vec<Child>);

impl Children {
    /// Sends `SIGKILL` to every child not yet reaped (std remembers a reaped child and
    /// never signals its reusable pid again).
    pub fn kill_all(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a wait status says went wrong: `None` for a clean exit (code 0).
pub fn failure(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => None,
            code => Some(format!("exited with code {code}")),
        }
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        Some(format!("was killed by signal {sig} ({})", signal_name(sig)))
    } else {
        Some(format!("ended with wait status {status}"))
    }
}

/// The exit code of a wait status, or what ended the process otherwise.
pub fn exit_code(status: libc::c_int) -> Result<i32, String> {
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(failure(status).unwrap_or_default())
    }
}

fn signal_name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS: a file shrank while the mmap reader had it mapped",
        libc::SIGABRT => "SIGABRT",
        _ => "signal",
    }
}

/// Waits for `pid`; returns its wait status. `EINTR` (Ctrl-C) comes back as an error so
/// the caller can look at the interrupt flag before waiting again.
pub fn reap(pid: libc::pid_t) -> std::io::Result<libc::c_int> {
    let mut status = 0;
    // SAFETY: waiting on our own child with a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r == pid {
        Ok(status)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How long, at most, [`wait_interruptibly`] goes without looking at the Ctrl-C flag.
const POLL_MS: libc::c_int = 100;

/// Waits for the child `pid` and returns its wait status and resource usage.
///
/// Ctrl-C (`interrupted()` turning true: the caller passes its flag, so this module
/// depends on nothing in the crate) ends the wait: the child is killed with `SIGKILL` and
/// reaped (its own children die with it, by their death signal), and the error says
/// "interrupted"; the caller looks at the flag. To see a Ctrl-C that came just before
/// the wait began, the wait is a `poll` on a pidfd with a timeout of [`POLL_MS`]: it
/// wakes the moment the child ends (the timing is not stretched), on the signal
/// (`EINTR`), or at the timeout to look at the flag. Where `pidfd_open` is missing
/// (Linux before 5.3), a blocking `wait4` still returns `EINTR` on a Ctrl-C that comes
/// while it waits.
pub fn wait_interruptibly(
    pid: libc::pid_t,
    interrupted: impl Fn() -> bool,
) -> Result<(libc::c_int, libc::rusage), String> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = (raw >= 0).then(|| {
        // SAFETY: a fresh descriptor we own.
        unsafe { OwnedFd::from_raw_fd(raw as RawFd) }
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        if interrupted() {
            // SAFETY: `pid` is our child and not yet reaped, so the pid is still its.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: valid pointers to our locals.
            while unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
            }
            return Err("interrupted".to_string());
        }
        if let Some(fd) = &pidfd {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut p, 1, POLL_MS) };
            if rc == 0
                || (rc < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted)
            {
                continue;
            }
            // The child ended (or poll failed for another reason): wait4 tells.
        }
        // SAFETY: valid pointers to our locals; `pid` is our child, not yet reaped.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("cannot wait for the child process: {e}"));
        }
    }
}

/// The last line a child server wrote to its log file, for the one line that says why
/// it did not start.
pub fn last_line(log: &std::path::Path) -> String {
    std::fs::read_to_string(log)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(String::from)
        })
        .unwrap_or_else(|| "it wrote nothing".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_words() {
        let ok = std::process::Command::new("true").status().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(failure(ok.into_raw()), None);
        let three = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .status()
            .unwrap();
        assert_eq!(
            failure(three.into_raw()).as_deref(),
            Some("exited with code 3")
        );
        assert_eq!(exit_code(three.into_raw()), Ok(3));
        let killed = std::process::Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .status()
            .unwrap();
        assert_eq!(
            failure(killed.into_raw()).as_deref(),
            Some("was killed by signal 9 (SIGKILL)")
        );
        assert!(exit_code(killed.into_raw()).is_err());
    }
}
