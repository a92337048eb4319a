//! `cargo bench --bench floor`: what the kernel and the memory cost before any hunt
//! code runs, so every strategy's figure in `benches/hunt.rs` (and in `hunt race`) can be
//! read against it. Bare `libc` calls on the bench data set (the same one, see
//! `benches/common`), one thread unless a name ends in `x2`; every variant checks that
//! no file holds the absent needle and that it read the manifest's byte count.
//!
//! Small files (the default set, 15 kB each):
//! - `open+close`: the per-file system calls alone;
//! - `open+pread+close`: one `pread` of the whole file into a reused, page-aligned
//!   buffer and the needle search: the sequential hunt without hunt;
//! - `pread-page-offset-16`: the same into a buffer 16 bytes past a page boundary,
//!   where `malloc` puts a large `Vec`. On some AMD hosts the kernel's copy is several
//!   times slower there (see `hunt::scan::PageBuf`; other hosts were not measured);
//! - `pread-64-then-search`: 64 files read into 64 buffers, then the 64 searched, round
//!   after round: the order in which a `uring` worker at the default `--queue-depth`
//!   copies and searches (its copies all happen in one `io_uring_enter`);
//! - `same-file`: `open+pread+close` n times on one file, whose bytes stay in the CPU's caches.
//!   The gap to `open+pread+close` is pulling page-cache bytes from main memory, which
//!   every reader pays.
//!
//! Big files (`HUNT_BENCH_LINES=10000`: the blog preset's 150 kB files), where memory
//! bandwidth is the limit:
//! - `pread-no-search`: the copy out of the page cache alone (its bandwidth);
//! - `pread-64k`: reads of 64 KiB, each searched while it is still in the caches;
//! - `mmap`, `mmap-populate`, `mmap-hugepage`: the file mapped (no copy at all), faulted
//!   in page by page, in one `MAP_POPULATE` call, or with `MADV_HUGEPAGE` asked for, and
//!   searched in place;
//! - `memmem-in-cache`: the needle search alone over one file's bytes, n times: the
//!   matcher's own throughput;
//! - `open+pread+close x2`, `mmap-populate x2`: two threads on halves of the files.
//!
//! Writing (`floor-write`): what `hunt generate` costs against the bare calls that
//! write the same files into a scratch folder beside the data set:
//! - `create+write+close`: `openat(O_CREAT | O_EXCL)`, one `write` of a file's bytes,
//!   `close`, for every file, on one thread and on two (`x2`);
//! - `hunt generate`: the generator itself (the library call, no progress bar), which
//!   also writes its marker and manifest and checks the folder first.
//!
//! Every iteration writes a fresh set and removes it untimed; the page cache takes the
//! writes (nothing is synced), so this is the rate of filling the cache.
//!
//! `HUNT_BENCH_FILES`, `HUNT_BENCH_LINES`, `HUNT_BENCH_QUICK` as for `benches/hunt.rs`.
//! Under `cargo test --all-targets` each variant runs once on a 64-file set.

mod common;
use common::{flat_group, Setup, ABSENT_NEEDLE};
use hunt::scan::{PageBuf, PAGE};
use memchr::memmem::Finder;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

const FLAGS: libc::c_int = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY;

/// The data set's folder, open; closed when dropped.
struct Dir(libc::c_int);

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn open(dir: &Dir, name: &CString) -> libc::c_int {
    // SAFETY: a NUL-terminated name relative to an open folder descriptor.
    let f = unsafe { libc::openat(dir.0, name.as_ptr(), FLAGS) };
    assert!(f >= 0, "floor: cannot open {name:?}");
    f
}

fn close(f: libc::c_int) {
    // SAFETY: f is an open descriptor, closed once.
    unsafe { libc::close(f) };
}

fn pread(f: libc::c_int, buf: &mut [u8], offset: usize) -> usize {
    // SAFETY: buf is valid for buf.len() bytes; f is open.
    let n = unsafe { libc::pread(f, buf.as_mut_ptr().cast(), buf.len(), offset as libc::off_t) };
    assert!(n >= 0, "floor: pread failed");
    n as usize
}

fn size(f: libc::c_int) -> usize {
    // SAFETY: a zeroed stat is valid to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: f is open; st is a valid out-pointer.
    assert_eq!(unsafe { libc::fstat(f, &mut st) }, 0);
    st.st_size as usize
}

