//! The two readers: `read` (one `pread` into a reused buffer) and `mmap` (a mapping
//! searched in windows), behind [`Scanner`], one per worker.

use super::{should_stop, Chunk, ChunkedSearch, FileScan, Job, PageBuf, Reader, ScanError, Tally};
use crate::hooks;
use crate::trace::Recorder;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Window of the `mmap` reader between two looks at the stop flag.
const MMAP_WINDOW: usize = 1 << 20;

/// One worker's reusable state: its buffer, its tally and, when the hunt is traced, its
/// timeline.
pub struct Scanner<'a> {
    job: &'a Job<'a>,
    buf: PageBuf,
    slow: Option<Duration>,
    /// `hunt race --fault`, armed in this child ([`crate::fault`]); read now, before any
    /// fork.
    fault: Option<&'static crate::fault::Armed>,
    /// What this worker has done so far.
    pub tally: Tally,
    /// Its timeline, when the job is traced ([`Job::trace`]).
    trace: Option<Recorder>,
}

impl<'a> Scanner<'a> {
    /// A scanner for `job`, with its buffer allocated now (never during the hunt).
    pub fn new(job: &'a Job<'a>) -> Self {
        let buf = match job.reader {
            Reader::Read => ChunkedSearch::buffer(job.needle_len()),
            Reader::Mmap => PageBuf::empty(),
        };
        Scanner {
            job,
            buf,
            slow: hooks::slow_file(),
            fault: crate::fault::armed(),
            tally: Tally::default(),
            trace: job.trace.map(|clock| Recorder::new(clock, 1024)),
        }
    }

    /// Visits search position `pos` and records the result in the tally. Returns true
    /// when the file holds the needle; then it also raises `stop`.
    ///
    /// Untraced, this is the whole hot path: one branch on the recorder, then the scan.
    #[inline]
    pub fn visit(&mut self, pos: u64, stop: &AtomicBool) -> bool {
        if self.trace.is_some() {
            return self.visit_traced(pos, stop);
        }
        let index = self.job.index_at(pos);
        let result = self.scan_index(index, stop);
        self.tally.record(index, result, stop)
    }

    /// [`Scanner::visit`] with a span for the file (and an instant for a find).
    #[inline(never)]
    fn visit_traced(&mut self, pos: u64, stop: &AtomicBool) -> bool {
        let index = self.job.index_at(pos);
        let start = self.trace.as_ref().map_or(0, Recorder::now);
        let bytes = self.tally.bytes_scanned;
        let result = self.scan_index(index, stop);
        let read = self.tally.bytes_scanned - bytes;
        if let Some(t) = &mut self.trace {
            t.file(index, pos, start, read, super::trace_end(&result), 0);
        }
        self.tally.record(index, result, stop)
    }

    /// This worker's recorder, when the hunt is traced.
    pub fn trace(&mut self) -> Option<&mut Recorder> {
        self.trace.as_mut()
    }

    /// Makes the recorder one that never allocates, with room for `room` events: for a
    /// forked child, which must not allocate (called before the fork).
    pub fn trace_in_fixed_room(&mut self, room: usize) {
        if let Some(t) = &self.trace {
            self.trace = Some(Recorder::fixed(t.clock(), room));
        }
    }

    /// The worker is done: its tally, with its timeline (ended by its stop) as an
    /// unnamed track when the hunt is traced. Workers return this rather than
    /// `scanner.tally`, so every strategy's timeline reaches the report.
    pub fn finish(&mut self) -> Tally {
        self.finish_with(Recorder::finish)
    }

    /// [`Scanner::finish`] for a worker that has no end of its own (a rayon pool
    /// thread): its stop is the end of its last file.
    pub fn finish_idle(&mut self) -> Tally {
        self.finish_with(Recorder::finish_idle)
    }

    fn finish_with(&mut self, end: fn(Recorder) -> crate::trace::Track) -> Tally {
        let mut tally = std::mem::take(&mut self.tally);
        if let Some(t) = self.trace.take() {
            tally.tracks.push(end(t));
        }
        tally
    }

    /// Scans file `index`, adding the bytes read to the tally. Allocates nothing, takes
    /// no lock and never panics on bad input, so a forked child may call it.
    pub fn scan_index(&mut self, index: u64, stop: &AtomicBool) -> Result<FileScan, ScanError> {
        let fd = self.job.files.open(index).map_err(ScanError::from_errno)?;
        if let Some(fault) = self.fault {
            fault.at_open(index);
        }
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

    /// The test-only pause after each open ([`hooks::SLOW_FILE_ENV`]).
    fn pause(&self, stop: &AtomicBool) {
        hooks::pause(self.slow, stop);
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
