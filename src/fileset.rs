//! Which files a hunt visits, in which order, and how one is opened.
//!
//! A data set with a manifest is *indexed*: file `i` is `file_{i}.txt` inside one
//! folder, opened with `openat` relative to that folder's descriptor, its name formatted
//! on the stack. Nothing grows with the number of files, and no allocation happens per
//! file (which also keeps opening safe inside a forked child). Any other folder is
//! *listed*: every regular file below it, recursively, sorted by path, symlinks not
//! followed.

use crate::dataset::manifest::{self, Manifest};
use anyhow::{bail, Context, Result};
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

mod deep;
mod identity;
mod walk;

/// Flags for every data file we open. `O_NONBLOCK` means a named pipe or device that
/// took a data file's place cannot block the hunt (it changes nothing for regular
/// files); `O_NOFOLLOW` means a symlink planted in place of a file is an error rather
/// than a way out of the folder.
pub(crate) const OPEN_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;

/// The files one hunt visits.
#[derive(Debug)]
pub enum FileSet {
    /// A generated data set: `count` files named by their index.
    Indexed {
        /// The data set folder, for messages.
        dir: PathBuf,
        /// That folder, open, so each file costs one `openat` and no path walk.
        dirfd: OwnedFd,
        /// Number of files.
        count: u64,
    },
    /// Every regular file under a folder, sorted by path.
    Listed {
        /// The folder the user named.
        root: PathBuf,
        /// That folder, open: each file is opened relative to it.
        rootfd: OwnedFd,
        /// Each file's path relative to `root`, NUL-terminated for `openat`.
        paths: Vec<CString>,
    },
}

/// What [`load`] found in the folder.
#[derive(Debug)]
pub struct Loaded {
    /// The files to visit.
    pub files: FileSet,
    /// The manifest, when the folder is a hunt data set.
    pub manifest: Option<Manifest>,
    /// Folders that could not be listed (counted as errors of the hunt).
    pub listing_errors: Vec<String>,
}

/// Opens the data set or folder at `dir`. `is_default` says the user did not name the
/// folder, so a missing data set gets the advice to generate one.
pub fn load(dir: &Path, is_default: bool) -> Result<Loaded> {
    let shown = dir.display();
    check_folder(dir, is_default)?;
    if let Some(m) = read_manifest(dir)? {
        return Ok(Loaded {
            files: indexed(dir, &m)?,
            manifest: Some(m),
            listing_errors: Vec::new(),
        });
    }
    check_complete(dir)?;
    if is_default {
        bail!("no data set in {shown}: run `hunt generate` first");
    }
    let rootfd = open_dir(dir)?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let walk::Walked {
        files: mut paths,
        errors: listing_errors,
    } = walk::walk(&rootfd, dir, threads);
    if paths.is_empty() && listing_errors.is_empty() {
        bail!("{shown} holds no files to search: point --dir at another folder, or make a data set with `hunt generate --dir {shown}`");
    }
    paths.sort_unstable_by(|a, b| walk::path_order(a, b));
    let paths = paths
        .into_iter()
        .map(CString::new)
        .collect::<Result<Vec<_>, _>>()
        .context("a path holds a NUL byte")?;
    Ok(Loaded {
        files: FileSet::Listed {
            root: dir.to_path_buf(),
            rootfd,
            paths,
        },
        manifest: None,
        listing_errors,
    })
}

/// Opens the hunt data set at `dir`, which must have a manifest (a race checks every
/// answer against it).
pub fn load_dataset(dir: &Path) -> Result<(FileSet, Manifest)> {
    check_folder(dir, false)?;
    match read_manifest(dir)? {
        Some(m) => Ok((indexed(dir, &m)?, m)),
        None => {
            check_complete(dir)?;
            bail!(
                "{shown} holds no hunt data set (no {name}), and a race needs one to check answers: run `hunt generate --dir {shown}`",
                shown = dir.display(),
                name = manifest::MANIFEST_NAME
            )
        }
    }
}

