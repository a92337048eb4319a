//! `async`: tokio, the asyncio of Rust, written the way its documentation teaches. A
//! multi-thread runtime with K worker threads is built in `new` (setup, outside the hunt
//! timing); the hunt spawns K tasks into a `JoinSet`, and each opens files with
//! `tokio::fs::OpenOptions` and reads them on tokio's blocking pool, the way
//! `tokio::fs::File::read` does, into one buffer it keeps for its whole life (moved into
//! the pool's closure and back, so there is no copy out of tokio's own buffer). The read
//! is a positional `pread`, not `AsyncReadExt::read`: a plain `read` would take bytes
//! out of a named pipe planted in a data file's place and could report it as the
//! treasure, where `pread` fails with `ESPIPE` first, as the `read` reader's does.
//!
//! # What it costs
//! Linux offers no readiness-based asynchronous I/O for regular files, so every
//! `tokio::fs` call is a `spawn_blocking` in disguise: the task packs the call into a
//! closure, hands it to tokio's blocking thread pool, parks, and is woken when a pool
//! thread has run the system call. A small file costs two such hand-offs (open, one
//! short read; a full or empty first read adds a `metadata`, and the `close` runs inline
//! when the `File` drops), each a queue push, a pool thread's wake-up and a cross-thread
//! wake back. Next to the microsecond system calls of a cached file,
//! those hand-offs dominate: this strategy measures what "async file I/O" costs when
//! the kernel's file I/O is synchronous (compare `uring`, where it is not).
//!
//! # Work sharing and stopping
//! The K tasks pull search positions from one shared atomic cursor rather than each
//! owning a contiguous range: that is how an asyncio program shares work (workers
//! pulling from one queue), and it keeps every task busy even when the blocking pool
//! serves some tasks' hand-offs later than others', at the price of one `fetch_add` per
//! file, nothing next to the hand-offs.
//!
//! Tasks check an `AtomicBool` stop flag before each file and between chunks. When a
//! task finds the treasure, the hunt calls `JoinSet::abort_all`, which cancels the
//! others at their current `.await` without waiting for the blocking call in flight
//! (that call still finishes on its pool thread, and its result is dropped). A task's
//! counts reach the hunt through a guard that hands them over when the task's future is
//! dropped, so the counts of aborted tasks are kept too (less the file cut off by the
//! abort).
//!
//! A traced hunt records each task's files on the task's own track, in the guard that
//! carries its counts, so an aborted task's timeline is kept too (its stop is when it
//! was dropped).
//!
//! Tasks spawned on a runtime must own what they use (`'static`), so the hunt gives them
//! its own copy of the file list (a `dup` of the folder's descriptor for a generated
//! data set; a copy of every path for a listed folder) and of the needle's searcher.

use super::pool::Pool;
use super::{Outcome, Registered, Strategy, StrategyConfig, WorkerFailure};
use crate::fileset::{FileSet, OPEN_FLAGS};
use crate::hooks;
use crate::scan::{
    is_regular, pread_retrying, should_stop, Chunk, ChunkedSearch, FileScan, Job, Reader,
    PageBuf, ScanError, Tally,
};
use anyhow::Context;
use memchr::memmem::Finder;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// K tokio tasks on a runtime of K worker threads.
pub struct Async {
    runtime: tokio::runtime::Runtime,
    workers: usize,
    pool: Pool,
}

impl Registered for Async {
    const READERS: &'static [Reader] = &[Reader::Read];

    /// Builds the runtime (outside the hunt: a benchmark can time either). Its
    /// blocking pool starts threads lazily, during the first hunt.
    fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
        let workers = config.workers.get();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("hunt-async")
            .build()
            .context("could not build the tokio runtime")?;
        Ok(Async {
            runtime,
            workers,
            pool: config.pool.clone(),
        })
    }
}

