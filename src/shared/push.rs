//! A connection's queue of pushed frames: Pub/Sub messages, keyspace notifications and MONITOR
//! lines that reach a client without being a reply to one of its requests.
//!
//! The keyspace (which owns the channel table and runs commands in order) appends frames
//! here; the client actor drains them to its socket: at once when it is idle (woken through
//! [`PushQueue::waiter`]), and before the replies of its next batch. Frames are `Bytes`
//! encoded once per publish and shared by every subscriber, so a message to a thousand
//! subscribers is encoded once and never copied per subscriber.
//!
//! The queue is the client's output buffer for pushes: its size is what
//! `client-output-buffer-limit pubsub` bounds (checked at every append, as Redis checks at
//! every reply it adds), and what CLIENT LIST shows as `omem`.

use crate::config::ObufLimit;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// What [`PushQueue::push`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued; the client actor has been woken.
    Queued,
    /// The queue passed its output buffer limit with this frame: the client must be closed
    /// (the queue dropped everything and refuses more).
    OverLimit,
    /// The queue was closed (client closing): the frame was dropped.
    Closed,
}

#[derive(Default)]
struct Inner {
    frames: VecDeque<Bytes>,
    bytes: usize,
    /// Since when the queue has stayed above the soft limit.
    soft_since: Option<Instant>,
    closed: bool,
}

/// A connection's pushed frames, waiting for its actor to write them.
pub struct PushQueue {
    inner: Mutex<Inner>,
    /// A wake-up is pending (the waiter has not drained yet): later pushes need not signal.
    woken: std::sync::atomic::AtomicBool,
    wake_tx: flume::Sender<()>,
    wake_rx: flume::Receiver<()>,
}

impl Default for PushQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl PushQueue {
    /// An empty, open queue.
    pub fn new() -> Self {
        let (wake_tx, wake_rx) = flume::bounded(1);
        PushQueue { inner: Mutex::new(Inner::default()), woken: Default::default(), wake_tx, wake_rx }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a frame, enforcing `limit` (Redis's hard limit at once, the soft limit after
    /// it has been exceeded for its seconds), and wakes the client actor.
    pub fn push(&self, frame: Bytes, limit: ObufLimit) -> Pushed {
        let mut q = self.lock();
        if q.closed {
            return Pushed::Closed;
        }
        q.bytes += frame.len();
        q.frames.push_back(frame);
        if over_limit(&mut q, limit) {
            q.frames.clear();
            q.bytes = 0;
            q.closed = true;
            return Pushed::OverLimit;
        }
        drop(q);
        if !self.woken.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let _ = self.wake_tx.try_send(());
        }
        Pushed::Queued
    }

    /// Moves every queued frame to the end of `out`; returns how many bytes.
    pub fn drain_into(&self, out: &mut BytesMut) -> usize {
        // Cleared before taking the frames: a push after this point wakes the waiter again.
        self.woken.store(false, std::sync::atomic::Ordering::Release);
        let mut q = self.lock();
        let n = q.bytes;
        if n == 0 {
            return 0;
        }
        out.reserve(n);
        for f in q.frames.drain(..) {
            out.extend_from_slice(&f);
        }
        q.bytes = 0;
        q.soft_since = None;
        n
    }

    /// Bytes waiting (CLIENT LIST `omem`, the output limit).
    pub fn pending_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Whether the connection closed (nothing more reaches it).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether frames may be waiting (a wake-up is pending): one atomic load.
    pub fn maybe_pending(&self) -> bool {
        self.woken.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Frames waiting (CLIENT LIST `oll`).
    pub fn pending_frames(&self) -> usize {
        self.lock().frames.len()
    }

    /// Drops what is queued and refuses more (the connection is closing).
    pub fn close(&self) {
        let mut q = self.lock();
        q.frames.clear();
        q.bytes = 0;
        q.closed = true;
        drop(q);
        // Wakes the waiter task so it sees the connection gone and ends.
        let _ = self.wake_tx.try_send(());
    }

    /// Becomes ready when frames were pushed since the last wake-up (at most one pending
    /// wake-up: a burst of pushes wakes the client once).
    pub fn waiter(&self) -> flume::Receiver<()> {
        self.wake_rx.clone()
    }
}

/// Redis's `checkClientOutputBufferLimits` for this queue's size.
fn over_limit(q: &mut Inner, limit: ObufLimit) -> bool {
    let used = q.bytes as u64;
    if limit.hard_limit_bytes > 0 && used >= limit.hard_limit_bytes {
        return true;
    }
    if limit.soft_limit_bytes > 0 && used >= limit.soft_limit_bytes {
        let since = *q.soft_since.get_or_insert_with(Instant::now);
        return since.elapsed().as_secs() >= limit.soft_limit_seconds;
    }
    q.soft_since = None;
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_drains_and_enforces_the_hard_limit() {
        let q = PushQueue::new();
        let lim = ObufLimit { hard_limit_bytes: 10, soft_limit_bytes: 0, soft_limit_seconds: 0 };
        assert_eq!(q.push(Bytes::from_static(b"abcd"), lim), Pushed::Queued);
        assert!(q.waiter().try_recv().is_ok());
        assert_eq!(q.pending_bytes(), 4);
        let mut out = BytesMut::new();
        assert_eq!(q.drain_into(&mut out), 4);
        assert_eq!(&out[..], b"abcd");
        assert_eq!(q.push(Bytes::from_static(b"123456"), lim), Pushed::Queued);
        assert_eq!(q.push(Bytes::from_static(b"7890"), lim), Pushed::OverLimit);
        assert_eq!(q.pending_bytes(), 0);
        assert_eq!(q.push(Bytes::from_static(b"x"), lim), Pushed::Closed);
    }

    #[test]
    fn soft_limit_needs_its_seconds() {
        let q = PushQueue::new();
        let lim = ObufLimit { hard_limit_bytes: 0, soft_limit_bytes: 4, soft_limit_seconds: 0 };
        assert_eq!(q.push(Bytes::from_static(b"abc"), lim), Pushed::Queued);
        assert_eq!(q.push(Bytes::from_static(b"de"), lim), Pushed::OverLimit);
        let q = PushQueue::new();
        let lim = ObufLimit { hard_limit_bytes: 0, soft_limit_bytes: 4, soft_limit_seconds: 60 };
        assert_eq!(q.push(Bytes::from_static(b"abcdef"), lim), Pushed::Queued);
        assert_eq!(q.push(Bytes::from_static(b"g"), lim), Pushed::Queued);
    }
}
