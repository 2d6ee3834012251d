//! Hash commands (Redis's t_hash.c), and the cursor scan shared with SSCAN.

use super::{arg_i64, eq, err};
use crate::keyspace::value::{HashObj, Limits};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::{glob::glob_match, longdouble::LongDouble, num};
use super::Route::Keyspace as K;
use bytes::Bytes;
use rand::Rng;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

crate::command_specs! {
    "hset", -4, "write denyoom fast", 1, 1, 1, "hash", K(hset), "Set the string value of a hash field";
    "hsetnx", 4, "write denyoom fast", 1, 1, 1, "hash", K(hsetnx), "Set the value of a hash field, only if the field does not exist";
    "hmset", -4, "write denyoom fast", 1, 1, 1, "hash", K(hmset), "Set multiple hash fields to multiple values";
    "hget", 3, "readonly fast", 1, 1, 1, "hash", K(hget), "Get the value of a hash field";
    "hmget", -3, "readonly fast", 1, 1, 1, "hash", K(hmget), "Get the values of all the given hash fields";
    "hdel", -3, "write fast", 1, 1, 1, "hash", K(hdel), "Delete one or more hash fields";
    "hlen", 2, "readonly fast", 1, 1, 1, "hash", K(hlen), "Get the number of fields in a hash";
    "hstrlen", 3, "readonly fast", 1, 1, 1, "hash", K(hstrlen), "Get the length of the value of a hash field";
    "hexists", 3, "readonly fast", 1, 1, 1, "hash", K(hexists), "Determine if a hash field exists";
    "hkeys", 2, "readonly", 1, 1, 1, "hash", K(hkeys), "Get all the fields in a hash";
    "hvals", 2, "readonly", 1, 1, 1, "hash", K(hvals), "Get all the values in a hash";
    "hgetall", 2, "readonly", 1, 1, 1, "hash", K(hgetall), "Get all the fields and values in a hash";
    "hincrby", 4, "write denyoom fast", 1, 1, 1, "hash", K(hincrby), "Increment the integer value of a hash field by the given number";
    "hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, "hash", K(hincrbyfloat), "Increment the float value of a hash field by the given amount";
    "hrandfield", -2, "readonly", 1, 1, 1, "hash", K(hrandfield), "Get one or multiple random fields from a hash";
    "hscan", -3, "readonly", 1, 1, 1, "hash", K(hscan), "Incrementally iterate hash fields and associated values";
}

/// The configured encoding thresholds.
pub fn limits(ks: &Keyspace) -> Limits {
    Limits::from_hot(&ks.shared.hot)
}

/// Looks a hash up for reading: `Ok(None)` when missing, `Err` (after replying) on wrong type.
fn read_hash<'a>(ks: &'a mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'a HashObj>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Like [`read_hash`], sharing the hash (for replies that also need the keyspace's rng).
fn read_hash_arc(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<Arc<HashObj>>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h.clone())),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Looks a hash up for writing (expired keys go first): Ok(true) when it exists, Ok(false)
/// when missing, `Err` (after replying) on wrong type.
fn check_write(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<bool, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(false),
        Some(Value::Hash(_)) => Ok(true),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// The hash at `key` for a write (copied first if a snapshot shares it), created when missing.
/// Call [`check_write`] first.
fn hash_mut<'a>(ks: &'a mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> &'a mut HashObj {
    let keys = &mut ks.dbs[ctx.db].keys;
    if !keys.contains_key(key) {
        keys.insert(Bytes::copy_from_slice(key), Value::Hash(Arc::new(HashObj::new())));
        ks.notify_new(ctx, key);
    }
    match ks.dbs[ctx.db].keys.get_mut(key) {
        Some(Value::Hash(h)) => Arc::make_mut(h),
        _ => unreachable!("check_write saw a hash"),
    }
}

/// Records `n` changes to `key` (WATCH, dirty counter), deleting it when it became empty.
pub(crate) fn changed(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], n: u64, now_empty: bool) {
    if now_empty {
        let db = &mut ks.dbs[ctx.db];
        db.keys.remove(key);
        if !db.expires.is_empty() {
            db.expires.remove(key);
        }
    }
    if n > 0 {
        ks.touch_watched(ctx.db, key);
        ctx.dirty += n;
    }
}