/// What every task shares: its own copy of the job, the cursor and the stop flag.
struct Shared {
    files: FileSet,
    finder: Finder<'static>,
    rotate: u64,
    cursor: AtomicU64,
    stop: AtomicBool,
    /// The test-only pause after each open ([`crate::hooks::SLOW_FILE_ENV`]).
    slow: Option<Duration>,
    /// The strategy's name and the task the test hook tells to fail.
    pool: Pool,
    /// The search position each task is on, for the report of a task that panics.
    current: Vec<AtomicU64>,
    /// Each task's counts, handed over when its future is dropped.
    tallies: Mutex<Vec<Tally>>,
    /// The hunt's trace clock, when it is traced.
    clock: Option<crate::trace::Clock>,
}

impl Shared {
    fn job(&self) -> Job<'_> {
        Job {
            files: &self.files,
            finder: &self.finder,
            reader: crate::scan::Reader::Read,
            rotate: self.rotate,
            trace: None,
        }
    }
}

/// A task's counts and timeline; dropping it (the task ended or was aborted) hands them
/// over.
struct TallyGuard {
    tally: Tally,
    shared: Arc<Shared>,
    /// Task `i`'s timeline, when the hunt is traced.
    trace: Option<crate::trace::Recorder>,
    i: usize,
}

impl Drop for TallyGuard {
    fn drop(&mut self) {
        let mut tally = std::mem::take(&mut self.tally);
        if let Some(t) = self.trace.take() {
            let mut track = t.finish();
            track.name(&self.shared.pool.worker(self.i));
            tally.tracks.push(track);
        }
        let mut all = self
            .shared
            .tallies
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        all.push(tally);
    }
}

impl Strategy for Async {
    fn hunt(&mut self, job: &Job<'_>) -> anyhow::Result<Outcome> {
        let shared = Arc::new(Shared {
            files: job
                .files
                .try_clone()
                .context("could not copy the file list for the tokio tasks")?,
            finder: job.finder.clone().into_owned(),
            rotate: job.rotate,
            cursor: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            slow: hooks::slow_file(),
            pool: self.pool.clone(),
            current: (0..self.workers).map(|_| AtomicU64::new(u64::MAX)).collect(),
            tallies: Mutex::new(Vec::with_capacity(self.workers)),
            clock: job.trace,
        });
        let mut failures = Vec::new();
        let mut found_by = None;
        self.runtime.block_on(async {
            let mut set = JoinSet::new();
            let mut ids = Vec::with_capacity(self.workers);
            for i in 0..self.workers {
                ids.push(set.spawn(hunt_task(Arc::clone(&shared), i)).id());
            }
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(End::Found(i)) => {
                        found_by.get_or_insert(shared.pool.worker(i));
                        set.abort_all();
                    }
                    Ok(End::Done) => {}
                    Ok(End::Failed(i, pos)) => failures.push(WorkerFailure::range(
                        shared.pool.worker(i),
                        &(pos..pos + 1),
                        hooks::FAILED_ON_PURPOSE.to_string(),
                    )),
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => {
                        let i = ids.iter().position(|id| *id == e.id()).unwrap_or(0);
                        let pos = shared.current[i].load(Ordering::Relaxed);
                        let why = e.try_into_panic().map_or_else(
                            |_| "panicked".to_string(),
                            |p| crate::fault::unwind_why(&*p),
                        );
                        failures.push(WorkerFailure::range(
                            shared.pool.worker(i),
                            &(pos..pos.saturating_add(1)),
                            why,
                        ));
                    }
                }
            }
        });
        let tallies =
            std::mem::take(&mut *shared.tallies.lock().unwrap_or_else(|e| e.into_inner()));
        let mut outcome = Outcome::from_tallies(tallies);
        outcome.worker_failures = failures;
        outcome.found_by = found_by;
        Ok(outcome)
    }

    fn workers(&self) -> usize {
        self.workers
    }
}

/// How one hunting task ended.
enum End {
    /// Task `i` found the treasure.
    Found(usize),
    /// It ran out of files, or the stop flag ended it.
    Done,
    /// Task `i` failed on search position `pos` (the test hook).
    Failed(usize, u64),
}

