//! How one file is read and checked: the two readers, the needle, and one worker's
//! tallies.
//!
//! The hunt is bound by system calls, not by matching (memchr's `memmem` scans memory at
//! tens of GB/s), so the `read` reader spends as few as the job allows: `openat`
//! relative to the data set's folder, one `pread` into a buffer kept for the worker's
//! whole life, `close`. A short read ends a regular file, so a file smaller than the
//! buffer costs exactly those three calls; an empty read or a full buffer costs one
//! `fstat` more, to refuse anything that is not a regular file.
//!
//! Why `pread` and not `read`: `pread` fails with `ESPIPE` on a named pipe, a socket or
//! a terminal before taking a byte, so a pipe planted where a data file should be is
//! refused without stealing its data from whoever reads it, and a pipe whose writer
//! holds it open cannot pass a partial read off as a whole file. Devices that allow
//! `pread` (`/dev/null`, `/dev/zero`) give an empty or full first read, which the
//! `fstat` check catches. The one gap: a device that supports `pread` and returns a
//! short first read would be searched like a file. Only root can create devices, and
//! listed folders never open them (the listing keeps regular files only).
//!
//! The stop check ([`should_stop`]) also looks at the Ctrl-C flag of
//! [`crate::interrupt`], so every strategy stops on Ctrl-C the way it stops on a find.
//!
//! Large files are read in chunks, the last `needle.len() - 1` bytes carried over so a
//! needle straddling two chunks is still found, and the stop flag is checked between
//! chunks so one big file cannot hold the other workers up.

use crate::fileset::FileSet;
use memchr::memmem::Finder;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Test-only slowdown: each file, once opened (and mapped), waits this many milliseconds
/// before its bytes are read. It lets the signal and fault tests hit a hunt at a known
/// point (Ctrl-C mid-hunt, a file truncated under a live map) without a data set of
/// gigabytes. Unset in normal use; it changes no answer, only the timing.
pub const SLOW_FILE_ENV: &str = "HUNT_TEST_SLOW_FILE_MS";

/// True when the hunt should stop: a worker found the needle (`stop`) or Ctrl-C came.
#[inline]
pub fn should_stop(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Relaxed) || crate::interrupt::requested()
}

