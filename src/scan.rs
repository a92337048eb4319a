//! How one file is read and checked: the two readers, the needle, and one worker's
//! tallies.
//!
//! The hunt is bound by system calls, not by matching (memchr's `memmem` scans memory at
//! tens of GB/s), so the `read` reader spends as few as the job allows: `openat`
//! relative to the data set's folder, one `read` into a buffer kept for the worker's
//! whole life, `close`. A short read ends a regular file, so a file smaller than the
//! buffer costs exactly those three calls; an empty read or a full buffer costs one
//! `fstat` more, to refuse anything that is not a regular file.
//!
//! Large files are read in chunks, the last `needle.len() - 1` bytes carried over so a
//! needle straddling two chunks is still found, and the stop flag is checked between
//! chunks so one big file cannot hold the other workers up.

use crate::fileset::FileSet;
use memchr::memmem::Finder;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Buffer size of the `read` reader: the default data set's files (15 kB) and the blog
/// preset's (150 kB) each fit in one read.
pub const CHUNK: usize = 256 * 1024;
/// Window of the `mmap` reader between two looks at the stop flag.
const MMAP_WINDOW: usize = 1 << 20;

/// How a file's bytes reach the matcher.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reader {
    /// open, one read into a reused buffer, close.
    Read,
    /// open, fstat, mmap (memmap2), close.
    Mmap,
}

impl Reader {
    /// Every reader, for tests and sweeps.
    pub const ALL: [Reader; 2] = [Reader::Read, Reader::Mmap];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Reader::Read => "read",
            Reader::Mmap => "mmap",
        }
    }
}

/// Why one file could not be scanned. `Copy` and allocation-free, so a forked child can
/// record it in shared memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// A system call failed with this `errno`.
    Os(i32),
    /// The path is not a regular file (a pipe, device or socket took its place).
    NotRegular,
}

impl ScanError {
    /// A compact code for shared memory: `errno`, or -1 for [`ScanError::NotRegular`].
    pub fn code(self) -> i32 {
        match self {
            ScanError::Os(e) => e,
            ScanError::NotRegular => -1,
        }
    }

    /// The inverse of [`ScanError::code`].
    pub fn from_code(code: i32) -> ScanError {
        if code < 0 {
            ScanError::NotRegular
        } else {
            ScanError::Os(code)
        }
    }
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
            ScanError::NotRegular => f.write_str("not a regular file"),
        }
    }
}

/// What scanning one file found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FileScan {
    /// The needle is in the file.
    Found,
    /// The whole file was read and the needle is not in it.
    Absent,
    /// The stop flag was raised before the file was finished.
    Stopped,
}

/// What one hunt is asked to do: the files, the needle, the reader and the search order.
pub struct Job<'a> {
    /// The files to visit.
    pub files: &'a FileSet,
    /// The needle's searcher, built once.
    pub finder: &'a Finder<'a>,
    /// How files are read.
    pub reader: Reader,
    /// Search position `p` visits file `(p + rotate) % len`: moves the treasure's place
    /// in the search order without touching the data.
    pub rotate: u64,
}

impl Job<'_> {
    /// Number of files to visit.
    pub fn len(&self) -> u64 {
        self.files.len()
    }

    /// True when there is nothing to visit.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The file index at search position `pos`.
    pub fn index_at(&self, pos: u64) -> u64 {
        let n = self.len();
        // u128 so a huge rotate cannot overflow.
        ((u128::from(pos) + u128::from(self.rotate)) % u128::from(n.max(1))) as u64
    }

    /// The needle's length in bytes.
    pub fn needle_len(&self) -> usize {
        self.finder.needle().len()
    }
}

/// The file that held the needle and when it was found.
#[derive(Copy, Clone, Debug)]
pub struct Found {
    /// Its index in the file set.
    pub index: u64,
    /// When the worker saw the needle.
    pub at: Instant,
}

/// A file that could not be scanned.
#[derive(Clone, Debug)]
pub struct FileError {
    /// Its index in the file set.
    pub index: u64,
    /// What went wrong.
    pub error: ScanError,
}

/// One worker's counts. Strategies add these up into an [`crate::strategy::Outcome`].
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Files opened and read, fully or until stopped.
    pub files_scanned: u64,
    /// Bytes read (or mapped and searched).
    pub bytes_scanned: u64,
    /// Files finished or cut short after the stop flag went up: work done after the find.
    pub files_after_find: u64,
    /// The needle, if this worker found it.
    pub found: Option<Found>,
    /// Files that could not be scanned.
    pub errors: Vec<FileError>,
    /// Further failed files that were counted but not itemised (a forked child records
    /// only its first few, in fixed-size shared memory).
    pub errors_unlisted: u64,
}

impl Tally {
    /// Adds another worker's counts to these; the earlier find wins.
    pub fn absorb(&mut self, other: Tally) {
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.files_after_find += other.files_after_find;
        self.found = match (self.found, other.found) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        };
        self.errors.extend(other.errors);
        self.errors_unlisted += other.errors_unlisted;
    }

    /// Every failed file, itemised or not.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_unlisted
    }
}

