//! Streaming RDB loader (versions 1..=10).
//!
//! The loader pulls bytes from any `std::io::Read` and never reads past the
//! 8-byte checksum trailer, so it can consume an RDB bulk from a socket. It
//! issues many small reads: wrap unbuffered sources in a `BufReader` (pass
//! `&mut BufReader<..>` to get the reader, and any bytes it buffered past the
//! RDB, back afterwards).

use std::io::{self, Read};

use bytes::Bytes;

use super::crc64::{crc64, crc64_digest, Crc64Digest};
use super::listpack::{self, LpEntry};
use super::lzf;
use super::ziplist::{parse_intset, parse_ziplist, parse_zipmap};
use super::*;

/// Receives what the loader finds, in file order.
pub trait RdbSink {
    /// AUX field (`redis-ver`, `repl-id`, ...). Unknown keys should be ignored.
    fn aux(&mut self, _key: &[u8], _val: &[u8]) -> Result<(), RdbError> {
        Ok(())
    }
    /// Following keys belong to database `db`.
    fn select_db(&mut self, _db: u64) -> Result<(), RdbError> {
        Ok(())
    }
    /// Sizing hint for the current database.
    fn resize_db(&mut self, _size: u64, _expires: u64) -> Result<(), RdbError> {
        Ok(())
    }
    /// One key. `expire_ms` is an absolute Unix time in ms (possibly past:
    /// deciding to drop expired keys is the sink's business).
    fn key(&mut self, key: Bytes, value: RdbValue, expire_ms: Option<i64>) -> Result<(), RdbError>;
    /// A function library (FUNCTION2 record): its source code.
    fn function(&mut self, _code: Bytes) -> Result<(), RdbError> {
        Err(RdbError::Unsupported(
            "function libraries (FUNCTION2 record)".into(),
        ))
    }
}

/// Summary of a successful load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub version: u32,
    /// Keys delivered to the sink (empty collections are skipped, as Redis does).
    pub keys: u64,
    /// Keys skipped because their collection was empty.
    pub empty_keys_skipped: u64,
    /// False when the file had no checksum (version < 5) or an all-zero one.
    pub checksum_verified: bool,
    /// Bytes consumed, trailer included.
    pub bytes: u64,
}

/// Load a whole RDB stream from `r` into `sink`. The size of the input is not known, so
/// pre-sizing from the counts it declares is bounded by constants only; prefer
/// [`load_sized`] when the size is known (a file, a `$<len>` bulk, a buffer).
pub fn load<R: Read, S: RdbSink + ?Sized>(r: R, sink: &mut S) -> Result<LoadStats, RdbError> {
    RdbReader::new(r).load(sink)
}

/// [`load`] for an input of at most `total` bytes (`None`: unknown). No length or count the
/// input declares makes the loader allocate more than the rest of the input can hold.
pub fn load_sized<R: Read, S: RdbSink + ?Sized>(
    r: R,
    total: Option<u64>,
    sink: &mut S,
) -> Result<LoadStats, RdbError> {
    RdbReader::new(r).with_total(total).load(sink)
}

struct Src<R> {
    inner: R,
    crc: Crc64Digest,
    pos: u64,
}

impl<R: Read> Read for Src<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) static PLAIN_NODES_SEEN: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

// Nothing the input declares is trusted for pre-sizing: a length or count read from it can
// be anything up to 2^64-1 whatever the input really holds. Allocation follows the bytes
// actually received, and a declared size is also checked against the rest of the input when
// its total is known (a file, a `$<len>` bulk, a DUMP payload).

/// Strings up to this size are read in one go; longer ones grow (at most doubling) as their
/// bytes arrive, so a hostile length costs at most twice what was really sent.
const EAGER_ALLOC: u64 = 64 * 1024;
/// Collections pre-size for at most this many elements; they grow as elements arrive.
const PREALLOC_ITEMS: u64 = 4096;
/// RESIZEDB hints passed on are bounded by this when the input's size is unknown (a diskless
/// `$EOF:` sync): the databases grow as keys arrive.
pub const RESIZE_HINT_UNKNOWN: u64 = 1 << 16;
/// ... and by this whatever the input's size.
pub const RESIZE_HINT_MAX: u64 = 1 << 24;
/// Smallest record a key can take: type byte, empty key (1 byte), 1-byte value.
const MIN_KEY_BYTES: u64 = 3;
/// Smallest record a key with an expire can take: 0xFD + 4-byte time, then a key.
const MIN_EXPIRING_KEY_BYTES: u64 = 5 + MIN_KEY_BYTES;
/// LZF's largest expansion: a 3-byte back-reference yields at most 264 bytes (7 + 255 + 2),
/// a literal run yields one byte per byte read.
const LZF_MAX_RATIO: u64 = 88;

