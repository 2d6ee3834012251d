//! Generic key commands: DEL, EXISTS, EXPIRE family, RENAME, KEYS, SCAN, databases, OBJECT.

use super::{arg_i64, eq, err};
use crate::config::notify as N;
use crate::keyspace::{segmap::SEGMENTS, Ctx, Keyspace, Value};
use crate::util::{glob::glob_match, num};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub fn del(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut n = 0;
    for k in &a[1..] {
        if !ks.expire_if_needed(ctx, k) && ks.delete(ctx, k) {
            ks.notify(ctx, N::GENERIC, "del", k);
            n += 1;
        }
    }
    ctx.out.int(n);
}

pub fn exists(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut n = 0;
    for k in &a[1..] {
        if ks.lookup_read_notouch(ctx, k).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

pub fn touch(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut n = 0;
    for k in &a[1..] {
        // Redis's TOUCH reads (lookupKeyRead: hit/miss counted, `keymiss` published).
        if ks.lookup_read(ctx, k).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

pub fn type_(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let t = ks.lookup_read_notouch(ctx, &a[1]).map_or("none", |v| v.type_name());
    ctx.out.simple(t);
}

/// The NX/XX/GT/LT flags of the EXPIRE family.
#[derive(Default, Clone, Copy)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(ctx: &mut Ctx, args: &[Bytes]) -> Option<ExpireFlags> {
    let mut f = ExpireFlags::default();
    for o in args {
        if eq(o, "NX") {
            f.nx = true;
        } else if eq(o, "XX") {
            f.xx = true;
        } else if eq(o, "GT") {
            f.gt = true;
        } else if eq(o, "LT") {
            f.lt = true;
        } else {
            ctx.error([&b"ERR Unsupported option "[..], crate::keyspace::cmd::cstr(o, usize::MAX)].concat());
            return None;
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if f.gt && f.lt {
        ctx.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(f)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `relative` adds now, `secs` scales by 1000.
fn expire_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], relative: bool, secs: bool, name: &str) {
    let Some(flags) = parse_expire_flags(ctx, &a[3..]) else { return };
    let Some(n) = arg_i64(ctx, &a[2]) else { return };
    let invalid = |ctx: &mut Ctx| ctx.error(format!("ERR invalid expire time in '{}' command", name));
    let Some(ms) = (if secs { n.checked_mul(1000) } else { Some(n) }) else {
        return invalid(ctx);
    };
    let Some(when) = (if relative { ms.checked_add(ctx.now) } else { Some(ms) }) else {
        return invalid(ctx);
    };
    if !ks.exists(ctx, &a[1]) {
        return ctx.out.int(0);
    }
    let cur = ks.expire_of(ctx.db, &a[1]);
    let allowed = match cur {
        None => !(flags.xx || flags.gt),
        Some(c) => !flags.nx && !(flags.gt && when <= c) && !(flags.lt && when >= c),
    };
    if !allowed {
        return ctx.out.int(0);
    }
    if when <= ctx.now && !ks.keeps_expired() {
        ks.delete(ctx, &a[1]);
        ks.notify(ctx, N::GENERIC, "del", &a[1]);
        ctx.rewrite(vec![Bytes::from_static(b"DEL"), a[1].clone()]);
        ctx.out.int(1);
    } else {
        ks.set_expire(ctx, &a[1], when);
        ks.modified(ctx, &a[1]);
        let mut argv = vec![Bytes::from_static(b"PEXPIREAT"), a[1].clone(), Bytes::from(when.to_string())];
        argv.extend(a[3..].iter().cloned());
        ctx.rewrite(argv);
        // As Redis, `expire` follows the reply.
        ctx.out.int(1);
        ks.notify(ctx, N::GENERIC, "expire", &a[1]);
    }
}

pub fn expire(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    expire_generic(ks, ctx, a, true, true, "expire")
}
pub fn pexpire(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    expire_generic(ks, ctx, a, true, false, "pexpire")
}
pub fn expireat(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    expire_generic(ks, ctx, a, false, true, "expireat")
}
pub fn pexpireat(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    expire_generic(ks, ctx, a, false, false, "pexpireat")
}

/// TTL family: `ms` for milliseconds, `absolute` for the *EXPIRETIME forms.
fn ttl_generic(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], ms: bool, absolute: bool) {
    if ks.lookup_read_notouch(ctx, key).is_none() {
        return ctx.out.int(-2);
    }
    let Some(when) = ks.expire_of(ctx.db, key) else {
        return ctx.out.int(-1);
    };
    let v = if absolute {
        if ms { when } else { when / 1000 }
    } else {
        let left = (when - ctx.now).max(0);
        if ms { left } else { (left + 500) / 1000 }
    };
    ctx.out.int(v);
}

pub fn ttl(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ttl_generic(ks, ctx, &a[1], false, false)
}
pub fn pttl(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ttl_generic(ks, ctx, &a[1], true, false)
}
pub fn expiretime(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ttl_generic(ks, ctx, &a[1], false, true)
}
pub fn pexpiretime(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ttl_generic(ks, ctx, &a[1], true, true)
}

pub fn persist(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if ks.exists(ctx, &a[1]) && ks.persist(ctx, &a[1]) {
        ks.modified(ctx, &a[1]);
        ks.notify(ctx, N::GENERIC, "persist", &a[1]);
        ctx.out.int(1);
    } else {
        ctx.out.int(0);
    }
}

fn rename_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], nx: bool) {
    let (src, dst) = (&a[1], &a[2]);
    if !ks.exists(ctx, src) {
        return ctx.error(err::NO_KEY);
    }
    if src == dst {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    // Redis deletes an existing destination and adds it anew: `new` either way.
    let dst_existed = ks.exists(ctx, dst);
    if nx && dst_existed {
        return ctx.out.int(0);
    }
    let ttl = ks.expire_of(ctx.db, src);
    let db = &mut ks.dbs[ctx.db];
    let Some(v) = db.keys.remove(src) else { return ctx.error(err::NO_KEY) };
    db.expires.remove(src);
    ks.touch_watched(ctx.db, src);
    ks.set_key(ctx, dst, v, false);
    if dst_existed {
        ks.notify_new(ctx, dst);
    }
    if let Some(t) = ttl {
        ks.set_expire(ctx, dst, t);
    }
    ks.notify(ctx, N::GENERIC, "rename_from", src);
    ks.notify(ctx, N::GENERIC, "rename_to", dst);
    if nx { ctx.out.int(1) } else { ctx.out.ok() }
}

pub fn rename(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    rename_generic(ks, ctx, a, false)
}
pub fn renamenx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    rename_generic(ks, ctx, a, true)
}

/// True when a key is past its expiry (without deleting it).
fn is_expired(ks: &Keyspace, db: usize, key: &[u8], now: i64) -> bool {
    ks.dbs[db].expires.get(key).is_some_and(|&w| w <= now)
}

pub fn keys(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let pat = &a[1];
    let all = crate::util::glob::is_match_all(pat);
    let db = ctx.db;
    let found: Vec<Bytes> = ks.dbs[db]
        .keys
        .iter()
        .filter(|(k, _)| (all || glob_match(pat, k, false)) && !is_expired(ks, db, k, ctx.now))
        .map(|(k, _)| k.to_bytes())
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(&k);
    }
}

pub fn scan(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(cursor) = num::parse_u64(&a[1]) else {
        return ctx.error("ERR invalid cursor");
    };
    let (mut count, mut pat, mut typ) = (10usize, None, None);
    let mut i = 2;
    while i < a.len() {
        if i + 1 >= a.len() {
            return ctx.error(err::SYNTAX);
        }
        let v = &a[i + 1];
        if eq(&a[i], "COUNT") {
            match num::parse_i64(v) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return ctx.error(err::SYNTAX),
                None => return ctx.error(err::NOT_INT),
            }
        } else if eq(&a[i], "MATCH") {
            pat = Some(v.clone());
        } else if eq(&a[i], "TYPE") {
            typ = Some(v.clone());
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 2;
    }
    let pat = pat.filter(|p| !crate::util::glob::is_match_all(p));
    let db = ctx.db;
    let mut seg = cursor as usize;
    let mut found = vec![];
    let mut expired = vec![];
    let mut scanned = 0;
    while seg < SEGMENTS && scanned < count {
        for (k, v) in ks.dbs[db].keys.segment(seg) {
            scanned += 1;
            if pat.as_ref().is_some_and(|p| !glob_match(p, k, false)) {
                continue;
            }
            if typ.as_ref().is_some_and(|t| !t.eq_ignore_ascii_case(v.type_name().as_bytes())) {
                continue;
            }
            if is_expired(ks, db, k, ctx.now) {
                expired.push(k.to_bytes());
                continue;
            }
            found.push(k.clone());
        }
        seg += 1;
    }
    // As Redis, a key found expired is deleted (`expired`, DEL propagated).
    for k in expired {
        ks.expire_if_needed(ctx, &k);
    }
    let next = if seg >= SEGMENTS { 0 } else { seg };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(&k);
    }
}

