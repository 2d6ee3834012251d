//! Values stored under keys.
//!
//! Collections sit behind `Arc` so copying a segment for a snapshot copies pointers, and a
//! write after a snapshot copies only the collection it touches (`Arc::make_mut`).

use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A float with a total order, for sorted-set ranges.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Score(pub f64);
impl Eq for Score {}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&o.0).unwrap_or(std::cmp::Ordering::Equal)
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
    Str(Bytes),
    List(Arc<VecDeque<Bytes>>),
    Hash(Arc<HashMap<Bytes, Bytes>>),
    Set(Arc<HashSet<Bytes>>),
    ZSet(Arc<ZSet>),
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
        }
    }

    /// The name OBJECT ENCODING answers, by Redis's rules and default thresholds.
    pub fn encoding(&self) -> &'static str {
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
            Value::List(l) => {
                if l.len() <= 128 && l.iter().all(|e| e.len() <= 64) {
                    "listpack"
                } else {
                    "quicklist"
                }
            }
            Value::Hash(h) => {
                if h.len() <= 128 && h.iter().all(|(k, v)| k.len() <= 64 && v.len() <= 64) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.len() <= 512 && s.iter().all(|m| crate::util::num::parse_i64(m).is_some()) {
                    "intset"
                } else {
                    "hashtable"
                }
            }
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
        }
    }
}
