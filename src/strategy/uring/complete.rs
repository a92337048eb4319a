//! What each completion means for its slot: the steps of one file (open, type check,
//! reads, close) as the kernel reports them done, failed or cancelled.

use super::worker::{Op, Worker};
use crate::hooks;
use crate::scan::{is_regular, should_stop, Chunk, FileScan, ScanError};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;

/// Why a slot asked for a plain descriptor of its direct one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Install {
    /// The first read of this many bytes came back empty or full: check the type.
    TypeCheck(usize),
    /// A read said `EAGAIN`: clear `O_NONBLOCK`.
    Blocking,
}

impl Worker<'_, '_> {
    /// Moves slot `slot` on after its operation `op` completed with `res`.
    pub(super) fn complete(&mut self, slot: usize, op: Op, res: i32, stop: &AtomicBool) {
        match op {
            Op::Open => self.opened(slot, res, stop),
            Op::Check => self.checked(slot, res),
            Op::Read => self.read_done(slot, res, stop),
            Op::Install => self.installed(slot, res, stop),
            Op::Close => self.closed(slot, stop),
        }
    }

    fn opened(&mut self, slot: usize, res: i32, stop: &AtomicBool) {
        let linked = self.features.link;
        match res {
            // Its error waits for the cancelled read.
            _ if res < 0 && linked => {
                self.slots[slot].chain_error = Some(ScanError::from_errno(-res))
            }
            _ if res < 0 => self.finish(slot, fail(res), stop),
            _ => {
                self.slots[slot].fd = if self.features.fixed_files { slot as RawFd } else { res };
                if let Some(fault) = crate::fault::armed() {
                    // `kill-worker`: the ring lets go of everything first (`let_go`).
                    let index = self.slots[slot].index;
                    fault.at_open_letting_go(index, || self.let_go());
                }
                // Tests only: the whole lane waits, as a `threads` worker would.
                hooks::pause(self.slow, stop);
                if should_stop(stop) {
                    // Opened too late: close it unread, uncounted (a linked read
                    // still lands, and is dropped when it does).
                    if linked {
                        self.slots[slot].discard = true;
                    } else {
                        self.start_close(slot, None);
                    }
                } else if !linked {
                    let entry = self.check_entry(slot);
                    self.push(slot, Op::Check, entry);
                }
            }
        }
    }

    fn checked(&mut self, slot: usize, res: i32) {
        let linked = self.features.link;
        match res {
            // The open failed: its error waits for the cancelled read.
            _ if res == -libc::ECANCELED && linked => {}
            _ if res < 0 && linked => {
                self.slots[slot].chain_error = Some(ScanError::from_errno(-res))
            }
            _ if res < 0 => self.start_close(slot, Some(fail(res))),
            _ if self.features.statx => {
                let mode = u32::from(self.slots[slot].stat.stx_mode);
                match mode & libc::S_IFMT {
                    libc::S_IFREG => self.start_read(slot),
                    // What a read of it would say, as the other strategies do.
                    libc::S_IFDIR => self.start_close(slot, Some(Err(ScanError::Os(libc::EISDIR)))),
                    _ => self.start_close(slot, Some(Err(ScanError::NotRegular))),
                }
            }
            // The read is already queued behind the check.
            _ if linked => {}
            _ => self.start_read(slot),
        }
    }

    fn read_done(&mut self, slot: usize, res: i32, stop: &AtomicBool) {
        match res {
            // The chain broke at its open or its check: report why, closing what opened.
            _ if res == -libc::ECANCELED && self.features.link => {
                let s = &self.slots[slot];
                let e = Err(s.chain_error.unwrap_or(ScanError::Os(libc::ECANCELED)));
                if s.fd < 0 {
                    self.finish(slot, e, stop)
                } else {
                    self.start_close(slot, Some(e))
                }
            }
            _ if self.slots[slot].discard => self.start_close(slot, None),
            _ if res == -libc::EINTR => self.start_read(slot),
            _ if res == -libc::EAGAIN => self.read_blocking_from_now(slot),
            _ if res < 0 => self.start_close(slot, Some(fail(res))),
            _ => {
                let n = res as usize;
                self.tally.bytes_scanned += n as u64;
                self.slots[slot].traced.2 += n as u64;
                let buf_len = self.bufs[slot].len();
                // An empty or full first read cannot tell a file from a device that
                // allows reads at an offset (`fadvise` passes those): check its type,
                // as the `read` reader does. `statx` already did.
                if !self.features.statx && self.slots[slot].search.type_unknown(buf_len, n) {
                    if self.features.fixed_files {
                        return self.start_install(slot, Install::TypeCheck(n));
                    }
                    // SAFETY: the descriptor is open until this slot's close.
                    let fd = unsafe { BorrowedFd::borrow_raw(self.slots[slot].fd) };
                    return self.search_if_regular(slot, n, is_regular(fd), stop);
                }
                self.search_read(slot, n, stop);
            }
        }
    }

