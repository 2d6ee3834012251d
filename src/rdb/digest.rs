//! Redis 7.0 `DEBUG DIGEST` / `DEBUG DIGEST-VALUE`.
//!
//! Two SHA1-based primitives: *xor* (digest ^= SHA1(data), order
//! independent) and *mix* (digest = SHA1(digest ^ SHA1(data)), order
//! dependent). Per key: a fresh 20-byte digest is mixed with the key name,
//! then (the value digest part) mixed with the type id as a big-endian u32,
//! then the value (strings: mixed; lists: each element mixed in order; sets:
//! each member xored; hashes: per pair a fresh digest mixed with field then
//! value, xored in; zsets: per member a fresh digest mixed with member then
//! the score as `%.17g`, xored in), then xored with `"!!expire!!"` when the
//! key has a TTL (its value does not matter). The dataset digest mixes each
//! non-empty database's index (BE u32) into the result before xoring in that
//! database's key digests (each through SHA1 again, via *xor*). Integer-encoded values digest as their decimal text.

use sha1_smol::Sha1;

use super::{fmt_g17, RdbValue, RdbValueRef};

const OBJ_STRING: u32 = 0;
const OBJ_LIST: u32 = 1;
const OBJ_SET: u32 = 2;
const OBJ_ZSET: u32 = 3;
const OBJ_HASH: u32 = 4;
const OBJ_STREAM: u32 = 6;

fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::from(data).digest().bytes()
}

fn xor_digest(d: &mut [u8; 20], data: &[u8]) {
    let h = sha1(data);
    for (a, b) in d.iter_mut().zip(h.iter()) {
        *a ^= *b;
    }
}

fn mix_digest(d: &mut [u8; 20], data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(&d[..]);
}

/// Hex string of a 20-byte digest.
pub fn to_hex(d: &[u8; 20]) -> String {
    let mut s = String::with_capacity(40);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Mix a value (and its expire flag) into `d` as Redis's `xorObjectDigest` does.
fn object_digest(d: &mut [u8; 20], value: RdbValueRef<'_>, has_expire: bool) {
    let t = match value {
        RdbValueRef::Str(_) => OBJ_STRING,
        RdbValueRef::List(_) => OBJ_LIST,
        RdbValueRef::Set(_) => OBJ_SET,
        RdbValueRef::ZSet(_) => OBJ_ZSET,
        RdbValueRef::Hash(_) => OBJ_HASH,
        RdbValueRef::Stream(_) => OBJ_STREAM,
    };
    mix_digest(d, &t.to_be_bytes());
    match value {
        RdbValueRef::Str(s) => mix_digest(d, s),
        RdbValueRef::List(l) => l.for_each_item(&mut |e| mix_digest(d, e)),
        RdbValueRef::Set(s) => s.for_each_item(&mut |e| xor_digest(d, e)),
        RdbValueRef::Hash(h) => h.for_each_pair(&mut |f, v| {
            let mut e = [0u8; 20];
            mix_digest(&mut e, f);
            mix_digest(&mut e, v);
            xor_digest(d, &e);
        }),
        RdbValueRef::ZSet(z) => z.for_each_scored(&mut |m, sc| {
            let mut e = [0u8; 20];
            mix_digest(&mut e, m);
            mix_digest(&mut e, fmt_g17(sc).as_bytes());
            xor_digest(d, &e);
        }),
        // Every live entry: "ms.seq", then its fields and values, mixed in order.
        RdbValueRef::Stream(s) => {
            let all = (crate::stream::StreamId::MIN, crate::stream::StreamId::MAX);
            s.walk(all.0, all.1, false, false, &mut |e| {
                mix_digest(d, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
                for (f, v) in &e.fields {
                    mix_digest(d, f);
                    mix_digest(d, v);
                }
                true
            });
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// `DEBUG DIGEST-VALUE` of one value (the key name is not part of it).
pub fn digest_value(value: RdbValueRef<'_>, expire_ms: Option<i64>) -> [u8; 20] {
    let mut d = [0u8; 20];
    object_digest(&mut d, value, expire_ms.is_some());
    d
}

/// Digest of one key as it is xored into the dataset digest.
pub fn key_digest(key: &[u8], value: RdbValueRef<'_>, expire_ms: Option<i64>) -> [u8; 20] {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    object_digest(&mut d, value, expire_ms.is_some());
    d
}

/// Incremental `DEBUG DIGEST` of a whole dataset. Call [`select_db`](Self::select_db)
/// with increasing database numbers; keys within a database may come in any
/// order. Databases with no keys leave no trace (as in Redis).
#[derive(Debug, Clone, Default)]
pub struct Digest {
    acc: [u8; 20],
    db: u32,
    db_mixed: bool,
}

impl Digest {
    pub fn new() -> Self {
        Self::default()
    }

    /// Following keys belong to database `db` (must not decrease).
    pub fn select_db(&mut self, db: u64) {
        let db = db as u32;
        if db != self.db {
            debug_assert!(
                db > self.db || !self.db_mixed,
                "databases must be visited in order"
            );
            self.db = db;
            self.db_mixed = false;
        }
    }

    /// Add one key of the current database. Only the presence of an expire matters.
    pub fn add_key(&mut self, key: &[u8], value: RdbValueRef<'_>, expire_ms: Option<i64>) {
        if !self.db_mixed {
            mix_digest(&mut self.acc, &self.db.to_be_bytes());
            self.db_mixed = true;
        }
        let k = key_digest(key, value, expire_ms);
        xor_digest(&mut self.acc, &k);
    }

    /// [`add_key`](Self::add_key) for an owned value.
    pub fn add_key_value(&mut self, key: &[u8], value: &RdbValue, expire_ms: Option<i64>) {
        self.add_key(key, value.as_value_ref(), expire_ms)
    }

    pub fn bytes(&self) -> [u8; 20] {
        self.acc
    }

    /// 40 lowercase hex chars, all zeros for an empty dataset.
    pub fn hex(&self) -> String {
        to_hex(&self.acc)
    }
}
