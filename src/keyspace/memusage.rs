//! MEMORY USAGE: the number of bytes Redis 7.0 reports for a key.
//!
//! Redis does not measure anything here: it adds up the sizes of the structures it would hold
//! for the value (object header, strings, listpacks, hash tables, skiplist nodes, radix trees),
//! each allocation rounded up to the jemalloc size class it lands in, and for big collections
//! it looks at the first few elements only and extrapolates from their average. This module
//! rebuilds the same arithmetic from what tandem knows about the value, so that the same
//! contents give the same number.
//!
//! Where the answer depends on things tandem cannot know, the most common case is assumed:
//!
//! - strings are assumed to have been written the usual way (SET, or APPEND/SETRANGE for the
//!   ones marked as modified in place); after several appends the spare room can differ, as
//!   Redis grows into its allocator's slack and tandem's strings grow on their own schedule;
//! - list nodes are assumed to have been filled by pushes at the tail (RPUSH), with the
//!   current `list-max-listpack-size`, and not compressed (`list-compress-depth 0`);
//! - hash tables are assumed to have grown one insertion at a time (or, for values loaded
//!   from a snapshot, to have been sized for all their entries at once), and never to have
//!   shrunk; whether one is still rehashing after its last doubling is guessed from the
//!   expected number of buckets the rehash has to move (Redis's hash seed is random, so
//!   Redis itself is not repeatable there);
//! - skiplist node heights are random in Redis; a deterministic spread with the same
//!   proportions (3 in 4 nodes of height 1, 3 in 16 of height 2, ...) is used;
//! - stream nodes are assumed to have been filled by XADD (all but the last shrunk to fit,
//!   the last one still holding the preallocation of the current `stream-node-max-bytes`);
//!   a stream loaded from a snapshot has no such spare room in Redis.

use super::cmd::{arg_i64, eq, err};
use super::thin::Thin;
use super::value::{Enc, HashObj, Limits, SetObj, ZSet};
use super::{Ctx, Keyspace, Value};
use crate::stream::{Stream, StreamId};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;

// Sizes of Redis 7.0's structures on a 64-bit build (measured with sizeof).
const ROBJ: usize = 16;
const DICT: usize = 56;
const DICT_ENTRY: usize = 24;
const POINTER: usize = 8;
const QUICKLIST: usize = 40;
const QUICKLIST_NODE: usize = 40;
const ZSET: usize = 16;
const ZSKIPLIST: usize = 32;
const ZSKIPLIST_NODE: usize = 24;
const ZSKIPLIST_LEVEL: usize = 16;
const ZSKIPLIST_MAXLEVEL: usize = 32;
const STREAM: usize = 80;
const STREAM_CG: usize = 40;
const STREAM_CONSUMER: usize = 24;
const STREAM_NACK: usize = 24;
const STREAM_ID: usize = 16;
const INTSET_HEADER: usize = 8;
/// A radix tree node's header plus the fixed allowance Redis adds per node (30 words).
const RAX_NODE_ESTIMATE: usize = 4 + 30 * 8;
/// Bytes of an empty listpack: the 6-byte header and the end marker.
const LISTPACK_EMPTY: usize = 7;
/// Elements at least this long get a quicklist node of their own ("plain" nodes).
const QUICKLIST_PLAIN_THRESHOLD: usize = 1 << 30;
/// Node byte limits for negative `list-max-listpack-size` values (-1 to -5).
const QUICKLIST_SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node a count-limited quicklist may build (positive `list-max-listpack-size`).
const QUICKLIST_SAFETY_LIMIT: usize = 8192;
/// What Redis adds to an element's length when guessing whether it fits a node.
const QUICKLIST_ESTIMATE_OVERHEAD: usize = 8;
/// Most bytes a new stream node preallocates.
const STREAM_PREALLOC: usize = 4096;
/// Strings up to this length are stored in the same allocation as their object header.
const EMBSTR_MAX: usize = 44;
/// The default SAMPLES.
const DEFAULT_SAMPLES: usize = 5;

