//! The listing of a folder without a manifest: every regular file below it, found by
//! a few threads reading folders through their descriptors.
//!
//! Each thread takes a folder from a shared stack, opens it relative to the root's
//! descriptor, reads its entries with `getdents64` into a buffer it keeps, and sorts
//! them by the type the entry itself carries (`d_type`): a regular file's path is kept,
//! a folder goes on the stack, a symlink, pipe, socket or device is skipped (not
//! followed, not read: ripgrep's `-uuu` without `-L`). Only a filesystem that leaves the
//! type out (`DT_UNKNOWN`) costs an `fstatat` for that entry. Nothing else is read: no
//! ignore file, no hidden-name rule, no binary check, and no `stat` per file.
//!
//! Why our own walk rather than the `ignore` crate's parallel walker (ripgrep's), which
//! hunt used before: on the cargo registry's sources (11,812 files) the walk and sort
//! took 72 ms with that walker and 28-32 ms with this one, and whole hunts went from
//! level with ripgrep to 0.72x its time (docs/RESULTS.md, "A real folder"). The paths we keep
//! are relative to the root, so the hunt opens each file with one `openat` from the
//! root's descriptor and the kernel never walks the root's own path again. A folder
//! deeper than `PATH_MAX` below the root is opened in pieces ([`super::deep`]).
//!
//! A walker thread that panicked would leave its folder counted as busy and the others
//! waiting; nothing in `list` panics on what the kernel returns (each record's length
//! comes from the kernel), so this is not guarded.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Condvar, Mutex};

/// What [`walk`] found.
#[derive(Debug, Default)]
pub(super) struct Walked {
    /// Every regular file's path relative to the root, in no particular order.
    pub files: Vec<Vec<u8>>,
    /// One line per folder that could not be read.
    pub errors: Vec<String>,
}

/// The folders still to read, and how many threads are reading one (when both are
/// zero, the walk is over).
struct Pending {
    dirs: Vec<Vec<u8>>,
    busy: usize,
}

/// Lists every regular file below the folder open as `root` (shown as `shown` in
/// messages), on `threads` threads.
pub(super) fn walk(root: &OwnedFd, shown: &Path, threads: usize) -> Walked {
    let pending = Mutex::new(Pending {
        dirs: vec![Vec::new()],
        busy: 0,
    });
    let wake = Condvar::new();
    let results: Vec<Walked> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| s.spawn(|| walker(root.as_raw_fd(), shown, &pending, &wake)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all = Walked::default();
    for mut w in results {
        all.files.append(&mut w.files);
        all.errors.append(&mut w.errors);
    }
    all
}

/// One walking thread: takes folders until none is left and no thread is reading one.
fn walker(root: RawFd, shown: &Path, pending: &Mutex<Pending>, wake: &Condvar) -> Walked {
    let mut out = Walked::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut found_dirs = Vec::new();
    loop {
        let dir = {
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(d) = p.dirs.pop() {
                    p.busy += 1;
                    break d;
                }
                if p.busy == 0 {
                    wake.notify_all();
                    return out;
                }
                p = wake.wait(p).unwrap_or_else(|e| e.into_inner());
            }
        };
        if let Err(e) = list(root, &dir, &mut buf, &mut out.files, &mut found_dirs) {
            let at = if dir.is_empty() {
                shown.to_path_buf()
            } else {
                shown.join(std::ffi::OsStr::from_bytes(&dir))
            };
            out.errors
                .push(format!("cannot list {}: {e}", at.display()));
        }
        let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
        p.busy -= 1;
        let more = !found_dirs.is_empty();
        p.dirs.append(&mut found_dirs);
        if more || p.busy == 0 {
            wake.notify_all();
        }
    }
}

/// Reads the folder `dir` (relative to `root`; empty for the root itself): regular
/// files' paths go to `files`, folders' to `dirs`.
fn list(
    root: RawFd,
    dir: &[u8],
    buf: &mut [u8],
    files: &mut Vec<Vec<u8>>,
    dirs: &mut Vec<Vec<u8>>,
) -> std::io::Result<()> {
    let fd = open_dir(root, dir)?;
    loop {
        // SAFETY: `buf` is writable for its length; the kernel writes whole records.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(());
        }
        let mut at = 0usize;
        while at < n as usize {
            // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type;
            // char d_name[]; }: the name starts at byte 19, NUL-terminated.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let kind = buf[at + 18];
            let name = CStr::from_bytes_until_nul(&buf[at + 19..at + reclen])
                .map(CStr::to_bytes)
                .unwrap_or_default();
            at += reclen;
            if name.is_empty() || name == b"." || name == b".." {
                continue;
            }
            let kind = match kind {
                libc::DT_UNKNOWN => type_of(fd.as_raw_fd(), name),
                k => k,
            };
            let target = match kind {
                libc::DT_REG => &mut *files,
                libc::DT_DIR => &mut *dirs,
                _ => continue, // symlinks, pipes, sockets, devices: skipped
            };
            let mut path = Vec::with_capacity(dir.len() + 1 + name.len() + 1);
            if !dir.is_empty() {
                path.extend_from_slice(dir);
                path.push(b'/');
            }
            path.extend_from_slice(name);
            target.push(path);
        }
    }
}

/// Opens the folder `dir` below `root` (the root itself when empty), not following a
/// symlink in its last part; a path longer than `PATH_MAX` is opened in pieces.
fn open_dir(root: RawFd, dir: &[u8]) -> std::io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let path: &[u8] = if dir.is_empty() { b"." } else { dir };
    super::deep::open_below(root, path, flags).map_err(std::io::Error::from_raw_os_error)
}

/// The `d_type` of `name` in the folder `dir`, from `fstatat` (for filesystems whose
/// entries do not carry it); `DT_UNKNOWN` (skipped) when it cannot be told.
fn type_of(dir: RawFd, name: &[u8]) -> u8 {
    let mut c = name.to_vec();
    c.push(0);
    // SAFETY: an all-zero `stat` is valid to be overwritten; `c` is NUL-terminated.
    let st = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstatat(dir, c.as_ptr().cast(), &mut st, libc::AT_SYMLINK_NOFOLLOW) != 0 {
            return libc::DT_UNKNOWN;
        }
        st
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFDIR => libc::DT_DIR,
        _ => libc::DT_UNKNOWN,
    }
}

/// Orders two relative paths as [`Path`] orders them, part by part: `a/b` before
/// `a.b`, since the part `a` sorts before `a.b`. A `/` sorts below every other byte.
pub(super) fn path_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { *c };
    a.iter().map(key).cmp(b.iter().map(key))
}

#[cfg(test)]
mod tests;
