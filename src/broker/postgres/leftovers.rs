//! The folders of private servers whose hunt was killed: a `hunt search` killed with
//! SIGKILL runs no destructor, so its `/tmp/hunt-postgres-*` folder (about 40 MB) stays.
//! Each private server's folder holds a file [`OWNER`] with the pid of the hunt that
//! made it; the next private start removes the folders whose hunt and postmaster are
//! both gone. Only folders with that file, of the account the servers run as, are ever
//! removed: hunt never deletes what it did not write.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The file in a private server's folder that names the hunt that made it.
pub(super) const OWNER: &str = "hunt.pid";

/// Writes this process's pid into `folder`'s [`OWNER`] file.
pub(super) fn claim(folder: &Path) -> std::io::Result<()> {
    std::fs::write(folder.join(OWNER), format!("{}\n", std::process::id()))
}

/// Removes the `/tmp/hunt-postgres-*` folders owned by `uid` whose hunt (named in their
/// [`OWNER`] file) and postmaster (its `data/postmaster.pid`) no longer run. Failures
/// are skipped: this is tidying, not the hunt's work.
pub(super) fn remove_stale(uid: u32) {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !name.starts_with("hunt-postgres-") {
            continue;
        }
        let path = e.path();
        let Ok(m) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !m.is_dir() || m.uid() != uid {
            continue;
        }
        let Some(hunt) = pid_in(&path.join(OWNER)) else {
            continue; // not a folder hunt wrote, or one being made
        };
        let postmaster = pid_in(&path.join("data").join("postmaster.pid"));
        if !alive(hunt) && !postmaster.is_some_and(alive) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The pid on the first line of `file`.
fn pid_in(file: &Path) -> Option<libc::pid_t> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether process `pid` exists (a zombie counts as gone).
fn alive(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z") | Some("X"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_hunts_folder_goes() {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let make = |pid: Option<u32>| {
            let d = tempfile::Builder::new()
                .prefix("hunt-postgres-")
                .tempdir_in("/tmp")
                .unwrap();
            if let Some(pid) = pid {
                std::fs::write(d.path().join(OWNER), format!("{pid}\n")).unwrap();
            }
            d
        };
        // A child that has exited and been reaped: its pid names no process.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let (gone, live, foreign) = (make(Some(dead)), make(Some(std::process::id())), make(None));
        remove_stale(uid);
        assert!(!gone.path().exists(), "a dead hunt's folder stays");
        assert!(live.path().exists(), "a live hunt's folder went");
        assert!(foreign.path().exists(), "a folder hunt did not write went");
    }
}