/// The configuration the estimate depends on.
pub struct Settings {
    pub limits: Limits,
    pub zset_limits: ZsetLimits,
    pub list_max_listpack_size: i64,
    pub stream_node_max_bytes: u64,
}

/// `zset-max-listpack-entries` and `zset-max-listpack-value`.
pub struct ZsetLimits {
    pub entries: usize,
    pub value: usize,
}

impl Settings {
    /// Reads the current values from the keyspace's configuration.
    pub fn of(ks: &Keyspace) -> Settings {
        let hot = &ks.shared.hot;
        let cfg = ks.shared.cfg();
        Settings {
            limits: Limits::from_hot(hot),
            zset_limits: ZsetLimits {
                entries: hot.zset_max_listpack_entries.load(Relaxed) as usize,
                value: hot.zset_max_listpack_value.load(Relaxed) as usize,
            },
            list_max_listpack_size: cfg.list_max_listpack_size(),
            stream_node_max_bytes: cfg.stream_node_max_bytes(),
        }
    }
}

/// MEMORY USAGE key [SAMPLES count]: checks the options the way Redis does (all of them,
/// before looking the key up), then replies with the estimate or a null for a missing key.
pub fn command(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < a.len() {
        if !(eq(&a[j], "samples") && j + 1 < a.len()) {
            return ctx.error(err::SYNTAX);
        }
        let Some(n) = arg_i64(ctx, &a[j + 1]) else { return };
        if n < 0 {
            return ctx.error(err::SYNTAX);
        }
        // SAMPLES 0 means every element.
        samples = if n == 0 { usize::MAX } else { usize::try_from(n).unwrap_or(usize::MAX) };
        j += 2;
    }
    let settings = Settings::of(ks);
    match ks.dbs[ctx.db].keys.get(&a[2]) {
        Some(v) => {
            let bytes = key_usage(&a[2], v, samples, &settings);
            ctx.out.int(i64::try_from(bytes).unwrap_or(i64::MAX))
        }
        None => ctx.out.null(),
    }
}

/// The whole answer: the value, the key's own string and its entry in the keyspace's table.
pub fn key_usage(key: &[u8], v: &Value, samples: usize, s: &Settings) -> usize {
    value_usage(v, samples, s) + sds_size(key.len()) + DICT_ENTRY
}

/// The value's share: its object header and everything it points to.
pub fn value_usage(v: &Value, samples: usize, s: &Settings) -> usize {
    match v {
        Value::Str(t) => string_usage(t),
        Value::List(l) => list_usage(l, s.list_max_listpack_size, samples),
        Value::Hash(h) => hash_usage(h, &s.limits, samples),
        Value::Set(set) => set_usage(set, &s.limits, samples),
        Value::ZSet(z) => zset_usage(z, &s.zset_limits, samples),
        Value::Stream(st) => stream_usage(st, s.stream_node_max_bytes, samples),
    }
}

// ----- allocation sizes ----------------------------------------------------------------------

/// The size jemalloc really hands out for a request of `n` bytes (its size class): 8, then
/// multiples of 16 up to 128, then four evenly spaced classes per doubling (160, 192, 224,
/// 256, 320, ...), which also covers the page-sized classes above 14 KiB.
pub fn jemalloc_size(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    // n lies in (2^lg, 2^(lg+1)]; that doubling is split into four steps.
    let lg = usize::BITS - 1 - (n - 1).leading_zeros();
    let step = 1usize << (lg - 2);
    n.checked_add(step - 1).map_or(usize::MAX, |x| x & !(step - 1))
}

/// Header bytes of a Redis string (sds) of `len` bytes, for the header type Redis picks.
fn sds_header(len: usize) -> usize {
    match len {
        0 => 3, // empty strings get the 1-byte-length header, not the 5-bit one
        1..=31 => 1,
        32..=255 => 3,
        256..=65535 => 5,
        _ if (len as u64) < (1u64 << 32) => 9,
        _ => 17,
    }
}

/// Allocated bytes of a Redis string created with exactly `len` bytes.
fn sds_size(len: usize) -> usize {
    jemalloc_size(sds_header(len) + len + 1)
}

