//! What a slot queues next: its file's open, the type check, a read, a close, or the
//! install of a direct descriptor as a plain one; each entry built for the features in
//! use (direct descriptors, registered buffers, a linked chain).

use super::complete::Install;
use super::worker::{Op, Worker};
use crate::fileset::OPEN_FLAGS;
use crate::scan::{ChunkedSearch, FileScan, ScanError};
use io_uring::squeue::Flags;
use io_uring::{opcode, types};
use std::os::fd::RawFd;

impl Worker<'_, '_> {
    /// The slot's file as an operation's target: its direct descriptor or its fd.
    pub(super) fn target(&self, slot: usize) -> Target {
        if self.features.fixed_files {
            Target::Fixed(slot as u32)
        } else {
            Target::Fd(self.slots[slot].fd)
        }
    }

    pub(super) fn start_open(&mut self, slot: usize, index: u64) {
        let s = &mut self.slots[slot];
        s.index = index;
        s.fd = -1;
        s.result = None;
        s.chain_error = None;
        s.discard = false;
        s.search = ChunkedSearch::new(self.job.needle_len());
        let target = self
            .job
            .files
            .open_at(index, &mut s.name, &mut s.parent)
            .map(|(dirfd, name)| (dirfd, name.as_ptr()));
        let (dirfd, name) = match target {
            Ok(t) => t,
            Err(errno) => {
                self.tally.errors.push(crate::scan::FileError {
                    index,
                    error: ScanError::Os(errno),
                });
                self.free.push(slot);
                return;
            }
        };
        let mut open = opcode::OpenAt::new(types::Fd(dirfd), name).flags(OPEN_FLAGS);
        if self.features.fixed_files {
            // The slot's own entry in the ring's file table; its last file was closed.
            // A direct descriptor is never inherited, and the kernel refuses
            // `O_CLOEXEC` on one.
            open = open.flags(OPEN_FLAGS & !libc::O_CLOEXEC);
            open = open.file_index(types::DestinationSlot::try_from_slot_target(slot as u32).ok());
        }
        if !self.features.link {
            return self.push(slot, Op::Open, open.build());
        }
        // A soft link: a failed open cancels the check and the read, and a failed
        // check (a pipe's ESPIPE) cancels the read, so no byte is taken from a pipe.
        self.push(slot, Op::Open, open.build().flags(Flags::IO_LINK));
        let check = self.check_entry(slot).flags(Flags::IO_LINK);
        self.push(slot, Op::Check, check);
        let read = self.read_entry(slot);
        self.push(slot, Op::Read, read);
    }

    /// The type check. `fadvise` of a pipe fails with `ESPIPE`, as `pread` does, and
    /// runs inline; `statx` (`--ring statx`) is always sent to a kernel worker thread.
    pub(super) fn check_entry(&mut self, slot: usize) -> io_uring::squeue::Entry {
        if self.features.statx {
            let s = &mut self.slots[slot];
            return opcode::Statx::new(
                types::Fd(s.fd),
                c"".as_ptr(),
                (&mut s.stat as *mut libc::statx).cast(),
            )
            .flags(libc::AT_EMPTY_PATH)
            .mask(libc::STATX_TYPE)
            .build();
        }
        match self.target(slot) {
            Target::Fixed(i) => opcode::Fadvise::new(types::Fixed(i), 0, libc::POSIX_FADV_NORMAL),
            Target::Fd(fd) => opcode::Fadvise::new(types::Fd(fd), 0, libc::POSIX_FADV_NORMAL),
        }
        .build()
    }

    pub(super) fn read_entry(&mut self, slot: usize) -> io_uring::squeue::Entry {
        let target = self.target(slot);
        let s = &mut self.slots[slot];
        let offset = s.search.offset();
        let room = s.search.room(&mut self.bufs[slot]);
        let (ptr, len) = (room.as_mut_ptr(), room.len() as u32);
        match (target, self.features.fixed_buffers) {
            (Target::Fixed(i), true) => {
                opcode::ReadFixed::new(types::Fixed(i), ptr, len, slot as u16).offset(offset).build()
            }
            (Target::Fixed(i), false) => {
                opcode::Read::new(types::Fixed(i), ptr, len).offset(offset).build()
            }
            (Target::Fd(fd), true) => {
                opcode::ReadFixed::new(types::Fd(fd), ptr, len, slot as u16).offset(offset).build()
            }
            (Target::Fd(fd), false) => opcode::Read::new(types::Fd(fd), ptr, len).offset(offset).build(),
        }
    }

    pub(super) fn start_read(&mut self, slot: usize) {
        let entry = self.read_entry(slot);
        self.push(slot, Op::Read, entry);
    }

    pub(super) fn start_close(&mut self, slot: usize, result: Option<Result<FileScan, ScanError>>) {
        self.slots[slot].result = result;
        let entry = match self.target(slot) {
            Target::Fixed(i) => opcode::Close::new(types::Fixed(i)).build(),
            Target::Fd(fd) => opcode::Close::new(types::Fd(fd)).build(),
        };
        self.push(slot, Op::Close, entry);
    }

    pub(super) fn start_install(&mut self, slot: usize, why: Install) {
        self.slots[slot].install = why;
        let entry = opcode::FixedFdInstall::new(types::Fixed(slot as u32), 0).build();
        self.push(slot, Op::Install, entry);
    }
}

/// What an operation names the slot's file by.
#[derive(Copy, Clone)]
pub(super) enum Target {
    Fd(RawFd),
    Fixed(u32),
}