/// Maps `len` bytes of `f` read-only with `flags` (and `advice`), searches them, unmaps.
fn mapped(
    f: libc::c_int,
    len: usize,
    flags: libc::c_int,
    advice: Option<libc::c_int>,
    finder: &Finder<'_>,
) {
    if len == 0 {
        return;
    }
    // SAFETY: a read-only private mapping of an open file, unmapped below; the file is
    // not truncated during the bench.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | flags,
            f,
            0,
        );
        assert!(p != libc::MAP_FAILED, "floor: mmap failed");
        if let Some(a) = advice {
            libc::madvise(p, len, a);
        }
        let bytes = std::slice::from_raw_parts(p as *const u8, len);
        assert!(
            finder.find(bytes).is_none(),
            "floor: a file holds the absent needle"
        );
        libc::munmap(p, len);
    }
}

fn main() {
    let setup = Setup::new();
    let m = &setup.manifest;
    let path = CString::new(setup.dir.as_os_str().as_bytes()).expect("no NUL in the data path");
    // SAFETY: a NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | FLAGS) };
    assert!(fd >= 0, "floor: cannot open {}", setup.dir.display());
    let dir = Dir(fd);
    let names: Vec<CString> = (0..m.files)
        .map(|i| CString::new(format!("file_{i}.txt")).expect("no NUL"))
        .collect();
    let same = vec![names[0].clone(); names.len()];
    let finder = Finder::new(ABSENT_NEEDLE);
    // Room for the largest file (the treasure file is its own size) plus one byte, so a
    // full buffer would show a file larger than the manifest says.
    let room = (m.lines as usize + 1) * 16 + 1;
    let total = m.total_bytes;
    let mut c = setup.criterion();
    let mut group = flat_group(&mut c, "floor".to_string(), total);

    group.bench_function("open+close", |b| {
        b.iter(|| names.iter().for_each(|n| close(open(&dir, n))))
    });
    // Whole-file reads, with the search or without it.
    let whole = |list: &[CString], search: bool, buf: &mut [u8]| -> u64 {
        let mut bytes = 0u64;
        for name in list {
            let f = open(&dir, name);
            let n = pread(f, buf, 0);
            close(f);
            assert!(
                n < buf.len(),
                "floor: {name:?} is larger than the manifest says"
            );
            if search {
                assert!(
                    finder.find(&buf[..n]).is_none(),
                    "floor: {name:?} holds the absent needle"
                );
            }
            bytes += n as u64;
        }
        bytes
    };
    // Every buffer is page-aligned unless its name says otherwise, as hunt's are.
    let mut buf = PageBuf::zeroed(room);
    group.bench_function("open+pread+close", |b| {
        b.iter(|| assert_eq!(whole(&names, true, &mut buf), total))
    });
    let mut off = PageBuf::zeroed(room + PAGE);
    group.bench_function("pread-page-offset-16", |b| {
        b.iter(|| assert_eq!(whole(&names, true, &mut off[16..16 + room]), total))
    });
    // uring's pattern: a round copies 64 files into 64 buffers, then searches them.
    let mut bufs: Vec<PageBuf> = (0..64).map(|_| PageBuf::zeroed(room)).collect();
    group.bench_function("pread-64-then-search", |b| {
        b.iter(|| {
            let mut bytes = 0u64;
            for round in names.chunks(64) {
                let mut got = [0usize; 64];
                for ((name, buf), n) in round.iter().zip(&mut bufs).zip(&mut got) {
                    let f = open(&dir, name);
                    *n = pread(f, buf, 0);
                    close(f);
                }
                for (buf, &n) in bufs.iter().zip(&got[..round.len()]) {
                    assert!(
                        finder.find(&buf[..n]).is_none(),
                        "floor: absent needle found"
                    );
                    bytes += n as u64;
                }
            }
            assert_eq!(bytes, total);
        })
    });
    group.bench_function("same-file", |b| b.iter(|| whole(&same, true, &mut buf)));
    group.bench_function("pread-no-search", |b| {
        b.iter(|| assert_eq!(whole(&names, false, &mut buf), total))
    });
    let mut chunk = PageBuf::zeroed(64 << 10);
    group.bench_function("pread-64k", |b| {
        b.iter(|| {
            let mut bytes = 0u64;
            for name in &names {
                let f = open(&dir, name);
                let mut offset = 0;
                loop {
                    let n = pread(f, &mut chunk, offset);
                    assert!(
                        finder.find(&chunk[..n]).is_none(),
                        "floor: absent needle found"
                    );
                    offset += n;
                    if n < chunk.len() {
                        break;
                    }
                }
                close(f);
                bytes += offset as u64;
            }
            assert_eq!(bytes, total);
        })
    });
    for (label, flags, advice) in [
        ("mmap", 0, None),
        ("mmap-populate", libc::MAP_POPULATE, None),
        ("mmap-hugepage", 0, Some(libc::MADV_HUGEPAGE)),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut bytes = 0u64;
                for name in &names {
                    let f = open(&dir, name);
                    let len = size(f);
                    mapped(f, len, flags, advice, &finder);
                    close(f);
                    bytes += len as u64;
                }
                assert_eq!(bytes, total);
            })
        });
    }
    let f = open(&dir, &names[0]);
    let first = pread(f, &mut buf, 0);
    close(f);
    let in_cache = buf[..first].to_vec();
    group.bench_function("memmem-in-cache", |b| {
        b.iter(|| {
            for _ in &names {
                assert!(finder.find(&in_cache).is_none());
            }
        })
    });
    // Two threads, each on half of the files.
    let halves: Vec<&[CString]> = names.chunks(names.len().div_ceil(2)).collect();
    group.bench_function("open+pread+close x2", |b| {
        b.iter(|| {
            let bytes: u64 = std::thread::scope(|s| {
                let hs: Vec<_> = halves
                    .iter()
                    .map(|h| s.spawn(|| whole(h, true, &mut PageBuf::zeroed(room))))
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(bytes, total);
        })
    });
    group.bench_function("mmap-populate x2", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for h in &halves {
                    s.spawn(|| {
                        for name in *h {
                            let f = open(&dir, name);
                            mapped(f, size(f), libc::MAP_POPULATE, None, &finder);
                            close(f);
                        }
                    });
                }
            })
        })
    });
    group.finish();
    write_floor(&mut c, &setup);
    c.final_summary();
}

