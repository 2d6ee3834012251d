//! Streams in RDB files: `RDB_TYPE_STREAM_LISTPACKS` (15, Redis 5-6) and
//! `RDB_TYPE_STREAM_LISTPACKS_2` (19, Redis 7.0), written as 19.
//!
//! Each node is a listpack with Redis's layout: the master entry (`count`, `deleted`,
//! `num-fields`, the fields, `0`), then per entry `flags`, `ms-diff`, `seq-diff`, the values
//! (SAMEFIELDS) or `num-fields` and the pairs, and `lp-count`. Then the stream's counters,
//! and the consumer groups with their PEL (raw 16-byte IDs, delivery time, count) and
//! consumers (name, seen time, their PEL IDs).

use super::listpack::{self, ListpackBuilder, LpEntry};
use super::reader::RdbReader;
use super::writer::RdbWriter;
use super::RdbError;
use crate::stream::node::{FLAG_DELETED, FLAG_SAMEFIELDS};
use crate::stream::{Consumer, Group, Nack, Node, Stream, StreamId, INVALID_ENTRIES_READ};
use bytes::Bytes;
use std::io::{Read, Write};

/// A node as Redis's listpack.
pub fn node_listpack(master: StreamId, node: &Node) -> Vec<u8> {
    let mut lp = ListpackBuilder::new();
    let fields = node.master_fields();
    lp.push_int(node.count as i64);
    lp.push_int(node.deleted as i64);
    lp.push_int(fields.len() as i64);
    for f in &fields {
        lp.push(f);
    }
    lp.push_int(0);
    for e in node.entries(master) {
        lp.push_int(e.flags as i64);
        lp.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
        if e.flags & FLAG_SAMEFIELDS != 0 {
            for (_, v) in &e.fields {
                lp.push(v);
            }
            lp.push_int(e.fields.len() as i64 + 3);
        } else {
            lp.push_int(e.fields.len() as i64);
            for (f, v) in &e.fields {
                lp.push(f);
                lp.push(v);
            }
            lp.push_int(2 * e.fields.len() as i64 + 4);
        }
    }
    lp.finish()
}

fn corrupt<T>(what: &str) -> Result<T, RdbError> {
    Err(RdbError::Corrupt(format!("invalid stream: {what}")))
}

enum El<'a> {
    S(&'a [u8]),
    I(i64),
}

impl El<'_> {
    fn int(&self) -> Result<i64, RdbError> {
        match self {
            El::I(i) => Ok(*i),
            El::S(s) => match std::str::from_utf8(s).ok().and_then(|t| t.parse().ok()) {
                Some(i) => Ok(i),
                None => corrupt("integer expected in a node"),
            },
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            El::I(i) => i.to_string().into_bytes(),
            El::S(s) => s.to_vec(),
        }
    }
}

/// Parses one node's listpack.
pub fn node_from_listpack(master: StreamId, lp: &[u8]) -> Result<Node, RdbError> {
    let mut els = Vec::new();
    listpack::parse(lp, |e| {
        els.push(match e {
            LpEntry::Str(s) => El::S(s),
            LpEntry::Int(i) => El::I(i),
        })
    })
    .map_err(|e| RdbError::Corrupt(format!("Stream listpack integrity check failed: {e}")))?;
    let mut it = els.iter();
    let mut next = || it.next().map_or_else(|| corrupt("node ends early"), Ok);
    let _count = next()?.int()?;
    let _deleted = next()?.int()?;
    let nf = next()?.int()?;
    if !(0..=1 << 20).contains(&nf) {
        return corrupt("master field count");
    }
    let mut master_fields = Vec::new();
    for _ in 0..nf {
        master_fields.push(next()?.bytes());
    }
    if next()?.int()? != 0 {
        return corrupt("master entry terminator");
    }
    let mut node = Node::new(master_fields.iter().map(|f| &f[..]));
    let mut left = els.len() - (4 + nf as usize);
    let mut rest = els[4 + nf as usize..].iter();
    let mut take = || rest.next().map_or_else(|| corrupt("entry ends early"), Ok);
    while left > 0 {
        let flags = take()?.int()?;
        let ms = master.ms.wrapping_add(take()?.int()? as u64);
        let seq = master.seq.wrapping_add(take()?.int()? as u64);
        let mut pairs: Vec<Vec<u8>> = Vec::new();
        let used;
        if flags & FLAG_SAMEFIELDS as i64 != 0 {
            for f in &master_fields {
                pairs.push(f.clone());
                pairs.push(take()?.bytes());
            }
            used = 3 + nf as usize;
        } else {
            let n = take()?.int()?;
            if !(0..=1 << 20).contains(&n) {
                return corrupt("entry field count");
            }
            for _ in 0..2 * n {
                pairs.push(take()?.bytes());
            }
            used = 4 + 2 * n as usize;
        }
        let _lp_count = take()?;
        left = match left.checked_sub(used + 1) {
            Some(l) => l,
            None => return corrupt("entry overruns the node"),
        };
        let refs: Vec<&[u8]> = pairs.iter().map(|p| &p[..]).collect();
        node.push(master, StreamId::new(ms, seq), &refs, flags & FLAG_DELETED as i64 != 0);
    }
    if node.count + node.deleted == 0 {
        return corrupt("empty node");
    }
    Ok(node)
}

