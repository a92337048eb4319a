//! The needle search over one file read in chunks into one buffer, whatever does the
//! reading: `pread` in [`super::Scanner`], tokio in `async`, an io_uring completion in
//! `uring`.

use super::buf::{PageBuf, PAGE};
use super::CHUNK;
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
/// reading (`read(2)`, tokio, an io_uring completion).
///
/// The buffer is a head of [`ChunkedSearch::head`] bytes, then the room each read must
/// fill ([`ChunkedSearch::room`], at file offset [`ChunkedSearch::offset`]). The last
/// `needle.len() - 1` bytes of each full chunk are carried to the end of the head, just
/// in front of the room, so a needle straddling two chunks is still found. The head is a
/// whole number of pages, so in a page-aligned buffer ([`super::PageBuf`]) whose room is
/// a whole number of pages every read lands at the same offset within a page as the
/// file bytes it copies (see [`super::buf`] for why that matters).
#[derive(Clone, Debug)]
pub struct ChunkedSearch {
    keep: usize,
    head: usize,
    carried: usize,
    offset: u64,
    first: bool,
}

impl ChunkedSearch {
    /// A search at the start of a file, for a needle of `needle_len` bytes. The buffer it
    /// is used with must be longer than [`ChunkedSearch::head`]`(needle_len)`.
    pub fn new(needle_len: usize) -> Self {
        ChunkedSearch {
            keep: needle_len.saturating_sub(1),
            head: Self::head(needle_len),
            carried: 0,
            offset: 0,
            first: true,
        }
    }

    /// The bytes in front of the room, where the carried-over tail goes: the tail's
    /// `needle_len - 1` bytes rounded up to whole pages (none for a one-byte needle).
    pub fn head(needle_len: usize) -> usize {
        needle_len.saturating_sub(1).div_ceil(PAGE) * PAGE
    }

    /// A zeroed, page-aligned buffer for a needle of `needle_len` bytes: its head and a
    /// room of [`CHUNK`] bytes.
    pub fn buffer(needle_len: usize) -> PageBuf {
        PageBuf::zeroed(Self::head(needle_len) + CHUNK)
    }

    /// The part of `buf` the next read must fill: all of it past the head.
    pub fn room<'b>(&self, buf: &'b mut [u8]) -> &'b mut [u8] {
        &mut buf[self.head..]
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
        self.first && (n == 0 || n == buf_len - self.head)
    }

    /// Takes a read of `n` bytes into [`ChunkedSearch::room`] of `buf` and says what
    /// follows. On [`Chunk::More`] the tail is already carried over for the next read.
    pub fn take(&mut self, buf: &mut [u8], n: usize, finder: &Finder<'_>) -> Chunk {
        let full = n == buf.len() - self.head;
        self.first = false;
        self.offset += n as u64;
        let end = self.head + n;
        if finder.find(&buf[self.head - self.carried..end]).is_some() {
            return Chunk::Found;
        }
        if !full {
            return Chunk::Absent;
        }
        self.carried = self.keep.min(self.carried + n);
        buf.copy_within(end - self.carried..end, self.head - self.carried);
        Chunk::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` through a [`ChunkedSearch`] in reads of at most `room` bytes.
    fn chunked(data: &[u8], needle: &[u8], room: usize) -> (Chunk, u64) {
        let finder = Finder::new(needle);
        let mut buf = vec![0; ChunkedSearch::head(needle.len()) + room];
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
        // Rooms smaller than the carried tail too: the tail then grows over several reads.
        for needle in [&b"T"[..], b"Treasure"] {
            for room in [1usize, 2, 7, 16, 17, 23, 64] {
                for at in 0..100 {
                    let mut data = vec![b'.'; 100 + needle.len()];
                    data[at..at + needle.len()].copy_from_slice(needle);
                    let (end, _) = chunked(&data, needle, room);
                    assert_eq!(end, Chunk::Found, "room {room}, needle at {at}");
                }
                let (end, read) = chunked(&[b'.'; 100], needle, room);
                assert_eq!(end, Chunk::Absent, "room {room}");
                assert_eq!(read, 100, "every byte read once, room {room}");
            }
        }
    }

    #[test]
    fn the_head_is_whole_pages_and_reads_stay_page_aligned() {
        assert_eq!(ChunkedSearch::head(1), 0);
        assert_eq!(ChunkedSearch::head(2), PAGE);
        assert_eq!(ChunkedSearch::head(PAGE + 1), PAGE);
        assert_eq!(ChunkedSearch::head(PAGE + 2), 2 * PAGE);
        let mut buf = ChunkedSearch::buffer(8);
        let mut s = ChunkedSearch::new(8);
        for _ in 0..3 {
            let room = s.room(&mut buf);
            assert_eq!(room.as_ptr() as usize % PAGE, 0);
            assert_eq!(room.len(), CHUNK);
            assert_eq!(s.offset() as usize % PAGE, 0);
            assert_eq!(
                s.take(&mut buf, CHUNK, &Finder::new("Treasure")),
                Chunk::More
            );
        }
    }

    #[test]
    fn only_an_empty_or_full_first_read_leaves_the_type_unknown() {
        let s = ChunkedSearch::new(8);
        let len = ChunkedSearch::head(8) + 64;
        assert!(s.type_unknown(len, 0));
        assert!(s.type_unknown(len, 64));
        assert!(!s.type_unknown(len, 63));
        let mut s = s;
        let mut buf = vec![0; len];
        assert_eq!(s.take(&mut buf, 64, &Finder::new("x")), Chunk::More);
        assert!(!s.type_unknown(len, 0), "asked only after the first read");
    }
}
