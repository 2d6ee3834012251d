//! Values stored under keys.
//!
//! Collections sit behind `Arc` so copying a segment for a snapshot copies pointers, and a
//! write after a snapshot copies only the collection it touches (`Arc::make_mut`).

use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Deref;
use std::sync::Arc;

/// The encoding thresholds of hashes and sets (`hash-max-listpack-*`, `set-max-intset-entries`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
}

impl Limits {
    /// The thresholds as last copied out of the configuration (no config lookup).
    pub fn from_hot(h: &crate::shared::Hot) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        Limits {
            hash_entries: h.hash_max_listpack_entries.load(Relaxed) as usize,
            hash_value: h.hash_max_listpack_value.load(Relaxed) as usize,
            set_intset_entries: h.set_max_intset_entries.load(Relaxed) as usize,
        }
    }
}

impl Default for Limits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        Limits { hash_entries: 512, hash_value: 64, set_intset_entries: 512 }
    }
}

/// Which encoding Redis would use for a collection. Redis converts a compact encoding
/// (listpack, intset) to a hashtable when a write outgrows the thresholds, and never converts
/// back, so the encoding is state: `Unknown` (a loaded or rebuilt value) is derived from the
/// contents and the thresholds until the first write settles it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enc {
    #[default]
    Unknown,
    Compact,
    Table,
}

/// A hash and its encoding. While compact (a listpack in Redis) the fields keep their
/// insertion order, as Redis replies them.
#[derive(Clone, Debug, Default)]
pub struct HashObj {
    pub map: HashMap<Bytes, Bytes, ahash::RandomState>,
    pub enc: Enc,
    /// The fields in insertion order while not a hashtable (empty once converted).
    pub order: Vec<Bytes>,
}

impl Deref for HashObj {
    type Target = HashMap<Bytes, Bytes, ahash::RandomState>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl HashObj {
    /// A new, empty listpack-encoded hash.
    pub fn new() -> Self {
        HashObj { map: HashMap::default(), enc: Enc::Compact, order: Vec::new() }
    }

    /// A hash of loaded (field, value) pairs, in their order; its encoding is derived later.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Bytes, Bytes)>) -> Self {
        let mut h = HashObj::default();
        for (f, v) in pairs {
            if h.map.insert(f.clone(), v).is_none() {
                h.order.push(f);
            }
        }
        h
    }

    /// The fields and values, in Redis's order (insertion order for a listpack).
    pub fn entries(&self) -> Box<dyn Iterator<Item = (&Bytes, &Bytes)> + '_> {
        if self.enc != Enc::Table && self.order.len() == self.map.len() {
            Box::new(self.order.iter().filter_map(move |f| self.map.get_key_value(f)))
        } else {
            Box::new(self.map.iter())
        }
    }

    fn to_table(&mut self) {
        self.enc = Enc::Table;
        self.order = Vec::new();
    }

    fn fits(&self, lim: &Limits) -> bool {
        self.map.len() <= lim.hash_entries
            && self.map.iter().all(|(k, v)| k.len() <= lim.hash_value && v.len() <= lim.hash_value)
    }

    /// Whether Redis would hold this hash as a hashtable.
    pub fn is_table(&self, lim: &Limits) -> bool {
        match self.enc {
            Enc::Table => true,
            Enc::Compact => false,
            Enc::Unknown => !self.fits(lim),
        }
    }

    fn settle(&mut self, lim: &Limits) {
        if self.enc == Enc::Unknown {
            if self.fits(lim) {
                self.enc = Enc::Compact;
            } else {
                self.to_table();
            }
        }
    }

    /// Redis's `hashTypeTryConversion`: any argument longer than the value limit converts.
    pub fn try_conversion(&mut self, lim: &Limits, args: &[Bytes]) {
        self.settle(lim);
        if self.enc == Enc::Compact && args.iter().any(|a| a.len() > lim.hash_value) {
            self.to_table();
        }
    }

    /// Redis's `hashTypeSet`: sets a field, converting when it outgrows the thresholds.
    /// True when the field is new.
    pub fn set(&mut self, lim: &Limits, field: Bytes, value: Bytes) -> bool {
        // Own copies: arguments are slices of a connection's read buffer, which they would
        // otherwise keep alive.
        let (field, value) = (Bytes::copy_from_slice(&field), Bytes::copy_from_slice(&value));
        self.settle(lim);
        if self.enc == Enc::Compact && (field.len() > lim.hash_value || value.len() > lim.hash_value) {
            self.to_table();
        }
        let new = self.map.insert(field.clone(), value).is_none();
        if self.enc == Enc::Compact {
            if self.map.len() > lim.hash_entries {
                self.to_table();
            } else if new {
                self.order.push(field);
            }
        }
        new
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        let found = self.map.remove(field).is_some();
        if found && self.enc != Enc::Table {
            if let Some(i) = self.order.iter().position(|f| f[..] == *field) {
                self.order.remove(i);
            }
        }
        found
    }
}

/// A set and its encoding (intset or hashtable).
#[derive(Clone, Debug, Default)]
pub struct SetObj {
    pub set: HashSet<Bytes, ahash::RandomState>,
    pub enc: Enc,
}

impl Deref for SetObj {
    type Target = HashSet<Bytes, ahash::RandomState>;
    fn deref(&self) -> &Self::Target {
        &self.set
    }
}

