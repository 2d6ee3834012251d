//! RDB persistence (format version 10, as written by Redis 7.0).
//!
//! This module is independent of the server's in-memory types:
//! * [`RdbValue`] is an owned, neutral value (what the loader produces);
//! * [`RdbValueRef`] borrows a collection through the small [`Seq`] / [`PairSeq`] /
//!   [`ScoreSeq`] traits so the writer (and the digest) can walk it, possibly twice,
//!   without copying it.
//!
//! Sub-modules: [`writer`] (RDB writer), [`reader`] (streaming loader), [`lzf`]
//! (LZF compressor/decompressor), [`crc64`] (Redis CRC64), [`digest`]
//! (DEBUG DIGEST / DIGEST-VALUE), [`listpack`] and [`ziplist`] (blob codecs).

#![allow(dead_code)] // not every helper is used by the server

pub mod crc64;
pub mod digest;
pub mod listpack;
pub mod stream;
pub mod lzf;
pub mod reader;
pub mod writer;
pub mod ziplist;

#[cfg(test)]
pub(crate) mod tests;

use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasher;

pub use digest::{digest_value, Digest};
pub use reader::RdbSink;
#[cfg(test)]
pub use reader::{load, LoadStats};
pub use writer::{write_aux_at, RdbWriter};
#[cfg(test)]
pub use writer::write_default_aux;
pub use writer::RdbOptions;

/// RDB format version written by this module (Redis 7.0).
pub const RDB_VERSION: u32 = 10;

// Value types.
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2 / Valkey 8 (RDB 11): a set as one listpack of members.
pub const TYPE_SET_LISTPACK: u8 = 20;
/// Redis 7.2 / Valkey 8 (RDB 11): a stream whose consumers also carry an active time.
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;
/// Redis 7.4 (RDB 12): hashes with field expiration (22 and 23 from its release candidates).
pub const TYPE_HASH_METADATA_PRE_GA: u8 = 22;
pub const TYPE_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
pub const TYPE_HASH_METADATA: u8 = 24;
pub const TYPE_HASH_LISTPACK_EX: u8 = 25;
/// The newest RDB version loaded (Redis 7.4 / 8.x write 12, Valkey 8 writes 11); tandem
/// writes [`RDB_VERSION`], what Redis 7.0 reads.
pub const MAX_LOAD_VERSION: u32 = 12;

// Opcodes.
pub const OP_FUNCTION2: u8 = 0xF5;
pub const OP_FUNCTION: u8 = 0xF6;
pub const OP_MODULE_AUX: u8 = 0xF7;
pub const OP_IDLE: u8 = 0xF8;
pub const OP_FREQ: u8 = 0xF9;
pub const OP_AUX: u8 = 0xFA;
pub const OP_RESIZEDB: u8 = 0xFB;
pub const OP_EXPIRETIME_MS: u8 = 0xFC;
pub const OP_EXPIRETIME: u8 = 0xFD;
pub const OP_SELECTDB: u8 = 0xFE;
pub const OP_EOF: u8 = 0xFF;

// Special string encodings (after a 0b11xxxxxx length byte).
pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

// Quicklist node containers.
pub const QUICKLIST_NODE_PLAIN: u64 = 1;
pub const QUICKLIST_NODE_PACKED: u64 = 2;

/// An owned value as found in an RDB file. Integer-encoded elements are
/// delivered as their canonical decimal strings.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    Str(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    ZSet(Vec<(Bytes, f64)>),
    Stream(std::sync::Arc<crate::stream::Stream>),
}

impl RdbValue {
    /// Borrowed view of this value, for [`RdbWriter::key`] and the digest.
    pub fn as_value_ref(&self) -> RdbValueRef<'_> {
        match self {
            RdbValue::Str(b) => RdbValueRef::Str(b),
            RdbValue::List(v) => RdbValueRef::List(v),
            RdbValue::Set(v) => RdbValueRef::Set(v),
            RdbValue::Hash(v) => RdbValueRef::Hash(v),
            RdbValue::ZSet(v) => RdbValueRef::ZSet(v),
            RdbValue::Stream(s) => RdbValueRef::Stream(s),
        }
    }

    /// Redis type name ("string", "list", ...).
    pub fn type_name(&self) -> &'static str {
        self.as_value_ref().type_name()
    }
}