fn hset_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], hmset: bool) {
    if a.len() % 2 == 1 {
        return ctx.error(super::arity_error(if hmset { "hmset" } else { "hset" }));
    }
    let Ok(_) = check_write(ks, ctx, &a[1]) else { return };
    let lim = limits(ks);
    let h = hash_mut(ks, ctx, &a[1]);
    h.try_conversion(&lim, &a[2..]);
    let mut created = 0;
    for fv in a[2..].chunks(2) {
        if h.set(&lim, fv[0].clone(), fv[1].clone()) {
            created += 1;
        }
    }
    changed(ks, ctx, &a[1], (a.len() as u64 - 2) / 2, false);
    if hmset {
        ctx.out.ok();
    } else {
        ctx.out.int(created);
    }
    // As Redis, the reply is written first (a RESP3 client's own pushes follow it).
    ks.notify(ctx, N::HASH, "hset", &a[1]);
}

pub fn hset(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    hset_generic(ks, ctx, a, false)
}

pub fn hmset(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    hset_generic(ks, ctx, a, true)
}

pub fn hsetnx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    if exists && hash_mut_peek(ks, ctx, &a[1]).is_some_and(|h| h.contains_key(&a[2])) {
        return ctx.out.int(0);
    }
    let lim = limits(ks);
    let h = hash_mut(ks, ctx, &a[1]);
    h.try_conversion(&lim, &a[2..4]);
    h.set(&lim, a[2].clone(), a[3].clone());
    changed(ks, ctx, &a[1], 1, false);
    ctx.out.int(1);
    ks.notify(ctx, N::HASH, "hset", &a[1]);
}

/// The hash at `key` without copying it (for checks before a write).
fn hash_mut_peek<'a>(ks: &'a Keyspace, ctx: &Ctx, key: &[u8]) -> Option<&'a HashObj> {
    match ks.dbs[ctx.db].keys.get(key) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