/// Reads [`SLOW_FILE_ENV`] (allocates: call it before forking).
pub fn test_slowdown() -> Option<Duration> {
    std::env::var(SLOW_FILE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

/// Buffer size of the `read` reader: the default data set's files (15 kB) and the blog
/// preset's (150 kB) each fit in one read.
pub const CHUNK: usize = 256 * 1024;
/// Failed files one worker itemises; later ones are only counted.
const LISTED_ERRORS: usize = 64;
/// Window of the `mmap` reader between two looks at the stop flag.
const MMAP_WINDOW: usize = 1 << 20;

/// How a file's bytes reach the matcher.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
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
    /// The path is a symlink; hunt does not follow symlinks inside a data set.
    Symlink,
}

impl ScanError {
    /// A compact code for shared memory: `errno`, -1 for [`ScanError::NotRegular`], -2
    /// for [`ScanError::Symlink`].
    pub fn code(self) -> i32 {
        match self {
            ScanError::Os(e) => e,
            ScanError::NotRegular => -1,
            ScanError::Symlink => -2,
        }
    }

    /// The error behind an `io::Error` (EIO when it carries no `errno`).
    pub fn from_io(e: &std::io::Error) -> ScanError {
        ScanError::from_errno(e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// The inverse of [`ScanError::code`].
    pub fn from_code(code: i32) -> ScanError {
        match code {
            -2 => ScanError::Symlink,
            c if c < 0 => ScanError::NotRegular,
            c => ScanError::Os(c),
        }
    }

    /// Names what the system calls' `errno` means for a data file: `ELOOP` from an
    /// `O_NOFOLLOW` open is a symlink, `ENXIO` a socket (or a device with nothing
    /// behind it), `ESPIPE` from `pread` a pipe or terminal.
    pub fn from_errno(e: i32) -> ScanError {
        match e {
            libc::ELOOP => ScanError::Symlink,
            libc::ENXIO | libc::ESPIPE => ScanError::NotRegular,
            e => ScanError::Os(e),
        }
    }
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
            ScanError::NotRegular => {
                f.write_str("not a regular file (a pipe, socket or device), not searched")
            }
            ScanError::Symlink => f.write_str("a symlink, not followed"),
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

    /// Records what visiting file `index` gave, as every strategy counts it. Returns true
    /// when the file holds the needle; then it also raises `stop`.
    pub fn record(
        &mut self,
        index: u64,
        result: Result<FileScan, ScanError>,
        stop: &AtomicBool,
    ) -> bool {
        match result {
            Ok(FileScan::Found) => {
                self.files_scanned += 1;
                self.found = Some(Found {
                    index,
                    at: Instant::now(),
                });
                stop.store(true, Ordering::Relaxed);
                true
            }
            Ok(FileScan::Absent) => {
                self.files_scanned += 1;
                if stop.load(Ordering::Relaxed) {
                    self.files_after_find += 1;
                }
                false
            }
            Ok(FileScan::Stopped) => {
                self.files_scanned += 1;
                self.files_after_find += 1;
                false
            }
            Err(error) => {
                // Itemise the first few only: a folder of a million broken entries must
                // not turn into a million-entry list in memory.
                if self.errors.len() < LISTED_ERRORS {
                    self.errors.push(FileError { index, error });
                } else {
                    self.errors_unlisted += 1;
                }
                false
            }
        }
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
    slow: Option<Duration>,
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
            slow: test_slowdown(),
            tally: Tally::default(),
        }
    }

    /// Visits search position `pos` and records the result in the tally. Returns true
    /// when the file holds the needle; then it also raises `stop`.
    pub fn visit(&mut self, pos: u64, stop: &AtomicBool) -> bool {
        let index = self.job.index_at(pos);
        let result = self.scan_index(index, stop);
        self.tally.record(index, result, stop)
    }

    /// Scans file `index`, adding the bytes read to the tally. Allocates nothing, takes
    /// no lock and never panics on bad input, so a forked child may call it.
    pub fn scan_index(&mut self, index: u64, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let fd = self.job.files.open(index).map_err(ScanError::from_errno)?;
        let result = match self.job.reader {
            Reader::Read => self.scan_read(&fd, stop),
            Reader::Mmap => self.scan_mmap(&fd, stop),
        };
        drop(fd); // close
        result
    }

    fn scan_read(&mut self, fd: &OwnedFd, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let mut search = ChunkedSearch::new(self.job.needle_len());
        let mut offset = 0u64;
        self.pause(stop);
        loop {
            let n = pread_retrying(fd, search.room(&mut self.buf), offset)?;
            offset += n as u64;
            self.tally.bytes_scanned += n as u64;
            if search.type_unknown(self.buf.len(), n) && !is_regular(fd.as_fd())? {
                return Err(ScanError::NotRegular);
            }
            match search.take(&mut self.buf, n, self.job.finder) {
                Chunk::Found => return Ok(FileScan::Found),
                Chunk::Absent => return Ok(FileScan::Absent),
                Chunk::More if should_stop(stop) => return Ok(FileScan::Stopped),
                Chunk::More => {}
            }
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
        // the documented risk of the mmap reader. The binary turns it into one error
        // line and exit 2, a fork worker dies and its range is reported (see
        // docs/RELIABILITY.md and `crate::interrupt::install`).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(fd.as_raw_fd()) }
            .map_err(|e| ScanError::Os(e.raw_os_error().unwrap_or(libc::EIO)))?;
        self.pause(stop);
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
            if should_stop(stop) {
                return Ok(FileScan::Stopped);
            }
            start = end;
        }
    }

    /// The [`SLOW_FILE_ENV`] pause (see [`test_pause`]).
    fn pause(&self, stop: &AtomicBool) {
        test_pause(self.slow, stop);
    }
}

/// The [`SLOW_FILE_ENV`] pause of `slow` (from [`test_slowdown`]; `None` in normal use),
/// in short sleeps so a stop or Ctrl-C cuts it short. Strategies that do their own I/O
/// (`async`, `uring`) call it after a file is opened, as [`Scanner`] does, so the tests
/// can catch them mid-hunt too. Allocation-free (a forked child may call it).
pub fn test_pause(slow: Option<Duration>, stop: &AtomicBool) {
    let Some(total) = slow else { return };
    let until = Instant::now() + total;
    while !should_stop(stop) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(10)));
    }
}

/// What one chunk of a file told a [`ChunkedSearch`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// The needle is in the bytes seen so far.
    Found,
    /// The read came back short: the file has ended without the needle.
    Absent,
    /// The buffer came back full: read on (after looking at the stop flag).
    More,
}

/// The needle search over one file read in chunks into one buffer, whatever does the
/// reading (`read(2)`, tokio, an io_uring completion). The last `needle.len() - 1` bytes
/// of each full chunk are carried to the front of the buffer, so a needle straddling two
/// chunks is still found; each read must fill [`ChunkedSearch::room`], at file offset
/// [`ChunkedSearch::offset`].
#[derive(Clone, Debug)]
pub struct ChunkedSearch {
    keep: usize,
    carried: usize,
    offset: u64,
    first: bool,
}

impl ChunkedSearch {
    /// A search at the start of a file, for a needle of `needle_len` bytes. The buffer it
    /// is used with must hold at least `2 * needle_len` bytes, so the carried-over tail
    /// leaves room for new ones.
    pub fn new(needle_len: usize) -> Self {
        ChunkedSearch {
            keep: needle_len.saturating_sub(1),
            carried: 0,
            offset: 0,
            first: true,
        }
    }

