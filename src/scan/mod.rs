//! How one file is read and checked: what a hunt is asked to do ([`Job`]), the two
//! readers ([`Reader`], read by [`Scanner`]), the needle's search across chunks
//! ([`chunked`]), and one worker's counts ([`Tally`]).
//!
//! The hunt is bound by system calls, not by matching (memchr's `memmem` scans memory at
//! tens of GB/s), so the `read` reader spends as few as the job allows: `openat`
//! relative to the data set's folder, one `pread` into a buffer kept for the worker's
//! whole life (page-aligned, [`PageBuf`]: on some hosts the kernel's copy into a
//! misaligned one is several times slower), `close`. A short read ends a regular file,
//! so a file smaller than the buffer costs exactly those three calls; an empty read or
//! a full buffer costs one `fstat` more, to refuse anything that is not a regular file.
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
//! The stop check ([`should_stop`], kept in [`crate::interrupt`]) also looks at the
//! Ctrl-C flag, so every strategy stops on Ctrl-C the way it stops on a find.
//!
//! Large files are read in chunks, the last `needle.len() - 1` bytes carried over so a
//! needle straddling two chunks is still found, and the stop flag is checked between
//! chunks so one big file cannot hold the other workers up.

mod buf;
mod chunked;
mod scanner;
mod tally;

pub use buf::{PageBuf, PAGE};
pub use chunked::{Chunk, ChunkedSearch};
pub use scanner::{is_regular, pread_retrying, Scanner};
pub use tally::{FileError, Found, Tally};

use crate::fileset::FileSet;
use memchr::memmem::Finder;

pub use crate::interrupt::should_stop;

/// Buffer size of the `read` reader: the default data set's files (15 kB) and the blog
/// preset's (150 kB) each fit in one read.
pub const CHUNK: usize = 256 * 1024;

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

/// How a visit that ended with `result` shows in a trace: the recorder sits below the
/// scanner and does not know its results (see [`crate::trace`]).
pub fn trace_end(result: &Result<FileScan, ScanError>) -> crate::trace::End {
    use crate::trace::End;
    match result {
        Ok(FileScan::Absent) => End::Done,
        Ok(FileScan::Found) => End::Found,
        Ok(FileScan::Stopped) => End::Stopped,
        Err(_) => End::Failed,
    }
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
    /// Record every worker's timeline on this clock ([`crate::trace`]); `None`, the
    /// default, records nothing and costs the workers one branch per file.
    pub trace: Option<crate::trace::Clock>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::End;

    #[test]
    fn each_way_a_visit_ends_has_its_trace_end() {
        assert_eq!(trace_end(&Ok(FileScan::Absent)), End::Done);
        assert_eq!(trace_end(&Ok(FileScan::Found)), End::Found);
        assert_eq!(trace_end(&Ok(FileScan::Stopped)), End::Stopped);
        assert_eq!(trace_end(&Err(ScanError::NotRegular)), End::Failed);
    }
}
