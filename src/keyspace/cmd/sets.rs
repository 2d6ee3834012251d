//! Set commands (Redis's t_set.c).

use super::hashes::{changed, distinct_indexes, limits, matches, rand_count, scan_cursor, scan_opts, scan_reply, scan_step};
use super::{eq, err};
use super::Route::Keyspace as K;
use crate::keyspace::value::{Limits, SetObj};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::num;
use bytes::Bytes;
use rand::Rng;
use std::sync::Arc;

crate::command_specs! {
    "sadd", -3, "write denyoom fast", 1, 1, 1, "set", K(sadd), "Add one or more members to a set";
    "srem", -3, "write fast", 1, 1, 1, "set", K(srem), "Remove one or more members from a set";
    "scard", 2, "readonly fast", 1, 1, 1, "set", K(scard), "Get the number of members in a set";
    "sismember", 3, "readonly fast", 1, 1, 1, "set", K(sismember), "Determine if a given value is a member of a set";
    "smismember", -3, "readonly fast", 1, 1, 1, "set", K(smismember), "Returns the membership associated with the given elements for a set";
    "smembers", 2, "readonly", 1, 1, 1, "set", K(smembers), "Get all the members in a set";
    "spop", -2, "write fast", 1, 1, 1, "set", K(spop), "Remove and return one or multiple random members from a set";
    "srandmember", -2, "readonly", 1, 1, 1, "set", K(srandmember), "Get one or multiple random members from a set";
    "smove", 4, "write fast", 1, 2, 1, "set", K(smove), "Move a member from one set to another";
    "sinter", -2, "readonly", 1, -1, 1, "set", K(sinter), "Intersect multiple sets";
    "sunion", -2, "readonly", 1, -1, 1, "set", K(sunion), "Add multiple sets";
    "sdiff", -2, "readonly", 1, -1, 1, "set", K(sdiff), "Subtract multiple sets";
    "sinterstore", -3, "write denyoom", 1, -1, 1, "set", K(sinterstore), "Intersect multiple sets and store the resulting set in a key";
    "sunionstore", -3, "write denyoom", 1, -1, 1, "set", K(sunionstore), "Add multiple sets and store the resulting set in a key";
    "sdiffstore", -3, "write denyoom", 1, -1, 1, "set", K(sdiffstore), "Subtract multiple sets and store the resulting set in a key";
    "sintercard", -3, "readonly movablekeys", 0, 0, 0, "set", K(sintercard), "Intersect multiple sets and return the cardinality of the result";
    "sscan", -3, "readonly", 1, 1, 1, "set", K(sscan), "Incrementally iterate Set elements";
}

/// A set looked up for reading, shared: `Ok(None)` when missing, `Err` (after replying) on
/// wrong type.
fn read_set(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<Arc<SetObj>>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s.clone())),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Type check for a write (expired keys go first): Ok(true) when the set exists.
fn check_write(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<bool, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(false),
        Some(Value::Set(_)) => Ok(true),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// The set at `key`, without copying it.
fn peek<'a>(ks: &'a Keyspace, db: usize, key: &[u8]) -> Option<&'a SetObj> {
    match ks.dbs[db].keys.get(key) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// The set at `key` for a write (copied first if a snapshot shares it); created by
/// `SetObj::new_for(first)` when missing. Call [`check_write`] first.
fn set_mut<'a>(dbs: &'a mut [crate::keyspace::Db], db: usize, key: &[u8], first: &[u8]) -> &'a mut SetObj {
    let keys = &mut dbs[db].keys;
    if !keys.contains_key(key) {
        keys.insert(Bytes::copy_from_slice(key), Value::Set(Arc::new(SetObj::new_for(first))));
    }
    match keys.get_mut(key) {
        Some(Value::Set(s)) => Arc::make_mut(s),
        _ => unreachable!("check_write saw a set"),
    }
}

/// Replies with a set (RESP3 set type).
fn reply_members<'a>(ctx: &mut Ctx, n: usize, members: impl Iterator<Item = &'a Bytes>) {
    ctx.out.set(n);
    for m in members {
        ctx.out.bulk(m);
    }
}