/// One hunting task: files from the shared cursor until the end or the stop flag.
async fn hunt_task(shared: Arc<Shared>, i: usize) -> End {
    let mut guard = TallyGuard {
        tally: Tally::default(),
        shared: Arc::clone(&shared),
        trace: shared.clock.map(|c| crate::trace::Recorder::new(c, 1024)),
        i,
    };
    let job = shared.job();
    let mut buf = ChunkedSearch::buffer(job.needle_len());
    loop {
        if should_stop(&shared.stop) {
            return End::Done;
        }
        let pos = shared.cursor.fetch_add(1, Ordering::Relaxed);
        if pos >= job.len() {
            return End::Done;
        }
        shared.current[i].store(pos, Ordering::Relaxed);
        if shared.pool.failing() == Some(i) {
            return End::Failed(i, pos);
        }
        let index = job.index_at(pos);
        let traced = guard.trace.as_ref().map(|t| (t.now(), guard.tally.bytes_scanned));
        let result = scan_file(&job, index, &mut buf, &mut guard.tally, &shared).await;
        if let (Some(t), Some((start, bytes))) = (&mut guard.trace, traced) {
            let read = guard.tally.bytes_scanned - bytes;
            t.file(index, pos, start, read, crate::scan::trace_end(&result), 0);
        }
        if guard.tally.record(index, result, &shared.stop) {
            return End::Found(i);
        }
    }
}

/// Opens, reads and closes file `index` with `tokio::fs`.
async fn scan_file(
    job: &Job<'_>,
    index: u64,
    buf: &mut PageBuf,
    tally: &mut Tally,
    shared: &Arc<Shared>,
) -> Result<FileScan, ScanError> {
    let stop = &shared.stop;
    let os = |e: std::io::Error| ScanError::from_io(&e);
    let opened = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(job.files.path(index))
        .await;
    let file = match opened {
        // A path longer than PATH_MAX: open it relative to the folder's descriptor, in
        // pieces, as the other strategies do (on the blocking pool, as tokio::fs would).
        Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
            let shared = Arc::clone(shared);
            tokio::task::spawn_blocking(move || shared.files.open(index))
                .await
                .map_err(|_| ScanError::Os(libc::EIO))?
                .map(tokio::fs::File::from)
                .map_err(ScanError::Os)?
        }
        opened => opened.map_err(os)?,
    };
    if let Some(fault) = crate::fault::armed() {
        fault.at_open(index);
    }
    if shared.slow.is_some() {
        // Tests only: the pause sleeps on a blocking-pool thread, as tokio::fs does
        // its calls, so the runtime's workers stay free; a find or Ctrl-C ends it.
        let shared = Arc::clone(shared);
        let _ =
            tokio::task::spawn_blocking(move || hooks::pause(shared.slow, &shared.stop)).await;
    }
    let fd = Arc::new(OwnedFd::from(file.into_std().await));
    let mut search = ChunkedSearch::new(job.needle_len());
    loop {
        let n = read_at(&fd, buf, &search).await?;
        tally.bytes_scanned += n as u64;
        if search.type_unknown(buf.len(), n) {
            let fd = Arc::clone(&fd);
            let regular = tokio::task::spawn_blocking(move || is_regular(fd.as_fd()))
                .await
                .map_err(|_| ScanError::Os(libc::EIO))??;
            if !regular {
                return Err(ScanError::NotRegular);
            }
        }
        match search.take(buf, n, job.finder) {
            Chunk::Found => return Ok(FileScan::Found),
            Chunk::Absent => return Ok(FileScan::Absent),
            Chunk::More if should_stop(stop) => return Ok(FileScan::Stopped),
            Chunk::More => {}
        }
    }
}

/// One `pread` into the room `search` leaves in `buf`, on the blocking pool. The buffer
/// travels into the pool's closure and back; if the task is aborted meanwhile, it is
/// dropped with the task.
async fn read_at(
    fd: &Arc<OwnedFd>,
    buf: &mut PageBuf,
    search: &ChunkedSearch,
) -> Result<usize, ScanError> {
    let fd = Arc::clone(fd);
    let mut owned = std::mem::take(buf);
    let start = owned.len() - search.room(&mut owned).len();
    let offset = search.offset();
    let (back, n) = tokio::task::spawn_blocking(move || {
        let n = pread_retrying(&fd, &mut owned[start..], offset);
        (owned, n)
    })
    .await
    .map_err(|_| ScanError::Os(libc::EIO))?;
    *buf = back;
    n
}
