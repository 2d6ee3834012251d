//! RDB (version 10) writer.

use std::io::{self, Write};

use super::crc64::{crc64_digest, Crc64Digest};
use super::listpack::{self, ListpackBuilder};
use super::lzf::LzfCompressor;
use super::ziplist::build_intset;
use super::*;

/// Encoding thresholds (Redis 7.0 defaults via `Default`).
#[derive(Debug, Clone)]
pub struct RdbOptions {
    /// LZF-compress strings longer than 20 bytes (`rdbcompression`).
    pub compress: bool,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    /// `list-max-listpack-size`: negative = byte limit class (-1 4 KiB ..
    /// -5 64 KiB), positive = max entries per node (with an 8 KiB safety cap).
    pub list_max_listpack_size: i64,
    /// List elements at least this large go in PLAIN quicklist nodes
    /// (Redis 7.0 default: 1 GiB).
    pub list_plain_threshold: usize,
}

impl Default for RdbOptions {
    fn default() -> Self {
        RdbOptions {
            compress: true,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            list_plain_threshold: 1 << 30,
        }
    }
}

const BUF_CAP: usize = 64 * 1024;
const SIZE_SAFETY_LIMIT: usize = 8192;
const SIZE_ESTIMATE_OVERHEAD: usize = 8;

/// Streaming RDB writer. Output is buffered internally in 64 KiB chunks; the
/// CRC64 is computed over everything written and appended by [`finish`](Self::finish).
pub struct RdbWriter<W: Write> {
    inner: W,
    crc: Crc64Digest,
    buf: Vec<u8>,
    opts: RdbOptions,
    lzf: LzfCompressor,
    scratch: Vec<u8>,
    lp: ListpackBuilder,
    err: Option<io::Error>,
    written: u64,
    count_mismatch: bool,
}

impl<W: Write> RdbWriter<W> {
    /// Start an RDB stream: writes the `REDIS0010` header.
    pub fn new(w: W, compress: bool) -> io::Result<Self> {
        Self::with_options(
            w,
            RdbOptions {
                compress,
                ..RdbOptions::default()
            },
        )
    }

    /// Start an RDB stream with explicit encoding thresholds.
    pub fn with_options(w: W, opts: RdbOptions) -> io::Result<Self> {
        let mut me = Self::headerless(w, opts);
        me.put(format!("REDIS{:04}", RDB_VERSION).as_bytes());
        me.check()?;
        Ok(me)
    }

    fn headerless(w: W, opts: RdbOptions) -> Self {
        RdbWriter {
            inner: w,
            crc: crc64_digest(),
            buf: Vec::with_capacity(BUF_CAP),
            opts,
            lzf: LzfCompressor::new(),
            scratch: Vec::new(),
            lp: ListpackBuilder::new(),
            err: None,
            written: 0,
            count_mismatch: false,
        }
    }

