//! Sorted-set commands: ZADD and the single-member commands, pops (blocking ones too),
//! ZRANDMEMBER, ZSCAN. Ranges, range removal and the set operations live in
//! [`super::zsets_range`].
//!
//! A [`ZSet`] keeps member -> score in a hash map and (score, member) in a B-tree, so ZADD,
//! ZSCORE and the pops are O(log n); rank-based operations walk the tree (O(n)).
//! OBJECT ENCODING follows Redis: `listpack` until an add makes the set longer than
//! `zset-max-listpack-entries` or adds a member longer than `zset-max-listpack-value`, then
//! `skiplist` for good (stores pick their encoding from the result's size).

use super::{arg_i64, eq, err};
use crate::keyspace::blocking::{parse_timeout, BlockSpec};
use crate::keyspace::value::{Score, ZSet};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::{glob::glob_match, num};
use bytes::Bytes;
use rand::Rng;
use std::sync::Arc;


// ----- the data structure ----------------------------------------------------------------

impl ZSet {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Adds or updates a member; returns the previous score. Like Redis, a score equal to the
    /// current one (0 and -0 included) leaves the member untouched, and a listpack stores
    /// -0 as the integer 0.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let score = if !self.skiplist && score == 0.0 { 0.0 } else { score };
        if let Some(cur) = self.dict.get_mut(&member) {
            let old = *cur;
            if old != score {
                *cur = score;
                self.order.remove(&(Score(old), member.clone()));
                self.order.insert((Score(score), member));
            }
            return Some(old);
        }
        self.dict.insert(member.clone(), score);
        self.order.insert((Score(score), member));
        None
    }

    /// Removes a member; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (m, s) = self.dict.remove_entry(member)?;
        self.order.remove(&(Score(s), m));
        Some(s)
    }

    /// Removes the lowest (or highest) scored member.
    pub fn pop(&mut self, max: bool) -> Option<(Bytes, f64)> {
        let (s, m) = if max { self.order.pop_last()? } else { self.order.pop_first()? };
        self.dict.remove(&m);
        Some((m, s.0))
    }

    /// 0-based rank of a member (from the highest score when `rev`).
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<usize> {
        let (m, s) = self.dict.get_key_value(member)?;
        let below = self.order.range(..(Score(*s), m.clone())).count();
        Some(if rev { self.len() - 1 - below } else { below })
    }

    /// Redis's listpack -> skiplist conversion, checked before adding a new member: sticky
    /// once made.
    pub fn before_add(&mut self, member_len: usize, lim: Limits) {
        if !self.skiplist && (self.len() as u64 + 1 > lim.entries || member_len as u64 > lim.value) {
            self.skiplist = true;
        }
    }

    /// The encoding a freshly built set (a store's result) gets.
    pub fn fit_encoding(&mut self, lim: Limits) {
        let maxlen = self.dict.keys().map(|m| m.len()).max().unwrap_or(0);
        self.skiplist = self.len() as u64 > lim.entries || maxlen as u64 > lim.value;
        if !self.skiplist {
            let negz: Vec<Bytes> =
                self.dict.iter().filter(|(_, s)| **s == 0.0 && s.is_sign_negative()).map(|(m, _)| m.clone()).collect();
            for m in negz {
                self.remove(&m);
                self.insert(m, 0.0);
            }
        }
    }
}

/// The listpack thresholds (`zset-max-listpack-entries` / `-value`).
#[derive(Clone, Copy)]
pub struct Limits {
    pub entries: u64,
    pub value: u64,
}

pub fn limits(ks: &Keyspace) -> Limits {
    let hot = &ks.shared.hot;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    Limits { entries: load(&hot.zset_max_listpack_entries), value: load(&hot.zset_max_listpack_value) }
}

// ----- lookups ---------------------------------------------------------------------------

/// Reads a sorted set: `Ok(None)` when missing, `Err` (after replying) on wrong type.
pub fn read_zset(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<Arc<ZSet>>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z.clone())),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Looks a sorted set up for writing (copy-on-write through `Arc::make_mut`).
pub fn write_zset<'a>(ks: &'a mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'a mut ZSet>, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(Arc::make_mut(z))),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Records `n` changes to `key` (WATCH, dirty) and publishes `event` (class z), deleting
/// the key when it became empty (`del`, class g).
pub fn after_change(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], n: usize, now_empty: bool, event: &str) {
    if n == 0 {
        return;
    }
    ks.modified(ctx, key);
    ctx.dirty += n as u64 - 1;
    ks.notify(ctx, N::ZSET, event, key);
    if now_empty {
        ks.delete(ctx, key);
        ks.notify(ctx, N::GENERIC, "del", key);
    }
}

