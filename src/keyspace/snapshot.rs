//! A frozen dataset and its replication offset, and its conversion to and from RDB.
//!
//! The keyspace hands out a [`Snapshot`] in O(segments) (copy-on-write segments); the RDB is
//! then written off the keyspace actor, so clients keep being served meanwhile.

use super::value::{Enc, HashObj, Score, SetObj, ZSet};
use super::{Db, Value};
use super::segmap::{Prefetch, SegMapBuilder};
use super::thin::Thin;
use crate::rdb::{self, RdbError, RdbSink, RdbValue, RdbValueRef, RdbWriter, ScoreSeq};
use bytes::Bytes;
use std::io::{Read, Write};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The dataset at one point of the replication stream.
#[derive(Clone)]
pub struct Snapshot {
    pub dbs: Vec<Db>,
    pub replid: String,
    /// master_repl_offset at the moment of the snapshot.
    pub offset: i64,
    /// The db the replication stream last selected (the `repl-stream-db` aux field).
    pub stream_db: i64,
    /// `rdb-key-save-delay`: microseconds to sleep per key written (negative -N: 1 µs with
    /// probability 1/N), as Redis's tests use to make a save last.
    pub key_save_delay: i64,
    /// The function libraries' codes (FUNCTION2 records, before the databases).
    pub functions: Vec<Bytes>,
    /// Set to stop writing this snapshot (no one needs it any more): the writer fails.
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
    /// The RDB's `ctime` and `used-mem` fields, fixed when the snapshot is taken, so that
    /// writing it again makes the same bytes.
    pub ctime: i64,
    pub used_mem: u64,
}

pub(crate) fn key_delay(us: i64) {
    let us = if us < 0 { i64::from(rand::random::<u64>().is_multiple_of(us.unsigned_abs())) } else { us };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us as u64));
    }
}

impl ScoreSeq for ZSet {
    fn len(&self) -> usize {
        self.dict.len()
    }
    fn for_each_scored(&self, f: &mut dyn FnMut(&[u8], f64)) {
        // Highest score first, as Redis writes skiplists (any order loads).
        for (s, m) in self.order.iter().rev() {
            f(m, s.0)
        }
    }
}

/// The borrowed RDB view of a value.
pub fn value_ref(v: &Value) -> RdbValueRef<'_> {
    match v {
        Value::Str(s) => RdbValueRef::Str(s),
        Value::List(l) => RdbValueRef::List(&**l),
        Value::Set(s) => RdbValueRef::Set(&s.set),
        Value::Hash(h) => RdbValueRef::Hash(&**h),
        Value::ZSet(z) => RdbValueRef::ZSet(&**z),
        Value::Stream(s) => RdbValueRef::Stream(s),
    }
}

/// Turns a loaded RDB value into a keyspace value.
pub fn from_rdb(v: RdbValue) -> Value {
    match v {
        RdbValue::Str(s) => Value::Str(super::thin::Thin::new(&s)),
        RdbValue::Stream(s) => Value::Stream(s),
        RdbValue::List(l) => Value::List(Arc::new(l.into_iter().collect())),
        RdbValue::Set(s) => Value::Set(Arc::new(SetObj { set: s.into_iter().collect(), enc: Enc::Unknown })),
        RdbValue::Hash(h) => Value::Hash(Arc::new(HashObj::from_pairs(h))),
        RdbValue::ZSet(z) => {
            let mut zs = ZSet::default();
            for (m, s) in z {
                if let Some(old) = zs.dict.insert(m.clone(), s) {
                    zs.order.remove(&(Score(old), m.clone()));
                }
                zs.order.insert((Score(s), m));
            }
            // Default thresholds (zset-max-listpack-entries 128, -value 64).
            zs.skiplist = zs.dict.len() > 128 || zs.dict.keys().any(|m| m.len() > 64);
            Value::ZSet(Arc::new(zs))
        }
    }
}

/// How many entries the RDB writer prefetches ahead of the one it writes.
const PREFETCH_AHEAD: usize = 8;

/// Writes the snapshot as an RDB (version 10, CRC64) with the replication aux fields.
pub fn write_rdb<W: Write>(snap: &Snapshot, w: W, compress: bool) -> std::io::Result<W> {
    write_rdb_as(snap, w, compress, false)
}