    /// Bytes produced so far (including buffered ones).
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// AUX field (`0xFA key value`). Canonical integers are int-encoded.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.put(&[OP_AUX]);
        self.write_string(key);
        self.write_string(value);
        self.check()
    }

    /// AUX field with an integer value.
    pub fn aux_int(&mut self, key: &[u8], value: i64) -> io::Result<()> {
        self.aux(key, value.to_string().as_bytes())
    }

    /// `0xFE db`.
    pub fn select_db(&mut self, db: u64) -> io::Result<()> {
        self.put(&[OP_SELECTDB]);
        self.write_len(db);
        self.check()
    }

    /// `0xFB size expires` (hash table sizing hint for the loader).
    pub fn resize_db(&mut self, size: u64, expires: u64) -> io::Result<()> {
        self.put(&[OP_RESIZEDB]);
        self.write_len(size);
        self.write_len(expires);
        self.check()
    }

    /// `0xF5` FUNCTION2 record: one library's source code.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.put(&[OP_FUNCTION2]);
        self.write_string(code);
        self.check()
    }

    /// Write one key. `expire_ms` is an absolute Unix time in milliseconds.
    /// Empty collections are skipped (Redis never stores them). Returns an
    /// `InvalidInput` error if a collection yields a different number of
    /// elements than its `len()` (the stream is then unusable).
    pub fn key(
        &mut self,
        key: &[u8],
        value: RdbValueRef<'_>,
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        if is_empty_collection(&value) {
            return Ok(());
        }
        if let Some(ms) = expire_ms {
            self.put(&[OP_EXPIRETIME_MS]);
            self.put(&ms.to_le_bytes());
        }
        self.put(&[self.type_for(&value)]);
        self.write_string(key);
        self.write_value_body(value);
        self.check()
    }

    /// [`key`](Self::key) for an owned value.
    pub fn key_value(
        &mut self,
        key: &[u8],
        value: &RdbValue,
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        self.key(key, value.as_value_ref(), expire_ms)
    }

    /// Write `0xFF`, flush, append the CRC64 (LE) and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&[OP_EOF]);
        self.flush_buf();
        self.check()?;
        let crc = self.crc.clone().finalize();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    // ---- internals -------------------------------------------------------

    fn check(&mut self) -> io::Result<()> {
        if let Some(e) = self.err.take() {
            // Keep the writer poisoned: later writes are dropped.
            self.err = Some(io::Error::new(e.kind(), e.to_string()));
            return Err(e);
        }
        if self.count_mismatch {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "collection yielded a different number of elements than its len()",
            );
            self.err = Some(io::Error::new(e.kind(), e.to_string()));
            return Err(e);
        }
        Ok(())
    }

    fn flush_buf(&mut self) {
        if self.buf.is_empty() || self.err.is_some() {
            return;
        }
        self.crc.update(&self.buf);
        if let Err(e) = self.inner.write_all(&self.buf) {
            self.err = Some(e);
        }
        self.buf.clear();
    }

    pub(super) fn put(&mut self, b: &[u8]) {
        if self.err.is_some() {
            return;
        }
        self.written += b.len() as u64;
        if self.buf.len() + b.len() > BUF_CAP {
            self.flush_buf();
            if self.err.is_some() {
                return;
            }
            if b.len() >= BUF_CAP {
                self.crc.update(b);
                if let Err(e) = self.inner.write_all(b) {
                    self.err = Some(e);
                }
                return;
            }
        }
        self.buf.extend_from_slice(b);
    }

    pub(super) fn write_len(&mut self, len: u64) {
        if len < 64 {
            self.put(&[len as u8]);
        } else if len < 16384 {
            self.put(&[0x40 | (len >> 8) as u8, len as u8]);
        } else if len <= u32::MAX as u64 {
            let mut b = [0x80u8, 0, 0, 0, 0];
            b[1..].copy_from_slice(&(len as u32).to_be_bytes());
            self.put(&b);
        } else {
            let mut b = [0x81u8, 0, 0, 0, 0, 0, 0, 0, 0];
            b[1..].copy_from_slice(&len.to_be_bytes());
            self.put(&b);
        }
    }

    /// A string with Redis's encodings: int8/16/32 for short canonical
    /// decimals, LZF when enabled and worthwhile, else raw.
    pub(super) fn write_string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = parse_canonical_i64(s) {
                if let Ok(v8) = i8::try_from(v) {
                    self.put(&[0xC0 | ENC_INT8, v8 as u8]);
                    return;
                } else if let Ok(v16) = i16::try_from(v) {
                    let b = v16.to_le_bytes();
                    self.put(&[0xC0 | ENC_INT16, b[0], b[1]]);
                    return;
                } else if let Ok(v32) = i32::try_from(v) {
                    let b = v32.to_le_bytes();
                    self.put(&[0xC0 | ENC_INT32, b[0], b[1], b[2], b[3]]);
                    return;
                }
            }
        }
        if self.opts.compress && s.len() > 20 {
            let mut out = std::mem::take(&mut self.scratch);
            out.clear();
            if let Some(clen) = self.lzf.compress(s, &mut out, s.len() - 4) {
                self.put(&[0xC0 | ENC_LZF]);
                self.write_len(clen as u64);
                self.write_len(s.len() as u64);
                self.put(&out);
                if out.capacity() > 1 << 20 {
                    out = Vec::new();
                }
                self.scratch = out;
                return;
            }
            self.scratch = out;
        }
        self.write_len(s.len() as u64);
        self.put(s);
    }

    fn type_for(&self, v: &RdbValueRef<'_>) -> u8 {
        match *v {
            RdbValueRef::Str(_) => TYPE_STRING,
            RdbValueRef::List(_) => TYPE_LIST_QUICKLIST_2,
            RdbValueRef::Set(s) => {
                if self.set_is_intset(s) {
                    TYPE_SET_INTSET
                } else {
                    TYPE_SET
                }
            }
            RdbValueRef::Hash(h) => {
                if self.hash_is_listpack(h) {
                    TYPE_HASH_LISTPACK
                } else {
                    TYPE_HASH
                }
            }
            RdbValueRef::ZSet(z) => {
                if self.zset_is_listpack(z) {
                    TYPE_ZSET_LISTPACK
                } else {
                    TYPE_ZSET_2
                }
            }
            RdbValueRef::Stream(_) => TYPE_STREAM_LISTPACKS_2,
        }
    }

    fn set_is_intset(&self, s: &dyn Seq) -> bool {
        if s.len() > self.opts.set_max_intset_entries {
            return false;
        }
        let mut ok = true;
        s.for_each_item(&mut |e| {
            if ok && parse_canonical_i64(e).is_none() {
                ok = false;
            }
        });
        ok
    }

    fn hash_is_listpack(&self, h: &dyn PairSeq) -> bool {
        if h.len() > self.opts.hash_max_listpack_entries {
            return false;
        }
        let max = self.opts.hash_max_listpack_value;
        let mut ok = true;
        h.for_each_pair(&mut |f, v| {
            if f.len() > max || v.len() > max {
                ok = false;
            }
        });
        ok
    }

    fn zset_is_listpack(&self, z: &dyn ScoreSeq) -> bool {
        if z.len() > self.opts.zset_max_listpack_entries {
            return false;
        }
        let max = self.opts.zset_max_listpack_value;
        let mut ok = true;
        z.for_each_scored(&mut |m, _| {
            if m.len() > max {
                ok = false;
            }
        });
        ok
    }

    /// The value payload (after the type byte), choosing the same encoding
    /// as [`type_for`](Self::type_for).
    fn write_value_body(&mut self, value: RdbValueRef<'_>) {
        match value {
            RdbValueRef::Str(s) => self.write_string(s),
            RdbValueRef::Stream(s) => self.write_stream(s),
            RdbValueRef::List(l) => self.write_quicklist(l),
            RdbValueRef::Set(s) => {
                if self.set_is_intset(s) {
                    let mut ints = Vec::with_capacity(s.len());
                    s.for_each_item(&mut |e| ints.push(parse_canonical_i64(e).unwrap_or(0)));
                    let blob = build_intset(&mut ints);
                    self.write_string(&blob);
                } else {
                    let n = s.len();
                    self.write_len(n as u64);
                    let mut seen = 0usize;
                    s.for_each_item(&mut |e| {
                        seen += 1;
                        if seen <= n {
                            self.write_string(e);
                        }
                    });
                    self.count_mismatch |= seen != n;
                }
            }
            RdbValueRef::Hash(h) => {
                let n = h.len();
                let mut seen = 0usize;
                if self.hash_is_listpack(h) {
                    let mut lp = std::mem::take(&mut self.lp);
                    lp.clear();
                    h.for_each_pair(&mut |f, v| {
                        seen += 1;
                        lp.push(f);
                        lp.push(v);
                    });
                    self.write_string(lp.finish_in_place());
                    lp.clear();
                    self.lp = lp;
                } else {
                    self.write_len(n as u64);
                    h.for_each_pair(&mut |f, v| {
                        seen += 1;
                        if seen <= n {
                            self.write_string(f);
                            self.write_string(v);
                        }
                    });
                }
                self.count_mismatch |= seen != n;
            }
            RdbValueRef::ZSet(z) => {
                let n = z.len();
                let mut seen = 0usize;
                if self.zset_is_listpack(z) {
                    let mut items: Vec<(Vec<u8>, f64)> = Vec::with_capacity(n);
                    z.for_each_scored(&mut |m, sc| items.push((m.to_vec(), sc)));
                    seen = items.len();
                    items.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                    let mut lp = std::mem::take(&mut self.lp);
                    lp.clear();
                    for (m, sc) in &items {
                        lp.push(m);
                        lp.push(redis_d2string(*sc).as_bytes());
                    }
                    self.write_string(lp.finish_in_place());
                    lp.clear();
                    self.lp = lp;
                } else {
                    self.write_len(n as u64);
                    z.for_each_scored(&mut |m, sc| {
                        seen += 1;
                        if seen <= n {
                            self.write_string(m);
                            self.put(&sc.to_le_bytes());
                        }
                    });
                }
                self.count_mismatch |= seen != n;
            }
        }
    }

    /// QUICKLIST_2: node count, then per node container + blob. Node
    /// boundaries are computed in a first pass (count needed up front), with
    /// Redis's rules for `list-max-listpack-size`.
    fn write_quicklist(&mut self, l: &dyn Seq) {
        let fill = self.opts.list_max_listpack_size;
        let max_bytes = if fill < 0 {
            [4096usize, 8192, 16384, 32768, 65536][((-fill) as usize - 1).min(4)]
        } else {
            SIZE_SAFETY_LIMIT
        };
        let max_count = if fill < 0 {
            usize::MAX
        } else {
            (fill as usize).max(1)
        };
        let plain_at = self.opts.list_plain_threshold;
        struct Plan {
            cnt: usize,
            bytes: usize,
        }
        // For each element: (starts a new node, goes in a plain node).
        let step = |p: &mut Plan, e: &[u8]| -> (bool, bool) {
            if e.len() >= plain_at {
                p.cnt = 0; // a plain node holds one element; the next starts fresh
                p.bytes = 0;
                return (true, true);
            }
            let sz = listpack::entry_size(e);
            let fits = p.cnt > 0
                && p.cnt < 65535
                && p.cnt < max_count
                && p.bytes + sz + SIZE_ESTIMATE_OVERHEAD <= max_bytes;
            if fits {
                p.cnt += 1;
                p.bytes += sz;
                (false, false)
            } else {
                p.cnt = 1;
                p.bytes = listpack::HEADER_SIZE + 1 + sz;
                (true, false)
            }
        };
        let mut nodes = 0u64;
        let mut plan = Plan { cnt: 0, bytes: 0 };
        l.for_each_item(&mut |e| {
            if step(&mut plan, e).0 {
                nodes += 1;
            }
        });
        self.write_len(nodes);
        let mut plan = Plan { cnt: 0, bytes: 0 };
        let mut lp = std::mem::take(&mut self.lp);
        lp.clear();
        let mut written_nodes = 0u64;
        l.for_each_item(&mut |e| {
            let (new, plain) = step(&mut plan, e);
            if new {
                if lp.count() > 0 {
                    self.write_len(QUICKLIST_NODE_PACKED);
                    self.write_string(lp.finish_in_place());
                    lp.clear();
                }
                written_nodes += 1;
            }
            if plain {
                self.write_len(QUICKLIST_NODE_PLAIN);
                self.write_string(e);
            } else {
                lp.push(e);
            }
        });
        if lp.count() > 0 {
            self.write_len(QUICKLIST_NODE_PACKED);
            self.write_string(lp.finish_in_place());
            lp.clear();
        }
        self.lp = lp;
        self.count_mismatch |= written_nodes != nodes;
    }
}

