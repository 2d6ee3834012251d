//! The replication buffer: the stream in 16 KiB blocks, shared by the backlog (its one writer)
//! and the replicas' socket writers (readers by offset), as Redis 7.0's `repl_buffer_blocks`.
//!
//! The backlog copies each appended piece into the last block, so the memory held is the
//! blocks themselves, whatever the size of the pieces: a replica that stops reading pins
//! blocks, not one allocation and one queue entry per write. A writer holds a handle to the
//! block it is writing from; bytes below a block's published length never change, so it
//! reads them without a lock.

use std::alloc::{alloc, dealloc, Layout};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use crate::shared::{REPL_BLOCK as BLOCK, REPL_BLOCK_OVERHEAD as BLOCK_OVERHEAD};

/// One block: `BLOCK` bytes, filled from the front by the backlog.
pub struct Block {
    /// Stream offset of the block's first byte.
    start: i64,
    data: *mut u8,
    /// Bytes written and published (readers read below it).
    len: AtomicUsize,
}

// SAFETY: the bytes below `len` are never written again; the bytes above it are written only
// by the buffer's one writer, under the buffer's lock, before `len` is raised (Release) past
// them; readers read only below the `len` they loaded (Acquire).
unsafe impl Send for Block {}
unsafe impl Sync for Block {}

fn layout() -> Layout {
    Layout::from_size_align(BLOCK, 1).unwrap_or_else(|_| Layout::new::<u8>())
}

impl Block {
    fn new(start: i64) -> Block {
        // SAFETY: a non-zero size.
        let data = unsafe { alloc(layout()) };
        if data.is_null() {
            // As any allocation of the process that fails (a Vec's, a Box's).
            std::alloc::handle_alloc_error(layout());
        }
        Block { start, data, len: AtomicUsize::new(0) }
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The published bytes from `from` (clamped).
    pub fn bytes_from(&self, from: usize) -> &[u8] {
        let len = self.len();
        let from = from.min(len);
        // SAFETY: below the published length (see the Sync impl).
        unsafe { std::slice::from_raw_parts(self.data.add(from), len - from) }
    }

    /// Copies as much of `b` as fits; returns how much. Only the buffer's writer calls it,
    /// under the buffer's lock.
    fn fill(&self, b: &[u8]) -> usize {
        let len = self.len.load(Ordering::Relaxed);
        let n = b.len().min(BLOCK - len);
        // SAFETY: above the published length, inside the allocation; no reader reads there.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.data.add(len), n) };
        self.len.store(len + n, Ordering::Release);
        n
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.data, layout()) };
    }
}

/// Bytes of the stream a writer may send: `block`'s bytes from `from` up to its published
/// length.
pub struct Piece {
    block: Arc<Block>,
    from: usize,
}

impl Piece {
    pub fn bytes(&self) -> &[u8] {
        self.block.bytes_from(self.from)
    }
}

/// Where a read at an offset stands.
pub enum Read {
    /// Bytes from the offset on.
    Piece(Piece),
    /// Nothing yet beyond the offset.
    Wait,
    /// The offset is no longer (or not) held: the stream cannot continue from it.
    Gone,
}

struct Inner {
    blocks: Mutex<VecDeque<Arc<Block>>>,
    /// Raised on every append and on `close`.
    grew: event_listener::Event,
    /// Bytes allocated for blocks (with their overhead), for INFO and maxmemory.
    mem: AtomicUsize,
}

/// A handle to the shared buffer (cheap to clone).
#[derive(Clone)]
pub struct ReplBuf(Arc<Inner>);

impl Default for ReplBuf {
    fn default() -> Self {
        ReplBuf(Arc::new(Inner { blocks: Mutex::new(VecDeque::new()), grew: event_listener::Event::new(), mem: AtomicUsize::new(0) }))
    }
}

