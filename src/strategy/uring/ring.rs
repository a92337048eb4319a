//! The rings: which io_uring features a hunt uses (`--ring`), each worker's ring and
//! read buffers (made once, in `Uring::new`), and the check that the kernel has every
//! operation those features need.

use crate::scan::PageBuf;
use anyhow::{anyhow, bail};
use io_uring::{opcode, IoUring, Probe};

/// The io_uring features a hunt uses (`--ring`). See the module doc for what each does
/// and results/uring-features.md for what each was measured to give.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Features {
    /// Check the type with `statx` (always run on a kernel worker thread) instead of
    /// `fadvise` (run inline).
    pub(super) statx: bool,
    /// Open into the ring's own file table (direct descriptors) instead of the
    /// process's.
    pub(super) fixed_files: bool,
    /// Queue open -> fadvise -> read as one linked chain.
    pub(super) link: bool,
    /// Read into buffers registered with the ring.
    pub(super) fixed_buffers: bool,
    /// `IORING_SETUP_COOP_TASKRUN`: no interrupt to run completion work.
    pub(super) coop_taskrun: bool,
}

impl Features {
    /// The default: what measured best on both data sets.
    pub(super) const DEFAULT: Features = Features {
        statx: false,
        fixed_files: true,
        link: false,
        fixed_buffers: false,
        coop_taskrun: false,
    };

    pub(super) fn parse(text: Option<&str>) -> anyhow::Result<Features> {
        let Some(text) = text else {
            return Ok(Features::DEFAULT);
        };
        let mut f = Features::default();
        for word in text.split(',').map(str::trim) {
            match word {
                "plain" => {}
                "statx" => f.statx = true,
                "fixed-files" => f.fixed_files = true,
                "link" => f.link = true,
                "fixed-buffers" => f.fixed_buffers = true,
                "coop-taskrun" => f.coop_taskrun = true,
                _ => bail!(
                    "--ring {text:?}: unknown feature {word:?}; use a comma-separated list of \
                     fixed-files, link, fixed-buffers, coop-taskrun, statx, or plain"
                ),
            }
        }
        if f.link && !f.fixed_files {
            bail!("--ring link needs fixed-files (the read names the descriptor before the open returns it): add fixed-files");
        }
        if f.statx && f.fixed_files {
            bail!("--ring statx cannot check a direct descriptor: drop statx or fixed-files");
        }
        Ok(f)
    }
}

/// One worker's ring and its slots' read buffers, made once in `new` so a hunt
/// allocates nothing (and never zeroes `--queue-depth` buffers again).
pub(super) struct Lane {
    pub(super) ring: IoUring,
    pub(super) bufs: Vec<PageBuf>,
    /// The length of each buffer registered with the ring (`fixed-buffers`); 0 for none.
    pub(super) registered: usize,
}

impl Lane {
    pub(super) fn register_buffers(&mut self) -> anyhow::Result<()> {
        if self.registered != 0 {
            let _ = self.ring.submitter().unregister_buffers();
            self.registered = 0;
        }
        let iovecs: Vec<libc::iovec> = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: the buffers live in `self.bufs`, are never resized without
        // registering again, and outlive the ring's use of them (a hunt returns with
        // nothing in flight).
        unsafe { self.ring.submitter().register_buffers(&iovecs) }.map_err(|e| {
            anyhow!(
                "io_uring cannot register its read buffers ({e}): raise `ulimit -l` \
                 or drop fixed-buffers from --ring"
            )
        })?;
        self.registered = self.bufs.first().map_or(0, |b| b.len());
        Ok(())
    }
}

pub(super) fn unavailable(why: &str) -> anyhow::Error {
    anyhow!("io_uring is not available here ({why}): use another --strategy")
}

pub(super) fn check_opcodes(ring: &IoUring, features: Features) -> anyhow::Result<()> {
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| unavailable(&format!("cannot probe its operations: {e}")))?;
    let check = if features.statx {
        (opcode::Statx::CODE, "statx")
    } else {
        (opcode::Fadvise::CODE, "fadvise")
    };
    let read = if features.fixed_buffers {
        (opcode::ReadFixed::CODE, "read_fixed")
    } else {
        (opcode::Read::CODE, "read")
    };
    let mut needed = vec![(opcode::OpenAt::CODE, "openat"), check, read];
    needed.push((opcode::Close::CODE, "close"));
    if features.fixed_files {
        // Turns a direct descriptor into a plain one for the rare `fstat` and `fcntl`.
        needed.push((opcode::FixedFdInstall::CODE, "fixed_fd_install (Linux 6.8)"));
    }
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Err(unavailable(&format!(
                "the kernel's io_uring has no {name}; try --ring plain"
            )));
        }
    }
    Ok(())
}