/// The `floor-write` group (see the module doc).
fn write_floor(c: &mut criterion::Criterion, setup: &Setup) {
    use std::time::{Duration, Instant};
    let m = &setup.manifest;
    let scratch = setup.dir.with_extension("write-floor");
    let _ = std::fs::remove_dir_all(&scratch);
    let content = hunt::dataset::generate::PLAIN_LINE.repeat(m.lines as usize);
    let names: Vec<CString> = (0..m.files)
        .map(|i| CString::new(format!("file_{i}.txt")).expect("no NUL"))
        .collect();
    let mut group = flat_group(c, "floor-write".to_string(), m.files * content.len() as u64);
    let write_all = |dir: &Dir, list: &[CString]| {
        for name in list {
            // SAFETY: a NUL-terminated name in an open folder; the result is checked.
            let f = unsafe {
                libc::openat(
                    dir.0,
                    name.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                    0o644,
                )
            };
            assert!(f >= 0, "floor-write: cannot create {name:?}");
            // SAFETY: content is valid for its length; f is open.
            let n = unsafe { libc::write(f, content.as_ptr().cast(), content.len()) };
            assert_eq!(n, content.len() as isize, "floor-write: short write");
            close(f);
        }
    };
    let fresh = || {
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).expect("a scratch folder");
        let path = CString::new(scratch.as_os_str().as_bytes()).expect("no NUL");
        // SAFETY: a NUL-terminated path; checked.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | FLAGS) };
        assert!(fd >= 0);
        Dir(fd)
    };
    for threads in [1usize, 2] {
        let label = if threads == 1 {
            "create+write+close".to_string()
        } else {
            format!("create+write+close x{threads}")
        };
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let dir = fresh();
                    let parts: Vec<&[CString]> =
                        names.chunks(names.len().div_ceil(threads)).collect();
                    let t = Instant::now();
                    std::thread::scope(|s| {
                        for part in &parts {
                            let dir = &dir;
                            s.spawn(move || write_all(dir, part));
                        }
                    });
                    spent += t.elapsed();
                }
                spent
            })
        });
    }
    group.bench_function("hunt generate", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                drop(fresh());
                let mut spec = hunt::dataset::generate::spec(
                    scratch.clone(),
                    Some(m.files),
                    Some(m.lines),
                    Some(1),
                    None,
                    None,
                    false,
                )
                .expect("a valid spec");
                spec.progress = false;
                let t = Instant::now();
                hunt::dataset::generate::generate(&spec).expect("generate");
                spent += t.elapsed();
            }
            spent
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&scratch);
}