pub fn randomkey(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    for _ in 0..100 {
        let db = &ks.dbs[ctx.db];
        let Some((k, _)) = db.keys.random_entry(&mut ks.rng) else {
            return ctx.out.null();
        };
        let k = k.clone();
        if !is_expired(ks, ctx.db, &k, ctx.now) || ks.is_replica {
            return ctx.out.bulk(&k);
        }
        ks.expire_if_needed(ctx, &k);
    }
    ctx.out.null();
}

pub fn dbsize(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    let n = ks.dbs[ctx.db].keys.len();
    ctx.out.int(n as i64);
}

/// FLUSHDB/FLUSHALL [ASYNC|SYNC]: whether to free in the background (no argument:
/// `lazyfree-lazy-user-flush`); None after a syntax error.
fn flush_async(ks: &Keyspace, ctx: &mut Ctx, a: &[Bytes]) -> Option<bool> {
    match a.get(1) {
        _ if a.len() > 2 => None,
        None => Some(ks.shared.cfg().flag("lazyfree-lazy-user-flush")),
        Some(m) if eq(m, "ASYNC") => Some(true),
        Some(m) if eq(m, "SYNC") => Some(false),
        Some(_) => None,
    }
    .or_else(|| {
        ctx.error(err::SYNTAX);
        None
    })
}

