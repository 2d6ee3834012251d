//! Consumer group commands: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM propagate as Redis 7.0 does: one idempotent
//! `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID id` per claimed
//! (or dropped, deleted) entry, or `XGROUP SETID` when only LASTID moved the group.

use super::streams::{id_or_err, out_id, read_stream, reply_id, stream_mut, stream_ref, write_check};
use super::streams_read::{createconsumer_prop, setid_prop, touch_consumer};
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::resp::Out;
use crate::stream::{self as st, Group, Nack, Stream, StreamId};
use bytes::Bytes;
use std::sync::Arc;

fn subcommand_syntax(ctx: &mut Ctx, sub: &[u8]) {
    let mut e = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    e.extend_from_slice(super::cstr(sub, 128));
    e.extend_from_slice(b"'. Try XGROUP HELP.");
    ctx.error(e)
}

fn nogroup_for_key(ctx: &mut Ctx, group: &[u8], key: &[u8]) {
    let mut e = b"NOGROUP No such consumer group '".to_vec();
    e.extend_from_slice(super::cstr(group, usize::MAX));
    e.extend_from_slice(b"' for key name '");
    e.extend_from_slice(super::cstr(key, usize::MAX));
    e.push(b'\'');
    ctx.error(e)
}

fn nogroup_key_or_group(ctx: &mut Ctx, key: &[u8], group: &[u8]) {
    let mut e = b"NOGROUP No such key '".to_vec();
    e.extend_from_slice(super::cstr(key, usize::MAX));
    e.extend_from_slice(b"' or consumer group '");
    e.extend_from_slice(super::cstr(group, usize::MAX));
    e.push(b'\'');
    ctx.error(e)
}

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

pub fn xgroup(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = &a[1];
    let known = ["create", "setid", "destroy", "createconsumer", "delconsumer", "help"];
    let Some(name) = known.iter().find(|n| eq(sub, n)) else {
        return ctx.error(super::unknown_subcommand(sub, "XGROUP"));
    };
    let arity_ok = match *name {
        "create" | "setid" => a.len() >= 5,
        "destroy" => a.len() == 4,
        "createconsumer" | "delconsumer" => a.len() == 5,
        _ => a.len() == 2,
    };
    if !arity_ok {
        return ctx.error(super::arity_error(&format!("xgroup|{name}")));
    }
    if *name == "help" {
        ctx.out.help(&XGROUP_HELP);
        return;
    }
    // The container is not flagged `write` (its HELP is not); its other subcommands are.
    if ks.is_replica && !ks.applying_master && ks.shared.hot.replica_read_only.load(std::sync::atomic::Ordering::Relaxed) {
        return ctx.error("READONLY You can't write against a read only replica.");
    }
    xgroup_write(ks, ctx, a, name);
    // Propagated as sent when it changed the stream (the table's `write` flag would do it).
    if ctx.dirty > 0 && ctx.prop.is_empty() {
        ctx.force_propagate = true;
    }
}

