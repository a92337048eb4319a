//! [`PageBuf`]: the buffer every reader reads a file into, page-aligned so the kernel's
//! copy out of the page cache runs at full speed.
//!
//! # Why the alignment matters
//! `read` copies a cached page into the buffer with `rep movsb`. On some AMD EPYC hosts
//! (this project's machine on 2026-12-03) that copy is about four times slower when the
//! destination sits a few bytes past the source's offset within a page: with the
//! source page-aligned, destinations at page offsets 16 and 24 were slow and offsets 0,
//! 40, 64 and 4088 fast (a throwaway program; results/read-alignment.md has hunt before
//! and after, and the floor bench's `pread-page-offset-16`). `malloc` hands out large blocks
//! (128 KiB and more, from `mmap`) at page offset 16, after its header, so a `Vec` read
//! buffer lands exactly in the slow case. hunt therefore reads into anonymous mappings
//! (page-aligned, zeroed lazily by the kernel like `calloc`'s large blocks), at
//! file offsets that are whole pages: see [`super::ChunkedSearch`], which keeps the
//! carried-over needle tail in front of the room it reads into.
//!
//! `hunt generate` writes from plain `Vec`s: timed before and after page-aligning them
//! (results/generate-alignment.md, onto a tmpfs), it was the same within a few percent on both
//! data sets, so the copy into the page cache showed no such slow path here.

use memmap2::MmapMut;
use std::ops::{Deref, DerefMut};

/// The size of a page on the machines hunt targets (x86-64 and arm64 with 4 KiB pages).
/// Alignment to it is a speed matter, never a correctness one.
pub const PAGE: usize = 4096;

/// A zeroed, page-aligned byte buffer (an anonymous mapping), or an empty one that maps
/// nothing (the [`Default`], so `std::mem::take` can lend a buffer out for free).
#[derive(Default)]
pub struct PageBuf(Option<MmapMut>);

impl PageBuf {
    /// A zeroed buffer of `len` bytes. Pages are mapped on first touch, so a worker that
    /// only ever reads small files touches little of it. Like a `Vec`, it aborts the
    /// process if the memory cannot be had.
    pub fn zeroed(len: usize) -> Self {
        if len == 0 {
            return PageBuf(None);
        }
        match MmapMut::map_anon(len) {
            Ok(map) => PageBuf(Some(map)),
            Err(_) => std::alloc::handle_alloc_error(
                std::alloc::Layout::from_size_align(len, PAGE).expect("PAGE is a power of two"),
            ),
        }
    }

    /// A buffer with no bytes, for a reader that reads none (`mmap`).
    pub fn empty() -> Self {
        PageBuf(None)
    }
}

impl Deref for PageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl DerefMut for PageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0.as_deref_mut().unwrap_or_default()
    }
}

impl std::fmt::Debug for PageBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageBuf({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_page_aligned_zeroed_and_writable() {
        for len in [1, 100, PAGE, 256 * 1024 + PAGE] {
            let mut b = PageBuf::zeroed(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % PAGE, 0, "len {len}");
            assert!(b.iter().all(|&x| x == 0));
            b[len - 1] = 7;
            assert_eq!(b[len - 1], 7);
        }
        assert!(PageBuf::empty().is_empty());
        assert!(PageBuf::zeroed(0).is_empty());
    }
}
