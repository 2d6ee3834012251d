//! The stream value type: entries in nodes keyed by their master ID (an ordered map, as
//! Redis's radix tree of listpacks), the stream's counters, and its consumer groups.
//!
//! Semantics follow Redis 7.0's t_stream.c: node splits (`stream-node-max-bytes` /
//! `-entries`), whole-node approximate trimming, tombstones, `entries_added`,
//! `max_deleted_entry_id`, the groups' `entries_read` and lag.

pub mod group;
pub mod id;
pub mod node;

pub use group::{Consumer, Group, Nack};
pub use id::{parse_id, parse_interval, ParsedId, StreamId, INVALID_ID};
pub use node::{Entry, Node};

use bytes::Bytes;
use std::collections::BTreeMap;

/// Counter value meaning "unknown" (Redis's SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;
/// Largest listpack Redis builds.
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    pub nodes: BTreeMap<StreamId, Node>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Why an append failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the last one (EDOM).
    NotGreater,
    /// The elements are too large (ERANGE).
    TooLarge,
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    /// The ID an XADD would use: None when it cannot (exhausted sequence).
    pub fn next_id(&self, given: Option<ParsedId>, now_ms: u64) -> Result<StreamId, AppendError> {
        let id = match given {
            Some(p) if p.seq_given => p.id,
            Some(p) => {
                if self.last_id.ms == p.id.ms {
                    if self.last_id.seq == u64::MAX {
                        return Err(AppendError::NotGreater);
                    }
                    StreamId::new(p.id.ms, self.last_id.seq + 1)
                } else {
                    p.id
                }
            }
            None => {
                if now_ms > self.last_id.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    self.last_id.incr().unwrap_or(StreamId::MIN)
                }
            }
        };
        if id <= self.last_id {
            return Err(AppendError::NotGreater);
        }
        Ok(id)
    }

    /// Appends an entry with the given ID (already checked by [`Stream::next_id`]).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], lim: NodeLimits) -> Result<(), AppendError> {
        let total: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = if lim.max_bytes == 0 || lim.max_bytes > LISTPACK_MAX_SIZE { LISTPACK_MAX_SIZE } else { lim.max_bytes };
        let mut tail = self.nodes.iter_mut().next_back();
        let need_new = match &tail {
            None => true,
            Some((_, n)) => {
                n.lp_bytes() as u64 + total >= max_bytes
                    || (lim.max_entries != 0 && (n.count + n.deleted) as u64 >= lim.max_entries)
            }
        };
        if need_new {
            if let Some((_, n)) = tail {
                n.seal();
            }
            let fields = pairs.iter().step_by(2).copied();
            let mut n = Node::new(fields);
            n.push(id, id, pairs, false);
            self.nodes.insert(id, n);
        } else if let Some((&master, n)) = tail.as_mut() {
            n.push(master, id, pairs, false);
        }
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        Ok(())
    }

    /// Calls `f` for each live entry with `start <= id <= end`, ascending (or descending),
    /// until it returns false. With `tombstones`, deleted entries are visited too.
    pub fn walk(&self, start: StreamId, end: StreamId, rev: bool, tombstones: bool, f: &mut dyn FnMut(&Entry<'_>) -> bool) {
        if start > end {
            return;
        }
        if !rev {
            let first_key = self.nodes.range(..=start).next_back().map(|(k, _)| *k).unwrap_or(start);
            for (&master, node) in self.nodes.range(first_key..=end) {
                if node.last_id < start {
                    continue;
                }
                for e in node.entries(master) {
                    if e.id > end {
                        return;
                    }
                    if e.id < start || (e.deleted() && !tombstones) {
                        continue;
                    }
                    if !f(&e) {
                        return;
                    }
                }
            }
        } else {
            for (&master, node) in self.nodes.range(..=end).rev() {
                if node.last_id < start {
                    return;
                }
                let all: Vec<Entry<'_>> = node.entries(master).collect();
                for e in all.iter().rev() {
                    if e.id < start {
                        return;
                    }
                    if e.id > end || (e.deleted() && !tombstones) {
                        continue;
                    }
                    if !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The fields of the live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<Vec<(Bytes, Bytes)>> {
        let mut found = None;
        self.walk(id, id, false, false, &mut |e| {
            found = Some(e.fields.iter().map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v))).collect());
            false
        });
        found
    }

    /// The first (or last) entry's ID; deleted ones count with `tombstones`. None when empty.
    pub fn edge_id(&self, first: bool, tombstones: bool) -> Option<StreamId> {
        let mut found = None;
        let mut f = |e: &Entry<'_>| {
            found = Some(e.id);
            false
        };
        self.walk(StreamId::MIN, StreamId::MAX, !first, tombstones, &mut f);
        found
    }

    fn refresh_first_id(&mut self) {
        self.first_id = if self.length == 0 { StreamId::MIN } else { self.edge_id(true, false).unwrap_or(StreamId::MIN) };
    }

    /// XDEL of one ID: true when a live entry was deleted.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range(..=id).next_back() else { return false };
        if node.last_id < id {
            return false;
        }
        let Some(pos) = node.entries(master).find(|e| e.id == id && !e.deleted()).map(|e| e.pos) else { return false };
        let node = self.nodes.get_mut(&master).expect("node just found");
        node.mark_deleted(pos);
        if node.count == 0 {
            self.nodes.remove(&master);
        }
        self.length -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        true
    }

    /// After XDELs: the first ID as Redis keeps it.
    pub fn after_deletes(&mut self) {
        self.refresh_first_id();
    }

    /// Redis's streamTrim: returns the number of entries removed. `limit` 0 = no limit.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        let keys: Vec<StreamId> = self.nodes.keys().copied().collect();
        for master in keys {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let node = &self.nodes[&master];
            let entries = node.count as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => node.last_id < min,
            };
            if remove {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut marks = Vec::new();
            let mut len = self.length;
            for e in node.entries(master) {
                let stop = match how {
                    Trim::MaxLen(max) => len <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted() {
                    marks.push(e.pos);
                    len -= 1;
                }
            }
            let node = self.nodes.get_mut(&master).expect("node exists");
            for pos in marks {
                node.mark_deleted(pos);
                self.length -= 1;
                deleted += 1;
            }
            break;
        }
        self.refresh_first_id();
        deleted
    }

    /// Redis's streamRangeHasTombstones (open ends as None).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_id && self.max_deleted_id <= e
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag (None when it cannot be known), as XINFO reports it.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(g.last_id), None) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let er = self.estimate_distance(g.last_id);
        (er != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - er)
    }

    /// Moves a group's last ID forward to `id` (an entry delivered through it), keeping its
    /// read counter as Redis does.
    pub fn advance_group(&mut self, name: &[u8], id: StreamId) {
        let has_tomb = self.range_has_tombstones(Some(id), None);
        let est = if self.entries_added != 0 { Some(self.estimate_distance(id)) } else { None };
        if let Some(g) = self.groups.get_mut(name) {
            if id > g.last_id {
                if g.entries_read != INVALID_ENTRIES_READ && !has_tomb {
                    g.entries_read += 1;
                } else if let Some(e) = est {
                    g.entries_read = e;
                }
                g.last_id = id;
            }
        }
    }

    /// Bytes held (MEMORY USAGE, INFO), roughly.
    pub fn mem_bytes(&self) -> usize {
        self.nodes.values().map(|n| n.mem_bytes() + 32).sum::<usize>() + self.groups.values().map(|g| g.mem_bytes()).sum::<usize>() + 64
    }
}
