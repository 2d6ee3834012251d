//! List commands, including the blocking pops and moves.

use super::{arg_i64, eq, err};
use crate::keyspace::blocking::{parse_timeout, BlockSpec};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::num;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use super::Route::Keyspace as K;

crate::command_specs! {
    "lpush", -3, "write denyoom fast", 1, 1, 1, "list", K(lpush), "Prepend one or multiple elements to a list";
    "rpush", -3, "write denyoom fast", 1, 1, 1, "list", K(rpush), "Append one or multiple elements to a list";
    "lpushx", -3, "write denyoom fast", 1, 1, 1, "list", K(lpushx), "Prepend an element to a list, only if the list exists";
    "rpushx", -3, "write denyoom fast", 1, 1, 1, "list", K(rpushx), "Append an element to a list, only if the list exists";
    "lpop", -2, "write fast", 1, 1, 1, "list", K(lpop), "Remove and get the first elements in a list";
    "rpop", -2, "write fast", 1, 1, 1, "list", K(rpop), "Remove and get the last elements in a list";
    "llen", 2, "readonly fast", 1, 1, 1, "list", K(llen), "Get the length of a list";
    "lrange", 4, "readonly", 1, 1, 1, "list", K(lrange), "Get a range of elements from a list";
    "lindex", 3, "readonly", 1, 1, 1, "list", K(lindex), "Get an element from a list by its index";
    "lset", 4, "write denyoom", 1, 1, 1, "list", K(lset), "Set the value of an element in a list by its index";
    "lrem", 4, "write", 1, 1, 1, "list", K(lrem), "Remove elements from a list";
    "ltrim", 4, "write", 1, 1, 1, "list", K(ltrim), "Trim a list to the specified range";
    "linsert", 5, "write denyoom", 1, 1, 1, "list", K(linsert), "Insert an element before or after another element in a list";
    "lpos", -3, "readonly", 1, 1, 1, "list", K(lpos), "Return the index of matching elements on a list";
    "rpoplpush", 3, "write denyoom", 1, 2, 1, "list", K(rpoplpush), "Remove the last element in a list, prepend it to another list and return it";
    "lmove", 5, "write denyoom", 1, 2, 1, "list", K(lmove), "Pop an element from a list, push it to another list and return it";
    "lmpop", -4, "write movablekeys", 0, 0, 0, "list", K(lmpop), "Pop elements from a list";
    "blpop", -3, "write noscript blocking", 1, -2, 1, "list", K(blpop), "Remove and get the first element in a list, or block until one is available";
    "brpop", -3, "write noscript blocking", 1, -2, 1, "list", K(brpop), "Remove and get the last element in a list, or block until one is available";
    "brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1, "list", K(brpoplpush), "Pop an element from a list, push it to another list and return it; or block until one is available";
    "blmove", 6, "write denyoom noscript blocking", 1, 2, 1, "list", K(blmove), "Pop an element from a list, push it to another list and return it; or block until one is available";
    "blmpop", -5, "write blocking movablekeys", 0, 0, 0, "list", K(blmpop), "Pop elements from a list, or block until one is available";
}

type List = VecDeque<Bytes>;

/// The list at `key`: Ok(None) when missing, Err after a WRONGTYPE reply.
fn read_list<'a>(ks: &'a mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'a List>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(&**l)),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// While a parked client's command is re-run, a key of another type is skipped (the client
/// keeps waiting) instead of answering WRONGTYPE, as Redis does.
fn skip_for_waiter(ks: &Keyspace, ctx: &Ctx, key: &[u8]) -> bool {
    ks.blocking.serving_waiter && matches!(ks.dbs[ctx.db].keys.get(key), Some(v) if !matches!(v, Value::List(_)))
}

/// Checks the type for a write: Ok(false) when missing.
fn write_check(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<bool, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(false),
        Some(Value::List(_)) => Ok(true),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Mutable access to an existing list (copy-on-write against snapshots).
fn list_mut<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Option<&'a mut List> {
    match ks.dbs[db].keys.get_mut(key) {
        Some(Value::List(l)) => Some(Arc::make_mut(l)),
        _ => None,
    }
}

/// After removing elements: publishes `event` (class l), then deletes the key when empty
/// (`del`, class g), and records the change.
fn after_remove(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], event: &str) {
    ks.notify(ctx, N::LIST, event, key);
    let empty = matches!(ks.dbs[ctx.db].keys.get(key), Some(Value::List(l)) if l.is_empty());
    if empty {
        ks.delete(ctx, key);
        ks.notify(ctx, N::GENERIC, "del", key);
    } else {
        ks.modified(ctx, key);
    }
}