/// Allocated bytes of a Redis string grown in place to room for `cap` bytes (growth never
/// picks the 5-bit header).
fn sds_grown_size(cap: usize) -> usize {
    jemalloc_size(sds_header(cap).max(3) + cap + 1)
}

/// Redis's "sample a few, extrapolate to all" step: `base` plus the average of `sampled`
/// elements (totalling `elesize` bytes) times `total`, computed in floating point and
/// truncated, exactly as Redis does.
fn extrapolate(base: usize, elesize: usize, sampled: usize, total: usize) -> usize {
    if sampled == 0 {
        return base;
    }
    (base as f64 + elesize as f64 / sampled as f64 * total as f64) as usize
}

/// Bytes a string takes as a listpack element (integers are stored as integers).
fn lp_entry(s: &[u8]) -> usize {
    crate::rdb::listpack::entry_size(s)
}

// ----- strings -------------------------------------------------------------------------------

/// A string: integers live in the object header itself, short strings share one allocation
/// with it ("embstr"), longer ones (and strings modified in place) have their own.
fn string_usage(t: &Thin) -> usize {
    let len = t.len();
    if t.is_raw() {
        // Modified in place (APPEND, SETRANGE, SETBIT...): grown strings keep their spare room.
        let cap = t.capacity();
        return ROBJ + if cap > len { sds_grown_size(cap) } else { sds_size(len) };
    }
    if len <= 20 && crate::util::num::parse_i64(t).is_some() {
        return ROBJ;
    }
    if len <= EMBSTR_MAX {
        // Object header, a 3-byte string header, the bytes and the terminator, in one block.
        return jemalloc_size(ROBJ + 3 + len + 1);
    }
    ROBJ + sds_size(len)
}

// ----- lists ---------------------------------------------------------------------------------

/// Counts quicklist nodes, and adds up the sizes of the first `limit` of them.
struct NodeSampler {
    limit: usize,
    nodes: usize,
    sampled: usize,
    bytes: usize,
}

impl NodeSampler {
    fn new(limit: usize) -> Self {
        NodeSampler { limit, nodes: 0, sampled: 0, bytes: 0 }
    }

    /// One more node, whose data block is `alloc` bytes.
    fn node(&mut self, alloc: usize) {
        self.nodes += 1;
        if self.sampled < self.limit {
            self.sampled += 1;
            self.bytes += QUICKLIST_NODE + alloc;
        }
    }
}

/// Whether Redis would add an element of `len` bytes to a node of `node_bytes` bytes holding
/// `count` elements (it guesses from the raw length, not the encoded one).
fn node_takes(node_bytes: usize, count: usize, len: usize, fill: i64) -> bool {
    let guess = node_bytes + len + QUICKLIST_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = QUICKLIST_SIZE_LEVELS.get((-fill - 1) as usize).copied().unwrap_or(0);
        return guess <= level;
    }
    guess <= QUICKLIST_SAFETY_LIMIT && (count as i64) < fill
}

/// A list: a quicklist of listpack nodes, filled front to back as RPUSH fills them. Redis
/// looks at the first SAMPLES nodes and extrapolates to the node count.
fn list_usage(l: &VecDeque<Bytes>, fill: i64, samples: usize) -> usize {
    let fill = fill.clamp(-5, 32767); // the range a quicklist accepts
    let mut sampler = NodeSampler::new(samples);
    // The node being filled: its listpack bytes and element count.
    let mut open: Option<(usize, usize)> = None;
    for e in l {
        if e.len() >= QUICKLIST_PLAIN_THRESHOLD {
            // A huge element gets a node of its own, holding just its bytes.
            if let Some((bytes, _)) = open.take() {
                sampler.node(jemalloc_size(bytes));
            }
            sampler.node(jemalloc_size(e.len()));
            continue;
        }
        open = match open {
            Some((bytes, count)) if node_takes(bytes, count, e.len(), fill) => Some((bytes + lp_entry(e), count + 1)),
            Some((bytes, _)) => {
                sampler.node(jemalloc_size(bytes));
                Some((LISTPACK_EMPTY + lp_entry(e), 1))
            }
            None => Some((LISTPACK_EMPTY + lp_entry(e), 1)),
        };
    }
    if let Some((bytes, _)) = open {
        sampler.node(jemalloc_size(bytes));
    }
    extrapolate(ROBJ + QUICKLIST, sampler.bytes, sampler.sampled, sampler.nodes)
}

