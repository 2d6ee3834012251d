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

/// Values whose memory [`SegMap::prefetch`] can ask the CPU to load ahead.
pub trait Prefetch {
    /// Keys of maps of this value carry an access word (the keyspace's keys, for maxmemory's
    /// LRU/LFU), stamped when the key is inserted.
    const CLOCKED: bool = false;
    fn prefetch(&self) {}
}

impl Prefetch for i64 {}

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

    /// Starts bringing `key`'s entry into cache without waiting for it: a pipelined batch
    /// prefetches all its keys first, so their cache misses overlap instead of adding up.
    /// Only the table's control bytes are read now; the key and value are prefetched.
    pub fn prefetch(&self, key: &[u8])
    where
        V: Prefetch,
    {
        let h = self.hasher.hash(key);
        if let Some(seg) = self.segs[seg_of(h)].as_ref() {
            seg.find(h, |(k, v)| {
                k.prefetch();
                v.prefetch();
                false
            });
        }
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

    /// [`get_mut`](Self::get_mut) with the key (whose access word a lookup updates).
    pub fn get_key_mut(&mut self, key: &[u8]) -> Option<(&Thin, &mut V)> {
        let h = self.hasher.hash(key);
        let slot = &mut self.segs[seg_of(h)];
        slot.as_ref()?.find(h, |(k, _)| &k[..] == key)?;
        let seg = Arc::make_mut(slot.as_mut()?);
        seg.find_mut(h, |(k, _)| &k[..] == key).map(|(k, v)| (&*k, v))
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: V) -> Option<V>
    where
        V: Prefetch,
    {
        let key = key.as_ref();
        let h = self.hasher.hash(key);
        let hasher = &self.hasher;
        let slot = &mut self.segs[seg_of(h)];
        let seg = Arc::make_mut(slot.get_or_insert_with(|| Arc::new(HashTable::new())));
        match seg.find_mut(h, |(k, _)| k[..] == key[..]) {
            Some((k, v)) => {
                if V::CLOCKED {
                    // A new value: accessed now, its LFU counter kept (Redis's dbOverwrite).
                    k.set_clock(super::lru::initial_word() & !0xff | k.clock() & 0xff);
                }
                Some(std::mem::replace(v, value))
            }
            None => {
                let k = if V::CLOCKED { Thin::new_clocked(key, super::lru::initial_word()) } else { Thin::new(key) };
                seg.insert_unique(h, (k, value), |(k, _)| hasher.hash(k));
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

/// Builds a [`SegMap`] from many keys at once (an RDB load): faster than inserting them one
/// by one, because inserting into a table of a million keys misses the cache at every key.
/// Entries are first grouped by segment (appends, sequential), then each segment's table is
/// built in one go while it fits in cache, the segments split over two threads for big maps.
/// A key pushed twice keeps its last value, as [`SegMap::insert`].
pub struct SegMapBuilder<V: Clone> {
    groups: Vec<Vec<(u64, Thin, V)>>,
    hasher: KeyHasher,
}

impl<V: Clone + Send + Sync> SegMapBuilder<V> {
    pub fn new() -> Self {
        SegMapBuilder { groups: (0..SEGMENTS).map(|_| Vec::new()).collect(), hasher: KeyHasher::new() }
    }

    /// The hash [`push_hashed`](Self::push_hashed) expects for `key`.
    #[cfg(test)]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    /// Makes room for about `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        if n < SEGMENTS * 8 {
            return;
        }
        let per_seg = n / SEGMENTS + n / SEGMENTS / 8 + 1;
        self.groups.iter_mut().for_each(|g| g.reserve(per_seg));
    }

    /// Adds a key whose hash is `h` (the [`KeyHasher`]'s hash of it, computed where it is
    /// cheapest, e.g. on a parsing thread).
    pub fn push_hashed(&mut self, h: u64, key: Thin, value: V) {
        self.groups[seg_of(h)].push((h, key, value));
    }

    #[cfg(test)]
    pub fn push(&mut self, key: &[u8], value: V) {
        let h = self.hash(key);
        self.push_hashed(h, Thin::new(key), value);
    }

    /// The map.
    pub fn finish(self) -> SegMap<V> {
        const PARALLEL_FROM: usize = 1 << 16;
        let total: usize = self.groups.iter().map(Vec::len).sum();
        let hasher = self.hasher;
        let mut groups = self.groups;
        let mut segs: Vec<Option<Arc<Seg<V>>>> = Vec::with_capacity(SEGMENTS);
        if total >= PARALLEL_FROM {
            let back = groups.split_off(SEGMENTS / 2);
            let h = &hasher;
            let (front, back) = std::thread::scope(|sc| {
                let t = sc.spawn(move || build_segments(back, h));
                let front = build_segments(groups, h);
                (front, t.join())
            });
            segs.extend(front);
            // The second half's thread only builds tables; if it died, build them here.
            match back {
                Ok(b) => segs.extend(b),
                Err(_) => return SegMap { segs: vec![None; SEGMENTS], len: 0, hasher },
            }
        } else {
            segs.extend(build_segments(groups, &hasher));
        }
        let len = segs.iter().flatten().map(|s| s.len()).sum();
        SegMap { segs, len, hasher }
    }
}

impl<V: Clone + Send + Sync> Default for SegMapBuilder<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds segment tables from grouped entries (later duplicates replace earlier ones).
fn build_segments<V: Clone>(groups: Vec<Vec<(u64, Thin, V)>>, hasher: &KeyHasher) -> Vec<Option<Arc<Seg<V>>>> {
    groups
        .into_iter()
        .map(|g| {
            if g.is_empty() {
                return None;
            }
            let mut seg: Seg<V> = HashTable::with_capacity(g.len());
            for (h, k, v) in g {
                match seg.find_mut(h, |(x, _)| x[..] == k[..]) {
                    Some((_, old)) => *old = v,
                    None => {
                        seg.insert_unique(h, (k, v), |(x, _)| hasher.hash(x));
                    }
                }
            }
            Some(Arc::new(seg))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Prefetch for u32 {}

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

    #[test]
    fn builder_equals_inserts() {
        for n in [0usize, 10, 5000, 70_000] {
            let mut b: SegMapBuilder<u32> = SegMapBuilder::new();
            b.reserve(n);
            let mut m: SegMap<u32> = SegMap::new();
            for i in 0..n as u32 {
                b.push(format!("k{i}").as_bytes(), i);
                m.insert(format!("k{i}").as_bytes(), i);
            }
            // A duplicate keeps the last value, as insert does.
            b.push(b"k3", 99);
            m.insert(b"k3", 99);
            let built = b.finish();
            assert_eq!(built.len(), m.len());
            for (k, v) in m.iter() {
                assert_eq!(built.get(k), Some(v));
            }
            // The built map is an ordinary map: it takes inserts and snapshots.
            let mut built = built;
            let snap = built.clone();
            built.insert(b"new", 1);
            assert_eq!(built.len(), snap.len() + 1);
        }
    }
}
