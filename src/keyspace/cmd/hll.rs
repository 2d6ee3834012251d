//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG,
//! PFSELFTEST. The values are ordinary strings in Redis's byte layout ([`crate::hll`]), so
//! they replicate and persist as strings, byte for byte what Redis holds.

use super::Route::Keyspace as K;
use super::{eq, err};
use crate::hll;
use crate::keyspace::thin::Thin;
use crate::keyspace::{Ctx, Keyspace, Value};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

crate::command_specs! {
    "pfadd", -2, "write denyoom fast", 1, 1, 1, "hyperloglog", K(pfadd), "Adds the specified elements to the specified HyperLogLog.";
    "pfcount", -2, "readonly may_replicate", 1, -1, 1, "hyperloglog", K(pfcount), "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).";
    "pfmerge", -2, "write denyoom", 1, -1, 1, "hyperloglog", K(pfmerge), "Merge N different HyperLogLogs into a single one.";
    "pfdebug", 3, "write denyoom admin", 2, 2, 1, "hyperloglog", K(pfdebug), "Internal commands for debugging HyperLogLog values";
    "pfselftest", 1, "admin", 0, 0, 0, "hyperloglog", K(pfselftest), "An internal command for testing HyperLogLog values";
}

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// The HyperLogLog bytes of a looked-up value: Ok(None) when missing, Err (after replying)
/// when it is not a HyperLogLog.
fn hll_of<'a>(ctx: &mut Ctx, v: Option<&'a Value>) -> Result<Option<&'a [u8]>, ()> {
    match v {
        None => Ok(None),
        Some(Value::Str(s)) if hll::valid_header(s) => Ok(Some(s)),
        Some(Value::Str(_)) => {
            ctx.error(NOT_HLL);
            Err(())
        }
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// A copy of the HyperLogLog at `key` for a write (expired keys go first).
fn hll_for_write(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let v = ks.lookup_write(ctx, key).map(|v| &*v);
    Ok(hll_of(ctx, v)?.map(|b| b.to_vec()))
}

fn sparse_max(ks: &Keyspace) -> usize {
    ks.shared.hot.hll_sparse_max_bytes.load(Relaxed) as usize
}

/// Replaces the bytes of the existing string at `key` (TTL kept), without counting a change.
fn store(ks: &mut Keyspace, db: usize, key: &[u8], bytes: &[u8]) {
    if let Some(v) = ks.dbs[db].keys.get_mut(key) {
        *v = Value::Str(Thin::new(bytes));
    }
}

/// As Redis's dbUnshareStringValue: a HyperLogLog the commands touch is a `raw` string.
fn unshare(ks: &mut Keyspace, db: usize, key: &[u8]) {
    ks.mark_raw(db, key);
}

/// Stores `bytes` at `key`: a new key when `created`, else in place. Counts `changes`.
fn commit(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], bytes: &[u8], created: bool, changes: u64) {
    if created {
        ks.set_key(ctx, key, Value::Str(Thin::new(bytes)), false);
    } else {
        store(ks, ctx.db, key, bytes);
        ks.modified(ctx, key);
    }
    unshare(ks, ctx.db, key);
    ctx.dirty += changes.saturating_sub(1);
}

/// What a write finds at a key: nothing, a dense value (updated in place), or a copy of a
/// sparse one (its length changes).
enum Found {
    Missing,
    Dense,
    Sparse(Vec<u8>),
}

fn find_for_write(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Found, ()> {
    let v = ks.lookup_write(ctx, key).map(|v| &*v);
    Ok(match hll_of(ctx, v)? {
        None => Found::Missing,
        Some(b) if hll::is_sparse(b) => Found::Sparse(b.to_vec()),
        Some(_) => Found::Dense,
    })
}

/// The bytes of the string at `key`, writable in place.
fn str_mut<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Option<&'a mut [u8]> {
    match ks.dbs[db].keys.get_mut(key) {
        Some(Value::Str(s)) => Some(s.as_mut_slice()),
        _ => None,
    }
}

/// PFADD key [element ...]: 1 when a register changed (or the key was created).
pub fn pfadd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let key = &a[1];
    let (created, mut h) = match find_for_write(ks, ctx, key) {
        Err(()) => return,
        Ok(Found::Dense) => return pfadd_dense(ks, ctx, a),
        Ok(Found::Sparse(h)) => (false, h),
        Ok(Found::Missing) => (true, hll::new_empty()),
    };
    let max = sparse_max(ks);
    let mut updated = created as u64;
    for e in &a[2..] {
        match hll::add(&mut h, e, max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => {
                // As Redis: the registers already raised stay, but nothing is counted or
                // propagated.
                store(ks, ctx.db, key, &h);
                unshare(ks, ctx.db, key);
                return ctx.error(CORRUPT);
            }
        }
    }
    if updated > 0 {
        hll::invalidate_cache(&mut h);
        commit(ks, ctx, key, &h, created, updated);
        ks.notify(ctx, crate::config::notify::STRING, "pfadd", key);
    } else {
        unshare(ks, ctx.db, key);
    }
    ctx.out.int((updated > 0) as i64);
}