/// Replies with members (and scores): flat in RESP2, [member, score] pairs in RESP3.
pub fn reply_members(ctx: &mut Ctx, items: &[(Bytes, f64)], withscores: bool) {
    let nested = withscores && ctx.out.resp3;
    ctx.out.array(if withscores && !nested { items.len() * 2 } else { items.len() });
    for (m, s) in items {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        if withscores {
            ctx.out.double(*s);
        }
    }
}

fn own(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// Redis's `d2string`: integers (within +-2^62) without exponent, else `%.17g`.
pub fn d2string(v: f64) -> String {
    if v.is_finite() && v != 0.0 && v.abs() <= (i64::MAX / 2) as f64 && v.fract() == 0.0 {
        return (v as i64).to_string();
    }
    num::fmt_double(v)
}

// ----- ZADD / ZINCRBY --------------------------------------------------------------------

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

fn zadd_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], incr_cmd: bool) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, incr_cmd);
    let mut i = 2;
    if !incr_cmd {
        while i < a.len() {
            let o = &a[i];
            if eq(o, "NX") {
                nx = true;
            } else if eq(o, "XX") {
                xx = true;
            } else if eq(o, "CH") {
                ch = true;
            } else if eq(o, "INCR") {
                incr = true;
            } else if eq(o, "GT") {
                gt = true;
            } else if eq(o, "LT") {
                lt = true;
            } else {
                break;
            }
            i += 1;
        }
    }
    let rest = &a[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return ctx.error(err::SYNTAX);
    }
    let n = rest.len() / 2;
    if xx && nx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    if (gt && nx) || (lt && nx) || (gt && lt) {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if incr && n > 1 {
        return ctx.error("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(n);
    for j in 0..n {
        match num::parse_f64(&rest[2 * j]) {
            Some(s) => scores.push(s),
            None => return ctx.error(err::NOT_FLOAT),
        }
    }
    let key = &a[1];
    let lim = limits(ks);
    let exists = match ks.lookup_write(ctx, key) {
        None => false,
        Some(Value::ZSet(_)) => true,
        Some(_) => return ctx.error(err::WRONGTYPE),
    };
    let (mut added, mut updated, mut processed) = (0usize, 0usize, 0usize);
    let mut last = 0.0;
    let mut nan = false;
    if exists || !xx {
        if !exists {
            let mut z = ZSet::default();
            if lim.entries == 0 || rest[1].len() as u64 > lim.value {
                z.skiplist = true;
            }
            ks.dbs[ctx.db].keys.insert(own(key), Value::ZSet(Arc::new(z)));
            ks.notify_new(ctx, key);
        }
        let Ok(Some(z)) = write_zset(ks, ctx, key) else { return };
        for j in 0..n {
            let mut score = scores[j];
            let member = &rest[2 * j + 1];
            match z.score(member) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    if incr {
                        score += cur;
                        if score.is_nan() {
                            nan = true;
                            break;
                        }
                    }
                    if (lt && score >= cur) || (gt && score <= cur) {
                        continue;
                    }
                    if score != cur {
                        z.insert(member.clone(), score);
                        updated += 1;
                    }
                    processed += 1;
                    last = score;
                }
                None if !xx => {
                    z.before_add(member.len(), lim);
                    z.insert(member.clone(), score);
                    added += 1;
                    processed += 1;
                    last = score;
                }
                None => {}
            }
        }
        let empty = z.is_empty();
        if empty {
            // Only possible when nothing was added to a key created here.
            ks.dbs[ctx.db].keys.remove(&key[..]);
        }
    }
    if added + updated > 0 {
        ks.touch_watched(ctx.db, key);
        ctx.dirty += (added + updated) as u64;
        if added > 0 {
            ks.signal_ready(ctx.db, key);
        }
    }
    if nan {
        return ctx.error(NAN_ERR);
    }
    if incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added } as i64);
    }
    // As Redis, the event follows the reply.
    if added + updated > 0 {
        ks.notify(ctx, N::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
}

pub fn zadd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zadd_generic(ks, ctx, a, false)
}