/// A borrowed value. Collections are walked through the [`Seq`] family of
/// traits, which are implemented for the usual std containers; the server can
/// implement them for its own types. Walks may happen more than once.
#[derive(Clone, Copy)]
pub enum RdbValueRef<'a> {
    Str(&'a [u8]),
    /// Elements in list order (head to tail).
    List(&'a dyn Seq),
    Set(&'a dyn Seq),
    /// (field, value) pairs.
    Hash(&'a dyn PairSeq),
    /// (member, score) pairs, any order.
    ZSet(&'a dyn ScoreSeq),
    Stream(&'a std::sync::Arc<crate::stream::Stream>),
}

impl<'a> RdbValueRef<'a> {
    pub fn type_name(&self) -> &'static str {
        match self {
            RdbValueRef::Str(_) => "string",
            RdbValueRef::List(_) => "list",
            RdbValueRef::Set(_) => "set",
            RdbValueRef::Hash(_) => "hash",
            RdbValueRef::ZSet(_) => "zset",
            RdbValueRef::Stream(_) => "stream",
        }
    }

    /// Copy into an owned value.
    pub fn to_owned_value(&self) -> RdbValue {
        match *self {
            RdbValueRef::Str(s) => RdbValue::Str(Bytes::copy_from_slice(s)),
            RdbValueRef::List(s) => RdbValue::List(collect_seq(s)),
            RdbValueRef::Set(s) => RdbValue::Set(collect_seq(s)),
            RdbValueRef::Hash(s) => {
                let mut v = Vec::with_capacity(s.len());
                s.for_each_pair(&mut |a, b| {
                    v.push((Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)))
                });
                RdbValue::Hash(v)
            }
            RdbValueRef::ZSet(s) => {
                let mut v = Vec::with_capacity(s.len());
                s.for_each_scored(&mut |a, sc| v.push((Bytes::copy_from_slice(a), sc)));
                RdbValue::ZSet(v)
            }
            RdbValueRef::Stream(s) => RdbValue::Stream(s.clone()),
        }
    }
}

fn collect_seq(s: &dyn Seq) -> Vec<Bytes> {
    let mut v = Vec::with_capacity(s.len());
    s.for_each_item(&mut |a| v.push(Bytes::copy_from_slice(a)));
    v
}

/// A sequence of byte strings that can be walked (repeatedly).
pub trait Seq {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn for_each_item(&self, f: &mut dyn FnMut(&[u8]));
}

/// A sequence of (field, value) pairs that can be walked (repeatedly).
pub trait PairSeq {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn for_each_pair(&self, f: &mut dyn FnMut(&[u8], &[u8]));
}

/// A sequence of (member, score) pairs that can be walked (repeatedly).
pub trait ScoreSeq {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn for_each_scored(&self, f: &mut dyn FnMut(&[u8], f64));
}

macro_rules! impl_seq {
    ($($t:ty),*) => {$(
        impl<T: AsRef<[u8]>> Seq for $t {
            fn len(&self) -> usize { <$t>::len(self) }
            fn for_each_item(&self, f: &mut dyn FnMut(&[u8])) { for x in self.iter() { f(x.as_ref()) } }
        }
    )*};
}
impl_seq!([T], Vec<T>, VecDeque<T>, BTreeSet<T>);

impl<T: AsRef<[u8]>, S: BuildHasher> Seq for HashSet<T, S> {
    fn len(&self) -> usize {
        HashSet::len(self)
    }
    fn for_each_item(&self, f: &mut dyn FnMut(&[u8])) {
        for x in self.iter() {
            f(x.as_ref())
        }
    }
}

macro_rules! impl_pairseq {
    ($($t:ty),*) => {$(
        impl<K: AsRef<[u8]>, V: AsRef<[u8]>> PairSeq for $t {
            fn len(&self) -> usize { <$t>::len(self) }
            fn for_each_pair(&self, f: &mut dyn FnMut(&[u8], &[u8])) {
                for (k, v) in self.iter() { f(k.as_ref(), v.as_ref()) }
            }
        }
    )*};
}
impl_pairseq!([(K, V)], Vec<(K, V)>, VecDeque<(K, V)>, BTreeMap<K, V>);

impl<K: AsRef<[u8]>, V: AsRef<[u8]>, S: BuildHasher> PairSeq for HashMap<K, V, S> {
    fn len(&self) -> usize {
        HashMap::len(self)
    }
    fn for_each_pair(&self, f: &mut dyn FnMut(&[u8], &[u8])) {
        for (k, v) in self.iter() {
            f(k.as_ref(), v.as_ref())
        }
    }
}

macro_rules! impl_scoreseq {
    ($($t:ty),*) => {$(
        impl<K: AsRef<[u8]>> ScoreSeq for $t {
            fn len(&self) -> usize { <$t>::len(self) }
            fn for_each_scored(&self, f: &mut dyn FnMut(&[u8], f64)) {
                for (k, v) in self.iter() { f(k.as_ref(), *v) }
            }
        }
    )*};
}
impl_scoreseq!([(K, f64)], Vec<(K, f64)>, VecDeque<(K, f64)>, BTreeMap<K, f64>);

impl<K: AsRef<[u8]>, S: BuildHasher> ScoreSeq for HashMap<K, f64, S> {
    fn len(&self) -> usize {
        HashMap::len(self)
    }
    fn for_each_scored(&self, f: &mut dyn FnMut(&[u8], f64)) {
        for (k, v) in self.iter() {
            f(k.as_ref(), *v)
        }
    }
}

/// Errors from loading (and, via `Io`, writing) RDB data.
#[derive(Debug)]
pub enum RdbError {
    Io(std::io::Error),
    Corrupt(String),
    Unsupported(String),
    Checksum,
    Version(u32),
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                write!(f, "Short read loading RDB (unexpected end of data)")
            }
            RdbError::Io(e) => write!(f, "I/O error loading RDB: {e}"),
            RdbError::Corrupt(m) => write!(f, "Corrupt RDB: {m}"),
            RdbError::Unsupported(m) => write!(f, "Unsupported RDB content: {m}"),
            RdbError::Checksum => write!(f, "Wrong RDB checksum"),
            RdbError::Version(v) => write!(f, "Can't handle RDB format version {v}"),
        }
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RdbError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for RdbError {
    fn from(e: std::io::Error) -> Self {
        RdbError::Io(e)
    }
}

pub(crate) fn corrupt<T>(msg: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError::Corrupt(msg.into()))
}

/// Parse `s` as a canonical signed 64-bit decimal (Redis `string2ll` rules:
/// no sign `+`, no leading zeros, no `-0`, no spaces, at most 20 chars).
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Format a double like C's `printf("%.17g")` (as used by Redis's
/// DEBUG DIGEST and, for non-integral values, `d2string`).
pub fn fmt_g17(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    const P: i32 = 17;
    // Scientific form with P significant digits gives the digits and exponent.
    let e = format!("{:.*e}", (P - 1) as usize, v);
    let (mant, exp) = e.split_once('e').expect("exp form");
    let x: i32 = exp.parse().expect("exp");
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..P).contains(&x) {
        // %e style, trailing zeros stripped.
        let (first, rest) = digits.split_at(1);
        let rest = rest.trim_end_matches('0');
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if x < 0 { '-' } else { '+' });
        let ax = x.unsigned_abs();
        if ax < 10 {
            out.push('0');
        }
        out.push_str(&ax.to_string());
    } else if x >= 0 {
        let xi = x as usize;
        let (int_part, frac) = digits.split_at(xi + 1);
        out.push_str(int_part);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-x - 1) {
            out.push('0');
        }
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// Redis 7.0 `d2string`: how a zset score is stored as text in a listpack
/// (and replied to clients).
pub fn redis_d2string(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v == 0.0 {
        if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        }
    } else if v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        (v as i64).to_string()
    } else {
        fmt_g17(v)
    }
}

/// Parse a score as Redis's `strtod` would for the strings Redis writes
/// (decimal, exponent, `inf`, `-inf`, `nan`).
pub fn parse_score(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    if t.is_empty() || t.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    t.parse::<f64>().ok()
}