fn short_read(what: &str) -> RdbError {
    RdbError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("truncated RDB: {what}"),
    ))
}

/// Low-level RDB reader; [`load`] is the usual entry point.
pub struct RdbReader<R: Read> {
    src: Src<R>,
    /// Size of the whole input, when known.
    total: Option<u64>,
}

impl<R: Read> RdbReader<R> {
    pub fn new(r: R) -> Self {
        RdbReader {
            src: Src {
                inner: r,
                crc: crc64_digest(),
                pos: 0,
            },
            total: None,
        }
    }

    /// Declares the input to be at most `total` bytes long (`None`: unknown). Declared
    /// lengths beyond what remains are then errors, found before anything is allocated.
    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }

    /// Bytes left in the input, when its size is known.
    fn remaining(&self) -> Option<u64> {
        self.total.map(|t| t.saturating_sub(self.src.pos))
    }

    /// Checks that `n` items of at least `min_bytes` each can fit in the rest of the input
    /// (when its size is known); returns how many to pre-size a container for.
    fn items(&self, n: u64, min_bytes: u64, what: &str) -> Result<usize, RdbError> {
        if let Some(rem) = self.remaining() {
            if n > rem / min_bytes.max(1) {
                return Err(short_read(&format!(
                    "{what} of {n} elements in the {rem} bytes left"
                )));
            }
        }
        Ok(n.min(PREALLOC_ITEMS) as usize)
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.src.pos
    }

    pub fn into_inner(self) -> R {
        self.src.inner
    }

    /// Parse the stream: header, records, EOF and checksum.
    pub fn load<S: RdbSink + ?Sized>(&mut self, sink: &mut S) -> Result<LoadStats, RdbError> {
        let mut magic = [0u8; 9];
        self.read_exact(&mut magic)?;
        if &magic[..5] != b"REDIS" {
            return corrupt("Wrong signature trying to load DB from file");
        }
        if !magic[5..].iter().all(|c| c.is_ascii_digit()) {
            return corrupt("Wrong signature trying to load DB from file (bad version digits)");
        }
        let version: u32 = std::str::from_utf8(&magic[5..]).unwrap().parse().unwrap();
        if !(1..=MAX_LOAD_VERSION).contains(&version) {
            return Err(RdbError::Version(version));
        }
        let mut stats = LoadStats {
            version,
            ..Default::default()
        };
        let mut expire: Option<i64> = None;
        loop {
            let op = self.read_u8()?;
            match op {
                OP_EXPIRETIME_MS => {
                    let mut b = [0u8; 8];
                    self.read_exact(&mut b)?;
                    expire = Some(i64::from_le_bytes(b));
                }
                OP_EXPIRETIME => {
                    let mut b = [0u8; 4];
                    self.read_exact(&mut b)?;
                    expire = Some(i32::from_le_bytes(b) as i64 * 1000);
                }
                OP_FREQ => {
                    self.read_u8()?;
                }
                OP_IDLE => {
                    self.read_len()?;
                }
                OP_EOF => break,
                OP_SELECTDB => {
                    let db = self.read_len()?;
                    sink.select_db(db)?;
                }
                OP_RESIZEDB => {
                    let size = self.read_len()?;
                    let expires = self.read_len()?;
                    // Only a hint, and the sink may reserve room for it: pass on no more
                    // keys than the rest of the input can hold (Redis files can lie here).
                    let (size, expires) = self.resize_hint(size, expires);
                    sink.resize_db(size, expires)?;
                }
                OP_AUX => {
                    let k = self.read_string()?;
                    let v = self.read_string()?;
                    sink.aux(&k, &v)?;
                }
                OP_MODULE_AUX => {
                    return Err(RdbError::Unsupported(
                        "module aux data (opcode MODULE_AUX 0xF7)".into(),
                    ))
                }
                OP_FUNCTION2 => {
                    let code = self.read_string()?;
                    sink.function(Bytes::from(code))?;
                }
                OP_FUNCTION => {
                    return Err(RdbError::Unsupported(
                        "pre-GA function format (opcode FUNCTION 0xF6, Redis 7.0-rc)".into(),
                    ))
                }
                t => {
                    let at = self.src.pos - 1;
                    let key = self.read_string()?;
                    let val = self.read_object(t).map_err(|e| match e {
                        RdbError::Corrupt(m) => RdbError::Corrupt(format!(
                            "{m} (value type {t} of key {:?} at offset {at})",
                            String::from_utf8_lossy(&key[..key.len().min(64)])
                        )),
                        other => other,
                    })?;
                    match val {
                        Some(v) => {
                            sink.key(Bytes::from(key), v, expire)?;
                            stats.keys += 1;
                        }
                        None => stats.empty_keys_skipped += 1,
                    }
                    expire = None;
                }
            }
        }
        if version >= 5 {
            let expected = self.src.crc.clone().finalize();
            let mut b = [0u8; 8];
            self.read_exact(&mut b)?;
            let stored = u64::from_le_bytes(b);
            if stored != 0 {
                if stored != expected {
                    return Err(RdbError::Checksum);
                }
                stats.checksum_verified = true;
            }
        }
        stats.bytes = self.src.pos;
        Ok(stats)
    }

    // ---- primitives ------------------------------------------------------

    pub(super) fn read_exact(&mut self, b: &mut [u8]) -> Result<(), RdbError> {
        self.src.read_exact(b).map_err(RdbError::Io)
    }

    fn read_u8(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// `n` bytes; allocation grows with the data actually received (at most doubling, and
    /// never past `n`, so the result has no slack).
    fn read_vec(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        if self.remaining().is_some_and(|rem| n > rem) {
            return Err(short_read(&format!("string of {n} bytes")));
        }
        let n = usize::try_from(n).map_err(|_| short_read("string too long"))?;
        if n as u64 <= EAGER_ALLOC {
            let mut v = vec![0u8; n];
            self.read_exact(&mut v)?;
            return Ok(v);
        }
        let mut v: Vec<u8> = Vec::new();
        while v.len() < n {
            let have = v.len();
            let step = (n - have).min(have.max(EAGER_ALLOC as usize));
            v.reserve_exact(step);
            v.resize(have + step, 0);
            self.read_exact(&mut v[have..])?;
        }
        Ok(v)
    }

    /// A RESIZEDB hint bounded by what the rest of the input can hold and by constants.
    fn resize_hint(&self, size: u64, expires: u64) -> (u64, u64) {
        let (keys, expiring) = match self.remaining() {
            Some(rem) => (rem / MIN_KEY_BYTES, rem / MIN_EXPIRING_KEY_BYTES),
            None => (RESIZE_HINT_UNKNOWN, RESIZE_HINT_UNKNOWN),
        };
        let size = size.min(keys).min(RESIZE_HINT_MAX);
        (size, expires.min(expiring).min(size))
    }

    /// A length; `Err` on the special-encoding form.
    pub(super) fn read_len(&mut self) -> Result<u64, RdbError> {
        match self.read_len_or_enc()? {
            (n, false) => Ok(n),
            (_, true) => corrupt("unexpected string encoding where a length was expected"),
        }
    }

    /// Returns (value, is_special_encoding).
    fn read_len_or_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let b = self.read_u8()?;
        match b >> 6 {
            0 => Ok(((b & 0x3F) as u64, false)),
            1 => {
                let b2 = self.read_u8()?;
                Ok(((((b & 0x3F) as u64) << 8) | b2 as u64, false))
            }
            2 => match b {
                0x80 => {
                    let mut x = [0u8; 4];
                    self.read_exact(&mut x)?;
                    Ok((u32::from_be_bytes(x) as u64, false))
                }
                0x81 => {
                    let mut x = [0u8; 8];
                    self.read_exact(&mut x)?;
                    Ok((u64::from_be_bytes(x), false))
                }
                _ => corrupt(format!("unknown length encoding 0x{b:02x}")),
            },
            _ => Ok(((b & 0x3F) as u64, true)),
        }
    }

    /// A string in any encoding, decoded to bytes.
    pub(super) fn read_string(&mut self) -> Result<Vec<u8>, RdbError> {
        let (n, enc) = self.read_len_or_enc()?;
        if !enc {
            return self.read_vec(n);
        }
        match n as u8 {
            ENC_INT8 => Ok((self.read_u8()? as i8).to_string().into_bytes()),
            ENC_INT16 => {
                let mut b = [0u8; 2];
                self.read_exact(&mut b)?;
                Ok(i16::from_le_bytes(b).to_string().into_bytes())
            }
            ENC_INT32 => {
                let mut b = [0u8; 4];
                self.read_exact(&mut b)?;
                Ok(i32::from_le_bytes(b).to_string().into_bytes())
            }
            ENC_LZF => {
                let clen = self.read_len()?;
                let ulen = self.read_len()?;
                if ulen == 0 {
                    return corrupt("LZF string with zero uncompressed length");
                }
                // LZF expands at most 88x: anything more is corrupt. The output also grows
                // as it is produced (see lzf::decompress), never to more than `ulen`.
                if clen == 0 || ulen > clen.saturating_mul(LZF_MAX_RATIO) {
                    return corrupt(format!(
                        "implausible LZF lengths (compressed {clen}, plain {ulen})"
                    ));
                }
                let c = self.read_vec(clen)?;
                let ulen = usize::try_from(ulen).map_err(|_| short_read("LZF string too long"))?;
                lzf::decompress(&c, ulen)
                    .map_err(|e| RdbError::Corrupt(format!("invalid LZF data: {e:?}")))
            }
            e => corrupt(format!("unknown string encoding {e}")),
        }
    }

    /// Score of the old ZSET type: length byte, 253 nan, 254 +inf, 255 -inf.
    fn read_text_double(&mut self) -> Result<f64, RdbError> {
        let n = self.read_u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let mut b = vec![0u8; n as usize];
                self.read_exact(&mut b)?;
                parse_score(&b).map_or_else(|| corrupt("invalid score text"), Ok)
            }
        }
    }

    fn read_binary_double(&mut self) -> Result<f64, RdbError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(f64::from_le_bytes(b))
    }

    fn read_object(&mut self, t: u8) -> Result<Option<RdbValue>, RdbError> {
        let v = read_value_of_type(self, t)?;
        let empty = match &v {
            RdbValue::Str(_) => false,
            RdbValue::List(l) | RdbValue::Set(l) => l.is_empty(),
            RdbValue::Hash(h) => h.is_empty(),
            RdbValue::ZSet(z) => z.is_empty(),
            RdbValue::Stream(_) => false,
        };
        Ok(if empty { None } else { Some(v) })
    }
}