fn push(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], left: bool, only_existing: bool) {
    let key = &a[1];
    let Ok(exists) = write_check(ks, ctx, key) else { return };
    if !exists {
        if only_existing {
            return ctx.out.int(0);
        }
        ks.set_key(ctx, key, Value::List(Arc::new(VecDeque::new())), false);
        ctx.dirty -= 1;
    }
    let l = list_mut(ks, ctx.db, key).expect("list just checked");
    for v in &a[2..] {
        let v = Bytes::copy_from_slice(v);
        if left {
            l.push_front(v)
        } else {
            l.push_back(v)
        }
    }
    let len = l.len();
    ks.modified(ctx, key);
    ks.signal_ready(ctx.db, key);
    ctx.out.int(len as i64);
    // As Redis, the reply is written first (a RESP3 client's own pushes follow it).
    ks.notify(ctx, N::LIST, if left { "lpush" } else { "rpush" }, key);
}

pub fn lpush(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    push(ks, ctx, a, true, false)
}
pub fn rpush(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    push(ks, ctx, a, false, false)
}
pub fn lpushx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    push(ks, ctx, a, true, true)
}
pub fn rpushx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    push(ks, ctx, a, false, true)
}

/// Pops up to `n` elements from one end; the caller replies, then calls [`after_remove`]
/// (as Redis, the events follow the reply).
fn pop_n(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], left: bool, n: usize) -> Vec<Bytes> {
    let Some(l) = list_mut(ks, ctx.db, key) else { return vec![] };
    let mut v = Vec::with_capacity(n.min(l.len()));
    for _ in 0..n {
        match if left { l.pop_front() } else { l.pop_back() } {
            Some(e) => v.push(e),
            None => break,
        }
    }
    v
}

fn pop_event(left: bool) -> &'static str {
    if left { "lpop" } else { "rpop" }
}

fn pop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], left: bool) {
    if a.len() > 3 {
        return ctx.error(super::arity_error(if left { "lpop" } else { "rpop" }));
    }
    let count = match a.get(2) {
        Some(c) => match num::parse_i64(c) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error("ERR value is out of range, must be positive"),
        },
        None => None,
    };
    let key = &a[1];
    match write_check(ks, ctx, key) {
        Err(()) => return,
        Ok(false) => return if count.is_some() { ctx.out.null_array() } else { ctx.out.null() },
        Ok(true) => {}
    }
    match count {
        Some(0) => ctx.out.array(0),
        None => {
            let v = pop_n(ks, ctx, key, left, 1);
            ctx.out.bulk(&v[0]);
            after_remove(ks, ctx, key, pop_event(left));
        }
        Some(n) => {
            let v = pop_n(ks, ctx, key, left, n);
            ctx.out.array(v.len());
            for e in v {
                ctx.out.bulk(&e);
            }
            after_remove(ks, ctx, key, pop_event(left));
        }
    }
}

pub fn lpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    pop(ks, ctx, a, true)
}
pub fn rpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    pop(ks, ctx, a, false)
}

pub fn llen(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(l) = read_list(ks, ctx, &a[1]) {
        let n = l.map_or(0, |l| l.len());
        ctx.out.int(n as i64);
    }
}

/// Normalises a start/end range (negative from the end) to inclusive indexes, or None.
fn range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || s >= len {
        return None;
    }
    e = e.max(0);
    Some((s as usize, e as usize))
}

pub fn lrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (Some(s), Some(e)) = (num::parse_i64(&a[2]), num::parse_i64(&a[3])) else {
        return ctx.error(err::NOT_INT);
    };
    let Ok(l) = read_list(ks, ctx, &a[1]) else { return };
    let Some(l) = l else { return ctx.out.array(0) };
    match range(l.len(), s, e) {
        None => ctx.out.array(0),
        Some((s, e)) => {
            let items: Vec<Bytes> = l.range(s..=e).cloned().collect();
            ctx.out.array(items.len());
            for i in items {
                ctx.out.bulk(&i);
            }
        }
    }
}