fn xgroup_write(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], name: &str) {
    let sub = &a[1];
    let mut mkstream = false;
    let mut entries_read = st::INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < a.len() {
        if name == "create" && eq(&a[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (name == "create" || name == "setid") && eq(&a[i], "entriesread") && i + 1 < a.len() {
            let Some(n) = super::arg_i64(ctx, &a[i + 1]) else { return };
            if n < 0 && n != st::INVALID_ENTRIES_READ {
                return ctx.error("ERR value for ENTRIESREAD must be positive or -1");
            }
            entries_read = n;
            i += 2;
        } else {
            return subcommand_syntax(ctx, sub);
        }
    }
    let key = &a[2];
    let group = &a[3];
    let Ok(exists) = write_check(ks, ctx, key) else { return };
    if !mkstream {
        if !exists {
            return ctx.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
        }
        let has = stream_ref(ks, ctx.db, key).is_some_and(|s| s.groups.contains_key(group));
        if !has && matches!(name, "setid" | "createconsumer" | "delconsumer") {
            return nogroup_for_key(ctx, group, key);
        }
    }
    match name {
        "create" if a.len() <= 8 => group_create(ks, ctx, key, group, &a[4], exists, entries_read),
        "setid" if a.len() == 5 || a.len() == 7 => {
            let s = stream_mut(ks, ctx.db, key).expect("stream checked");
            let id = if a[4][..] == b"$"[..] {
                s.last_id
            } else {
                match st::parse_id(&a[4], 0, false, false) {
                    Some(p) => p.id,
                    None => return ctx.error(st::INVALID_ID),
                }
            };
            let g = s.groups.get_mut(group).expect("group checked");
            g.last_id = id;
            g.entries_read = entries_read;
            ctx.out.ok();
            ks.modified(ctx, key);
            ks.notify(ctx, N::STREAM, "xgroup-setid", key);
        }
        "destroy" => {
            let s = stream_mut(ks, ctx.db, key).expect("stream checked");
            if s.groups.remove(group).is_some() {
                ctx.out.int(1);
                ks.modified(ctx, key);
                ks.notify(ctx, N::STREAM, "xgroup-destroy", key);
                ks.signal_ready(ctx.db, key);
            } else {
                ctx.out.int(0);
            }
        }
        "createconsumer" => {
            let created = touch_consumer_new(ks, ctx, key, group, &a[4]);
            ctx.out.int(created as i64);
        }
        "delconsumer" => {
            let s = stream_mut(ks, ctx.db, key).expect("stream checked");
            let g = s.groups.get_mut(group).expect("group checked");
            match g.delete_consumer(&a[4]) {
                Some(n) => {
                    ctx.out.int(n as i64);
                    ks.modified(ctx, key);
                    ks.notify(ctx, N::STREAM, "xgroup-delconsumer", key);
                }
                None => ctx.out.int(0),
            }
        }
        _ => subcommand_syntax(ctx, sub),
    }
}

/// XGROUP CREATECONSUMER: creates without refreshing an existing consumer.
fn touch_consumer_new(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8]) -> bool {
    let exists = stream_ref(ks, ctx.db, key).and_then(|s| s.groups.get(group)).is_some_and(|g| g.consumers.contains_key(consumer));
    !exists && touch_consumer(ks, ctx, key, group, consumer)
}

fn group_create(ks: &mut Keyspace, ctx: &mut Ctx, key: &Bytes, group: &Bytes, id_arg: &[u8], exists: bool, entries_read: i64) {
    let id = if id_arg == b"$" {
        stream_ref(ks, ctx.db, key).map_or(StreamId::MIN, |s| s.last_id)
    } else {
        let Some(id) = id_or_err(ctx, id_arg, 0, true) else { return };
        id
    };
    if !exists {
        ks.set_key(ctx, key, Value::Stream(Arc::new(Stream::new())), false);
        ctx.dirty -= 1;
    }
    let s = stream_mut(ks, ctx.db, key).expect("stream exists");
    if s.groups.contains_key(group) {
        return ctx.error("BUSYGROUP Consumer Group name already exists");
    }
    s.groups.insert(Bytes::copy_from_slice(group), Group::new(id, entries_read));
    ctx.out.ok();
    ks.modified(ctx, key);
    ks.notify(ctx, N::STREAM, "xgroup-create", key);
}

pub fn xack(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let key = &a[1];
    let has = match read_stream(ks, ctx, key) {
        Err(()) => return,
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(&a[2])),
    };
    if !has {
        return ctx.out.int(0);
    }
    let mut ids = Vec::with_capacity(a.len() - 3);
    for arg in &a[3..] {
        let Some(id) = id_or_err(ctx, arg, 0, true) else { return };
        ids.push(id);
    }
    let g = stream_mut(ks, ctx.db, key).and_then(|s| s.groups.get_mut(&a[2])).expect("group checked");
    let acked = ids.iter().filter(|&&id| g.ack(id)).count();
    if acked > 0 {
        ks.modified(ctx, key);
        ctx.dirty += acked as u64 - 1;
    }
    ctx.out.int(acked as i64);
}