/// Empties one database; its keys are freed in the background when `lazy`.
fn empty_db(ks: &mut Keyspace, ctx: &mut Ctx, i: usize, lazy: bool) {
    let n = ks.dbs[i].keys.len() as u64;
    ctx.dirty += n;
    let old = std::mem::take(&mut ks.dbs[i]);
    if lazy {
        crate::keyspace::lazyfree::free_later(&ks.shared, old, n);
    }
}

pub fn flushdb(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(lazy) = flush_async(ks, ctx, a) else { return };
    ks.touch_all_watched(Some(ctx.db));
    ks.tracking_flush();
    empty_db(ks, ctx, ctx.db, lazy);
    ctx.dirty += 1;
    ctx.out.ok();
}

pub fn flushall(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(lazy) = flush_async(ks, ctx, a) else { return };
    ks.touch_all_watched(None);
    ks.tracking_flush();
    ks.cancel_jobs(true);
    for i in 0..ks.dbs.len() {
        empty_db(ks, ctx, i, lazy);
    }
    if ks.flushall_saves() {
        // The save took in what the flush changed (rdb_changes_since_last_save is 0, as
        // Redis 7.0); FLUSHALL still goes to replicas and the AOF.
        ctx.dirty = 0;
        ctx.force_propagate = true;
    } else {
        ctx.dirty += 1;
    }
    ctx.out.ok();
}

/// Parses a database index argument; replies with Redis's error when invalid.
fn db_index(ks: &Keyspace, ctx: &mut Ctx, a: &[u8]) -> Option<usize> {
    let n = arg_i64(ctx, a)?;
    if n < 0 || n as usize >= ks.dbs.len() {
        ctx.error(err::DB_RANGE);
        return None;
    }
    Some(n as usize)
}

pub fn select(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Some(db) = db_index(ks, ctx, &a[1]) {
        ctx.db = db;
        ctx.out.ok();
    }
}

pub fn swapdb(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (Some(x), Some(y)) = (num::parse_i64(&a[1]), num::parse_i64(&a[2])) else {
        let which = if num::parse_i64(&a[1]).is_none() { "first" } else { "second" };
        return ctx.error(format!("ERR invalid {} DB index", which));
    };
    let n = ks.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return ctx.error(err::DB_RANGE);
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        ks.touch_watched_in_db(x, Some(y));
        ks.touch_watched_in_db(y, Some(x));
        ks.dbs.swap(x, y);
        // As Redis's scanDatabaseForReadyKeys: clients blocked in either database may now
        // find their keys.
        let waited: Vec<(usize, Bytes)> =
            ks.blocking.by_key.keys().filter(|(d, _)| *d == x || *d == y).cloned().collect();
        for (d, k) in waited {
            if ks.dbs[d].keys.contains_key(&k) {
                ks.signal_ready(d, &k);
            }
        }
    }
    ctx.dirty += 1;
    ctx.out.ok();
}

pub fn move_(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(n) = arg_i64(ctx, &a[2]) else { return };
    if n < 0 || n as usize >= ks.dbs.len() {
        return ctx.error(err::DB_RANGE);
    }
    let dst = n as usize;
    if dst == ctx.db {
        return ctx.error("ERR source and destination objects are the same");
    }
    let key = &a[1];
    if !ks.exists(ctx, key) {
        return ctx.out.int(0);
    }
    let mut dctx_db = dst;
    std::mem::swap(&mut ctx.db, &mut dctx_db);
    let dst_exists = ks.exists(ctx, key);
    std::mem::swap(&mut ctx.db, &mut dctx_db);
    if dst_exists {
        return ctx.out.int(0);
    }
    let ttl = ks.expire_of(ctx.db, key);
    let Some(v) = ks.dbs[ctx.db].keys.remove(key) else { return ctx.out.int(0) };
    ks.dbs[ctx.db].expires.remove(key);
    ks.modified(ctx, key);
    let src = ctx.db;
    ctx.db = dst;
    ks.set_key(ctx, key, v, false);
    if let Some(t) = ttl {
        ks.set_expire(ctx, key, t);
    }
    ctx.db = src;
    ks.notify(ctx, N::GENERIC, "move_from", key);
    ctx.db = dst;
    ks.notify(ctx, N::GENERIC, "move_to", key);
    ctx.db = src;
    ctx.out.int(1);
}

