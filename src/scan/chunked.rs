//! The needle search over one file read in chunks into one buffer, whatever does the
//! reading: `pread` in [`super::Scanner`], tokio in `async`, an io_uring completion in
//! `uring`.

use memchr::memmem::Finder;

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