pub fn hget(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(h) = read_hash(ks, ctx, &a[1]) else { return };
    match h.and_then(|h| h.get(&a[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
}

pub fn hmget(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(h) = read_hash(ks, ctx, &a[1]) else { return };
    ctx.out.array(a.len() - 2);
    for f in &a[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

pub fn hdel(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    if !exists {
        return ctx.out.int(0);
    }
    if !a[2..].iter().any(|f| hash_mut_peek(ks, ctx, &a[1]).is_some_and(|h| h.contains_key(f))) {
        return ctx.out.int(0);
    }
    let h = hash_mut(ks, ctx, &a[1]);
    let mut deleted = 0;
    for f in &a[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let empty = h.is_empty();
    changed(ks, ctx, &a[1], deleted, empty);
    if deleted > 0 {
        ks.notify(ctx, N::HASH, "hdel", &a[1]);
        if empty {
            ks.notify(ctx, N::GENERIC, "del", &a[1]);
        }
    }
    ctx.out.int(deleted as i64);
}

pub fn hlen(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(h) = read_hash(ks, ctx, &a[1]) {
        ctx.out.int(h.map_or(0, |h| h.len() as i64));
    }
}

pub fn hstrlen(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(h) = read_hash(ks, ctx, &a[1]) {
        ctx.out.int(h.and_then(|h| h.get(&a[2])).map_or(0, |v| v.len() as i64));
    }
}

pub fn hexists(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(h) = read_hash(ks, ctx, &a[1]) {
        ctx.out.int(h.is_some_and(|h| h.contains_key(&a[2])) as i64);
    }
}

/// HKEYS, HVALS, HGETALL.
fn getall(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], keys: bool, vals: bool) {
    let Ok(h) = read_hash(ks, ctx, key) else { return };
    let n = h.map_or(0, |h| h.len());
    if keys && vals {
        if ctx.out.resp3 {
            ctx.out.map(n);
        } else {
            ctx.out.array(n * 2);
        }
    } else {
        ctx.out.array(n);
    }
    if let Some(h) = h {
        for (k, v) in h.entries() {
            if keys {
                ctx.out.bulk(k);
            }
            if vals {
                ctx.out.bulk(v);
            }
        }
    }
}

pub fn hkeys(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    getall(ks, ctx, &a[1], true, false)
}

pub fn hvals(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    getall(ks, ctx, &a[1], false, true)
}

pub fn hgetall(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    getall(ks, ctx, &a[1], true, true)
}

pub fn hincrby(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(incr) = arg_i64(ctx, &a[3]) else { return };
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    let cur = if exists { hash_mut_peek(ks, ctx, &a[1]).and_then(|h| h.get(&a[2]).cloned()) } else { None };
    let old = match cur {
        None => 0,
        Some(v) => match num::parse_i64(&v) {
            Some(n) => n,
            None => return ctx.error("ERR hash value is not an integer"),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return ctx.error(err::OVERFLOW);
    };
    let lim = limits(ks);
    hash_mut(ks, ctx, &a[1]).set(&lim, a[2].clone(), Bytes::from(new.to_string()));
    changed(ks, ctx, &a[1], 1, false);
    ctx.out.int(new);
    ks.notify(ctx, N::HASH, "hincrby", &a[1]);
}

pub fn hincrbyfloat(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(incr) = LongDouble::parse(&a[3]) else {
        return ctx.error(err::NOT_FLOAT);
    };
    if !incr.is_finite() {
        return ctx.error("ERR value is NaN or Infinity");
    }
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    let cur = if exists { hash_mut_peek(ks, ctx, &a[1]).and_then(|h| h.get(&a[2]).cloned()) } else { None };
    let old = match cur {
        None => LongDouble::zero(),
        Some(v) => match LongDouble::parse(&v) {
            Some(n) => n,
            None => return ctx.error("ERR hash value is not a float"),
        },
    };
    let Some(text) = old.add(&incr).human() else {
        return ctx.error("ERR increment would produce NaN or Infinity");
    };
    let v = Bytes::from(text);
    let lim = limits(ks);
    hash_mut(ks, ctx, &a[1]).set(&lim, a[2].clone(), v.clone());
    changed(ks, ctx, &a[1], 1, false);
    ctx.rewrite(vec![Bytes::from_static(b"HSET"), a[1].clone(), a[2].clone(), v.clone()]);
    ctx.out.bulk(&v);
    ks.notify(ctx, N::HASH, "hincrbyfloat", &a[1]);
}

/// Parses a random-count argument in [-LONG_MAX, LONG_MAX] (HRANDFIELD, SRANDMEMBER).
pub(crate) fn rand_count(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    match num::parse_i64(a) {
        None => {
            ctx.error(err::NOT_INT);
            None
        }
        Some(i64::MIN) => {
            ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            None
        }
        Some(n) => Some(n),
    }
}

/// Picks `count` distinct indexes of `0..n` in random order (count < n).
pub(crate) fn distinct_indexes(rng: &mut impl Rng, n: usize, count: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..count {
        let j = rng.gen_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(count);
    idx
}

pub fn hrandfield(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len() < 3 {
        let Ok(h) = read_hash_arc(ks, ctx, &a[1]) else { return };
        let Some(h) = h else { return ctx.out.null() };
        let i = ks.rng.gen_range(0..h.len());
        return match h.entries().nth(i).map(|(k, _)| k) {
            Some(k) => ctx.out.bulk(k),
            None => ctx.out.null(),
        };
    }
    let Some(l) = rand_count(ctx, &a[2]) else { return };
    let withvalues = a.len() == 4 && eq(&a[3], "WITHVALUES");
    if a.len() > 4 || (a.len() == 4 && !withvalues) {
        return ctx.error(err::SYNTAX);
    }
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return ctx.error("ERR value is out of range");
    }
    let Ok(h) = read_hash_arc(ks, ctx, &a[1]) else { return };
    let Some(h) = h else { return ctx.out.array(0) };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return ctx.out.array(0);
    }
    let resp3 = ctx.out.resp3;
    let entries: Vec<(&Bytes, &Bytes)> = h.entries().collect();
    let n = entries.len();
    let reply_len = if !uniq || count == 1 { count as usize } else { (count as usize).min(n) };
    ctx.out.array(if withvalues && !resp3 { reply_len * 2 } else { reply_len });
    let emit = |ctx: &mut Ctx, (k, v): (&Bytes, &Bytes)| {
        if withvalues && resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(k);
        if withvalues {
            ctx.out.bulk(v);
        }
    };
    if !uniq || count == 1 {
        for _ in 0..count {
            let i = ks.rng.gen_range(0..n);
            emit(ctx, entries[i]);
        }
    } else if count as usize >= n {
        for e in entries {
            emit(ctx, e);
        }
    } else {
        for i in distinct_indexes(&mut ks.rng, n, count as usize) {
            emit(ctx, entries[i]);
        }
    }
}

// ----- SCAN over a collection --------------------------------------------------------------

/// The COUNT and MATCH options of HSCAN / SSCAN.
pub(crate) struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Bytes>,
}

/// Parses a SCAN cursor, replying "invalid cursor" when it is not one.
pub(crate) fn scan_cursor(ctx: &mut Ctx, a: &[u8]) -> Option<u64> {
    let c = parse_cursor(a);
    if c.is_none() {
        ctx.error("ERR invalid cursor");
    }
    c
}

/// Redis's cursor parsing (`strtoul`): an optional sign (a negative cursor wraps), decimal
/// digits, no overflow; the empty string is cursor 0.
fn parse_cursor(a: &[u8]) -> Option<u64> {
    if a.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match a[0] {
        b'-' => (true, &a[1..]),
        b'+' => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() || !digits.iter().all(|d| d.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses `[MATCH pattern] [COUNT count]` (TYPE is only for SCAN).
pub(crate) fn scan_opts(ctx: &mut Ctx, a: &[Bytes]) -> Option<ScanOpts> {
    let mut o = ScanOpts { count: 10, pattern: None };
    let mut i = 0;
    while i < a.len() {
        let more = i + 1 < a.len();
        if eq(&a[i], "COUNT") && more {
            let n = arg_i64(ctx, &a[i + 1])?;
            if n < 1 {
                ctx.error(err::SYNTAX);
                return None;
            }
            o.count = n as usize;
        } else if eq(&a[i], "MATCH") && more {
            o.pattern = Some(a[i + 1].clone()).filter(|p| !crate::util::glob::is_match_all(p));
        } else {
            ctx.error(err::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(o)
}

/// A member's place in the scan order: a fixed hash, so an element present for a whole scan is
/// returned whatever else is added or removed meanwhile. Never 0 (the cursor that ends a scan).
fn scan_pos(m: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    m.hash(&mut h);
    (h.finish() >> 1).max(1)
}

/// One SCAN step over a collection held as a hashtable: the elements at or after `cursor` in
/// scan order, about `count` of them (elements sharing a position go together), and the next
/// cursor (0 when done). Compact encodings are returned whole, as Redis does.
pub(crate) fn scan_step<'a, T>(items: impl Iterator<Item = (&'a [u8], T)>, cursor: u64, count: usize, table: bool) -> (u64, Vec<T>) {
    if !table {
        return (0, items.map(|(_, t)| t).collect());
    }
    let mut v: Vec<(u64, T)> = items.map(|(m, t)| (scan_pos(m), t)).filter(|(p, _)| *p >= cursor).collect();
    v.sort_unstable_by_key(|(p, _)| *p);
    let mut end = count.min(v.len());
    while end > 0 && end < v.len() && v[end].0 == v[end - 1].0 {
        end += 1;
    }
    let next = if end < v.len() { v[end].0 } else { 0 };
    v.truncate(end);
    (next, v.into_iter().map(|(_, t)| t).collect())
}

/// Writes a SCAN reply: the cursor and the elements (each one or two bulks).
pub(crate) fn scan_reply(ctx: &mut Ctx, next: u64, items: &[&[u8]]) {
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len());
    for i in items {
        ctx.out.bulk(i);
    }
}

pub(crate) fn matches(pattern: &Option<Bytes>, m: &[u8]) -> bool {
    pattern.as_ref().is_none_or(|p| glob_match(p, m, false))
}

pub fn hscan(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(cursor) = scan_cursor(ctx, &a[2]) else { return };
    let lim = limits(ks);
    let Ok(h) = read_hash_arc(ks, ctx, &a[1]) else { return };
    let Some(h) = h else { return scan_reply(ctx, 0, &[]) };
    let Some(o) = scan_opts(ctx, &a[3..]) else { return };
    let (next, found) = scan_step(h.entries().map(|(k, v)| (&k[..], (k, v))), cursor, o.count, h.is_table(&lim));
    let mut out: Vec<&[u8]> = Vec::with_capacity(found.len() * 2);
    for (k, v) in found {
        if matches(&o.pattern, k) {
            out.push(k);
            out.push(v);
        }
    }
    scan_reply(ctx, next, &out);
}