fn is_int(m: &[u8]) -> bool {
    crate::util::num::parse_i64(m).is_some()
}

impl SetObj {
    /// Redis's `setTypeCreate`: an intset when the first member to add is an integer.
    pub fn new_for(first: &[u8]) -> Self {
        SetObj { set: HashSet::default(), enc: if is_int(first) { Enc::Compact } else { Enc::Table } }
    }

    /// An empty intset (the start of SINTERSTORE, SUNIONSTORE, SDIFFSTORE results).
    pub fn new_intset() -> Self {
        SetObj { set: HashSet::default(), enc: Enc::Compact }
    }

    fn fits(&self, lim: &Limits) -> bool {
        self.set.len() <= lim.set_intset_entries && self.set.iter().all(|m| is_int(m))
    }

    /// Whether Redis would hold this set as a hashtable.
    pub fn is_table(&self, lim: &Limits) -> bool {
        match self.enc {
            Enc::Table => true,
            Enc::Compact => false,
            Enc::Unknown => !self.fits(lim),
        }
    }

    fn settle(&mut self, lim: &Limits) {
        if self.enc == Enc::Unknown {
            self.enc = if self.fits(lim) { Enc::Compact } else { Enc::Table };
        }
    }

    /// Redis's `setTypeAdd`: true when the member is new.
    pub fn add(&mut self, lim: &Limits, m: Bytes) -> bool {
        // An own copy, not a slice of a connection's read buffer.
        let m = Bytes::copy_from_slice(&m);
        self.settle(lim);
        if self.enc == Enc::Compact {
            if !is_int(&m) {
                self.enc = Enc::Table;
            } else if self.set.contains(&m) {
                return false;
            } else {
                self.set.insert(m);
                if self.set.len() > lim.set_intset_entries {
                    self.enc = Enc::Table;
                }
                return true;
            }
        }
        self.set.insert(m)
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.set.remove(m)
    }

    /// The members in Redis's order: ascending for an intset, else the table's.
    pub fn members(&self, lim: &Limits) -> Vec<&Bytes> {
        let mut v: Vec<&Bytes> = self.set.iter().collect();
        if !self.is_table(lim) {
            v.sort_by_cached_key(|m| crate::util::num::parse_i64(m).unwrap_or(0));
        }
        v
    }
}

/// A float with a total order, for sorted-set ranges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&o.0).unwrap_or(std::cmp::Ordering::Equal)
    }
}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// A sorted set: member -> score, plus (score, member) order.
#[derive(Clone, Debug, Default)]
pub struct ZSet {
    pub dict: HashMap<Bytes, f64>,
    pub order: BTreeSet<(Score, Bytes)>,
    /// OBJECT ENCODING: false = listpack, true = skiplist (sticky once converted, as in Redis;
    /// maintained by the sorted-set commands, which know the configured thresholds).
    pub skiplist: bool,
}

#[derive(Clone, Debug)]
pub enum Value {
    Str(super::thin::Thin),
    List(Arc<VecDeque<Bytes>>),
    Hash(Arc<HashObj>),
    Set(Arc<SetObj>),
    ZSet(Arc<ZSet>),
    Stream(Arc<crate::stream::Stream>),
}

impl super::segmap::Prefetch for Value {
    /// Brings the value's first cache line in ahead of use (see [`Thin::prefetch`]).
    ///
    /// [`Thin::prefetch`]: super::thin::Thin::prefetch
    #[inline]
    fn prefetch(&self) {
        match self {
            Value::Str(s) => s.prefetch(),
            Value::List(l) => crate::util::prefetch(Arc::as_ptr(l) as *const u8),
            Value::Hash(h) => crate::util::prefetch(Arc::as_ptr(h) as *const u8),
            Value::Set(s) => crate::util::prefetch(Arc::as_ptr(s) as *const u8),
            Value::ZSet(z) => crate::util::prefetch(Arc::as_ptr(z) as *const u8),
            Value::Stream(s) => crate::util::prefetch(Arc::as_ptr(s) as *const u8),
        }
    }
}

impl Value {
    /// The name TYPE answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING answers, by Redis's rules (`lim`: the configured thresholds).
    pub fn encoding(&self, lim: &Limits) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::util::num::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            // Redis 7.0 always stores lists as quicklists (listpack lists came with 7.2).
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.is_table(lim) {
                    "hashtable"
                } else {
                    "listpack"
                }
            }
            Value::Set(s) => {
                if s.is_table(lim) {
                    "hashtable"
                } else {
                    "intset"
                }
            }
            Value::Stream(_) => "stream",
            Value::ZSet(z) => {
                if z.skiplist {
                    "skiplist"
                } else {
                    "listpack"
                }
            }
        }
    }

    /// An estimate of the bytes this value holds (INFO used_memory, MEMORY USAGE).
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::List(l) => l.iter().map(|e| e.len() + 16).sum(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 48).sum(),
            Value::Set(s) => s.iter().map(|m| m.len() + 40).sum(),
            Value::ZSet(z) => z.dict.keys().map(|m| 2 * m.len() + 80).sum(),
            Value::Stream(s) => s.mem_bytes(),
        }
    }
}

impl crate::rdb::PairSeq for HashObj {
    fn len(&self) -> usize {
        self.map.len()
    }
    fn for_each_pair(&self, f: &mut dyn FnMut(&[u8], &[u8])) {
        for (k, v) in self.entries() {
            f(k, v)
        }
    }
}
