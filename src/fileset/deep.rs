//! Opening a path below a folder's descriptor when the path is longer than the kernel
//! takes in one call (`PATH_MAX`, 4,096 bytes with its NUL): `grep -r` finds files that
//! deep, so hunt must too. The path is opened in pieces, each under `PATH_MAX` and cut
//! at a `/`, each piece relative to the folder the one before opened. A path that fits
//! (nearly all) never comes here: it costs its one `openat` as before.
//!
//! Why pieces rather than a descriptor held open for every deep folder: a tree can hold
//! thousands of folders, and the usual limit is 1,024 open descriptors per process. A
//! file this deep costs one `openat` and one `close` more per 4 kB of path instead.
//!
//! No allocation (the pieces are copied into a buffer on the stack), so a forked child
//! may open a file this way, as it may with [`super::FileSet::open`].

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The longest path (bytes, without its NUL) one `openat` takes.
pub(crate) const MAX: usize = libc::PATH_MAX as usize - 1;

/// Opens the folders on the way down: not followed if one is a symlink (the walk listed
/// each as a folder), and only a handle (`O_PATH`), since nothing is read from them.
const STEP_FLAGS: libc::c_int =
    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Opens `path` (relative, without its NUL, of any length) below the folder `root`
/// with `flags`; the error is the `errno`. Allocates nothing.
pub(crate) fn open_below(root: RawFd, path: &[u8], flags: libc::c_int) -> Result<OwnedFd, i32> {
    let (parent, name) = parent_of(root, path)?;
    let at = parent.as_ref().map_or(root, AsRawFd::as_raw_fd);
    open_piece(at, name, flags)
}

/// The folder holding the last piece of `path` (under [`MAX`] bytes, cut at a `/`) and
/// that piece: `None` when `path` fits whole, so the piece opens relative to `root`;
/// otherwise that folder, opened. Allocates nothing.
pub(crate) fn parent_of(root: RawFd, path: &[u8]) -> Result<(Option<OwnedFd>, &[u8]), i32> {
    let mut dir: Option<OwnedFd> = None;
    let mut rest = path;
    while rest.len() > MAX {
        // The longest head under MAX bytes that ends before a `/`.
        let cut = match rest[..=MAX].iter().rposition(|&b| b == b'/') {
            Some(c) if c > 0 => c,
            _ => return Err(libc::ENAMETOOLONG),
        };
        let at = dir.as_ref().map_or(root, AsRawFd::as_raw_fd);
        dir = Some(open_piece(at, &rest[..cut], STEP_FLAGS)?);
        rest = &rest[cut + 1..];
    }
    Ok((dir, rest))
}

/// One `openat` of `piece` (under [`MAX`] bytes, without its NUL) below `at`.
fn open_piece(at: RawFd, piece: &[u8], flags: libc::c_int) -> Result<OwnedFd, i32> {
    let mut c = [0u8; MAX + 1];
    if piece.len() > MAX {
        return Err(libc::ENAMETOOLONG);
    }
    if piece.contains(&0) {
        return Err(libc::EINVAL);
    }
    c[..piece.len()].copy_from_slice(piece);
    // SAFETY: `c` is NUL-terminated (zeroed past `piece`); the result is checked.
    let fd = unsafe { libc::openat(at, c.as_ptr().cast(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// `levels` folders of 250-byte names made below `root`, one piece at a time;
    /// returns the relative path of a file `f` at the bottom holding `text`.
    fn deep(root: &std::fs::File, levels: usize, text: &[u8]) -> Vec<u8> {
        let mut path = Vec::new();
        for level in 0..levels {
            let name = format!("{level:03}{}", "x".repeat(247)).into_bytes();
            path.extend_from_slice(&name);
            let (parent, last) = parent_of(root.as_raw_fd(), &path).unwrap();
            let at = parent.as_ref().map_or(root.as_raw_fd(), AsRawFd::as_raw_fd);
            let mut c = last.to_vec();
            c.push(0);
            // SAFETY: a valid descriptor and a NUL-terminated name.
            assert_eq!(unsafe { libc::mkdirat(at, c.as_ptr().cast(), 0o755) }, 0);
            path.push(b'/');
        }
        path.push(b'f');
        let (parent, last) = parent_of(root.as_raw_fd(), &path).unwrap();
        let at = parent.as_ref().map_or(root.as_raw_fd(), AsRawFd::as_raw_fd);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC;
        let fd = open_piece(at, last, flags).unwrap();
        std::io::Write::write_all(&mut std::fs::File::from(fd), text).unwrap();
        path
    }

    #[test]
    fn a_path_of_any_length_opens_piece_by_piece() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::File::open(tmp.path()).unwrap();
        let path = deep(&root, 40, b"deep down");
        assert!(path.len() > 2 * MAX, "{}", path.len());
        let fd = open_below(root.as_raw_fd(), &path, libc::O_RDONLY | libc::O_CLOEXEC).unwrap();
        let mut got = String::new();
        std::fs::File::from(fd).read_to_string(&mut got).unwrap();
        assert_eq!(got, "deep down");
        // One piece fits whole: no folder opened on the way.
        let (parent, last) = parent_of(root.as_raw_fd(), b"a/b").unwrap();
        assert!(parent.is_none());
        assert_eq!(last, b"a/b");
    }

    #[test]
    fn what_cannot_be_cut_or_found_is_an_errno() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::File::open(tmp.path()).unwrap();
        let flags = libc::O_RDONLY | libc::O_CLOEXEC;
        // No `/` to cut at within the first PATH_MAX bytes.
        let long = vec![b'n'; MAX + 10];
        assert_eq!(
            open_below(root.as_raw_fd(), &long, flags).err(),
            Some(libc::ENAMETOOLONG)
        );
        // A missing folder on the way.
        let mut missing = [b"gone/".as_slice(), &[b'n'; 200]].concat();
        while missing.len() <= MAX {
            missing.extend_from_slice(b"/abcdefghijklmnopqrstuvwxyz");
        }
        assert_eq!(
            open_below(root.as_raw_fd(), &missing, flags).err(),
            Some(libc::ENOENT)
        );
    }
}