impl<W: Write> RdbWriter<W> {
    /// The body of a type-19 stream.
    pub(super) fn write_stream(&mut self, s: &Stream) {
        self.write_len(s.nodes.len() as u64);
        for (master, node) in &s.nodes {
            self.write_string(&master.to_be_bytes());
            let lp = node_listpack(*master, node);
            self.write_string(&lp);
        }
        for v in [s.length, s.last_id.ms, s.last_id.seq, s.first_id.ms, s.first_id.seq, s.max_deleted_id.ms, s.max_deleted_id.seq, s.entries_added] {
            self.write_len(v);
        }
        self.write_len(s.groups.len() as u64);
        for (name, g) in &s.groups {
            self.write_string(name);
            self.write_len(g.last_id.ms);
            self.write_len(g.last_id.seq);
            self.write_len(g.entries_read as u64);
            self.write_len(g.pel.len() as u64);
            for (id, n) in &g.pel {
                self.put(&id.to_be_bytes());
                self.put(&n.delivery_time.to_le_bytes());
                self.write_len(n.delivery_count);
            }
            self.write_len(g.consumers.len() as u64);
            for (cname, c) in &g.consumers {
                self.write_string(cname);
                self.put(&c.seen_time.to_le_bytes());
                self.write_len(c.pel.len() as u64);
                for id in &c.pel {
                    self.put(&id.to_be_bytes());
                }
            }
        }
    }
}

impl<R: Read> RdbReader<R> {
    fn read_raw_id(&mut self) -> Result<StreamId, RdbError> {
        let mut b = [0u8; 16];
        self.read_exact(&mut b)?;
        Ok(StreamId::from_be_bytes(&b).unwrap_or_default())
    }

    fn read_ms(&mut self) -> Result<i64, RdbError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(i64::from_le_bytes(b))
    }

    /// A type-15, type-19 (Redis 7.0) or type-21 stream (Redis 7.2: consumers also carry an
    /// active time, not kept here: Redis 7.0's XINFO has no `inactive`).
    pub(super) fn read_stream(&mut self, t: u8) -> Result<Stream, RdbError> {
        let v2 = t != super::TYPE_STREAM_LISTPACKS;
        let v3 = t == super::TYPE_STREAM_LISTPACKS_3;
        let mut s = Stream::new();
        let nodes = self.read_len()?;
        for _ in 0..nodes {
            let key = self.read_string()?;
            let Some(master) = StreamId::from_be_bytes(&key) else { return corrupt("node key") };
            let lp = self.read_string()?;
            let mut node = node_from_listpack(master, &lp)?;
            node.seal();
            s.nodes.insert(master, node);
        }
        s.length = self.read_len()?;
        s.last_id = StreamId::new(self.read_len()?, self.read_len()?);
        if v2 {
            s.first_id = StreamId::new(self.read_len()?, self.read_len()?);
            s.max_deleted_id = StreamId::new(self.read_len()?, self.read_len()?);
            s.entries_added = self.read_len()?;
        } else {
            s.first_id = s.edge_id(true, false).unwrap_or_default();
            s.entries_added = s.length;
        }
        let live: u64 = s.nodes.values().map(|n| n.count as u64).sum();
        if live != s.length {
            return corrupt("length differs from the entries");
        }
        let groups = self.read_len()?;
        for _ in 0..groups {
            let name = Bytes::from(self.read_string()?);
            let last = StreamId::new(self.read_len()?, self.read_len()?);
            let entries_read = if v2 { self.read_len()? as i64 } else { s.estimate_distance(last) };
            let mut g = Group::new(last, if entries_read < 0 { INVALID_ENTRIES_READ } else { entries_read });
            let pel = self.read_len()?;
            for _ in 0..pel {
                let id = self.read_raw_id()?;
                let delivery_time = self.read_ms()?;
                let delivery_count = self.read_len()?;
                g.pel.insert(id, Nack { delivery_time, delivery_count, consumer: Bytes::new() });
            }
            let consumers = self.read_len()?;
            for _ in 0..consumers {
                let cname = Bytes::from(self.read_string()?);
                let seen_time = self.read_ms()?;
                if v3 {
                    let _active_time = self.read_ms()?;
                }
                let mut c = Consumer { seen_time, ..Default::default() };
                let n = self.read_len()?;
                for _ in 0..n {
                    let id = self.read_raw_id()?;
                    match g.pel.get_mut(&id) {
                        Some(nack) => nack.consumer = cname.clone(),
                        None => return corrupt("consumer PEL entry missing from the group PEL"),
                    }
                    c.pel.insert(id);
                }
                g.consumers.insert(cname, c);
            }
            if g.pel.values().any(|n| n.consumer.is_empty()) {
                return corrupt("group PEL entry without a consumer");
            }
            s.groups.insert(name, g);
        }
        Ok(s)
    }
}
