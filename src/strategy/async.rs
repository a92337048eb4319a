//! `async`: tokio, the asyncio of Rust, written the way its documentation teaches. A
//! multi-thread runtime with K worker threads is built in `new` (setup, outside the hunt
//! timing); the hunt spawns K tasks into a `JoinSet`, and each opens files with
//! `tokio::fs::OpenOptions` and reads them with `AsyncReadExt::read` into one buffer it
//! keeps for its whole life.
//!
//! # What it costs
//! Linux offers no readiness-based asynchronous I/O for regular files, so every
//! `tokio::fs` call is a `spawn_blocking` in disguise: the task packs the call into a
//! closure, hands it to tokio's blocking thread pool, parks, and is woken when a pool
//! thread has run the system call. A small file costs two such hand-offs (open, one
//! short read; a full or empty first read adds a `metadata`, and the `close` runs inline
//! when the `File` drops), each a queue push, a pool thread's wake-up and a cross-thread
//! wake back, plus a copy out of tokio's own buffer into ours. Next to the microsecond system calls of a cached file,
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
//! Tasks spawned on a runtime must own what they use (`'static`), so the hunt gives them
//! its own copy of the file list (a `dup` of the folder's descriptor for a generated
//! data set; a copy of every path for a listed folder) and of the needle's searcher.

#[cfg(feature = "tokio")]
pub use imp::Async;

#[cfg(not(feature = "tokio"))]
pub use off::Async;

#[cfg(feature = "tokio")]
mod imp {
    use crate::fileset::{FileSet, OPEN_FLAGS};
    use crate::scan::{should_stop, Chunk, ChunkedSearch, FileScan, Job, ScanError, Tally, CHUNK};
    use crate::strategy::{Outcome, Strategy, StrategyConfig, StrategyKind};
    use anyhow::{bail, Context};
    use memchr::memmem::Finder;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncReadExt;
    use tokio::task::JoinSet;

    /// K tokio tasks on a runtime of K worker threads.
    pub struct Async {
        runtime: tokio::runtime::Runtime,
        workers: usize,
    }

    impl Async {
        /// Builds the runtime (outside the hunt: a benchmark can time either). Its
        /// blocking pool starts threads lazily, during the first hunt.
        pub fn new(config: &StrategyConfig) -> anyhow::Result<Self> {
            let workers = config.workers.get();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("hunt-async")
                .build()
                .context("could not build the tokio runtime")?;
            Ok(Async { runtime, workers })
        }
    }

    /// What every task shares: its own copy of the job, the cursor and the stop flag.
    struct Shared {
        files: FileSet,
        finder: Finder<'static>,
        rotate: u64,
        cursor: AtomicU64,
        stop: AtomicBool,
        /// Each task's counts, handed over when its future is dropped.
        tallies: Mutex<Vec<Tally>>,
    }

    impl Shared {
        fn job(&self) -> Job<'_> {
            Job {
                files: &self.files,
                finder: &self.finder,
                reader: crate::scan::Reader::Read,
                rotate: self.rotate,
            }
        }
    }

    /// A task's counts; dropping it (the task ended or was aborted) hands them over.
    struct TallyGuard {
        tally: Tally,
        shared: Arc<Shared>,
    }

    impl Drop for TallyGuard {
        fn drop(&mut self) {
            let tally = std::mem::take(&mut self.tally);
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
            StrategyKind::Async.check_reader(job.reader)?;
            let shared = Arc::new(Shared {
                files: job
                    .files
                    .try_clone()
                    .context("could not copy the file list for the tokio tasks")?,
                finder: job.finder.clone().into_owned(),
                rotate: job.rotate,
                cursor: AtomicU64::new(0),
                stop: AtomicBool::new(false),
                tallies: Mutex::new(Vec::with_capacity(self.workers)),
            });
            let mut failures = Vec::new();
            self.runtime.block_on(async {
                let mut set = JoinSet::new();
                for _ in 0..self.workers {
                    set.spawn(hunt_task(Arc::clone(&shared)));
                }
                while let Some(joined) = set.join_next().await {
                    match joined {
                        Ok(true) => set.abort_all(),
                        Ok(false) => {}
                        Err(e) if e.is_cancelled() => {}
                        Err(_) => {
                            shared.stop.store(true, Ordering::Relaxed);
                            failures.push("a tokio hunting task panicked".to_string());
                        }
                    }
                }
            });
            let tallies =
                std::mem::take(&mut *shared.tallies.lock().unwrap_or_else(|e| e.into_inner()));
            let mut outcome = Outcome::from_tallies(tallies);
            if outcome.found().is_none() && !failures.is_empty() {
                bail!(failures.join("; "));
            }
            outcome.worker_failures = failures;
            Ok(outcome)
        }

        fn workers(&self) -> usize {
            self.workers
        }
    }

    /// One hunting task: files from the shared cursor until the end or the stop flag.
    /// Returns true when it found the treasure.
    async fn hunt_task(shared: Arc<Shared>) -> bool {
        let mut guard = TallyGuard {
            tally: Tally::default(),
            shared: Arc::clone(&shared),
        };
        let job = shared.job();
        let mut buf = vec![0u8; CHUNK.max(2 * job.needle_len())];
        loop {
            if should_stop(&shared.stop) {
                return false;
            }
            let pos = shared.cursor.fetch_add(1, Ordering::Relaxed);
            if pos >= job.len() {
                return false;
            }
            let index = job.index_at(pos);
            let result = scan_file(&job, index, &mut buf, &mut guard.tally, &shared.stop).await;
            if guard.tally.record(index, result, &shared.stop) {
                return true;
            }
        }
    }

    /// Opens, reads and closes file `index` with `tokio::fs`.
    async fn scan_file(
        job: &Job<'_>,
        index: u64,
        buf: &mut [u8],
        tally: &mut Tally,
        stop: &AtomicBool,
    ) -> Result<FileScan, ScanError> {
        let os = |e: std::io::Error| ScanError::from_io(&e);
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS)
            .open(job.files.path(index))
            .await
            .map_err(os)?;
        let mut search = ChunkedSearch::new(job.needle_len());
        loop {
            let n = file.read(search.room(buf)).await.map_err(os)?;
            tally.bytes_scanned += n as u64;
            if search.type_unknown(buf.len(), n) && !file.metadata().await.map_err(os)?.is_file() {
                return Err(ScanError::NotRegular);
            }
            match search.take(buf, n, job.finder) {
                Chunk::Found => return Ok(FileScan::Found),
                Chunk::Absent => return Ok(FileScan::Absent),
                Chunk::More if should_stop(stop) => return Ok(FileScan::Stopped),
                Chunk::More => {}
            }
        }
    }
}

#[cfg(not(feature = "tokio"))]
mod off {
    use crate::scan::Job;
    use crate::strategy::{Outcome, Strategy, StrategyConfig};

    /// Stands in for the tokio strategy in a build without the `tokio` feature.
    pub struct Async;

    impl Async {
        /// Always fails: this build has no tokio.
        pub fn new(_config: &StrategyConfig) -> anyhow::Result<Self> {
            anyhow::bail!(
                "hunt was built without the `tokio` feature: rebuild with `cargo build --features tokio`"
            )
        }
    }

    impl Strategy for Async {
        fn hunt(&mut self, _job: &Job<'_>) -> anyhow::Result<Outcome> {
            anyhow::bail!("hunt was built without the `tokio` feature")
        }

        fn workers(&self) -> usize {
            0
        }
    }
}