pub fn zincrby(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zadd_generic(ks, ctx, a, true)
}

// ----- single-member commands ------------------------------------------------------------

pub fn zrem(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let key = &a[1];
    let Ok(z) = write_zset(ks, ctx, key) else { return };
    let Some(z) = z else { return ctx.out.int(0) };
    let mut n = 0;
    for m in &a[2..] {
        if z.remove(m).is_some() {
            n += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let empty = z.is_empty();
    after_change(ks, ctx, key, n, empty, "zrem");
    ctx.out.int(n as i64);
}

pub fn zcard(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(z) = read_zset(ks, ctx, &a[1]) {
        ctx.out.int(z.map_or(0, |z| z.len() as i64));
    }
}

pub fn zscore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(z) = read_zset(ks, ctx, &a[1]) {
        match z.and_then(|z| z.score(&a[2])) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

pub fn zmscore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    ctx.out.array(a.len() - 2);
    for m in &a[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

fn rank_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], rev: bool) {
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    match z.and_then(|z| z.rank(&a[2], rev)) {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
}

pub fn zrank(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    rank_generic(ks, ctx, a, false)
}

pub fn zrevrank(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    rank_generic(ks, ctx, a, true)
}

// ----- pops ------------------------------------------------------------------------------

/// Pops up to `count` members of an existing sorted set (type already checked).
fn pop_n(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], max: bool, count: usize) -> Vec<(Bytes, f64)> {
    let Ok(Some(z)) = write_zset(ks, ctx, key) else { return vec![] };
    let mut v = Vec::with_capacity(count.min(z.len()));
    while v.len() < count {
        match z.pop(max) {
            Some(e) => v.push(e),
            None => break,
        }
    }
    v
}

/// Replies with popped members after `header` (what Redis writes before them), publishing
/// as Redis's genericZpopCommand does: `zpopmin`/`zpopmax` after the header, before the
/// members; `del` after them when the key emptied.
fn reply_popped(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], max: bool, items: &[(Bytes, f64)], nested: bool, header: impl FnOnce(&mut Ctx)) {
    header(ctx);
    if items.is_empty() {
        return;
    }
    ks.modified(ctx, key);
    ctx.dirty += items.len() as u64 - 1;
    ks.notify(ctx, N::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    for (m, s) in items {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    let empty = matches!(ks.dbs[ctx.db].keys.get(key), Some(Value::ZSet(z)) if z.is_empty());
    if empty {
        ks.delete(ctx, key);
        ks.notify(ctx, N::GENERIC, "del", key);
    }
}

/// The first existing key among `keys`: `Ok(None)` when none exists, `Err` (after replying)
/// when the first existing one is not a sorted set (a waiter being served skips it instead).
fn first_zset(ks: &mut Keyspace, ctx: &mut Ctx, keys: &[Bytes]) -> Result<Option<Bytes>, ()> {
    let serving = ks.blocking.serving_waiter;
    for k in keys {
        match ks.lookup_write(ctx, k) {
            None => continue,
            Some(Value::ZSet(z)) if z.is_empty() => continue,
            Some(Value::ZSet(_)) => return Ok(Some(k.clone())),
            Some(_) if serving => continue,
            Some(_) => {
                ctx.error(err::WRONGTYPE);
                return Err(());
            }
        }
    }
    Ok(None)
}

fn pop_name(max: bool) -> Bytes {
    Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" })
}

fn zpop_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], max: bool) {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    let mut count: Option<usize> = None;
    if a.len() == 3 {
        match num::parse_i64(&a[2]) {
            Some(n) if n >= 0 => count = Some(n as usize),
            _ => return ctx.error("ERR value is out of range, must be positive"),
        }
    }
    let Ok(key) = first_zset(ks, ctx, &a[1..2]) else { return };
    let Some(key) = key else { return ctx.out.array(0) };
    if count == Some(0) {
        return ctx.out.array(0);
    }
    let items = pop_n(ks, ctx, &key, max, count.unwrap_or(1));
    let nested = count.is_some() && ctx.out.resp3;
    let n = items.len();
    reply_popped(ks, ctx, &key, max, &items, nested, |ctx| ctx.out.array(if nested { n } else { n * 2 }));
}

pub fn zpopmin(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zpop_generic(ks, ctx, a, false)
}

pub fn zpopmax(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zpop_generic(ks, ctx, a, true)
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout.
fn bzpop_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], max: bool) {
    let deadline = match parse_timeout(ctx.now, &a[a.len() - 1]) {
        Ok(d) => d,
        Err(e) => return ctx.error(e),
    };
    let keys = &a[1..a.len() - 1];
    let Ok(key) = first_zset(ks, ctx, keys) else { return };
    let Some(key) = key else {
        ctx.block = Some(BlockSpec { keys: keys.to_vec(), deadline, null_array: true });
        return;
    };
    let items = pop_n(ks, ctx, &key, max, 1);
    ctx.rewrite(vec![pop_name(max), key.clone()]);
    reply_popped(ks, ctx, &key, max, &items, false, |ctx| {
        ctx.out.array(3);
        ctx.out.bulk(&key);
    });
}