    fn installed(&mut self, slot: usize, res: i32, stop: &AtomicBool) {
        if res < 0 {
            return self.start_close(slot, Some(fail(res)));
        }
        // SAFETY: the kernel just gave us this descriptor; it is ours to close.
        let fd = unsafe { OwnedFd::from_raw_fd(res) };
        match self.slots[slot].install {
            Install::TypeCheck(n) => self.search_if_regular(slot, n, is_regular(fd.as_fd()), stop),
            Install::Blocking => self.read_again_if(slot, clear_nonblock(fd.as_fd())),
        }
    }

    /// A failed close of a file only read changes nothing we report.
    fn closed(&mut self, slot: usize, stop: &AtomicBool) {
        match self.slots[slot].result.take() {
            Some(r) => self.finish(slot, r, stop),
            None => self.free_slot(slot),
        }
    }

    /// After a type check of the file whose first read gave `n` bytes: searches them if
    /// it is a regular file, closes it with the reason otherwise.
    fn search_if_regular(
        &mut self,
        slot: usize,
        n: usize,
        regular: Result<bool, ScanError>,
        stop: &AtomicBool,
    ) {
        match regular {
            Ok(true) => self.search_read(slot, n, stop),
            Ok(false) => self.start_close(slot, Some(Err(ScanError::NotRegular))),
            Err(e) => self.start_close(slot, Some(Err(e))),
        }
    }

    /// Reads again once `O_NONBLOCK` is cleared, or closes the file with the reason.
    fn read_again_if(&mut self, slot: usize, cleared: Result<(), ScanError>) {
        match cleared {
            Ok(()) => self.start_read(slot),
            Err(e) => self.start_close(slot, Some(Err(e))),
        }
    }

    /// Searches the `n` bytes slot `slot` just read and queues what follows.
    fn search_read(&mut self, slot: usize, n: usize, stop: &AtomicBool) {
        let s = &mut self.slots[slot];
        let buf = &mut self.bufs[slot];
        match s.search.take(buf, n, self.job.finder) {
            Chunk::Found => self.start_close(slot, Some(Ok(FileScan::Found))),
            Chunk::Absent => self.start_close(slot, Some(Ok(FileScan::Absent))),
            Chunk::More if should_stop(stop) => self.start_close(slot, Some(Ok(FileScan::Stopped))),
            Chunk::More => self.start_read(slot),
        }
    }

    /// Our files are opened `O_NONBLOCK` (so a pipe put in a file's place cannot hang
    /// the open), and some kernels (before 5.12ish, or on filesystems without
    /// non-blocking reads) then answer a read of uncached data with `EAGAIN`
    /// instead of waiting for the disk. A regular file gets its `O_NONBLOCK`
    /// cleared and the read goes again; anything else is refused, as the `read`
    /// reader refuses it. A direct descriptor is first installed as a plain one.
    fn read_blocking_from_now(&mut self, slot: usize) {
        if self.features.fixed_files {
            return self.start_install(slot, Install::Blocking);
        }
        // SAFETY: the descriptor is open until this slot's close.
        let fd = unsafe { BorrowedFd::borrow_raw(self.slots[slot].fd) };
        self.read_again_if(slot, clear_nonblock(fd));
    }
}

/// A failed operation's result: its errno.
fn fail(res: i32) -> Result<FileScan, ScanError> {
    Err(ScanError::from_errno(-res))
}

/// Clears `O_NONBLOCK` on a regular file; refuses anything else.
fn clear_nonblock(fd: BorrowedFd<'_>) -> Result<(), ScanError> {
    if !is_regular(fd)? {
        return Err(ScanError::NotRegular);
    }
    let fd = fd.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor we hold.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if cleared {
        Ok(())
    } else {
        Err(ScanError::Os(libc::EAGAIN))
    }
}