fn lp_bytes(e: LpEntry<'_>) -> Bytes {
    match e {
        LpEntry::Str(s) => Bytes::copy_from_slice(s),
        LpEntry::Int(i) => Bytes::from(i.to_string()),
    }
}

fn lp_score(e: LpEntry<'_>) -> Result<f64, RdbError> {
    let s = match e {
        LpEntry::Int(i) => i as f64,
        LpEntry::Str(s) => {
            parse_score(s).ok_or_else(|| RdbError::Corrupt("invalid zset score in blob".into()))?
        }
    };
    if s.is_nan() {
        return corrupt("zset with NaN score");
    }
    Ok(s)
}

fn pairs_from(items: Vec<Bytes>, what: &str) -> Result<Vec<(Bytes, Bytes)>, RdbError> {
    if !items.len().is_multiple_of(2) {
        return corrupt(format!("{what} with an odd number of elements"));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn zset_from(entries: Vec<LpEntry<'_>>, what: &str) -> Result<Vec<(Bytes, f64)>, RdbError> {
    if !entries.len().is_multiple_of(2) {
        return corrupt(format!("{what} with an odd number of elements"));
    }
    let mut out = Vec::with_capacity(entries.len() / 2);
    for c in entries.chunks_exact(2) {
        out.push((lp_bytes(c[0]), lp_score(c[1])?));
    }
    Ok(out)
}

/// A blob that fails its checks, in Redis's words ("Ziplist integrity check failed").
fn blob_err(what: &str) -> impl Fn(String) -> RdbError + '_ {
    move |m| {
        let mut name = what.to_string();
        if let Some(first) = name.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        RdbError::Corrupt(format!("{name} integrity check failed: {m}"))
    }
}

/// Old ziplist-encoded hashes and sorted sets are checked for repeated fields or members as
/// they are converted (Redis converts them, and refuses duplicates, whatever
/// `sanitize-dump-payload` says).
fn no_duplicate_fields<'a>(mut names: impl Iterator<Item = &'a [u8]>, what: &str) -> Result<(), RdbError> {
    let mut seen = std::collections::HashSet::new();
    match names.find(|n| !seen.insert(*n)) {
        Some(_) => corrupt(format!("{what} integrity check failed: a repeated entry")),
        None => Ok(()),
    }
}

