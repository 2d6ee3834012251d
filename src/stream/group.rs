//! Consumer groups: the last delivered ID, the read counter, the pending entries list (PEL)
//! and the consumers (each with its own view of the PEL).

use super::StreamId;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// A pending (delivered, not acknowledged) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group { last_id, entries_read, ..Default::default() }
    }

    /// The consumer, created when missing; true when it was created.
    pub fn consumer_or_create(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(Bytes::copy_from_slice(name), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Records a delivery of `id` to `consumer` (which must exist): a new NACK, or the
    /// existing one moved to this consumer with its count reset to 1.
    pub fn deliver(&mut self, id: StreamId, consumer: &Bytes, now: i64) {
        if let Some(old) = self.pel.get(&id).map(|n| n.consumer.clone()) {
            if let Some(c) = self.consumers.get_mut(&old) {
                c.pel.remove(&id);
            }
        }
        self.pel.insert(id, Nack { delivery_time: now, delivery_count: 1, consumer: consumer.clone() });
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// XACK of one ID: true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(n) = self.pel.remove(&id) else { return false };
        if let Some(c) = self.consumers.get_mut(&n.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    pub fn mem_bytes(&self) -> usize {
        self.pel.len() * 64 + self.consumers.iter().map(|(k, c)| k.len() + 48 + c.pel.len() * 24).sum::<usize>() + 64
    }
}