pub fn bzpopmin(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    bzpop_generic(ks, ctx, a, false)
}

pub fn bzpopmax(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    bzpop_generic(ks, ctx, a, true)
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]; BZMPOP has the timeout first.
fn zmpop_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], blocking: bool) {
    let nk_idx = if blocking { 2 } else { 1 };
    let numkeys = match num::parse_i64(&a[nk_idx]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    let where_idx = nk_idx + 1 + numkeys;
    if numkeys >= a.len() || where_idx >= a.len() {
        return ctx.error(err::SYNTAX);
    }
    let max = if eq(&a[where_idx], "MIN") {
        false
    } else if eq(&a[where_idx], "MAX") {
        true
    } else {
        return ctx.error(err::SYNTAX);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count.is_none() && eq(&a[j], "COUNT") && j + 1 < a.len() {
            match num::parse_i64(&a[j + 1]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return ctx.error("ERR count should be greater than 0"),
            }
            j += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    let count = count.unwrap_or(1);
    let deadline = if blocking {
        match parse_timeout(ctx.now, &a[1]) {
            Ok(d) => d,
            Err(e) => return ctx.error(e),
        }
    } else {
        None
    };
    let keys = &a[nk_idx + 1..where_idx];
    let Ok(key) = first_zset(ks, ctx, keys) else { return };
    let Some(key) = key else {
        if blocking {
            ctx.block = Some(BlockSpec { keys: keys.to_vec(), deadline, null_array: true });
        } else {
            ctx.out.null_array();
        }
        return;
    };
    let items = pop_n(ks, ctx, &key, max, count);
    ctx.rewrite(vec![pop_name(max), key.clone(), Bytes::from(items.len().to_string())]);
    let n = items.len();
    reply_popped(ks, ctx, &key, max, &items, true, |ctx| {
        ctx.out.array(2);
        ctx.out.bulk(&key);
        ctx.out.array(n);
    });
}

pub fn zmpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zmpop_generic(ks, ctx, a, false)
}

pub fn bzmpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zmpop_generic(ks, ctx, a, true)
}

// ----- ZRANDMEMBER -----------------------------------------------------------------------

pub fn zrandmember(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len() >= 3 {
        let Some(l) = arg_i64(ctx, &a[2]) else { return };
        if l == i64::MIN {
            return ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        }
        let withscores = match a.len() {
            3 => false,
            4 if eq(&a[3], "WITHSCORES") => true,
            _ => return ctx.error(err::SYNTAX),
        };
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return ctx.error("ERR value is out of range");
        }
        return zrandmember_count(ks, ctx, &a[1], l, withscores);
    }
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    let Some(z) = z else { return ctx.out.null() };
    let i = ks.rng.gen_range(0..z.len());
    match z.order.iter().nth(i) {
        Some((_, m)) => ctx.out.bulk(m),
        None => ctx.out.null(),
    }
}

