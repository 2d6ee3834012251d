//! A hash map split into copy-on-write segments: the keyspace's storage.
//!
//! Why not one `HashMap`, or `imbl`? A full resync needs the whole dataset frozen at one
//! replication offset while clients keep writing. Here a snapshot is a clone of the segment
//! table (one `Arc` increment per segment, constant for a given segment count), and the first
//! write to a segment after a snapshot copies just that segment (~1/1024 of the keys). Memory
//! stays that of a plain open-addressing table (`hashbrown`), unlike a HAMT whose sparse nodes
//! cost a lot per key. SCAN walks segments in order: a key's segment never changes, so a key
//! present for a whole scan is returned at least once, as Redis guarantees.

use super::thin::Thin;
#[cfg(test)]
use bytes::Bytes;
use hashbrown::HashTable;
use std::sync::Arc;

/// Number of segments (a power of two); the cursor of SCAN is a segment index.
pub const SEGMENTS: usize = 1024;
const SEG_BITS: u32 = SEGMENTS.trailing_zeros();

type Seg<V> = HashTable<(Thin, V)>;

/// The hasher: ahash with per-process random keys (flooding resistance).
#[derive(Clone)]
pub struct KeyHasher(ahash::RandomState);

impl KeyHasher {
    pub fn new() -> Self {
        use std::sync::OnceLock;
        static SEEDS: OnceLock<[u64; 4]> = OnceLock::new();
        let s = SEEDS.get_or_init(rand::random);
        KeyHasher(ahash::RandomState::with_seeds(s[0], s[1], s[2], s[3]))
    }
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.0.hash_one(key)
    }
}

impl Default for KeyHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// A map from binary keys to `V`, cheap to snapshot.
#[derive(Clone)]
pub struct SegMap<V: Clone> {
    segs: Vec<Option<Arc<Seg<V>>>>,
    len: usize,
    hasher: KeyHasher,
}

impl<V: Clone> Default for SegMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn seg_of(hash: u64) -> usize {
    (hash >> (64 - SEG_BITS)) as usize
}

impl<V: Clone> SegMap<V> {
    pub fn new() -> Self {
        SegMap { segs: vec![None; SEGMENTS], len: 0, hasher: KeyHasher::new() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Makes room for about `n` more keys spread over the segments (a loader that knows the
    /// key count avoids rehashing while it inserts).
    pub fn reserve(&mut self, n: usize) {
        if n < SEGMENTS * 8 {
            return; // small: growing costs little
        }
        let per_seg = n / SEGMENTS + n / SEGMENTS / 8 + 1;
        let hasher = &self.hasher;
        for slot in self.segs.iter_mut() {
            let seg = Arc::make_mut(slot.get_or_insert_with(|| Arc::new(HashTable::new())));
            seg.reserve(per_seg, |(k, _)| hasher.hash(k));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    /// Keys the segments have room for without growing (what `reserve` pre-sized).
    pub fn capacity(&self) -> usize {
        self.segs.iter().flatten().map(|s| s.capacity()).sum()
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let h = self.hasher.hash(key);
        let seg = self.segs[seg_of(h)].as_ref()?;
        seg.find(h, |(k, _)| &k[..] == key).map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Thin, &V)> {
        let h = self.hasher.hash(key);
        let seg = self.segs[seg_of(h)].as_ref()?;
        seg.find(h, |(k, _)| &k[..] == key).map(|(k, v)| (k, v))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Mutable access; copies the key's segment first if a snapshot shares it.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let h = self.hasher.hash(key);
        let slot = &mut self.segs[seg_of(h)];
        // Look before copying, so a miss never copies a shared segment.
        slot.as_ref()?.find(h, |(k, _)| &k[..] == key)?;
        let seg = Arc::make_mut(slot.as_mut()?);
        seg.find_mut(h, |(k, _)| &k[..] == key).map(|(_, v)| v)
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: V) -> Option<V> {
        let key = key.as_ref();
        let h = self.hasher.hash(key);
        let hasher = &self.hasher;
        let slot = &mut self.segs[seg_of(h)];
        let seg = Arc::make_mut(slot.get_or_insert_with(|| Arc::new(HashTable::new())));
        match seg.find_mut(h, |(k, _)| k[..] == key[..]) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                seg.insert_unique(h, (Thin::new(key), value), |(k, _)| hasher.hash(k));
                self.len += 1;
                None
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Thin, V)> {
        let h = self.hasher.hash(key);
        let slot = &mut self.segs[seg_of(h)];
        slot.as_ref()?.find(h, |(k, _)| &k[..] == key)?;
        let seg = Arc::make_mut(slot.as_mut()?);
        let entry = seg.find_entry(h, |(k, _)| &k[..] == key).ok()?;
        let (kv, _) = entry.remove();
        self.len -= 1;
        if seg.is_empty() {
            *slot = None;
        }
        Some(kv)
    }

    /// Every entry, in segment order.
    pub fn iter(&self) -> impl Iterator<Item = (&Thin, &V)> {
        self.segs.iter().flatten().flat_map(|s| s.iter().map(|(k, v)| (k, v)))
    }

    /// Entries of one segment (SCAN and the active expire cycle walk segments).
    pub fn segment(&self, i: usize) -> impl Iterator<Item = (&Thin, &V)> {
        self.segs[i % SEGMENTS].iter().flat_map(|s| s.iter().map(|(k, v)| (k, v)))
    }

    pub fn segment_len(&self, i: usize) -> usize {
        self.segs[i % SEGMENTS].as_ref().map_or(0, |s| s.len())
    }

    /// A uniformly chosen segment among non-empty ones (weighted by size), then an entry.
    pub fn random_entry(&self, rng: &mut impl rand::Rng) -> Option<(&Thin, &V)> {
        if self.len == 0 {
            return None;
        }
        // Pick the n-th entry overall without walking entries: walk segment sizes.
        let mut n = rng.gen_range(0..self.len);
        for seg in self.segs.iter().flatten() {
            if n < seg.len() {
                return seg.iter().nth(n).map(|(k, v)| (k, v));
            }
            n -= seg.len();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_snapshot() {
        let mut m: SegMap<u32> = SegMap::new();
        for i in 0..5000u32 {
            m.insert(Bytes::from(format!("k{i}")), i);
        }
        assert_eq!(m.len(), 5000);
        let snap = m.clone();
        for i in 0..5000u32 {
            *m.get_mut(format!("k{i}").as_bytes()).unwrap() += 1;
        }
        m.remove(b"k7");
        assert_eq!(snap.get(b"k7"), Some(&7));
        assert_eq!(m.get(b"k8"), Some(&9));
        assert_eq!(m.len(), 4999);
        assert_eq!(snap.iter().count(), 5000);
        let mut rng = rand::thread_rng();
        assert!(m.random_entry(&mut rng).is_some());
    }
}