/// `dir` must exist and be a folder.
fn check_folder(dir: &Path, is_default: bool) -> Result<()> {
    let shown = dir.display();
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if is_default {
                bail!("no data set in {shown}: run `hunt generate` first");
            }
            bail!("{shown} does not exist: pass an existing folder with --dir, or make a data set there with `hunt generate --dir {shown}`");
        }
        Err(e) => bail!("cannot read {shown}: {e}"),
    };
    if !meta.is_dir() {
        bail!("{shown} is a file, not a folder: pass the folder to search with --dir");
    }
    Ok(())
}

/// The manifest of the data set in `dir`, if it has one.
fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let Some(bytes) = manifest::read_own_file(&dir.join(manifest::MANIFEST_NAME))? else {
        return Ok(None);
    };
    let text = manifest::utf8(&bytes, dir)?;
    Ok(Some(Manifest::parse(text, dir)?))
}

/// Refuses a folder an interrupted `hunt generate` left behind.
fn check_complete(dir: &Path) -> Result<()> {
    if dir.join(manifest::PARTIAL_NAME).exists() {
        let shown = dir.display();
        bail!("the data set in {shown} is incomplete (an interrupted `hunt generate`): run `hunt generate --force --dir {shown}`");
    }
    Ok(())
}

/// The indexed file set a manifest describes.
fn indexed(dir: &Path, m: &Manifest) -> Result<FileSet> {
    let dirfd = open_dir(dir)?;
    check_last_file(&dirfd, dir, m.files)?;
    Ok(FileSet::Indexed {
        dir: dir.to_path_buf(),
        dirfd,
        count: m.files,
    })
}