fn is_empty_collection(v: &RdbValueRef<'_>) -> bool {
    match *v {
        RdbValueRef::Str(_) => false,
        RdbValueRef::List(s) | RdbValueRef::Set(s) => s.is_empty(),
        RdbValueRef::Hash(h) => h.is_empty(),
        RdbValueRef::ZSet(z) => z.is_empty(),
        RdbValueRef::Stream(_) => false,
    }
}

/// Redis version we report in `redis-ver`.
pub const REPORTED_REDIS_VERSION: &str = "7.0.15";

/// The AUX fields Redis 7.0 writes, in its order: redis-ver, redis-bits,
/// ctime, used-mem, [repl-stream-db, repl-id, repl-offset], aof-base.
/// `repl` = (stream db, replication id, offset).
#[cfg(test)]
pub fn write_default_aux<W: Write>(
    w: &mut RdbWriter<W>,
    used_mem: u64,
    repl: Option<(i64, &str, i64)>,
    aof_base: bool,
) -> io::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    write_aux_at(w, now, used_mem, repl, aof_base)
}

/// [`write_default_aux`] with `ctime` given: the same snapshot then always makes the same
/// bytes (a resumed full sync sends the rest of an RDB written again).
pub fn write_aux_at<W: Write>(
    w: &mut RdbWriter<W>,
    now: i64,
    used_mem: u64,
    repl: Option<(i64, &str, i64)>,
    aof_base: bool,
) -> io::Result<()> {
    w.aux(b"redis-ver", REPORTED_REDIS_VERSION.as_bytes())?;
    w.aux_int(b"redis-bits", 64)?;
    w.aux_int(b"ctime", now)?;
    w.aux_int(b"used-mem", used_mem as i64)?;
    if let Some((db, id, off)) = repl {
        w.aux_int(b"repl-stream-db", db)?;
        w.aux(b"repl-id", id.as_bytes())?;
        w.aux_int(b"repl-offset", off)?;
    }
    w.aux_int(b"aof-base", aof_base as i64)
}