    /// The part of `buf` the next read must fill: all of it past the carried-over tail.
    pub fn room<'b>(&self, buf: &'b mut [u8]) -> &'b mut [u8] {
        &mut buf[self.carried..]
    }

    /// The file offset the next read starts at (bytes read so far).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True when the first read of `n` bytes into a buffer of `buf_len` bytes cannot tell
    /// a regular file from a pipe or device (it came back empty, or filled the room): the
    /// caller must then check the file type before trusting it. A short first read is
    /// taken as the end of a regular file, so small files cost no `fstat`.
    pub fn type_unknown(&self, buf_len: usize, n: usize) -> bool {
        self.first && (n == 0 || n == buf_len - self.carried)
    }

    /// Takes a read of `n` bytes into [`ChunkedSearch::room`] of `buf` and says what
    /// follows. On [`Chunk::More`] the tail is already carried over for the next read.
    pub fn take(&mut self, buf: &mut [u8], n: usize, finder: &Finder<'_>) -> Chunk {
        let full = n == buf.len() - self.carried;
        self.first = false;
        self.offset += n as u64;
        let filled = self.carried + n;
        if finder.find(&buf[..filled]).is_some() {
            return Chunk::Found;
        }
        if !full {
            return Chunk::Absent;
        }
        self.carried = self.keep.min(filled);
        buf.copy_within(filled - self.carried..filled, 0);
        Chunk::More
    }
}

/// `pread` of `buf.len()` bytes at `offset`, retried on `EINTR`. On a pipe or socket it
/// fails with `ESPIPE` ([`ScanError::NotRegular`]) before taking a byte.
pub fn pread_retrying(fd: &OwnedFd, buf: &mut [u8], offset: u64) -> Result<usize, ScanError> {
    let offset = libc::off_t::try_from(offset).map_err(|_| ScanError::Os(libc::EFBIG))?;
    loop {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes.
        let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), offset) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(ScanError::from_errno(e));
        }
    }
}

fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, ScanError> {
    // SAFETY: an all-zero `stat` is a valid value to be overwritten by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(ScanError::Os(errno()));
    }
    Ok(st)
}

/// True when `fd` is a regular file: the check behind [`ChunkedSearch::type_unknown`].
pub fn is_regular(fd: BorrowedFd<'_>) -> Result<bool, ScanError> {
    Ok(fstat(fd)?.st_mode & libc::S_IFMT == libc::S_IFREG)
}

fn regular_len(fd: &OwnedFd) -> Result<u64, ScanError> {
    let st = fstat(fd.as_fd())?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {}
        // The same words as the read reader's EISDIR.
        libc::S_IFDIR => return Err(ScanError::Os(libc::EISDIR)),
        _ => return Err(ScanError::NotRegular),
    }
    Ok(st.st_size as u64)
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` through a [`ChunkedSearch`] in reads of at most `buf_len` bytes.
    fn chunked(data: &[u8], needle: &[u8], buf_len: usize) -> (Chunk, u64) {
        let finder = Finder::new(needle);
        let mut buf = vec![0; buf_len];
        let mut search = ChunkedSearch::new(needle.len());
        loop {
            let start = search.offset() as usize;
            let room = search.room(&mut buf);
            let n = room.len().min(data.len() - start);
            room[..n].copy_from_slice(&data[start..start + n]);
            match search.take(&mut buf, n, &finder) {
                Chunk::More => continue,
                end => return (end, search.offset()),
            }
        }
    }

    #[test]
    fn chunked_search_finds_a_needle_straddling_every_boundary() {
        let needle = b"Treasure";
        for buf_len in [16usize, 17, 23, 64] {
            for at in 0..100 {
                let mut data = vec![b'.'; 100 + needle.len()];
                data[at..at + needle.len()].copy_from_slice(needle);
                let (end, _) = chunked(&data, needle, buf_len);
                assert_eq!(end, Chunk::Found, "buf {buf_len}, needle at {at}");
            }
            let (end, read) = chunked(&[b'.'; 100], needle, buf_len);
            assert_eq!(end, Chunk::Absent, "buf {buf_len}");
            assert_eq!(read, 100, "every byte read once, buf {buf_len}");
        }
    }

    #[test]
    fn only_an_empty_or_full_first_read_leaves_the_type_unknown() {
        let s = ChunkedSearch::new(8);
        assert!(s.type_unknown(64, 0));
        assert!(s.type_unknown(64, 64));
        assert!(!s.type_unknown(64, 63));
        let mut s = s;
        let mut buf = vec![0; 64];
        assert_eq!(s.take(&mut buf, 64, &Finder::new("x")), Chunk::More);
        assert!(!s.type_unknown(64, 0), "asked only after the first read");
    }
}