pub fn sadd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    let lim = limits(ks);
    let s = set_mut(&mut ks.dbs, ctx.db, &a[1], &a[2]);
    let mut added = 0;
    for m in &a[2..] {
        if s.add(&lim, m.clone()) {
            added += 1;
        }
    }
    changed(ks, ctx, &a[1], added, false);
    if !exists {
        ks.notify_new(ctx, &a[1]);
    }
    if added > 0 {
        ks.notify(ctx, N::SET, "sadd", &a[1]);
    }
    ctx.out.int(added as i64);
}

pub fn srem(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    if !exists || !peek(ks, ctx.db, &a[1]).is_some_and(|s| a[2..].iter().any(|m| s.contains(m))) {
        return ctx.out.int(0);
    }
    let s = set_mut(&mut ks.dbs, ctx.db, &a[1], b"");
    let mut deleted = 0;
    for m in &a[2..] {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    let empty = s.is_empty();
    changed(ks, ctx, &a[1], deleted, empty);
    if deleted > 0 {
        ks.notify(ctx, N::SET, "srem", &a[1]);
        if empty {
            ks.notify(ctx, N::GENERIC, "del", &a[1]);
        }
    }
    ctx.out.int(deleted as i64);
}

pub fn scard(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(s) = read_set(ks, ctx, &a[1]) {
        ctx.out.int(s.map_or(0, |s| s.len() as i64));
    }
}

pub fn sismember(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(s) = read_set(ks, ctx, &a[1]) {
        ctx.out.int(s.is_some_and(|s| s.contains(&a[2])) as i64);
    }
}

pub fn smismember(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(s) = read_set(ks, ctx, &a[1]) else { return };
    ctx.out.array(a.len() - 2);
    for m in &a[2..] {
        ctx.out.int(s.as_ref().is_some_and(|s| s.contains(m)) as i64);
    }
}

pub fn smembers(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let lim = limits(ks);
    let Ok(s) = read_set(ks, ctx, &a[1]) else { return };
    match s {
        Some(s) => reply_members(ctx, s.len(), s.members(&lim).into_iter()),
        None => ctx.out.set(0),
    }
}

pub fn spop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    let count = if a.len() == 3 {
        match num::parse_i64(&a[2]) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return ctx.error("ERR value is out of range, must be positive"),
        }
    } else {
        None
    };
    let Ok(exists) = check_write(ks, ctx, &a[1]) else { return };
    let key = &a[1];
    if !exists {
        return if count.is_some() { ctx.out.set(0) } else { ctx.out.null() };
    }
    let size = peek(ks, ctx.db, key).map_or(0, |s| s.len()) as u64;
    let Some(count) = count else {
        let s = set_mut(&mut ks.dbs, ctx.db, key, b"");
        let i = ks.rng.gen_range(0..s.len());
        let m = s.iter().nth(i).cloned().expect("index in range");
        s.remove(&m);
        let empty = s.is_empty();
        changed(ks, ctx, key, 1, empty);
        // As Redis: `spop`, the reply, then `del`.
        ks.notify(ctx, N::SET, "spop", key);
        ctx.rewrite(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
        ctx.out.bulk(&m);
        if empty {
            ks.notify(ctx, N::GENERIC, "del", key);
        }
        return;
    };
    if count == 0 {
        return ctx.out.set(0);
    }
    let lim = limits(ks);
    ks.notify(ctx, N::SET, "spop", key);
    if count >= size {
        let Some(Value::Set(s)) = ks.dbs[ctx.db].keys.remove(key) else { return ctx.out.set(0) };
        if !ks.dbs[ctx.db].expires.is_empty() {
            ks.dbs[ctx.db].expires.remove(key);
        }
        reply_members(ctx, s.len(), s.members(&lim).into_iter());
        changed(ks, ctx, key, size, false);
        ks.notify(ctx, N::GENERIC, "del", key);
        ctx.rewrite(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return;
    }
    let s = set_mut(&mut ks.dbs, ctx.db, key, b"");
    let members: Vec<&Bytes> = s.iter().collect();
    let popped: Vec<Bytes> =
        distinct_indexes(&mut ks.rng, members.len(), count as usize).into_iter().map(|i| members[i].clone()).collect();
    for m in &popped {
        s.remove(m);
    }
    // Popping most of a set rebuilds it from what remains (Redis's third SPOP strategy), which
    // re-derives its encoding.
    if size - count <= count / 5 {
        let mut rebuilt = match s.iter().next() {
            Some(first) => SetObj::new_for(first),
            None => SetObj::new_intset(),
        };
        for m in s.iter() {
            rebuilt.add(&lim, m.clone());
        }
        *s = rebuilt;
    }
    ctx.out.set(popped.len());
    for m in &popped {
        ctx.out.bulk(m);
        ctx.prop.push(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
    }
    ctx.rewritten = true;
    changed(ks, ctx, key, count, false);
}

pub fn srandmember(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len() > 3 {
        return ctx.error(err::SYNTAX);
    }
    if a.len() == 2 {
        let Ok(s) = read_set(ks, ctx, &a[1]) else { return };
        let Some(s) = s else { return ctx.out.null() };
        let i = ks.rng.gen_range(0..s.len());
        return ctx.out.bulk(s.iter().nth(i).expect("index in range"));
    }
    let Some(l) = rand_count(ctx, &a[2]) else { return };
    let lim = limits(ks);
    let Ok(s) = read_set(ks, ctx, &a[1]) else { return };
    let Some(s) = s else { return ctx.out.array(0) };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return ctx.out.array(0);
    }
    let members = s.members(&lim);
    let n = members.len();
    if !uniq || count == 1 {
        ctx.out.array(count as usize);
        for _ in 0..count {
            ctx.out.bulk(members[ks.rng.gen_range(0..n)]);
        }
    } else if count as usize >= n {
        ctx.out.array(n);
        for m in members {
            ctx.out.bulk(m);
        }
    } else {
        ctx.out.array(count as usize);
        for i in distinct_indexes(&mut ks.rng, n, count as usize) {
            ctx.out.bulk(members[i]);
        }
    }
}

pub fn smove(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (src, dst, m) = (&a[1], &a[2], &a[3]);
    let src_found = ks.lookup_write(ctx, src).map(|v| matches!(v, Value::Set(_)));
    let dst_found = ks.lookup_write(ctx, dst).map(|v| matches!(v, Value::Set(_)));
    let Some(src_is_set) = src_found else { return ctx.out.int(0) };
    if !src_is_set || dst_found == Some(false) {
        return ctx.error(err::WRONGTYPE);
    }
    if src == dst {
        let has = peek(ks, ctx.db, src).is_some_and(|s| s.contains(m));
        return ctx.out.int(has as i64);
    }
    if !peek(ks, ctx.db, src).is_some_and(|s| s.contains(m)) {
        return ctx.out.int(0);
    }
    let s = set_mut(&mut ks.dbs, ctx.db, src, b"");
    s.remove(m);
    let empty = s.is_empty();
    changed(ks, ctx, src, 1, empty);
    ks.notify(ctx, N::SET, "srem", src);
    if empty {
        ks.notify(ctx, N::GENERIC, "del", src);
    }
    let lim = limits(ks);
    let dst_new = !ks.dbs[ctx.db].keys.contains_key(dst);
    let added = set_mut(&mut ks.dbs, ctx.db, dst, m).add(&lim, m.clone());
    if dst_new {
        ks.notify_new(ctx, dst);
    }
    if added {
        changed(ks, ctx, dst, 1, false);
        ks.notify(ctx, N::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

/// The sets named by `keys` (None for missing keys), or Err after a WRONGTYPE reply.
fn read_sets(ks: &mut Keyspace, ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Option<Arc<SetObj>>>, ()> {
    keys.iter().map(|k| read_set(ks, ctx, k)).collect::<Vec<_>>().into_iter().collect()
}

/// The intersection of `sets` (None when a key is missing: empty), stopping at `limit` members.
fn inter(sets: &[Option<Arc<SetObj>>], limit: usize, lim: &Limits) -> Vec<Bytes> {
    if sets.iter().any(|s| s.is_none()) {
        return vec![];
    }
    let mut sets: Vec<&Arc<SetObj>> = sets.iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let mut out = vec![];
    for m in sets[0].members(lim) {
        if sets[1..].iter().all(|s| Arc::ptr_eq(s, sets[0]) || s.contains(m)) {
            out.push(m.clone());
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

fn union(sets: &[Option<Arc<SetObj>>]) -> Vec<Bytes> {
    let mut seen = std::collections::HashSet::new();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            if !seen.contains(m) {
                seen.insert(m.clone());
            }
        }
    }
    seen.into_iter().collect()
}

fn diff(sets: &[Option<Arc<SetObj>>]) -> Vec<Bytes> {
    let Some(first) = &sets[0] else { return vec![] };
    first
        .iter()
        .filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(*m)))
        .cloned()
        .collect()
}

#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The members of `op` over `sets`, in the order Redis replies them (an all-integer result
/// small enough for an intset is sorted).
fn compute(op: Op, sets: &[Option<Arc<SetObj>>], lim: &Limits) -> Vec<Bytes> {
    let mut v = match op {
        Op::Inter => return inter(sets, 0, lim),
        Op::Union => union(sets),
        Op::Diff => diff(sets),
    };
    if v.len() <= lim.set_intset_entries {
        let ints: Option<Vec<i64>> = v.iter().map(|m| num::parse_i64(m)).collect();
        if let Some(ints) = ints {
            let mut pairs: Vec<(i64, Bytes)> = ints.into_iter().zip(v).collect();
            pairs.sort_by_key(|(i, _)| *i);
            v = pairs.into_iter().map(|(_, m)| m).collect();
        }
    }
    v
}

fn set_op(ks: &mut Keyspace, ctx: &mut Ctx, keys: &[Bytes], op: Op) {
    let lim = limits(ks);
    let Ok(sets) = read_sets(ks, ctx, keys) else { return };
    let res = compute(op, &sets, &lim);
    reply_members(ctx, res.len(), res.iter());
}

fn set_op_store(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], op: Op) {
    let lim = limits(ks);
    let Ok(sets) = read_sets(ks, ctx, &a[2..]) else { return };
    let res = compute(op, &sets, &lim);
    // As Redis: SINTERSTORE with a missing source deletes before replying, an empty result
    // replies first.
    let missing_src = matches!(op, Op::Inter) && sets.iter().any(|s| s.is_none());
    drop(sets);
    let dst = &a[1];
    if res.is_empty() {
        if !missing_src {
            ctx.out.int(0);
        }
        let existed = ks.exists(ctx, dst);
        if existed {
            ks.delete(ctx, dst);
            ks.notify(ctx, N::GENERIC, "del", dst);
        }
        if missing_src {
            ctx.out.int(0);
        }
        return;
    }
    let mut s = SetObj::new_intset();
    for m in res {
        s.add(&lim, m);
    }
    let n = s.len();
    ks.set_key(ctx, dst, Value::Set(Arc::new(s)), false);
    let event = match op {
        Op::Inter => "sinterstore",
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    ctx.out.int(n as i64);
    ks.notify(ctx, N::SET, event, dst);
}

pub fn sinter(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op(ks, ctx, &a[1..], Op::Inter)
}
pub fn sunion(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op(ks, ctx, &a[1..], Op::Union)
}
pub fn sdiff(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op(ks, ctx, &a[1..], Op::Diff)
}
pub fn sinterstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op_store(ks, ctx, a, Op::Inter)
}
pub fn sunionstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op_store(ks, ctx, a, Op::Union)
}
pub fn sdiffstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_op_store(ks, ctx, a, Op::Diff)
}

pub fn sintercard(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let numkeys = match num::parse_i64(&a[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > a.len() - 2 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < a.len() {
        if eq(&a[j], "LIMIT") && j + 1 < a.len() {
            j += 1;
            match num::parse_i64(&a[j]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    let lim = limits(ks);
    let Ok(sets) = read_sets(ks, ctx, &a[2..2 + numkeys]) else { return };
    ctx.out.int(inter(&sets, limit, &lim).len() as i64);
}

pub fn sscan(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(cursor) = scan_cursor(ctx, &a[2]) else { return };
    let lim = limits(ks);
    let Ok(s) = read_set(ks, ctx, &a[1]) else { return };
    let Some(s) = s else { return scan_reply(ctx, 0, &[]) };
    let Some(o) = scan_opts(ctx, &a[3..]) else { return };
    let (next, found) = scan_step(s.members(&lim).into_iter().map(|m| (&m[..], m)), cursor, o.count, s.is_table(&lim));
    let out: Vec<&[u8]> = found.into_iter().filter(|m| matches(&o.pattern, m)).map(|m| &m[..]).collect();
    scan_reply(ctx, next, &out);
}