// ----- hash tables ---------------------------------------------------------------------------

/// How a Redis hash table came to hold its entries: created for `start` entries (0 = empty),
/// then one insertion at a time, each doing `steps` incremental-rehash steps (`early_steps`
/// for insertions numbered up to `early_until`, such as a conversion's bulk copy).
struct Growth {
    start: usize,
    early_until: usize,
    early_steps: usize,
    steps: usize,
}

/// Buckets of a new table sized for `n` entries (a power of two, at least 4).
fn table_for(n: usize) -> usize {
    n.max(4).checked_next_power_of_two().unwrap_or(usize::MAX)
}

/// How many buckets a table of `s` buckets holding `s` random keys uses, on average: the
/// rehash steps needed to empty it.
fn expected_used_buckets(s: usize) -> f64 {
    let s = s as f64;
    s * (1.0 - (1.0 - 1.0 / s).powf(s))
}

/// Buckets Redis counts for a hash table of `n` entries (both tables while it rehashes).
///
/// A table doubles on the insertion that finds it full, then moves one bucket to the new
/// table per step. Which buckets are used depends on Redis's random hash seed, so whether the
/// move has finished is guessed: still moving while fewer steps were taken than the old table
/// has used buckets on average. Right after a doubling (e.g. 5, 9, 17... insertions from
/// empty) Redis is always still rehashing; well after it, always done.
fn dict_slots(n: usize, g: &Growth) -> usize {
    if n == 0 {
        return if g.start == 0 { 0 } else { table_for(g.start) };
    }
    let mut size = table_for(g.start);
    let mut doubled_at = None;
    while n > size {
        doubled_at = Some(size + 1);
        size = size.saturating_mul(2);
    }
    let Some(at) = doubled_at else { return size };
    // Insertions after the one that doubled the table, and the steps they took.
    let after = n - at;
    let early = g.early_until.saturating_sub(at).min(after);
    let steps = early * g.early_steps + (after - early) * g.steps;
    let old = size / 2;
    if (steps as f64) < expected_used_buckets(old) {
        size + old
    } else {
        size
    }
}

/// A hash table's fixed part: object header, table header and bucket array.
fn dict_base(slots: usize) -> usize {
    ROBJ + DICT + POINTER * slots
}

// ----- hashes and sets -----------------------------------------------------------------------

/// A hash: one listpack of fields and values, or a hash table of separate strings.
fn hash_usage(h: &HashObj, lim: &Limits, samples: usize) -> usize {
    if !h.is_table(lim) {
        let bytes: usize = h.iter().map(|(f, v)| lp_entry(f) + lp_entry(v)).sum();
        return ROBJ + jemalloc_size(LISTPACK_EMPTY + bytes);
    }
    let n = h.len();
    let slots = dict_slots(n, &hash_growth(h, lim));
    let mut elesize = 0;
    let mut sampled = 0;
    for (f, v) in h.iter().take(samples) {
        elesize += sds_size(f.len()) + sds_size(v.len()) + DICT_ENTRY;
        sampled += 1;
    }
    extrapolate(dict_base(slots), elesize, sampled, n)
}

/// How a hash's table most likely grew.
///
/// Built by HSET: a hash holding a long field or value is taken to have been converted by it
/// when created (an empty table), one without to have been converted when it first went over
/// the entry limit (a table sized for that count); HSET then looks each new field up and adds
/// it, two rehash steps. Loaded from a snapshot: past the entry limit the table is sized for
/// everything at once; below it the first (long) pair converts it, and the table is then
/// sized for the rest and filled with one step per field.
fn hash_growth(h: &HashObj, lim: &Limits) -> Growth {
    let n = h.len();
    let has_long = h.iter().any(|(f, v)| f.len() > lim.hash_value || v.len() > lim.hash_value);
    let (start, steps) = match h.enc {
        Enc::Unknown if n <= lim.hash_entries && has_long => (n.saturating_sub(1), 1),
        Enc::Unknown => (n, 1),
        _ if n > lim.hash_entries && !has_long => (lim.hash_entries.saturating_add(1), 2),
        _ => (0, 2),
    };
    Growth { start, early_until: 0, early_steps: 0, steps }
}