pub fn xpending(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let n = a.len();
    if n != 3 && !(6..=9).contains(&n) {
        return ctx.error(err::SYNTAX);
    }
    let mut range = None;
    let mut min_idle = 0i64;
    let mut consumer: Option<&Bytes> = None;
    if n >= 6 {
        let mut at = 3;
        if eq(&a[3], "idle") {
            let Some(v) = super::arg_i64(ctx, &a[4]) else { return };
            min_idle = v;
            if n < 8 {
                return ctx.error(err::SYNTAX);
            }
            at += 2;
        }
        let Some(count) = a.get(at + 2).and_then(|c| super::arg_i64(ctx, c)) else {
            if !ctx.failed {
                ctx.error(err::SYNTAX);
            }
            return;
        };
        let Some((mut start, sx)) = st::parse_interval(&a[at], 0) else { return ctx.error(st::INVALID_ID) };
        if sx {
            match start.incr() {
                Some(i) => start = i,
                None => return ctx.error("ERR invalid start ID for the interval"),
            }
        }
        let Some((mut end, ex)) = st::parse_interval(&a[at + 1], u64::MAX) else { return ctx.error(st::INVALID_ID) };
        if ex {
            match end.decr() {
                Some(i) => end = i,
                None => return ctx.error("ERR invalid end ID for the interval"),
            }
        }
        consumer = a.get(at + 3);
        range = Some((start, end, count.max(0) as usize));
    }
    let key = &a[1];
    let now = ctx.now;
    let g = match read_stream(ks, ctx, key) {
        Err(()) => return,
        Ok(s) => match s.and_then(|s| s.groups.get(&a[2])) {
            Some(g) => g,
            None => return nogroup_key_or_group(ctx, key, &a[2]),
        },
    };
    let Some((start, end, mut count)) = range else { return pending_summary(ctx.out, g) };
    let ids: Vec<StreamId> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => c.pel.range(start..=end.max(start)).filter(|id| **id <= end).copied().collect(),
            None => return ctx.out.array(0),
        },
        None => g.pel.range(start..=end.max(start)).filter(|(id, _)| **id <= end).map(|(id, _)| *id).collect(),
    };
    let mut body = Out::new(ctx.out.resp3);
    let mut emitted = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if min_idle != 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        count -= 1;
        emitted += 1;
        body.array(4);
        out_id(&mut body, id);
        body.bulk(&nack.consumer);
        body.int((now - nack.delivery_time).max(0));
        body.int(nack.delivery_count as i64);
    }
    ctx.out.array(emitted);
    ctx.out.raw(&body.buf);
}

fn pending_summary(out: &mut Out, g: &Group) {
    out.array(4);
    out.int(g.pel.len() as i64);
    if g.pel.is_empty() {
        out.null();
        out.null();
        out.null_array();
        return;
    }
    out_id(out, *g.pel.keys().next().expect("non-empty"));
    out_id(out, *g.pel.keys().next_back().expect("non-empty"));
    let busy: Vec<(&Bytes, usize)> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).map(|(n, c)| (n, c.pel.len())).collect();
    out.array(busy.len());
    for (n, len) in busy {
        out.array(2);
        out.bulk(n);
        out.bulk_int(len as i64);
    }
}