/// Serialize one value as a `DUMP` payload: type byte, value, RDB version
/// (u16 LE), CRC64 of all that (u64 LE). Empty collections produce `None`.
pub fn dump_payload(value: RdbValueRef<'_>, opts: &RdbOptions) -> Option<Vec<u8>> {
    if is_empty_collection(&value) {
        return None;
    }
    let mut w = RdbWriter::headerless(Vec::new(), opts.clone());
    w.put(&[w.type_for(&value)]);
    w.write_value_body(value);
    w.put(&(RDB_VERSION as u16).to_le_bytes());
    w.flush_buf();
    w.check().ok()?;
    let mut out = w.inner;
    let crc = super::crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Some(out)
}

/// Serialize function libraries as a `FUNCTION DUMP` payload: one `0xF5` FUNCTION2 record
/// per library's code, RDB version (u16 LE), CRC64 (u64 LE).
pub fn function_payload(codes: &[&[u8]]) -> Vec<u8> {
    let mut w = RdbWriter::headerless(Vec::new(), RdbOptions::default());
    for c in codes {
        w.put(&[OP_FUNCTION2]);
        w.write_string(c);
    }
    w.put(&(RDB_VERSION as u16).to_le_bytes());
    w.flush_buf();
    let mut out = w.inner;
    let crc = super::crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}