/// [`write_rdb`], as an AOF base when `aof_base` (its `aof-base` aux field says so).
pub fn write_rdb_as<W: Write>(snap: &Snapshot, w: W, compress: bool, aof_base: bool) -> std::io::Result<W> {
    let mut wr = RdbWriter::new(w, compress)?;
    rdb::write_aux_at(&mut wr, snap.ctime, snap.used_mem, Some((snap.stream_db, &snap.replid, snap.offset)), aof_base)?;
    for code in &snap.functions {
        wr.function(code)?;
    }
    for (i, db) in snap.dbs.iter().enumerate() {
        if db.keys.is_empty() {
            continue;
        }
        wr.select_db(i as u64)?;
        wr.resize_db(db.keys.len() as u64, db.expires.len() as u64)?;
        // Keys and values live in their own allocations: reading them is a cache miss each,
        // so entries are prefetched a few ahead of the one being written.
        let mut ahead: std::collections::VecDeque<(&Thin, &Value)> = std::collections::VecDeque::with_capacity(PREFETCH_AHEAD + 1);
        let mut entries = db.keys.iter();
        loop {
            while ahead.len() < PREFETCH_AHEAD {
                let Some((k, v)) = entries.next() else { break };
                k.prefetch();
                v.prefetch();
                ahead.push_back((k, v));
            }
            let Some((k, v)) = ahead.pop_front() else { break };
            let exp = if db.expires.is_empty() { None } else { db.expires.get(k).copied() };
            wr.key(k, value_ref(v), exp)?;
            crate::util::fork::key_written();
            if snap.key_save_delay != 0 {
                key_delay(snap.key_save_delay);
            }
            if snap.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(std::io::Error::other("cancelled"));
            }
        }
    }
    wr.finish()
}

/// What a load found besides keys.
#[derive(Default, Debug, Clone)]
pub struct LoadInfo {
    /// Function libraries' codes (FUNCTION2 records).
    pub functions: Vec<Bytes>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    pub repl_stream_db: Option<i64>,
    pub keys_loaded: u64,
    pub keys_expired: u64,
    /// Keys dropped because they had expired (a restarted master propagates their DELs).
    pub expired: Vec<(usize, Bytes)>,
}

/// One parsed key on its way to the inserting thread, already in the keyspace's form:
/// db, the key's hash, key, value, expire.
type Parsed = (usize, u64, Thin, Value, Option<i64>);

/// Parses an RDB stream; keys go to the inserting thread in batches, so parsing and building
/// the tables run on two cores.
struct Loader {
    ndbs: usize,
    cur: usize,
    now: i64,
    /// A master drops keys already expired; a replica keeps them (its master will DEL them).
    drop_expired: bool,
    info: LoadInfo,
    batch: Vec<Parsed>,
    tx: std::sync::mpsc::SyncSender<ToInserter>,
    /// Hashes keys on this thread (the inserting thread has the tables' work).
    hasher: super::segmap::KeyHasher,
    /// `key-load-delay`.
    key_delay: i64,
}

/// Redis's `debugDelay`: sleeps `usec` microseconds; a negative value sleeps one microsecond
/// with probability 1/-usec (short delays without a system call per key).
fn debug_delay(usec: i64) {
    let usec = if usec < 0 { u64::from(rand::random::<u64>() % usec.unsigned_abs() == 0) } else { usec as u64 };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec));
    }
}

/// What the parsing thread hands the inserting thread.
enum ToInserter {
    Keys(Vec<Parsed>),
    /// RESIZEDB: db, key count, expires count.
    Reserve(usize, usize, usize),
}

const BATCH: usize = 1024;

impl Loader {
    fn send_batch(&mut self) -> Result<(), RdbError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let b = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx.send(ToInserter::Keys(b)).map_err(|_| RdbError::Corrupt("loader stopped".into()))
    }
}