/// PFADD on a dense value: registers raised in place.
fn pfadd_dense(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let key = &a[1];
    let mut updated = 0u64;
    if let Some(s) = str_mut(ks, ctx.db, key) {
        for e in &a[2..] {
            updated += hll::add_dense(s, e) as u64;
        }
        if updated > 0 {
            hll::invalidate_cache(s);
        }
    }
    if updated > 0 {
        ks.modified(ctx, key);
        ctx.dirty += updated - 1;
        ks.notify(ctx, crate::config::notify::STRING, "pfadd", key);
    }
    unshare(ks, ctx.db, key);
    ctx.out.int((updated > 0) as i64);
}

/// PFCOUNT key [key ...]: one key answers (and caches) its estimate; several answer the
/// estimate of their union.
pub fn pfcount(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for key in &a[1..] {
            let v = ks.lookup_read(ctx, key);
            let Ok(found) = hll_of(ctx, v) else { return };
            if let Some(b) = found {
                if hll::merge_into(&mut max, b).is_err() {
                    return ctx.error(CORRUPT);
                }
            }
        }
        return ctx.out.int(hll::count_bytes(&max) as i64);
    }
    let key = &a[1];
    let v = ks.lookup_read(ctx, key);
    let Ok(found) = hll_of(ctx, v) else { return };
    let Some(b) = found else { return ctx.out.int(0) };
    let (cached, counted) = match hll::cached(b) {
        Some(card) => (Some(card), None),
        None => (None, Some(hll::count(b))),
    };
    unshare(ks, ctx.db, key);
    if let Some(card) = cached {
        return ctx.out.int(card as i64);
    }
    let Some(Ok(card)) = counted else { return ctx.error(CORRUPT) };
    if let Some(s) = str_mut(ks, ctx.db, key) {
        hll::set_cache(s, card);
    }
    // A read-only command that changed the value: as Redis, it goes to replicas as is
    // (a replica updates its own copy's cache but propagates nothing).
    ks.modified(ctx, key);
    if ks.feed.wants() {
        ctx.prop.push(a.to_vec());
    }
    ctx.out.int(card as i64);
}

/// PFMERGE destkey [sourcekey ...]: destkey becomes the union of itself and the sources.
pub fn pfmerge(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for key in &a[1..] {
        let v = ks.lookup_read(ctx, key);
        let Ok(found) = hll_of(ctx, v) else { return };
        if let Some(b) = found {
            use_dense |= !hll::is_sparse(b);
            if hll::merge_into(&mut max, b).is_err() {
                return ctx.error(CORRUPT);
            }
        }
    }
    let dest = &a[1];
    let Ok(found) = hll_for_write(ks, ctx, dest) else { return };
    let created = found.is_none();
    let mut h = found.unwrap_or_else(hll::new_empty);
    if use_dense && hll::to_dense(&mut h).is_err() {
        return ctx.error(CORRUPT);
    }
    let limit = sparse_max(ks);
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // The destination was validated by the merge: raising cannot fail.
            let _ = hll::set_register(&mut h, i, m, limit);
        }
    }
    hll::invalidate_cache(&mut h);
    commit(ks, ctx, dest, &h, created, 1);
    // As Redis: PFMERGE publishes `pfadd` (a mass add).
    ks.notify(ctx, crate::config::notify::STRING, "pfadd", dest);
    ctx.out.ok();
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
pub fn pfdebug(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (sub, key) = (&a[1], &a[2]);
    let Ok(found) = hll_for_write(ks, ctx, key) else { return };
    let Some(mut h) = found else { return ctx.error("ERR The specified key does not exist") };
    unshare(ks, ctx.db, key);
    if eq(sub, "getreg") || eq(sub, "todense") {
        let converted = match hll::to_dense(&mut h) {
            Ok(c) => c,
            Err(_) => return ctx.error(CORRUPT),
        };
        if converted {
            // The encoding changed: counted, so the command propagates.
            store(ks, ctx.db, key, &h);
            ks.modified(ctx, key);
        }
        if eq(sub, "todense") {
            return ctx.out.int(converted as i64);
        }
        let regs = hll::dense_registers(&h);
        ctx.out.array(regs.len());
        for r in regs {
            ctx.out.int(r as i64);
        }
    } else if eq(sub, "decode") {
        if !hll::is_sparse(&h) {
            return ctx.error("ERR HLL encoding is not sparse");
        }
        ctx.out.bulk(hll::sparse::decode(&h[hll::HDR..]).as_bytes());
    } else if eq(sub, "encoding") {
        ctx.out.simple(if hll::is_sparse(&h) { "sparse" } else { "dense" });
    } else {
        ctx.error([&b"ERR Unknown PFDEBUG subcommand '"[..], crate::keyspace::cmd::cstr(sub, usize::MAX), b"'"].concat());
    }
}

/// PFSELFTEST: checks the register packing and the estimator (takes a few seconds).
pub fn pfselftest(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    let max = sparse_max(ks);
    match hll::self_test(&mut ks.rng, max) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.error(&e),
    }
}