/// A set: an intset (sorted integers of one width) or a hash table of strings.
fn set_usage(set: &SetObj, lim: &Limits, samples: usize) -> usize {
    if !set.is_table(lim) {
        return ROBJ + jemalloc_size(INTSET_HEADER + set.len() * intset_width(set));
    }
    let n = set.len();
    // Loaded from a snapshot: sized for all its members at once. All-integer sets past the
    // intset limit were converted when they went over (sized for that count); others are
    // taken to have been tables from the start. SADD: one rehash step per new member.
    let start = if set.enc == Enc::Unknown {
        n
    } else if n > lim.set_intset_entries && set.iter().all(|m| crate::util::num::parse_i64(m).is_some()) {
        lim.set_intset_entries.min(1 << 30) + 1
    } else {
        0
    };
    let slots = dict_slots(n, &Growth { start, early_until: 0, early_steps: 0, steps: 1 });
    let mut elesize = 0;
    let mut sampled = 0;
    for m in set.iter().take(samples) {
        elesize += DICT_ENTRY + sds_size(m.len());
        sampled += 1;
    }
    extrapolate(dict_base(slots), elesize, sampled, n)
}

/// Bytes per integer of an intset: the narrowest of 2, 4, 8 that holds every member.
fn intset_width(set: &SetObj) -> usize {
    let mut width = 2;
    for m in set.iter() {
        match crate::util::num::parse_i64(m) {
            Some(v) if i16::try_from(v).is_ok() => {}
            Some(v) if i32::try_from(v).is_ok() => width = width.max(4),
            _ => return 8,
        }
    }
    width
}

// ----- sorted sets ---------------------------------------------------------------------------

/// A sorted set: one listpack of member/score pairs, or a skiplist plus a hash table.
fn zset_usage(z: &ZSet, lim: &ZsetLimits, samples: usize) -> usize {
    if !z.skiplist {
        let bytes: usize = z.dict.iter().map(|(m, s)| lp_entry(m) + score_entry(*s)).sum();
        return ROBJ + jemalloc_size(LISTPACK_EMPTY + bytes);
    }
    let n = z.dict.len();
    // Without long members, past the entry limit, it was converted when it went over: the
    // conversion adds each old member with one rehash step; ZADD then looks up and adds (two
    // steps). Otherwise a long member is taken to have made it a skiplist from the start.
    let by_count = n > lim.entries && !z.dict.keys().any(|m| m.len() > lim.value);
    let growth = if by_count {
        Growth { start: 0, early_until: lim.entries, early_steps: 1, steps: 2 }
    } else {
        Growth { start: 0, early_until: 0, early_steps: 0, steps: 2 }
    };
    let slots = dict_slots(n, &growth);
    let header = jemalloc_size(ZSKIPLIST_NODE + ZSKIPLIST_LEVEL * ZSKIPLIST_MAXLEVEL);
    let base = dict_base(slots) + ZSET + ZSKIPLIST + header;
    // Redis samples the lowest-ranked nodes.
    let mut elesize = 0;
    let mut sampled = 0;
    for (_, m) in z.order.iter().take(samples) {
        sampled += 1;
        let node = jemalloc_size(ZSKIPLIST_NODE + ZSKIPLIST_LEVEL * skiplist_level(sampled));
        elesize += sds_size(m.len()) + DICT_ENTRY + node;
    }
    extrapolate(base, elesize, sampled, n)
}

/// The height given to the node of rank `rank` (from 1): Redis draws heights at random (one
/// more level with probability 1/4); this spreads them in the same proportions: one more
/// level for each time 4 divides the rank.
fn skiplist_level(rank: usize) -> usize {
    let mut level = 1;
    let mut r = rank;
    while r > 0 && r % 4 == 0 && level < ZSKIPLIST_MAXLEVEL {
        r /= 4;
        level += 1;
    }
    level
}