fn read_value_of_type<R: Read>(r: &mut RdbReader<R>, t: u8) -> Result<RdbValue, RdbError> {
    Ok(match t {
        TYPE_STRING => RdbValue::Str(Bytes::from(r.read_string()?)),
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            RdbValue::Stream(std::sync::Arc::new(r.read_stream(t)?))
        }
        TYPE_SET_LISTPACK => {
            let blob = r.read_string()?;
            let mut v = Vec::new();
            listpack::parse(&blob, |e| v.push(lp_bytes(e))).map_err(blob_err("listpack"))?;
            RdbValue::Set(v)
        }
        TYPE_HASH_METADATA_PRE_GA | TYPE_HASH_LISTPACK_EX_PRE_GA | TYPE_HASH_METADATA | TYPE_HASH_LISTPACK_EX => {
            return Err(RdbError::Unsupported(format!(
                "hash with field expiration (RDB type {}, Redis 7.4 HEXPIRE): tandem has no per-field TTLs",
                t
            )));
        }
        TYPE_LIST | TYPE_SET => {
            let n = r.read_len()?;
            // Each element is a string of at least one byte.
            let mut v = Vec::with_capacity(r.items(n, 1, "list or set")?);
            for _ in 0..n {
                v.push(Bytes::from(r.read_string()?));
            }
            if t == TYPE_LIST {
                RdbValue::List(v)
            } else {
                RdbValue::Set(v)
            }
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.read_len()?;
            // A member (1 byte at least) and a score (1 byte as text, 8 in binary).
            let min = if t == TYPE_ZSET { 2 } else { 9 };
            let mut v = Vec::with_capacity(r.items(n, min, "zset")?);
            for _ in 0..n {
                let m = Bytes::from(r.read_string()?);
                let s = if t == TYPE_ZSET {
                    r.read_text_double()?
                } else {
                    r.read_binary_double()?
                };
                if s.is_nan() {
                    return corrupt("zset with NaN score");
                }
                v.push((m, s));
            }
            RdbValue::ZSet(v)
        }
        TYPE_HASH => {
            let n = r.read_len()?;
            let mut v = Vec::with_capacity(r.items(n, 2, "hash")?);
            for _ in 0..n {
                let f = Bytes::from(r.read_string()?);
                let x = Bytes::from(r.read_string()?);
                v.push((f, x));
            }
            RdbValue::Hash(v)
        }
        TYPE_HASH_ZIPMAP => {
            let blob = r.read_string()?;
            let mut v = Vec::new();
            parse_zipmap(&blob, |k, x| {
                v.push((Bytes::copy_from_slice(k), Bytes::copy_from_slice(x)))
            })
            .map_err(blob_err("zipmap"))?;
            if v.is_empty() {
                return Err(blob_err("zipmap")("empty".into()));
            }
            RdbValue::Hash(v)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.read_string()?;
            let mut v = Vec::new();
            parse_ziplist(&blob, |e| v.push(lp_bytes(e))).map_err(blob_err("list ziplist"))?;
            RdbValue::List(v)
        }
        TYPE_SET_INTSET => {
            let blob = r.read_string()?;
            let mut v = Vec::new();
            parse_intset(&blob, |i| v.push(Bytes::from(i.to_string())))
                .map_err(blob_err("intset"))?;
            RdbValue::Set(v)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = r.read_string()?;
            let mut entries = Vec::new();
            if t == TYPE_ZSET_ZIPLIST {
                parse_ziplist(&blob, |e| entries.push(e)).map_err(blob_err("zset ziplist"))?;
            } else {
                listpack::parse(&blob, |e| entries.push(e)).map_err(blob_err("zset listpack"))?;
            }
            let zset = zset_from(entries, "zset blob")?;
            if t == TYPE_ZSET_ZIPLIST {
                no_duplicate_fields(zset.iter().map(|(m, _)| &m[..]), "Zset ziplist")?;
            }
            RdbValue::ZSet(zset)
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.read_string()?;
            let mut items = Vec::new();
            if t == TYPE_HASH_ZIPLIST {
                parse_ziplist(&blob, |e| items.push(lp_bytes(e))).map_err(blob_err("hash ziplist"))?;
            } else {
                listpack::parse(&blob, |e| items.push(lp_bytes(e)))
                    .map_err(blob_err("hash listpack"))?;
            }
            let pairs = pairs_from(items, "hash blob")?;
            if t == TYPE_HASH_ZIPLIST {
                no_duplicate_fields(pairs.iter().map(|(f, _)| &f[..]), "Hash ziplist")?;
            }
            RdbValue::Hash(pairs)
        }
        TYPE_LIST_QUICKLIST => {
            let n = r.read_len()?;
            r.items(n, 1, "quicklist")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let blob = r.read_string()?;
                parse_ziplist(&blob, |e| v.push(lp_bytes(e)))
                    .map_err(blob_err("quicklist ziplist node"))?;
            }
            RdbValue::List(v)
        }
        TYPE_LIST_QUICKLIST_2 => {
            let n = r.read_len()?;
            // A container length and a blob, one byte each at least.
            r.items(n, 2, "quicklist")?;
            let mut v = Vec::new();
            for _ in 0..n {
                let container = r.read_len()?;
                let blob = r.read_string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => {
                        #[cfg(test)]
                        PLAIN_NODES_SEEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        v.push(Bytes::from(blob))
                    }
                    QUICKLIST_NODE_PACKED => {
                        listpack::parse(&blob, |e| v.push(lp_bytes(e)))
                            .map_err(blob_err("quicklist listpack node"))?;
                    }
                    c => return corrupt(format!("unknown quicklist node container {c}")),
                }
            }
            RdbValue::List(v)
        }
        TYPE_MODULE | TYPE_MODULE_2 => {
            return Err(RdbError::Unsupported(format!(
                "module value (value type {t})"
            )))
        }
        _ => return corrupt(format!("Unknown RDB value type {t}")),
    })
}