impl ReplBuf {
    fn blocks(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Block>>> {
        self.0.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mem(&self, blocks: usize) {
        self.0.mem.store(blocks * (BLOCK + BLOCK_OVERHEAD), Ordering::Relaxed);
    }

    /// Memory held by the blocks.
    pub fn memory(&self) -> usize {
        self.0.mem.load(Ordering::Relaxed)
    }

    /// Appends `b`, whose first byte has stream offset `at` (the offset after the last byte
    /// held, or anything when the buffer is empty).
    pub fn append(&self, at: i64, mut b: &[u8]) {
        let mut blocks = self.blocks();
        let mut next = at;
        while !b.is_empty() {
            let room = blocks.back().is_some_and(|l| l.len.load(Ordering::Relaxed) < BLOCK && l.start + l.len.load(Ordering::Relaxed) as i64 == next);
            if !room {
                blocks.push_back(Arc::new(Block::new(next)));
            }
            let Some(last) = blocks.back() else { break };
            let n = last.fill(b);
            b = &b[n..];
            next += n as i64;
        }
        self.set_mem(blocks.len());
        drop(blocks);
        self.0.grew.notify(usize::MAX);
    }

    /// Drops every block (readers keep the ones they hold until they let go).
    pub fn clear(&self) {
        let mut blocks = self.blocks();
        blocks.clear();
        self.set_mem(0);
        drop(blocks);
        self.0.grew.notify(usize::MAX);
    }

    /// Drops the front block if it ends at or before `upto` (the first offset still needed)
    /// and the rest still hold `keep` bytes; returns how many bytes it held.
    pub fn trim_front(&self, upto: i64, keep: usize, end: i64) -> Option<usize> {
        let mut blocks = self.blocks();
        let front = blocks.front()?;
        let n = front.len();
        let front_end = front.start + n as i64;
        let after = (end + 1 - front_end).max(0) as usize;
        if after < keep || front_end > upto {
            return None;
        }
        blocks.pop_front();
        self.set_mem(blocks.len());
        Some(n)
    }

    /// The stream from offset `at` on.
    pub fn read(&self, at: i64) -> Read {
        let blocks = self.blocks();
        let Some(front) = blocks.front() else { return Read::Wait };
        if at < front.start {
            return Read::Gone;
        }
        let idx = ((at - front.start) / BLOCK as i64) as usize;
        let Some(block) = blocks.get(idx) else { return Read::Wait };
        let from = (at - block.start) as usize;
        if block.start > at || from >= block.len() {
            return Read::Wait;
        }
        Read::Piece(Piece { block: block.clone(), from })
    }

    /// A listener woken by the next append (or clear): make it before reading, await it
    /// when the read found nothing.
    pub fn listen(&self) -> event_listener::EventListener {
        self.0.grew.listen()
    }

    /// The last `want` bytes held (for the log).
    pub fn tail(&self, want: usize) -> Vec<u8> {
        let blocks = self.blocks();
        let mut tail: Vec<u8> = Vec::with_capacity(want);
        for b in blocks.iter().rev() {
            if tail.len() >= want {
                break;
            }
            let bytes = b.bytes_from(0);
            let take = (want - tail.len()).min(bytes.len());
            tail.splice(0..0, bytes[bytes.len() - take..].iter().copied());
        }
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(buf: &ReplBuf, mut at: i64) -> Vec<u8> {
        let mut out = Vec::new();
        while let Read::Piece(p) = buf.read(at) {
            out.extend_from_slice(p.bytes());
            at += p.bytes().len() as i64;
        }
        out
    }

    #[test]
    fn appends_span_blocks_and_read_by_offset() {
        let buf = ReplBuf::default();
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut at = 1;
        for piece in data.chunks(1000) {
            buf.append(at, piece);
            at += piece.len() as i64;
        }
        assert_eq!(buf.memory(), 3 * (BLOCK + BLOCK_OVERHEAD));
        assert_eq!(read_all(&buf, 1), data);
        assert_eq!(read_all(&buf, 20_001), data[20_000..]);
        assert!(matches!(buf.read(40_001), Read::Wait));
        assert!(matches!(buf.read(0), Read::Gone));
        // The first block goes once the rest still hold `keep` bytes and nobody needs it.
        assert_eq!(buf.trim_front(i64::MAX, 20_000, 40_000), Some(BLOCK));
        assert!(matches!(buf.read(1), Read::Gone));
        assert_eq!(read_all(&buf, BLOCK as i64 + 1), data[BLOCK..]);
        assert_eq!(buf.trim_front(BLOCK as i64, 0, 40_000), None);
        assert_eq!(buf.tail(5), data[data.len() - 5..]);
    }

    #[test]
    fn a_piece_outlives_clear() {
        let buf = ReplBuf::default();
        buf.append(101, b"hello");
        let Read::Piece(p) = buf.read(103) else { panic!("no piece") };
        buf.clear();
        assert_eq!(p.bytes(), b"llo");
        assert!(matches!(buf.read(103), Read::Wait));
        assert_eq!(buf.memory(), 0);
    }
}