fn xclaim_prop(key: &[u8], group: &[u8], id: StreamId, nack: &Nack, last: StreamId) -> Vec<Bytes> {
    let b = |s: &'static str| Bytes::from_static(s.as_bytes());
    vec![
        b("XCLAIM"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        nack.consumer.clone(),
        b("0"),
        id.to_bytes(),
        b("TIME"),
        Bytes::from(nack.delivery_time.to_string()),
        b("RETRYCOUNT"),
        Bytes::from(nack.delivery_count.to_string()),
        b("FORCE"),
        b("JUSTID"),
        b("LASTID"),
        last.to_bytes(),
    ]
}

/// Drops a pending entry whose stream entry is gone, propagating it as XCLAIM (which drops
/// it on the replica too).
fn drop_nack(ctx: &mut Ctx, key: &[u8], gname: &[u8], g: &mut Group, id: StreamId) {
    if let Some(n) = g.pel.get(&id) {
        ctx.prop.push(xclaim_prop(key, gname, id, n, g.last_id));
        ctx.dirty += 1;
        g.ack(id);
    }
}

/// Moves a pending entry to `consumer` (created on first use), updating time and count.
fn claim_one(g: &mut Group, id: StreamId, consumer: &Bytes, time: i64, count: Option<u64>) {
    let Some(n) = g.pel.get_mut(&id) else { return };
    let old = std::mem::replace(&mut n.consumer, consumer.clone());
    n.delivery_time = time;
    if let Some(c) = count {
        n.delivery_count = c;
    }
    if old != *consumer {
        if let Some(c) = g.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
    }
    if let Some(c) = g.consumers.get_mut(consumer) {
        c.pel.insert(id);
    }
}

struct ClaimOpts {
    force: bool,
    justid: bool,
    time: Option<i64>,
    retry: Option<i64>,
    last: StreamId,
}

fn claim_opts(ctx: &mut Ctx, a: &[Bytes], mut j: usize, now: i64) -> Option<ClaimOpts> {
    let mut o = ClaimOpts { force: false, justid: false, time: None, retry: None, last: StreamId::MIN };
    let int = |ctx: &mut Ctx, v: &[u8], what: &str| -> Option<i64> {
        let r = crate::util::num::parse_i64(v);
        if r.is_none() {
            ctx.error(format!("ERR Invalid {what} option argument for XCLAIM"));
        }
        r
    };
    while j < a.len() {
        let more = a.len() - 1 - j;
        let opt = &a[j];
        if eq(opt, "force") {
            o.force = true;
        } else if eq(opt, "justid") {
            o.justid = true;
        } else if eq(opt, "idle") && more > 0 {
            j += 1;
            o.time = Some(now - int(ctx, &a[j], "IDLE")?);
        } else if eq(opt, "time") && more > 0 {
            j += 1;
            o.time = Some(int(ctx, &a[j], "TIME")?);
        } else if eq(opt, "retrycount") && more > 0 {
            j += 1;
            o.retry = Some(int(ctx, &a[j], "RETRYCOUNT")?);
        } else if eq(opt, "lastid") && more > 0 {
            j += 1;
            o.last = id_or_err(ctx, &a[j], 0, true)?;
        } else {
            let mut e = b"ERR Unrecognized XCLAIM option '".to_vec();
            e.extend_from_slice(super::cstr(opt, usize::MAX));
            e.push(b'\'');
            ctx.error(e);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Looks up the stream and group for XCLAIM/XAUTOCLAIM; replies NOGROUP when missing.
fn check_group(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], group: &[u8]) -> bool {
    match read_stream(ks, ctx, key) {
        Err(()) => false,
        Ok(s) => {
            if s.is_some_and(|s| s.groups.contains_key(group)) {
                true
            } else {
                nogroup_key_or_group(ctx, key, group);
                false
            }
        }
    }
}

pub fn xclaim(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (key, gname, cname) = (&a[1], &a[2], &a[3]);
    if !check_group(ks, ctx, key, gname) {
        return;
    }
    let Some(min_idle) = crate::util::num::parse_i64(&a[4]) else {
        return ctx.error("ERR Invalid min-idle-time argument for XCLAIM");
    };
    let min_idle = min_idle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match st::parse_id(&a[j], 0, true, false) {
            Some(p) => ids.push(p.id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now;
    let Some(o) = claim_opts(ctx, a, j, now) else { return };
    let time = match o.time {
        Some(t) if t >= 0 && t <= now => t,
        _ => now,
    };
    let s = stream_mut(ks, ctx.db, key).expect("stream checked");
    let exists: Vec<bool> = ids.iter().map(|id| s.get(*id).is_some()).collect();
    let g = s.groups.get_mut(gname).expect("group checked");
    let mut propagate_last = false;
    if o.last > g.last_id {
        g.last_id = o.last;
        propagate_last = true;
    }
    let mut claimed = Vec::new();
    let mut consumer_ready = false;
    let mut created_consumer = false;
    for (i, &id) in ids.iter().enumerate() {
        if !exists[i] {
            if g.pel.contains_key(&id) {
                drop_nack(ctx, key, gname, g, id);
                propagate_last = false;
            }
            continue;
        }
        if o.force && !g.pel.contains_key(&id) {
            g.pel.insert(id, Nack { delivery_time: now, delivery_count: 1, consumer: Bytes::new() });
        }
        let Some(n) = g.pel.get(&id) else { continue };
        if !n.consumer.is_empty() && min_idle > 0 && now - n.delivery_time < min_idle {
            continue;
        }
        let prev_count = n.delivery_count;
        if !consumer_ready {
            consumer_ready = true;
            if let Some(c) = g.consumers.get_mut(&cname[..]) {
                c.seen_time = now;
            } else {
                g.consumer_or_create(cname, now);
                created_consumer = true;
            }
        }
        let count = match o.retry {
            Some(r) if r >= 0 => Some(r as u64),
            _ if !o.justid => Some(prev_count + 1),
            _ => None,
        };
        claim_one(g, id, cname, time, count);
        ctx.prop.push(xclaim_prop(key, gname, id, &g.pel[&id], g.last_id));
        propagate_last = false;
        ctx.dirty += 1;
        claimed.push(id);
    }
    if propagate_last {
        ctx.prop.push(setid_prop(key, gname, g.last_id, g.entries_read));
        ctx.dirty += 1;
    }
    let _ = createconsumer_prop;
    if created_consumer {
        ctx.dirty += 1;
        ks.notify(ctx, N::STREAM, "xgroup-createconsumer", key);
    }
    ctx.rewritten = true;
    let s = stream_ref(ks, ctx.db, key).expect("stream exists");
    ctx.out.array(claimed.len());
    for id in claimed {
        if o.justid {
            reply_id(ctx, id);
        } else {
            s.walk(id, id, false, false, &mut |e| {
                super::streams::reply_entry(ctx.out, e);
                false
            });
        }
    }
}

pub fn xautoclaim(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (key, gname, cname) = (&a[1], &a[2], &a[3]);
    let Some(min_idle) = crate::util::num::parse_i64(&a[4]) else {
        return ctx.error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
    };
    let min_idle = min_idle.max(0);
    let Some((mut start, sx)) = st::parse_interval(&a[5], 0) else { return ctx.error(st::INVALID_ID) };
    if sx {
        match start.incr() {
            Some(i) => start = i,
            None => return ctx.error("ERR invalid start ID for the interval"),
        }
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq(&a[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            match crate::util::num::parse_i64(&a[j + 1]) {
                Some(c) if (1..=max).contains(&c) => count = c,
                _ => return ctx.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if eq(&a[j], "justid") {
            justid = true;
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    if !check_group(ks, ctx, key, gname) {
        return;
    }
    let now = ctx.now;
    let s = stream_mut(ks, ctx.db, key).expect("stream checked");
    // At most COUNT*10 attempts, plus one more ID for the next cursor.
    let window = (count as usize).saturating_mul(10).saturating_add(1);
    let candidates: Vec<StreamId> = s.groups[gname].pel.range(start..).take(window).map(|(id, _)| *id).collect();
    let exists: Vec<bool> = candidates.iter().take((count as usize).saturating_mul(10)).map(|id| s.get(*id).is_some()).collect();
    let g = s.groups.get_mut(gname).expect("group checked");
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut consumer_ready = false;
    let mut created_consumer = false;
    let mut last_examined: Option<usize> = None;
    for (i, &id) in candidates.iter().enumerate() {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        last_examined = Some(i);
        if !exists[i] {
            drop_nack(ctx, key, gname, g, id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        if min_idle > 0 && now - n.delivery_time < min_idle {
            continue;
        }
        let prev_count = n.delivery_count;
        if !consumer_ready {
            consumer_ready = true;
            if let Some(c) = g.consumers.get_mut(&cname[..]) {
                c.seen_time = now;
            } else {
                g.consumer_or_create(cname, now);
                created_consumer = true;
            }
        }
        let next = if justid { None } else { Some(prev_count + 1) };
        claim_one(g, id, cname, now, next);
        ctx.prop.push(xclaim_prop(key, gname, id, &g.pel[&id], g.last_id));
        ctx.dirty += 1;
        claimed.push(id);
        count -= 1;
    }
    let next_cursor = match last_examined {
        Some(i) => candidates.get(i + 1).copied().unwrap_or(StreamId::MIN),
        None => StreamId::MIN,
    };
    if created_consumer {
        ctx.dirty += 1;
        ks.notify(ctx, N::STREAM, "xgroup-createconsumer", key);
    }
    ctx.rewritten = true;
    let s = stream_ref(ks, ctx.db, key).expect("stream exists");
    ctx.out.array(3);
    reply_id(ctx, next_cursor);
    ctx.out.array(claimed.len());
    for id in claimed {
        if justid {
            reply_id(ctx, id);
        } else {
            s.walk(id, id, false, false, &mut |e| {
                super::streams::reply_entry(ctx.out, e);
                false
            });
        }
    }
    ctx.out.array(deleted.len());
    for id in deleted {
        reply_id(ctx, id);
    }
}