/// Parse a `DUMP` payload (as produced by Redis or [`super::writer::dump_payload`]):
/// type byte, value, u16 LE RDB version, u64 LE CRC64 over everything before it.
pub fn parse_dump_payload(data: &[u8]) -> Result<RdbValue, RdbError> {
    parse_dump_payload_with(data, true)
}

/// [`parse_dump_payload`], the checksum checked only when `check_crc` (DEBUG
/// SET-SKIP-CHECKSUM-VALIDATION turns it off, as Redis's tests do).
pub fn parse_dump_payload_with(data: &[u8], check_crc: bool) -> Result<RdbValue, RdbError> {
    if data.len() < 10 {
        return corrupt("DUMP payload too short");
    }
    let body_end = data.len() - 10;
    let ver = u16::from_le_bytes([data[body_end], data[body_end + 1]]) as u32;
    if ver > RDB_VERSION {
        return Err(RdbError::Version(ver));
    }
    let mut c = [0u8; 8];
    c.copy_from_slice(&data[data.len() - 8..]);
    let stored = u64::from_le_bytes(c);
    // Always checked, as Redis's verifyDumpPayload (a zero CRC is no exemption here).
    if check_crc && stored != crc64(&data[..data.len() - 8]) {
        return Err(RdbError::Checksum);
    }
    let body = &data[..body_end];
    if body.is_empty() {
        return corrupt("DUMP payload without value");
    }
    let mut r = RdbReader::new(&body[1..]).with_total(Some(body.len() as u64 - 1));
    let v = r.read_object(body[0])?;
    if r.position() as usize != body.len() - 1 {
        return corrupt("trailing bytes in DUMP payload");
    }
    v.ok_or_else(|| RdbError::Corrupt("empty collection in DUMP payload".into()))
}

/// Parse a `FUNCTION DUMP` payload: the libraries' codes, or None when the version or the
/// checksum is wrong or a record is not FUNCTION2.
pub fn parse_function_payload(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    if data.len() < 10 {
        return None;
    }
    let body_end = data.len() - 10;
    let ver = u16::from_le_bytes([data[body_end], data[body_end + 1]]) as u32;
    let mut c = [0u8; 8];
    c.copy_from_slice(&data[data.len() - 8..]);
    if ver > RDB_VERSION || u64::from_le_bytes(c) != crc64(&data[..data.len() - 8]) {
        return None;
    }
    let body = &data[..body_end];
    let mut r = RdbReader::new(body).with_total(Some(body.len() as u64));
    let mut codes = Vec::new();
    while (r.position() as usize) < body.len() {
        if r.read_u8().ok()? != OP_FUNCTION2 {
            return None;
        }
        codes.push(r.read_string().ok()?);
    }
    Some(codes)
}