impl RdbSink for Loader {
    fn aux(&mut self, key: &[u8], val: &[u8]) -> Result<(), RdbError> {
        let s = String::from_utf8_lossy(val).to_string();
        match key {
            b"repl-id" => self.info.repl_id = Some(s),
            b"repl-offset" => self.info.repl_offset = s.parse().ok(),
            b"repl-stream-db" => self.info.repl_stream_db = s.parse().ok(),
            _ => {}
        }
        Ok(())
    }
    fn select_db(&mut self, db: u64) -> Result<(), RdbError> {
        if db as usize >= self.ndbs {
            return Err(RdbError::Corrupt(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting", self.ndbs)));
        }
        self.cur = db as usize;
        Ok(())
    }
    fn resize_db(&mut self, size: u64, expires: u64) -> Result<(), RdbError> {
        // Only a hint. The reader already bounds it by what the rest of the input can hold;
        // bounded again here, so a corrupt count can never reserve absurd memory.
        const MAX_HINT: u64 = rdb::reader::RESIZE_HINT_MAX;
        self.send_batch()?;
        let msg = ToInserter::Reserve(self.cur, size.min(MAX_HINT) as usize, expires.min(MAX_HINT) as usize);
        self.tx.send(msg).map_err(|_| RdbError::Corrupt("loader stopped".into()))
    }
    fn key(&mut self, key: Bytes, value: RdbValue, expire_ms: Option<i64>) -> Result<(), RdbError> {
        if let Some(t) = expire_ms {
            if self.drop_expired && t <= self.now {
                self.info.keys_expired += 1;
                self.info.expired.push((self.cur, key));
                return Ok(());
            }
        }
        if self.key_delay != 0 {
            debug_delay(self.key_delay);
        }
        // Converting here keeps the two threads' work about even.
        self.batch.push((self.cur, self.hasher.hash(&key), Thin::new_clocked(&key, super::lru::initial_word()), from_rdb(value), expire_ms));
        self.info.keys_loaded += 1;
        if self.batch.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(())
    }
    fn function(&mut self, code: Bytes) -> Result<(), RdbError> {
        self.info.functions.push(code);
        Ok(())
    }
}

/// Loads an RDB into `ndbs` new databases (nothing is kept if the RDB turns out bad).
/// `size` is the input's length when known (a file, a `$<len>` bulk): nothing the RDB
/// declares is then pre-sized beyond what it can really hold (unknown: constants bound it).
pub fn load_rdb(r: impl Read, size: Option<u64>, ndbs: usize, drop_expired: bool) -> Result<(Vec<Db>, LoadInfo), RdbError> {
    load_rdb_with(r, size, ndbs, drop_expired, 0, None)
}

/// Counts the bytes read through it (the loading progress INFO shows).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// [`load_rdb`] with Redis's `key-load-delay` (microseconds slept per key; negative: one
/// microsecond with probability 1/-n, as Redis's `debugDelay`) and a counter of bytes read.
pub fn load_rdb_with(
    r: impl Read,
    size: Option<u64>,
    ndbs: usize,
    drop_expired: bool,
    key_delay: i64,
    progress: Option<Arc<AtomicU64>>,
) -> Result<(Vec<Db>, LoadInfo), RdbError> {
    match progress {
        Some(count) => load_rdb_inner(Counting { inner: r, count }, size, ndbs, drop_expired, key_delay),
        None => load_rdb_inner(r, size, ndbs, drop_expired, key_delay),
    }
}

fn load_rdb_inner(r: impl Read, size: Option<u64>, ndbs: usize, drop_expired: bool, key_delay: i64) -> Result<(Vec<Db>, LoadInfo), RdbError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ToInserter>(16);
    let inserter = std::thread::spawn(move || {
        let mut keys: Vec<SegMapBuilder<Value>> = (0..ndbs).map(|_| SegMapBuilder::new()).collect();
        let mut expires: Vec<SegMapBuilder<i64>> = (0..ndbs).map(|_| SegMapBuilder::new()).collect();
        for msg in rx {
            let batch = match msg {
                ToInserter::Keys(b) => b,
                ToInserter::Reserve(db, k, e) => {
                    keys[db].reserve(k);
                    expires[db].reserve(e);
                    continue;
                }
            };
            for (db, h, key, value, exp) in batch {
                if let Some(t) = exp {
                    expires[db].push_hashed(h, Thin::new(&key), t);
                }
                keys[db].push_hashed(h, key, value);
            }
        }
        keys.into_iter()
            .zip(expires)
            .map(|(k, e)| Db { keys: k.finish(), expires: e.finish(), ..Db::default() })
            .collect::<Vec<Db>>()
    });
    let mut l = Loader {
        ndbs,
        cur: 0,
        now: crate::util::now_ms(),
        drop_expired,
        info: LoadInfo::default(),
        batch: Vec::with_capacity(BATCH),
        tx,
        hasher: super::segmap::KeyHasher::new(),
        key_delay,
    };
    let parsed = rdb::reader::load_sized(r, size, &mut l).and_then(|_| l.send_batch());
    let info = std::mem::take(&mut l.info);
    drop(l);
    let dbs = inserter.join().map_err(|_| RdbError::Corrupt("loader thread failed".into()))?;
    parsed?;
    Ok((dbs, info))
}

/// DEBUG DIGEST over databases (Redis 7.0's algorithm).
pub fn digest(dbs: &[Db]) -> String {
    let mut d = rdb::Digest::new();
    let mut any = false;
    for (i, db) in dbs.iter().enumerate() {
        if db.keys.is_empty() {
            continue;
        }
        any = true;
        d.select_db(i as u64);
        for (k, v) in db.keys.iter() {
            d.add_key(k, value_ref(v), db.expires.get(k).copied());
        }
    }
    if !any {
        return "0".repeat(40);
    }
    d.hex()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_resizedb_into_databases_reserves_little() {
        let f = crate::rdb::tests::hostile_resizedb();
        for size in [Some(f.len() as u64), None] {
            let (dbs, _) = super::load_rdb(&f[..], size, 16, false).unwrap();
            let cap = dbs[0].keys.capacity() + dbs[0].expires.capacity();
            // Unknown size: at most the constant hint (64K keys), with hash table slack.
            assert!(cap <= 4 * crate::rdb::reader::RESIZE_HINT_UNKNOWN as usize, "{size:?}: capacity {cap}");
            if size.is_some() {
                assert!(cap < 1024, "capacity {cap}");
            }
        }
    }
}