/// One worker's reusable state: its buffer and its tally.
pub struct Scanner<'a> {
    job: &'a Job<'a>,
    buf: Vec<u8>,
    /// What this worker has done so far.
    pub tally: Tally,
}

impl<'a> Scanner<'a> {
    /// A scanner for `job`, with its buffer allocated now (never during the hunt).
    pub fn new(job: &'a Job<'a>) -> Self {
        let size = match job.reader {
            // The carried-over tail must leave room for new bytes.
            Reader::Read => CHUNK.max(2 * job.needle_len()),
            Reader::Mmap => 0,
        };
        Scanner {
            job,
            buf: vec![0; size],
            tally: Tally::default(),
        }
    }

    /// Visits search position `pos` and records the result in the tally. Returns true
    /// when the file holds the needle; then it also raises `stop`.
    pub fn visit(&mut self, pos: u64, stop: &AtomicBool) -> bool {
        let index = self.job.index_at(pos);
        match self.scan_index(index, stop) {
            Ok(FileScan::Found) => {
                self.tally.files_scanned += 1;
                self.tally.found = Some(Found {
                    index,
                    at: Instant::now(),
                });
                stop.store(true, Ordering::Relaxed);
                true
            }
            Ok(FileScan::Absent) => {
                self.tally.files_scanned += 1;
                if stop.load(Ordering::Relaxed) {
                    self.tally.files_after_find += 1;
                }
                false
            }
            Ok(FileScan::Stopped) => {
                self.tally.files_scanned += 1;
                self.tally.files_after_find += 1;
                false
            }
            Err(error) => {
                self.tally.errors.push(FileError { index, error });
                false
            }
        }
    }

    /// Scans file `index`, adding the bytes read to the tally. Allocates nothing, takes
    /// no lock and never panics on bad input, so a forked child may call it.
    pub fn scan_index(&mut self, index: u64, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let fd = self.job.files.open(index).map_err(ScanError::Os)?;
        let result = match self.job.reader {
            Reader::Read => self.scan_read(&fd, stop),
            Reader::Mmap => self.scan_mmap(&fd, stop),
        };
        drop(fd); // close
        result
    }

    fn scan_read(&mut self, fd: &OwnedFd, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let keep = self.job.needle_len().saturating_sub(1);
        let mut carried = 0usize;
        let mut first = true;
        loop {
            let room = &mut self.buf[carried..];
            let n = read_retrying(fd, room)?;
            self.tally.bytes_scanned += n as u64;
            let full = n == room.len();
            if first && (n == 0 || full) && !is_regular(fd)? {
                return Err(ScanError::NotRegular);
            }
            first = false;
            let filled = carried + n;
            if self.job.finder.find(&self.buf[..filled]).is_some() {
                return Ok(FileScan::Found);
            }
            if !full {
                // A short read ends a regular file.
                return Ok(FileScan::Absent);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(FileScan::Stopped);
            }
            carried = keep.min(filled);
            self.buf.copy_within(filled - carried..filled, 0);
        }
    }

    fn scan_mmap(&mut self, fd: &OwnedFd, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let len = regular_len(fd)?;
        if len == 0 {
            return Ok(FileScan::Absent); // mmap refuses empty files
        }
        let len = usize::try_from(len).map_err(|_| ScanError::Os(libc::EFBIG))?;
        // SAFETY: the map is read-only and dropped before this returns. If another
        // process truncates the file meanwhile, touching the lost pages raises SIGBUS:
        // the documented risk of the mmap reader (see README, "Readers").
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(fd.as_raw_fd()) }
            .map_err(|e| ScanError::Os(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let keep = self.job.needle_len().saturating_sub(1);
        let mut start = 0usize;
        loop {
            let end = (start + MMAP_WINDOW).min(len);
            let window = &map[start.saturating_sub(keep)..end];
            self.tally.bytes_scanned += (end - start) as u64;
            if self.job.finder.find(window).is_some() {
                return Ok(FileScan::Found);
            }
            if end == len {
                return Ok(FileScan::Absent);
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(FileScan::Stopped);
            }
            start = end;
        }
    }
}

fn read_retrying(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, ScanError> {
    loop {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(ScanError::Os(e));
        }
    }
}

fn fstat(fd: &OwnedFd) -> Result<libc::stat, ScanError> {
    // SAFETY: an all-zero `stat` is a valid value to be overwritten by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(ScanError::Os(errno()));
    }
    Ok(st)
}

fn is_regular(fd: &OwnedFd) -> Result<bool, ScanError> {
    Ok(fstat(fd)?.st_mode & libc::S_IFMT == libc::S_IFREG)
}

fn regular_len(fd: &OwnedFd) -> Result<u64, ScanError> {
    let st = fstat(fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(ScanError::NotRegular);
    }
    Ok(st.st_size as u64)
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}