pub fn copy(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (mut dst_db, mut replace) = (ctx.db, false);
    let mut i = 3;
    while i < a.len() {
        if eq(&a[i], "REPLACE") {
            replace = true;
        } else if eq(&a[i], "DB") && i + 1 < a.len() {
            let Some(d) = db_index(ks, ctx, &a[i + 1]) else { return };
            dst_db = d;
            i += 1;
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (&a[1], &a[2]);
    if src == dst && dst_db == ctx.db {
        return ctx.error("ERR source and destination objects are the same");
    }
    let Some(v) = ks.lookup_read(ctx, src).cloned() else { return ctx.out.int(0) };
    let ttl = ks.expire_of(ctx.db, src);
    let src_db = ctx.db;
    ctx.db = dst_db;
    if ks.exists(ctx, dst) {
        if !replace {
            ctx.db = src_db;
            return ctx.out.int(0);
        }
        ks.delete(ctx, dst);
    }
    ks.set_key(ctx, dst, v, false);
    if let Some(t) = ttl {
        ks.set_expire(ctx, dst, t);
    }
    ks.notify(ctx, N::GENERIC, "copy_to", dst);
    ctx.db = src_db;
    ctx.out.int(1);
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

pub fn object(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    if sub == "help" && a.len() == 2 {
        ctx.out.help(&OBJECT_HELP);
        return;
    }
    if !["encoding", "refcount", "idletime", "freq"].contains(&sub.as_str()) {
        return ctx.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "OBJECT"));
    }
    if a.len() != 3 {
        return ctx.error(format!("ERR wrong number of arguments for 'object|{}' command", sub));
    }
    let hot = &ks.shared.hot;
    let policy = hot.policy();
    let lfu = policy.is_lfu();
    // Small integers are shared objects in Redis unless maxmemory evicts by LRU/LFU (each key
    // then needs its own access data).
    let shared_ints = hot.maxmemory.load(Relaxed) == 0 || !(policy.is_lfu() || policy.is_lru());
    let decay = hot.lfu_decay_time.load(Relaxed);
    // OBJECT does not touch the key's access statistics: peek, skipping logically expired keys.
    if is_expired(ks, ctx.db, &a[2], ctx.now) {
        return ctx.out.null();
    }
    let Some((k, v)) = ks.dbs[ctx.db].keys.get_key_value(&a[2]).map(|(k, v)| (k.clock(), v.clone())) else {
        return ctx.out.null();
    };
    match sub.as_str() {
        "encoding" => ctx.out.bulk_str(encoding_of(ks, &v)),
        "refcount" => match &v {
            Value::Str(s) if shared_ints && num::parse_i64(s).is_some_and(|n| (0..10000).contains(&n)) => ctx.out.int(i32::MAX as i64),
            _ => ctx.out.int(1),
        },
        "idletime" if lfu => ctx.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        "idletime" => ctx.out.int(crate::keyspace::lru::idle_secs(k, ctx.now) as i64),
        _ if !lfu => ctx.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        _ => ctx.out.int(crate::keyspace::lru::lfu_counter(k, ctx.now, decay) as i64),
    }
}

/// OBJECT ENCODING of a key: strings modified in place are `raw`, as in Redis.
pub fn encoding_of(ks: &Keyspace, v: &Value) -> &'static str {
    match v {
        Value::Str(s) if s.is_raw() => "raw",
        _ => v.encoding(&crate::keyspace::value::Limits::from_hot(&ks.shared.hot)),
    }
}

pub fn watch(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let id = ctx.client_id;
    for k in &a[1..] {
        let entry = (ctx.db, Bytes::copy_from_slice(k));
        let mine = ks.watch.by_client.entry(id).or_default();
        if mine.contains(&entry) {
            continue;
        }
        mine.push(entry.clone());
        ks.watch.by_key.entry(entry).or_default().push(id);
        // A key already logically expired when watched: its deletion is no change (Redis 7).
        if ks.dbs[ctx.db].keys.contains_key(&k[..]) && is_expired(ks, ctx.db, k, ctx.now) {
            ks.watch.stale.insert((id, ctx.db, k.clone()));
        }
    }
    ctx.out.ok();
}

pub fn unwatch(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    ks.unwatch_all(ctx.client_id);
    ctx.out.ok();
}