pub fn lindex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(i) = arg_i64(ctx, &a[2]) else { return };
    let Ok(l) = read_list(ks, ctx, &a[1]) else { return };
    let Some(l) = l else { return ctx.out.null() };
    let idx = if i < 0 { l.len() as i64 + i } else { i };
    match (idx >= 0).then(|| l.get(idx as usize)).flatten() {
        Some(v) => {
            let v = v.clone();
            ctx.out.bulk(&v)
        }
        None => ctx.out.null(),
    }
}

pub fn lset(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(i) = arg_i64(ctx, &a[2]) else { return };
    match write_check(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(false) => return ctx.error(err::NO_KEY),
        Ok(true) => {}
    }
    let l = list_mut(ks, ctx.db, &a[1]).expect("checked");
    let idx = if i < 0 { l.len() as i64 + i } else { i };
    if idx < 0 || idx as usize >= l.len() {
        return ctx.error("ERR index out of range");
    }
    l[idx as usize] = Bytes::copy_from_slice(&a[3]);
    ks.modified(ctx, &a[1]);
    ctx.out.ok();
    ks.notify(ctx, N::LIST, "lset", &a[1]);
}

pub fn lrem(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(count) = arg_i64(ctx, &a[2]) else { return };
    match write_check(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(false) => return ctx.out.int(0),
        Ok(true) => {}
    }
    let l = list_mut(ks, ctx.db, &a[1]).expect("checked");
    let target = &a[3];
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if l[i] == target {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l[i] == target {
                l.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        after_remove(ks, ctx, &a[1], "lrem");
    }
    ctx.out.int(removed as i64);
}

pub fn ltrim(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (Some(s), Some(e)) = (num::parse_i64(&a[2]), num::parse_i64(&a[3])) else {
        return ctx.error(err::NOT_INT);
    };
    match write_check(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(false) => return ctx.out.ok(),
        Ok(true) => {}
    }
    let l = list_mut(ks, ctx.db, &a[1]).expect("checked");
    let before = l.len();
    match range(l.len(), s, e) {
        None => l.clear(),
        Some((s, e)) => {
            l.truncate(e + 1);
            l.drain(..s);
        }
    }
    // As Redis (dirty += removed): a trim that removes nothing is not propagated, though it
    // still touches WATCH (signalModifiedKey).
    if l.len() != before {
        after_remove(ks, ctx, &a[1], "ltrim");
    } else {
        ks.touch_watched(ctx.db, &a[1]);
        ks.notify(ctx, N::LIST, "ltrim", &a[1]);
    }
    ctx.out.ok();
}

pub fn linsert(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let before = if eq(&a[2], "BEFORE") {
        true
    } else if eq(&a[2], "AFTER") {
        false
    } else {
        return ctx.error(err::SYNTAX);
    };
    match write_check(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(false) => return ctx.out.int(0),
        Ok(true) => {}
    }
    let l = list_mut(ks, ctx.db, &a[1]).expect("checked");
    let Some(pos) = l.iter().position(|e| e == &a[3]) else {
        return ctx.out.int(-1);
    };
    l.insert(if before { pos } else { pos + 1 }, Bytes::copy_from_slice(&a[4]));
    let len = l.len();
    ks.modified(ctx, &a[1]);
    ks.notify(ctx, N::LIST, "linsert", &a[1]);
    ctx.out.int(len as i64);
}

pub fn lpos(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < a.len() {
        if i + 1 >= a.len() {
            return ctx.error(err::SYNTAX);
        }
        // As Redis: the option name first, then its value (COUNT and MAXLEN answer their own
        // message for a non-integer too).
        let parsed = num::parse_i64(&a[i + 1]);
        if eq(&a[i], "RANK") {
            let Some(v) = arg_i64(ctx, &a[i + 1]) else { return };
            if v == 0 {
                return ctx.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            // Redis 7.0 negates LONG_MIN into itself (still negative, never > 1): it then
            // behaves as RANK -1 (7.2 made it an error).
            rank = if v == i64::MIN { -1 } else { v };
        } else if eq(&a[i], "COUNT") {
            match parsed {
                Some(v) if v >= 0 => count = Some(v as usize),
                _ => return ctx.error("ERR COUNT can't be negative"),
            }
        } else if eq(&a[i], "MAXLEN") {
            match parsed {
                Some(v) if v >= 0 => maxlen = v as usize,
                _ => return ctx.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 2;
    }
    let Ok(l) = read_list(ks, ctx, &a[1]) else { return };
    let Some(l) = l else {
        return if count.is_some() { ctx.out.array(0) } else { ctx.out.null() };
    };
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c,
        None => 1,
    };
    let mut skip = rank.unsigned_abs() as usize - 1;
    let mut found = vec![];
    let n = l.len();
    let limit = if maxlen == 0 { n } else { maxlen.min(n) };
    for step in 0..limit {
        let idx = if rank > 0 { step } else { n - 1 - step };
        if l[idx] == a[2] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(idx as i64);
            if found.len() >= want {
                break;
            }
        }
    }
    if count.is_some() {
        ctx.out.array(found.len());
        for f in found {
            ctx.out.int(f);
        }
    } else {
        match found.first() {
            Some(&f) => ctx.out.int(f),
            None => ctx.out.null(),
        }
    }
}

fn parse_side(ctx: &mut Ctx, s: &[u8]) -> Option<bool> {
    if eq(s, "LEFT") {
        Some(true)
    } else if eq(s, "RIGHT") {
        Some(false)
    } else {
        ctx.error(err::SYNTAX);
        None
    }
}

/// LMOVE's core: Ok(Some(value)) moved, Ok(None) source empty/missing, Err after a reply.
fn do_move(ks: &mut Keyspace, ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> Result<Option<Bytes>, ()> {
    if !write_check(ks, ctx, src)? {
        return Ok(None);
    }
    write_check(ks, ctx, dst)?;
    // As Redis's lmoveGenericCommand: pop, push (`new`, `lpush`/`rpush` on the destination),
    // then `lpop`/`rpop` and, if the source is now empty, its deletion (a one-element list
    // rotated onto itself stays).
    let Some(l) = list_mut(ks, ctx.db, src) else { return Ok(None) };
    let Some(v) = (if from_left { l.pop_front() } else { l.pop_back() }) else { return Ok(None) };
    if !ks.dbs[ctx.db].keys.contains_key(dst) {
        ks.set_key(ctx, dst, Value::List(Arc::new(VecDeque::new())), false);
        ctx.dirty -= 1;
    }
    let l = list_mut(ks, ctx.db, dst).expect("destination list exists");
    if to_left {
        l.push_front(v.clone());
    } else {
        l.push_back(v.clone());
    }
    ks.modified(ctx, dst);
    ks.signal_ready(ctx.db, dst);
    ks.notify(ctx, N::LIST, if to_left { "lpush" } else { "rpush" }, dst);
    Ok(Some(v))
}

pub fn rpoplpush(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(v) = do_move(ks, ctx, &a[1], &a[2], false, true) {
        match v {
            Some(v) => {
                ctx.out.bulk(&v);
                after_remove(ks, ctx, &a[1], pop_event(false));
            }
            None => ctx.out.null(),
        }
    }
}

pub fn lmove(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(from) = parse_side(ctx, &a[3]) else { return };
    let Some(to) = parse_side(ctx, &a[4]) else { return };
    if let Ok(v) = do_move(ks, ctx, &a[1], &a[2], from, to) {
        match v {
            Some(v) => {
                ctx.out.bulk(&v);
                after_remove(ks, ctx, &a[1], pop_event(from));
            }
            None => ctx.out.null(),
        }
    }
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` from `args`; the first key is args[1].
fn parse_mpop(ctx: &mut Ctx, args: &[Bytes]) -> Option<(Vec<Bytes>, bool, Option<usize>)> {
    let n = match num::parse_i64(&args[0]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    if args.len() < n + 2 {
        ctx.error(err::SYNTAX);
        return None;
    }
    let keys = args[1..=n].to_vec();
    let left = parse_side(ctx, &args[n + 1])?;
    let mut count = None;
    let rest = &args[n + 2..];
    match rest.len() {
        0 => {}
        2 if eq(&rest[0], "COUNT") => match num::parse_i64(&rest[1]) {
            Some(c) if c > 0 => count = Some(c as usize),
            _ => {
                ctx.error("ERR count should be greater than 0");
                return None;
            }
        },
        _ => {
            ctx.error(err::SYNTAX);
            return None;
        }
    }
    Some((keys, left, count))
}

/// Pops from the first non-empty list of `keys`: `[key, [elements]]`. False when none had any.
fn mpop_first(ks: &mut Keyspace, ctx: &mut Ctx, keys: &[Bytes], left: bool, count: usize) -> bool {
    for k in keys {
        if skip_for_waiter(ks, ctx, k) {
            continue;
        }
        match write_check(ks, ctx, k) {
            Err(()) => return true,
            Ok(false) => continue,
            Ok(true) => {}
        }
        let v = pop_n(ks, ctx, k, left, count);
        ctx.out.array(2);
        ctx.out.bulk(k);
        ctx.out.array(v.len());
        for e in &v {
            ctx.out.bulk(e);
        }
        after_remove(ks, ctx, k, pop_event(left));
        ctx.rewrite(vec![
            Bytes::from_static(if left { b"LPOP" } else { b"RPOP" }),
            k.clone(),
            Bytes::from(v.len().to_string()),
        ]);
        return true;
    }
    false
}

pub fn lmpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some((keys, left, count)) = parse_mpop(ctx, &a[1..]) else { return };
    if !mpop_first(ks, ctx, &keys, left, count.unwrap_or(1)) {
        ctx.out.null_array();
    }
}

fn block_on(ctx: &mut Ctx, keys: Vec<Bytes>, timeout: &[u8], null_array: bool) {
    match parse_timeout(ctx.now, timeout) {
        Ok(deadline) => ctx.block = Some(BlockSpec { keys, deadline, null_array }),
        Err(e) => ctx.error(e),
    }
}

fn bpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], left: bool) {
    let timeout = &a[a.len() - 1];
    if let Err(e) = parse_timeout(ctx.now, timeout) {
        return ctx.error(e);
    }
    let keys = &a[1..a.len() - 1];
    for k in keys {
        if skip_for_waiter(ks, ctx, k) {
            continue;
        }
        match write_check(ks, ctx, k) {
            Err(()) => return,
            Ok(false) => continue,
            Ok(true) => {}
        }
        let v = pop_n(ks, ctx, k, left, 1);
        ctx.out.array(2);
        ctx.out.bulk(k);
        ctx.out.bulk(&v[0]);
        after_remove(ks, ctx, k, pop_event(left));
        ctx.rewrite(vec![Bytes::from_static(if left { b"LPOP" } else { b"RPOP" }), k.clone()]);
        return;
    }
    block_on(ctx, keys.to_vec(), timeout, true);
}

pub fn blpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    bpop(ks, ctx, a, true)
}
pub fn brpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    bpop(ks, ctx, a, false)
}

fn bmove(ks: &mut Keyspace, ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: bool, to: bool, timeout: &[u8], rewrite: Vec<Bytes>) {
    if let Err(e) = parse_timeout(ctx.now, timeout) {
        return ctx.error(e);
    }
    if skip_for_waiter(ks, ctx, src) {
        return block_on(ctx, vec![src.clone()], timeout, false);
    }
    match do_move(ks, ctx, src, dst, from, to) {
        Err(()) => {}
        Ok(Some(v)) => {
            ctx.out.bulk(&v);
            after_remove(ks, ctx, src, pop_event(from));
            ctx.rewrite(rewrite);
        }
        Ok(None) => block_on(ctx, vec![src.clone()], timeout, false),
    }
}

pub fn brpoplpush(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let rw = vec![Bytes::from_static(b"RPOPLPUSH"), a[1].clone(), a[2].clone()];
    bmove(ks, ctx, &a[1], &a[2], false, true, &a[3], rw)
}

pub fn blmove(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(from) = parse_side(ctx, &a[3]) else { return };
    let Some(to) = parse_side(ctx, &a[4]) else { return };
    // As Redis: served at once, LMOVE keeps the client's words; served to a parked client it
    // names the sides `left`/`right` (getStringObjectFromListPosition).
    let (f, t) = if ks.blocking.serving_waiter {
        let lower = |l: bool| Bytes::from_static(if l { b"left" } else { b"right" });
        (lower(from), lower(to))
    } else {
        (a[3].clone(), a[4].clone())
    };
    let rw = vec![Bytes::from_static(b"LMOVE"), a[1].clone(), a[2].clone(), f, t];
    bmove(ks, ctx, &a[1], &a[2], from, to, &a[5], rw)
}

pub fn blmpop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Err(e) = parse_timeout(ctx.now, &a[1]) {
        return ctx.error(e);
    }
    let Some((keys, left, count)) = parse_mpop(ctx, &a[2..]) else { return };
    if !mpop_first(ks, ctx, &keys, left, count.unwrap_or(1)) {
        block_on(ctx, keys, &a[1], true);
    }
}