/// Bytes a score takes in a listpack: whole numbers are stored as integers, other values as
/// text with 17 significant digits.
fn score_entry(score: f64) -> usize {
    // Redis's "fits a long long exactly" test: within ±2^62 and without a fraction.
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if (-LIMIT..=LIMIT).contains(&score) && (score as i64) as f64 == score {
        return crate::stream::node::lp_int_size(score as i64);
    }
    lp_entry(format_g17(score).as_bytes())
}

/// A float as C's `%.17g` writes it (infinities as Redis writes them).
fn format_g17(x: f64) -> String {
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x.is_nan() {
        return "nan".into();
    }
    // 17 significant digits in scientific form tell the decimal exponent after rounding.
    let sci = format!("{:.16e}", x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip_fraction_zeros(mantissa), sign, exp.unsigned_abs())
    } else {
        let decimals = (16 - exp) as usize;
        strip_fraction_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing follows.
fn strip_fraction_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

// ----- streams -------------------------------------------------------------------------------

/// A stream ID as the 16-byte big-endian key Redis files it under in its radix trees.
fn id_key(id: &StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Redis's estimate for a radix tree of stream IDs: 16 bytes per ID plus a fixed allowance per
/// tree node.
fn rax_usage<'a>(ids: impl Iterator<Item = &'a StreamId>) -> usize {
    let mut count = 0;
    let nodes = rax_nodes(ids.map(|id| {
        count += 1;
        id_key(id)
    }));
    count * STREAM_ID + nodes * RAX_NODE_ESTIMATE
}

/// Length of the common prefix of two keys.
fn common_prefix(a: &[u8; 16], b: &[u8; 16]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Nodes of a Redis radix tree holding `keys` (16 bytes each, distinct, in ascending order).
///
/// The tree is a compressed trie: one node per key (its end), one per branching point, one
/// per run of non-branching bytes between two of those (a "compressed" node), and one for the
/// run from the root to the first branching point. An empty tree is its root alone. The
/// branching points are found from the common prefixes of neighbouring keys, keeping the
/// still-open branching depths on a stack.
fn rax_nodes(keys: impl Iterator<Item = [u8; 16]>) -> usize {
    const LEN: usize = 16;
    let mut keys_seen = 0;
    let mut branches = 0;
    // Edges spanning two or more bytes: each needs a compressed node for the bytes between.
    let mut long_edges = 0;
    let mut open: Vec<usize> = Vec::new();
    let mut prev: Option<[u8; 16]> = None;
    let mut prev_prefix: Option<usize> = None;
    for k in keys {
        keys_seen += 1;
        let Some(p) = prev.replace(k) else { continue };
        let l = common_prefix(&p, &k);
        // The previous key hangs off the deeper of its two neighbouring branching points.
        let parent = prev_prefix.map_or(l, |pl| pl.max(l));
        if LEN.saturating_sub(parent) >= 2 {
            long_edges += 1;
        }
        // Branching points deeper than this one are complete: link each to its parent.
        while let Some(&top) = open.last() {
            if top <= l {
                break;
            }
            open.pop();
            let parent = open.last().map_or(l, |&t| t.max(l));
            if top.saturating_sub(parent) >= 2 {
                long_edges += 1;
            }
        }
        if open.last().map_or(true, |&t| t < l) {
            open.push(l);
            branches += 1;
        }
        prev_prefix = Some(l);
    }
    match (keys_seen, prev_prefix) {
        (0, _) => 1,
        // One key: a compressed node from the root holding all its bytes, then its end.
        (_, None) => 2,
        (_, Some(last)) => {
            if LEN.saturating_sub(last) >= 2 {
                long_edges += 1;
            }
            let mut root_depth = 0;
            while let Some(top) = open.pop() {
                match open.last() {
                    Some(&parent) if top.saturating_sub(parent) >= 2 => long_edges += 1,
                    Some(_) => {}
                    None => root_depth = top,
                }
            }
            let root_run = usize::from(root_depth > 0);
            keys_seen + branches + long_edges + root_run
        }
    }
}

/// A stream: its header, the radix tree of nodes, the nodes' listpacks (the first SAMPLES
/// averaged over all but the last, the last one counted as it is), and for each consumer
/// group its header, pending entries and consumers.
fn stream_usage(s: &Stream, node_max_bytes: u64, samples: usize) -> usize {
    let mut asize = ROBJ + STREAM + rax_usage(s.nodes.keys());
    // A new node preallocates up to 4 KiB (less when nodes are limited to less).
    let prealloc = match usize::try_from(node_max_bytes) {
        Ok(max) if max > 0 && max < STREAM_PREALLOC => max,
        _ => STREAM_PREALLOC,
    };
    let count = s.nodes.len();
    // Nodes are shrunk to fit when the next one starts; the last one keeps its preallocation.
    let alloc = |i: usize, bytes: usize| {
        if i + 1 == count {
            jemalloc_size(prealloc.max(LISTPACK_EMPTY)).max(jemalloc_size(bytes))
        } else {
            jemalloc_size(bytes)
        }
    };
    let mut lpsize = 0;
    let mut sampled = 0;
    for (i, node) in s.nodes.values().enumerate().take(samples) {
        lpsize += alloc(i, node.lp_bytes());
        sampled += 1;
    }
    if count <= sampled {
        asize += lpsize;
    } else {
        // Integer average of the sampled nodes for all but the last, plus the last.
        if sampled > 0 {
            lpsize /= sampled;
        }
        asize += lpsize * (count - 1);
        if let Some(last) = s.nodes.values().next_back() {
            asize += alloc(count - 1, last.lp_bytes());
        }
    }
    for g in s.groups.values() {
        asize += STREAM_CG + rax_usage(g.pel.keys()) + STREAM_NACK * g.pel.len();
        for (name, c) in &g.consumers {
            asize += STREAM_CONSUMER + name.len() + rax_usage(c.pel.iter());
        }
    }
    asize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_classes() {
        let classes = [
            (0, 8),
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (100, 112),
            (128, 128),
            (129, 160),
            (193, 224),
            (257, 320),
            (513, 640),
            (4096, 4096),
            (4097, 5120),
            (14336, 14336),
            (14337, 16384),
            (16385, 20480),
            (100010, 114688),
        ];
        for (n, want) in classes {
            assert_eq!(jemalloc_size(n), want, "class of {}", n);
        }
    }

    #[test]
    fn g17() {
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1e19), "1e+19");
        assert_eq!(format_g17(1.25e-5), "1.2500000000000001e-05");
        assert_eq!(format_g17(123456.789), "123456.789");
        assert_eq!(format_g17(-3.0e-300), "-3.0000000000000002e-300");
        assert_eq!(format_g17(0.0001), "0.0001");
        assert_eq!(format_g17(1e17), "1e+17");
        assert_eq!(format_g17(1e16), "10000000000000000");
        assert_eq!(format_g17(123456789.123), "123456789.123");
    }

    fn key(ms: u64, seq: u64) -> [u8; 16] {
        id_key(&StreamId::new(ms, seq))
    }

    #[test]
    fn radix_tree_nodes() {
        assert_eq!(rax_nodes(std::iter::empty()), 1);
        assert_eq!(rax_nodes([key(1, 1)].into_iter()), 2);
        // Differ in the last byte: a run of 15 bytes, a branching node, two ends.
        assert_eq!(rax_nodes([key(1, 1), key(1, 2)].into_iter()), 4);
        // Differ in byte 7 (ms) and byte 15 (seq): run, branch, two runs of 8 bytes, two ends.
        assert_eq!(rax_nodes([key(1, 1), key(2, 1)].into_iter()), 6);
    }

    #[test]
    fn dict_growth() {
        let g = Growth { start: 0, early_until: 0, early_steps: 0, steps: 1 };
        assert_eq!(dict_slots(1, &g), 4);
        assert_eq!(dict_slots(4, &g), 4);
        assert_eq!(dict_slots(5, &g), 12);
        assert_eq!(dict_slots(8, &g), 8);
        assert_eq!(dict_slots(129, &g), 384);
        assert_eq!(dict_slots(1000, &g), 1024);
    }
}