fn zrandmember_count(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], l: i64, withscores: bool) {
    let Ok(z) = read_zset(ks, ctx, key) else { return };
    let Some(z) = z else { return ctx.out.array(0) };
    if l == 0 {
        return ctx.out.array(0);
    }
    let size = z.len();
    let all: Vec<(&Bytes, f64)> = z.order.iter().map(|(s, m)| (m, s.0)).collect();
    let emit = |ctx: &mut Ctx, m: &Bytes, s: f64| {
        if withscores && ctx.out.resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        if withscores {
            ctx.out.double(s);
        }
    };
    let header = |ctx: &mut Ctx, n: usize| {
        ctx.out.array(if withscores && !ctx.out.resp3 { n * 2 } else { n });
    };
    if l < 0 || l == 1 {
        // With repetitions (and in random order).
        let n = l.unsigned_abs() as usize;
        header(ctx, n);
        for _ in 0..n {
            let (m, s) = all[ks.rng.gen_range(0..size)];
            emit(ctx, m, s);
        }
        return;
    }
    let n = l as usize;
    if n >= size {
        header(ctx, size);
        for (m, s) in all {
            emit(ctx, m, s);
        }
        return;
    }
    let picks = rand::seq::index::sample(&mut ks.rng, size, n);
    header(ctx, n);
    for i in picks.iter() {
        let (m, s) = all[i];
        emit(ctx, m, s);
    }
}

// ----- ZSCAN -----------------------------------------------------------------------------

/// A member's position in the ZSCAN order of a large set: a stable hash (never 0).
fn scan_hash(m: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(m);
    (h.finish() >> 1).max(1)
}

pub fn zscan(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(cursor) = num::parse_u64(&a[2]) else {
        return ctx.error("ERR invalid cursor");
    };
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    let (mut count, mut pat) = (10usize, None);
    let mut i = 3;
    while i < a.len() {
        if eq(&a[i], "COUNT") && i + 1 < a.len() {
            let Some(n) = arg_i64(ctx, &a[i + 1]) else { return };
            if n < 1 {
                return ctx.error(err::SYNTAX);
            }
            count = n as usize;
        } else if eq(&a[i], "MATCH") && i + 1 < a.len() {
            pat = Some(a[i + 1].clone());
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 2;
    }
    let Some(z) = z else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        return ctx.out.array(0);
    };
    let pat = pat.filter(|p| !crate::util::glob::is_match_all(p));
    let mut next = 0u64;
    let found: Vec<(Bytes, f64)> = if !z.skiplist {
        z.order.iter().map(|(s, m)| (m.clone(), s.0)).collect()
    } else {
        // Walk members in hash order from the cursor: members present for the whole scan
        // are returned at least once whatever changes in between.
        let mut cands: Vec<(u64, &Bytes, f64)> = z
            .dict
            .iter()
            .map(|(m, s)| (scan_hash(m), m, *s))
            .filter(|(h, _, _)| *h >= cursor)
            .collect();
        if cands.len() > count {
            cands.select_nth_unstable_by_key(count, |c| c.0);
            let bound = cands[count].0;
            cands.truncate(count);
            // Keep members sharing the boundary hash together in the next call.
            let keep_all = cands.iter().all(|c| c.0 == bound);
            if keep_all {
                cands = z.dict.iter().map(|(m, s)| (scan_hash(m), m, *s)).filter(|c| c.0 == bound).collect();
                next = bound + 1;
            } else {
                cands.retain(|c| c.0 < bound);
                next = bound;
            }
        }
        cands.sort_by_key(|c| c.0);
        cands.into_iter().map(|(_, m, s)| (m.clone(), s)).collect()
    };
    let found: Vec<(Bytes, f64)> =
        found.into_iter().filter(|(m, _)| pat.as_ref().is_none_or(|p| glob_match(p, m, false))).collect();
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len() * 2);
    for (m, s) in found {
        ctx.out.bulk(&m);
        ctx.out.bulk(d2string(s).as_bytes());
    }
}

// ----- the command table -----------------------------------------------------------------

use super::zsets_range as r;
use super::Route::Keyspace as K;

