//! The backlog actor: the replication stream's ring buffer and its fan-out to replicas.
//!
//! The keyspace is the only sender of `Append`, so the backlog holds the stream in order. A
//! replica subscribes from an offset: the backlog sends it the bytes it still has from there
//! and then every new chunk, in the same handler, so no byte is lost or doubled between the
//! catch-up and the live stream. Chunks are `Bytes`: fan-out copies no data.

use super::replica::{Replica, Stream};
use crate::rt::{async_trait, Actor, Addr, Context, Handler, Message};
use crate::shared::Shared;
use crate::trace_msg;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Largest piece of the stream kept as one chunk.
const BLOCK: usize = 16 * 1024;

pub struct Backlog {
    shared: Arc<Shared>,
    chunks: VecDeque<Bytes>,
    histlen: usize,
    /// Offset of the first byte held (meaningful when histlen > 0).
    first: i64,
    /// Offset of the last byte appended (master_repl_offset).
    end: i64,
    subscribers: Vec<(u64, Addr<Replica>)>,
}

impl Backlog {
    pub fn new(shared: Arc<Shared>) -> Self {
        Backlog { shared, chunks: VecDeque::new(), histlen: 0, first: 1, end: 0, subscribers: vec![] }
    }

    fn publish(&self) {
        self.shared.repl.backlog_first.store(if self.histlen > 0 { self.first } else { self.end + 1 }, Relaxed);
        self.shared.repl.backlog_histlen.store(self.histlen as i64, Relaxed);
    }

    fn trim(&mut self) {
        let size = self.shared.cfg().repl_backlog_size() as usize;
        while let Some(front) = self.chunks.front() {
            if self.histlen - front.len() < size {
                break;
            }
            self.histlen -= front.len();
            self.first += front.len() as i64;
            self.chunks.pop_front();
        }
    }

    /// Bytes from `from` (inclusive) to the end.
    fn range_from(&self, from: i64) -> Bytes {
        let mut skip = (from - self.first) as usize;
        let mut out = BytesMut::with_capacity(self.histlen - skip.min(self.histlen));
        for c in &self.chunks {
            if skip >= c.len() {
                skip -= c.len();
                continue;
            }
            out.extend_from_slice(&c[skip..]);
            skip = 0;
        }
        out.freeze()
    }
}

impl Actor for Backlog {}

/// New stream bytes from the keyspace.
pub struct Append(pub Bytes);
impl Message for Append {
    type Result = ();
}

/// Start the backlog (again) at `offset`: the next byte appended has offset `offset + 1`.
pub struct Reset {
    pub offset: i64,
}
impl Message for Reset {
    type Result = ();
}

/// Send `replica` the stream from offset `from`, then every new byte. Err when the backlog
/// no longer (or never) held `from`.
pub struct Subscribe {
    pub id: u64,
    pub replica: Addr<Replica>,
    pub from: i64,
}
impl Message for Subscribe {
    type Result = Result<usize, ()>;
}

pub struct Unsubscribe(pub u64);
impl Message for Unsubscribe {
    type Result = ();
}

/// Disconnect every subscribed replica (the dataset's history changed under them).
pub struct DropAll;
impl Message for DropAll {
    type Result = ();
}

#[async_trait]
impl Handler<Append> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Append) {
        let b = msg.0;
        if b.is_empty() {
            return;
        }
        trace_msg!("keyspace", "backlog", "Append({} bytes)", b.len());
        if self.histlen == 0 {
            self.first = self.end + 1;
        }
        self.end += b.len() as i64;
        self.histlen += b.len();
        // Held in blocks of at most 16 KiB (slices, no copy), so trimming keeps the backlog
        // within a block of its configured size, as Redis's block list does.
        let mut at = 0;
        while at < b.len() {
            let end = (at + BLOCK).min(b.len());
            self.chunks.push_back(b.slice(at..end));
            at = end;
        }
        self.trim();
        self.publish();
        self.subscribers.retain(|(id, r)| {
            trace_msg!("backlog", format_args!("replica:{}", id), "Stream({} bytes)", b.len());
            r.send(Stream(b.clone())).is_ok()
        });
    }
}

#[async_trait]
impl Handler<Reset> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Reset) {
        trace_msg!("keyspace", "backlog", "Reset(offset={})", msg.offset);
        self.chunks.clear();
        self.histlen = 0;
        self.end = msg.offset;
        self.first = msg.offset + 1;
        self.publish();
    }
}

#[async_trait]
impl Handler<Subscribe> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Subscribe) -> Result<usize, ()> {
        trace_msg!("keyspace", "backlog", "Subscribe(replica:{}, from={})", msg.id, msg.from);
        let lowest = if self.histlen > 0 { self.first } else { self.end + 1 };
        if msg.from < lowest || msg.from > self.end + 1 {
            return Err(());
        }
        let catch_up = if msg.from <= self.end { self.range_from(msg.from) } else { Bytes::new() };
        let n = catch_up.len();
        if n > 0 {
            let _ = msg.replica.send(Stream(catch_up));
        }
        self.subscribers.retain(|(id, _)| *id != msg.id);
        self.subscribers.push((msg.id, msg.replica));
        Ok(n)
    }
}

#[async_trait]
impl Handler<Unsubscribe> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Unsubscribe) {
        trace_msg!(format_args!("replica:{}", msg.0), "backlog", "Unsubscribe");
        self.subscribers.retain(|(id, _)| *id != msg.0);
    }
}

#[async_trait]
impl Handler<DropAll> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: DropAll) {
        trace_msg!("keyspace", "backlog", "DropAll({} replicas)", self.subscribers.len());
        for (_, r) in self.subscribers.drain(..) {
            let _ = r.send(super::replica::Close);
        }
    }
}