/// The manifest's file count must match the folder: a count edited up (or a manifest
/// copied next to the wrong files) would otherwise send the hunt through millions of
/// missing files. One `fstatat` on the last file; a missing one is refused up front.
fn check_last_file(dirfd: &OwnedFd, dir: &Path, count: u64) -> Result<()> {
    let last = count.saturating_sub(1);
    let mut name = [0u8; 32];
    indexed_name(last, &mut name);
    // SAFETY: an all-zero `stat` is valid to be overwritten; `name` is NUL-terminated.
    let r = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstatat(
            dirfd.as_raw_fd(),
            name.as_ptr().cast(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::NotFound {
        bail!(
            "the manifest in {shown} says it has {count} files, but {name} is missing: the folder does not match its manifest; regenerate it with `hunt generate --force --dir {shown}`",
            shown = dir.display(),
            name = manifest::file_name(last)
        );
    }
    Ok(())
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    let c =
        CString::new(dir.as_os_str().as_bytes()).context("the folder's path holds a NUL byte")?;
    // SAFETY: `c` is a valid NUL-terminated string; the result is checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        bail!("cannot open {}: {e}", dir.display());
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl FileSet {
    /// Number of files.
    pub fn len(&self) -> u64 {
        match self {
            FileSet::Indexed { count, .. } => *count,
            FileSet::Listed { paths, .. } => paths.len() as u64,
        }
    }

    /// True when there is nothing to visit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The folder the files live in.
    pub fn root(&self) -> &Path {
        match self {
            FileSet::Indexed { dir, .. } => dir,
            FileSet::Listed { root, .. } => root,
        }
    }

    /// Opens file `index` for reading. Performs exactly one system call (one more
    /// `openat` and `close` per 4 kB of a path longer than `PATH_MAX`) and no heap
    /// allocation, so a forked child may call it.
    pub fn open(&self, index: u64) -> Result<OwnedFd, i32> {
        let fd = match self {
            FileSet::Indexed { dirfd, .. } => {
                let mut name = [0u8; 32];
                let len = indexed_name(index, &mut name);
                debug_assert!(len < name.len());
                // SAFETY: `name` is NUL-terminated (zeroed past `len`).
                unsafe { libc::openat(dirfd.as_raw_fd(), name.as_ptr().cast(), OPEN_FLAGS) }
            }
            FileSet::Listed { rootfd, paths, .. } => match paths.get(index as usize) {
                // SAFETY: a CString is NUL-terminated.
                Some(p) if p.as_bytes().len() <= deep::MAX => unsafe {
                    libc::openat(rootfd.as_raw_fd(), p.as_ptr(), OPEN_FLAGS)
                },
                Some(p) => return deep::open_below(rootfd.as_raw_fd(), p.as_bytes(), OPEN_FLAGS),
                None => return Err(libc::ENOENT),
            },
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO));
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// A second handle on the same files, for workers that must own theirs (tokio
    /// tasks): a `dup` of the folder's descriptor, or a copy of every path.
    pub fn try_clone(&self) -> std::io::Result<FileSet> {
        Ok(match self {
            FileSet::Indexed { dir, dirfd, count } => FileSet::Indexed {
                dir: dir.clone(),
                dirfd: dirfd.try_clone()?,
                count: *count,
            },
            FileSet::Listed {
                root,
                rootfd,
                paths,
            } => FileSet::Listed {
                root: root.clone(),
                rootfd: rootfd.try_clone()?,
                paths: paths.clone(),
            },
        })
    }

    /// Where file `index` is, as `openat` takes it: a folder's descriptor and a
    /// NUL-terminated name. For callers that open through another interface (io_uring).
    /// The folder is the root's (a listed set) or the data set's, and the name is
    /// written into `name` for an indexed set; for a listed path longer than `PATH_MAX`
    /// the folder holding its last piece is opened into `parent`, which must stay open
    /// until the open completes. The error is the `errno`: `ENOENT` past the end of the
    /// list.
    pub fn open_at<'a>(
        &'a self,
        index: u64,
        name: &'a mut [u8; 32],
        parent: &mut Option<OwnedFd>,
    ) -> Result<(RawFd, &'a CStr), i32> {
        *parent = None;
        match self {
            FileSet::Indexed { dirfd, count, .. } => {
                if index >= *count {
                    return Err(libc::ENOENT);
                }
                *name = [0; 32];
                let len = indexed_name(index, name);
                CStr::from_bytes_with_nul(&name[..=len])
                    .map(|c| (dirfd.as_raw_fd(), c))
                    .map_err(|_| libc::EINVAL)
            }
            FileSet::Listed { rootfd, paths, .. } => {
                let p = usize::try_from(index)
                    .ok()
                    .and_then(|i| paths.get(i))
                    .ok_or(libc::ENOENT)?;
                let whole = p.as_bytes_with_nul();
                let (dir, last) = deep::parent_of(rootfd.as_raw_fd(), p.as_bytes())?;
                let at = dir.as_ref().map_or(rootfd.as_raw_fd(), AsRawFd::as_raw_fd);
                *parent = dir;
                // The last piece is the path's tail, so its NUL is the path's own.
                let tail = &whole[whole.len() - 1 - last.len()..];
                CStr::from_bytes_with_nul(tail)
                    .map(|c| (at, c))
                    .map_err(|_| libc::EINVAL)
            }
        }
    }

    /// The size of file `index` as its folder lists it (`fstatat` from the folder's
    /// descriptor, a symlink not followed), below `PATH_MAX` or not; `None` when it
    /// cannot be told.
    pub fn size(&self, index: u64) -> Option<u64> {
        let mut name = [0u8; 32];
        let mut parent = None;
        let (at, c) = self.open_at(index, &mut name, &mut parent).ok()?;
        // SAFETY: an all-zero `stat` is valid to be overwritten; `c` is NUL-terminated.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            (libc::fstatat(at, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0)
                .then_some(st.st_size as u64)
        }
    }

    /// The path of file `index`, for people (allocates).
    pub fn path(&self, index: u64) -> PathBuf {
        match self {
            FileSet::Indexed { dir, .. } => dir.join(manifest::file_name(index)),
            FileSet::Listed { root, paths, .. } => paths
                .get(index as usize)
                .map(|p| root.join(OsStr::from_bytes(p.as_bytes())))
                .unwrap_or_default(),
        }
    }
}

/// Writes `file_{index}.txt` into `buf` without allocating; returns its length.
fn indexed_name(index: u64, buf: &mut [u8; 32]) -> usize {
    let mut digits = itoa::Buffer::new();
    let d = digits.format(index).as_bytes();
    let parts: [&[u8]; 3] = [b"file_", d, b".txt"];
    let mut len = 0;
    for part in parts {
        buf[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_names_match_the_manifest_rule() {
        for i in [0u64, 7, 10, 12345, u64::MAX] {
            let mut buf = [0u8; 32];
            let len = indexed_name(i, &mut buf);
            assert_eq!(&buf[..len], manifest::file_name(i).as_bytes());
            assert_eq!(buf[len], 0);
        }
    }
}