crate::command_specs! {
    "zadd", -4, "write denyoom fast", 1, 1, 1, "sorted-set", K(zadd), "Add one or more members to a sorted set, or update its score if it already exists";
    "zincrby", 4, "write denyoom fast", 1, 1, 1, "sorted-set", K(zincrby), "Increment the score of a member in a sorted set";
    "zrem", -3, "write fast", 1, 1, 1, "sorted-set", K(zrem), "Remove one or more members from a sorted set";
    "zcard", 2, "readonly fast", 1, 1, 1, "sorted-set", K(zcard), "Get the number of members in a sorted set";
    "zscore", 3, "readonly fast", 1, 1, 1, "sorted-set", K(zscore), "Get the score associated with the given member in a sorted set";
    "zmscore", -3, "readonly fast", 1, 1, 1, "sorted-set", K(zmscore), "Get the score associated with the given members in a sorted set";
    "zcount", 4, "readonly fast", 1, 1, 1, "sorted-set", K(r::zcount), "Count the members in a sorted set with scores within the given values";
    "zlexcount", 4, "readonly fast", 1, 1, 1, "sorted-set", K(r::zlexcount), "Count the number of members in a sorted set between a given lexicographical range";
    "zrank", 3, "readonly fast", 1, 1, 1, "sorted-set", K(zrank), "Determine the index of a member in a sorted set";
    "zrevrank", 3, "readonly fast", 1, 1, 1, "sorted-set", K(zrevrank), "Determine the index of a member in a sorted set, with scores ordered from high to low";
    "zrange", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrange), "Return a range of members in a sorted set";
    "zrangestore", -5, "write denyoom", 1, 2, 1, "sorted-set", K(r::zrangestore), "Store a range of members from sorted set into another key";
    "zrangebyscore", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrangebyscore), "Return a range of members in a sorted set, by score";
    "zrevrangebyscore", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrevrangebyscore), "Return a range of members in a sorted set, by score, with scores ordered from high to low";
    "zrangebylex", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrangebylex), "Return a range of members in a sorted set, by lexicographical range";
    "zrevrangebylex", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrevrangebylex), "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.";
    "zrevrange", -4, "readonly", 1, 1, 1, "sorted-set", K(r::zrevrange), "Return a range of members in a sorted set, by index, with scores ordered from high to low";
    "zpopmin", -2, "write fast", 1, 1, 1, "sorted-set", K(zpopmin), "Remove and return members with the lowest scores in a sorted set";
    "zpopmax", -2, "write fast", 1, 1, 1, "sorted-set", K(zpopmax), "Remove and return members with the highest scores in a sorted set";
    "zmpop", -4, "write movablekeys", 0, 0, 0, "sorted-set", K(zmpop), "Remove and return members with scores in a sorted set";
    "zrandmember", -2, "readonly", 1, 1, 1, "sorted-set", K(zrandmember), "Get one or multiple random elements from a sorted set";
    "zremrangebyrank", 4, "write", 1, 1, 1, "sorted-set", K(r::zremrangebyrank), "Remove all members in a sorted set within the given indexes";
    "zremrangebyscore", 4, "write", 1, 1, 1, "sorted-set", K(r::zremrangebyscore), "Remove all members in a sorted set within the given scores";
    "zremrangebylex", 4, "write", 1, 1, 1, "sorted-set", K(r::zremrangebylex), "Remove all members in a sorted set between the given lexicographical range";
    "zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, "sorted-set", K(r::zunionstore), "Add multiple sorted sets and store the resulting sorted set in a new key";
    "zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, "sorted-set", K(r::zinterstore), "Intersect multiple sorted sets and store the resulting sorted set in a new key";
    "zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, "sorted-set", K(r::zdiffstore), "Subtract multiple sorted sets and store the resulting sorted set in a new key";
    "zunion", -3, "readonly movablekeys", 0, 0, 0, "sorted-set", K(r::zunion), "Add multiple sorted sets";
    "zinter", -3, "readonly movablekeys", 0, 0, 0, "sorted-set", K(r::zinter), "Intersect multiple sorted sets";
    "zdiff", -3, "readonly movablekeys", 0, 0, 0, "sorted-set", K(r::zdiff), "Subtract multiple sorted sets";
    "zintercard", -3, "readonly movablekeys", 0, 0, 0, "sorted-set", K(r::zintercard), "Intersect multiple sorted sets and return the cardinality of the result";
    "zscan", -3, "readonly", 1, 1, 1, "sorted-set", K(zscan), "Incrementally iterate sorted sets elements and associated scores";
    "bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, "sorted-set", K(bzpopmin), "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available";
    "bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, "sorted-set", K(bzpopmax), "Remove and return the member with the highest score from one or more sorted sets, or block until one is available";
    "bzmpop", -5, "write blocking movablekeys", 0, 0, 0, "sorted-set", K(bzmpop), "Remove and return members with scores in a sorted set or block until one is available";
}
