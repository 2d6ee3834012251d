//! A stream node: up to `stream-node-max-entries` entries packed in one byte buffer, laid out
//! as Redis's listpack node (a master entry holding the first entry's fields; entries with the
//! same fields store only their values; deletions only set a flag).
//!
//! Buffer: the master fields (`n`, then each as length + bytes), then per entry: flags (one
//! byte), the ID's deltas from the node's master ID (zigzag varints), then either the values
//! (SAMEFIELDS) or a field count and the field/value pairs. Lengths are varints.
//!
//! The node also tracks the size the same node has as a Redis listpack, so nodes split where
//! Redis's split (`stream-node-max-bytes`), which approximate trimming depends on.

use super::StreamId;

pub const FLAG_DELETED: u8 = 1;
pub const FLAG_SAMEFIELDS: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Node {
    buf: Vec<u8>,
    /// Live entries.
    pub count: u32,
    /// Entries marked deleted.
    pub deleted: u32,
    /// Where the entries start (after the master fields).
    entries_at: u32,
    /// Listpack bytes of everything but the header, the EOF and the count/deleted elements.
    lp_static: u32,
    /// The ID of the last entry (deleted or not).
    pub last_id: StreamId,
}

/// An entry as decoded from a node.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub flags: u8,
    /// Offset of the flags byte.
    pub pos: usize,
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

impl Entry<'_> {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(buf, pos) as usize;
    let start = (*pos).min(buf.len());
    let end = (start + n).min(buf.len());
    *pos = end;
    &buf[start..end]
}

/// Bytes a listpack integer element takes (encoding + backlen).
pub fn lp_int_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (-32768..=32767).contains(&v) {
        3
    } else if (-8388608..=8388607).contains(&v) {
        4
    } else if (-2147483648..=2147483647).contains(&v) {
        5
    } else {
        9
    };
    enc + 1
}

/// Redis's lpStringToInt64: a canonical decimal integer.
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) || !digits.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Bytes a listpack element holding `s` takes.
pub fn lp_str_size(s: &[u8]) -> usize {
    if let Some(v) = canonical_i64(s) {
        return lp_int_size(v);
    }
    let l = s.len();
    let enc = if l < 64 {
        1 + l
    } else if l < 4096 {
        2 + l
    } else {
        5 + l
    };
    let back = if enc <= 127 {
        1
    } else if enc < 16383 {
        2
    } else if enc < 2097151 {
        3
    } else if enc < 268435455 {
        4
    } else {
        5
    };
    enc + back
}

impl Node {
    /// A node whose master entry holds `fields`.
    pub fn new<'a>(fields: impl Iterator<Item = &'a [u8]> + Clone) -> Node {
        let mut buf = Vec::new();
        let n = fields.clone().count();
        put_varint(&mut buf, n as u64);
        let mut lp = lp_int_size(n as i64) + lp_int_size(0);
        for f in fields {
            put_str(&mut buf, f);
            lp += lp_str_size(f);
        }
        Node { entries_at: buf.len() as u32, buf, lp_static: lp as u32, ..Default::default() }
    }

    /// The size of this node as a Redis listpack.
    pub fn lp_bytes(&self) -> usize {
        7 + lp_int_size(self.count as i64) + lp_int_size(self.deleted as i64) + self.lp_static as usize
    }

    /// The node takes no more entries: its buffer gives back what growing left unused (a
    /// listpack is reallocated to its exact size at every insert; this buffer grows by
    /// doubling, then fits once).
    pub fn seal(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Heap bytes held.
    pub fn mem_bytes(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Node>()
    }

    pub fn master_fields(&self) -> Vec<&[u8]> {
        let mut pos = 0;
        let n = get_varint(&self.buf, &mut pos) as usize;
        (0..n).map(|_| get_str(&self.buf, &mut pos)).collect()
    }

    /// Appends an entry (`pairs`: field, value, field, value, ...), with `flags` (DELETED
    /// only when loading a node).
    pub fn push(&mut self, master_id: StreamId, id: StreamId, pairs: &[&[u8]], deleted: bool) {
        let master = self.master_fields();
        let nf = pairs.len() / 2;
        let same = master.len() == nf && (0..nf).all(|i| master[i] == pairs[2 * i]);
        let flags = if same { FLAG_SAMEFIELDS } else { 0 } | if deleted { FLAG_DELETED } else { 0 };
        let ms_delta = id.ms.wrapping_sub(master_id.ms) as i64;
        let seq_delta = id.seq.wrapping_sub(master_id.seq) as i64;
        let mut lp = lp_int_size(flags as i64) + lp_int_size(ms_delta) + lp_int_size(seq_delta);
        let mut buf = std::mem::take(&mut self.buf);
        buf.push(flags);
        put_varint(&mut buf, zigzag(ms_delta));
        put_varint(&mut buf, zigzag(seq_delta));
        let lp_count = if same {
            for i in 0..nf {
                put_str(&mut buf, pairs[2 * i + 1]);
                lp += lp_str_size(pairs[2 * i + 1]);
            }
            nf + 3
        } else {
            put_varint(&mut buf, nf as u64);
            lp += lp_int_size(nf as i64);
            for p in pairs {
                put_str(&mut buf, p);
                lp += lp_str_size(p);
            }
            2 * nf + 4
        };
        lp += lp_int_size(lp_count as i64);
        self.buf = buf;
        self.lp_static += lp as u32;
        if deleted {
            self.deleted += 1;
        } else {
            self.count += 1;
        }
        self.last_id = id;
    }

    /// Every entry (deleted ones too), in order.
    pub fn entries(&self, master_id: StreamId) -> NodeIter<'_> {
        let master = self.master_fields();
        NodeIter { buf: &self.buf, pos: self.entries_at as usize, master_id, master }
    }

    /// Marks the entry whose flags byte is at `pos` deleted.
    pub fn mark_deleted(&mut self, pos: usize) -> bool {
        match self.buf.get_mut(pos) {
            Some(f) if *f & FLAG_DELETED == 0 => {
                *f |= FLAG_DELETED;
                self.count -= 1;
                self.deleted += 1;
                true
            }
            _ => false,
        }
    }
}

pub struct NodeIter<'a> {
    buf: &'a [u8],
    pos: usize,
    master_id: StreamId,
    master: Vec<&'a [u8]>,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Entry<'a>;
    fn next(&mut self) -> Option<Entry<'a>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let buf = self.buf;
        let at = self.pos;
        let flags = buf[at];
        let mut p = at + 1;
        let ms = self.master_id.ms.wrapping_add(unzigzag(get_varint(buf, &mut p)) as u64);
        let seq = self.master_id.seq.wrapping_add(unzigzag(get_varint(buf, &mut p)) as u64);
        let mut fields = Vec::new();
        if flags & FLAG_SAMEFIELDS != 0 {
            fields.reserve(self.master.len());
            for f in &self.master {
                fields.push((*f, get_str(buf, &mut p)));
            }
        } else {
            let n = get_varint(buf, &mut p) as usize;
            fields.reserve(n.min(1024));
            for _ in 0..n {
                let f = get_str(buf, &mut p);
                let v = get_str(buf, &mut p);
                fields.push((f, v));
            }
        }
        self.pos = p;
        Some(Entry { id: StreamId::new(ms, seq), flags, pos: at, fields })
    }
}
