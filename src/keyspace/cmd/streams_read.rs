//! XREAD and XREADGROUP, blocking through the keyspace's waiting lists.
//!
//! A blocked XREAD is parked with `$` replaced by the stream's last ID at call time (so its
//! re-run reads what arrived after), and re-run when a write signals one of its keys.
//! XREADGROUP propagates as Redis 7.0: one `XCLAIM ... FORCE JUSTID LASTID` per delivered
//! entry, `XGROUP SETID ... ENTRIESREAD` with NOACK, `XGROUP CREATECONSUMER` for a consumer
//! NOACK created; the command itself never propagates.

use super::streams::{id_or_err, out_id, reply_entry, stream_mut, stream_ref};
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::blocking::BlockSpec;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::resp::Out;
use crate::stream::{Stream, StreamId};
use bytes::Bytes;

/// Redis's XREAD_BLOCKED_DEFAULT_COUNT: a served blocked read returns at most this many.
const BLOCKED_DEFAULT_COUNT: i64 = 1000;

struct ReadArgs {
    /// BLOCK in ms (None = not blocking).
    block: Option<i64>,
    block_at: usize,
    count: i64,
    streams_at: usize,
    n: usize,
    group: Option<(Bytes, Bytes)>,
    noack: bool,
}

fn parse(ctx: &mut Ctx, a: &[Bytes], gm: bool) -> Option<ReadArgs> {
    let mut r = ReadArgs { block: None, block_at: 0, count: 0, streams_at: 0, n: 0, group: None, noack: false };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        let o = &a[i];
        if eq(o, "block") && more > 0 {
            i += 1;
            let Some(t) = crate::util::num::parse_i64(&a[i]) else {
                ctx.error("ERR timeout is not an integer or out of range");
                return None;
            };
            if t < 0 {
                ctx.error("ERR timeout is negative");
                return None;
            }
            r.block = Some(t);
            r.block_at = i;
        } else if eq(o, "count") && more > 0 {
            i += 1;
            r.count = super::arg_i64(ctx, &a[i])?.max(0);
        } else if eq(o, "streams") && more > 0 {
            r.streams_at = i + 1;
            let left = a.len() - r.streams_at;
            if left % 2 != 0 {
                ctx.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return None;
            }
            r.n = left / 2;
            break;
        } else if eq(o, "group") && more >= 2 {
            if !gm {
                ctx.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if eq(o, "noack") {
            if !gm {
                ctx.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.noack = true;
        } else {
            ctx.error(err::SYNTAX);
            return None;
        }
        i += 1;
    }
    if r.streams_at == 0 {
        ctx.error(err::SYNTAX);
        return None;
    }
    if gm && r.group.is_none() {
        ctx.error("ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(r)
}

fn nogroup_error(ctx: &mut Ctx, key: &[u8], group: &[u8]) {
    let mut e = b"NOGROUP No such key '".to_vec();
    e.extend_from_slice(super::cstr(key, usize::MAX));
    e.extend_from_slice(b"' or consumer group '");
    e.extend_from_slice(super::cstr(group, usize::MAX));
    e.extend_from_slice(b"' in XREADGROUP with GROUP option");
    ctx.error(e)
}

pub fn xread(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    read(ks, ctx, a, false)
}

pub fn xreadgroup(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    read(ks, ctx, a, true)
}

/// The IDs to read after: None for `>`. Err after an error reply.
fn resolve_ids(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], r: &ReadArgs) -> Result<Vec<Option<StreamId>>, ()> {
    let waiter = ks.blocking.serving_waiter;
    let mut ids = Vec::with_capacity(r.n);
    for i in 0..r.n {
        let key = &a[r.streams_at + i];
        let arg = &a[r.streams_at + r.n + i];
        let s: Option<&Stream> = match ks.lookup_read(ctx, key) {
            None => None,
            Some(Value::Stream(s)) => Some(&**s),
            Some(_) if waiter => None,
            Some(_) => {
                ctx.error(err::WRONGTYPE);
                return Err(());
            }
        };
        if let Some((g, _)) = &r.group {
            match s {
                None if waiter => {
                    ctx.error("UNBLOCKED the stream key no longer exists");
                    return Err(());
                }
                Some(s) if s.groups.contains_key(g) => {}
                Some(_) if waiter => {
                    ctx.error("NOGROUP the consumer group this client was blocked on no longer exists");
                    return Err(());
                }
                _ => {
                    nogroup_error(ctx, key, g);
                    return Err(());
                }
            }
        }
        if arg[..] == b"$"[..] {
            if r.group.is_some() {
                ctx.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return Err(());
            }
            ids.push(Some(s.map_or(StreamId::MIN, |s| s.last_id)));
        } else if arg[..] == b">"[..] {
            if r.group.is_none() {
                ctx.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return Err(());
            }
            ids.push(None);
        } else {
            match id_or_err(ctx, arg, 0, true) {
                Some(id) => ids.push(Some(id)),
                None => return Err(()),
            }
        }
    }
    Ok(ids)
}

fn read(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], gm: bool) {
    let Some(r) = parse(ctx, a, gm) else { return };
    if r.block.is_some() && ks.call_depth > 1 {
        // There is no sense in blocking inside a script (it runs to its end atomically).
        ctx.rewritten = true;
        return ctx.error(format!("ERR {} command is not allowed with BLOCK option from scripts", String::from_utf8_lossy(&a[0])));
    }
    let Ok(ids) = resolve_ids(ks, ctx, a, &r) else {
        ctx.rewritten = true;
        return;
    };
    let mut count = r.count;
    if count == 0 && ks.blocking.serving_waiter {
        count = BLOCKED_DEFAULT_COUNT;
    }
    let mut body = Out::new(ctx.out.resp3);
    let mut served = 0;
    for i in 0..r.n {
        let key = &a[r.streams_at + i];
        let ok = match &r.group {
            Some((g, c)) => serve_group(ks, ctx, &mut body, key, g, c, ids[i], count as usize, r.noack),
            None => match stream_ref(ks, ctx.db, key) {
                Some(s) => serve_plain(s, &mut body, key, ids[i].unwrap_or(StreamId::MIN), count as usize),
                None => false,
            },
        };
        if ok {
            served += 1;
        }
    }
    // Never propagated itself (Redis's preventCommandPropagation): only what serve_group
    // queued.
    ctx.rewritten = true;
    if served > 0 {
        if ctx.out.resp3 {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        ctx.out.raw(&body.buf);
        return;
    }
    match r.block {
        Some(ms) => {
            let keys: Vec<Bytes> = a[r.streams_at..r.streams_at + r.n].to_vec();
            let deadline = if ms == 0 { None } else { Some(ctx.now + ms) };
            ctx.block = Some(BlockSpec { keys, deadline, null_array: true });
            // Parked with `$` resolved, so a re-run reads what arrives after now.
            let mut argv = a.to_vec();
            for (i, id) in ids.iter().enumerate() {
                if let Some(id) = id {
                    argv[r.streams_at + r.n + i] = id.to_bytes();
                }
            }
            let _ = r.block_at;
            ks.blocking.block_argv = Some(argv);
        }
        None => ctx.out.null_array(),
    }
}

/// The `[key, entries]` header of one served stream.
fn key_header(out: &mut Out, key: &[u8]) {
    if !out.resp3 {
        out.array(2);
    }
    out.bulk(key);
}

fn serve_plain(s: &Stream, out: &mut Out, key: &[u8], after: StreamId, count: usize) -> bool {
    if s.length == 0 {
        return false;
    }
    let maxid = s.edge_id(false, false).unwrap_or(StreamId::MIN);
    if maxid <= after {
        return false;
    }
    let Some(start) = after.incr() else { return false };
    key_header(out, key);
    super::streams::reply_range(out, s, start, StreamId::MAX, count, false);
    true
}

fn xclaim_prop(key: &[u8], group: &[u8], consumer: &[u8], id: StreamId, time: i64, count: u64, last: StreamId) -> Vec<Bytes> {
    let b = |s: &'static str| Bytes::from_static(s.as_bytes());
    vec![
        b("XCLAIM"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(consumer),
        b("0"),
        id.to_bytes(),
        b("TIME"),
        Bytes::from(time.to_string()),
        b("RETRYCOUNT"),
        Bytes::from(count.to_string()),
        b("FORCE"),
        b("JUSTID"),
        b("LASTID"),
        last.to_bytes(),
    ]
}

pub(super) fn setid_prop(key: &[u8], group: &[u8], last: StreamId, entries_read: i64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        last.to_bytes(),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(entries_read.to_string()),
    ]
}

pub(super) fn createconsumer_prop(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"CREATECONSUMER"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(group),
        Bytes::copy_from_slice(consumer),
    ]
}

/// Looks the consumer up (refreshing its seen time) or creates it (event `xgroup-createconsumer`).
/// Returns whether it was created.
pub(super) fn touch_consumer(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], group: &[u8], consumer: &[u8]) -> bool {
    let now = ctx.now;
    let Some(g) = stream_mut(ks, ctx.db, key).and_then(|s| s.groups.get_mut(group)) else { return false };
    if let Some(c) = g.consumers.get_mut(consumer) {
        c.seen_time = now;
        return false;
    }
    g.consumer_or_create(consumer, now);
    ctx.dirty += 1;
    ks.notify(ctx, N::STREAM, "xgroup-createconsumer", key);
    true
}

#[allow(clippy::too_many_arguments)]
fn serve_group(ks: &mut Keyspace, ctx: &mut Ctx, out: &mut Out, key: &Bytes, group: &Bytes, consumer: &Bytes, after: Option<StreamId>, count: usize, noack: bool) -> bool {
    let Some(s) = stream_ref(ks, ctx.db, key) else { return false };
    let Some(g) = s.groups.get(group) else { return false };
    if after.is_none() {
        if s.length == 0 {
            return false;
        }
        let maxid = s.edge_id(false, false).unwrap_or(StreamId::MIN);
        if maxid <= g.last_id {
            return false;
        }
    }
    if touch_consumer(ks, ctx, key, group, consumer) && noack {
        ctx.prop.push(createconsumer_prop(key, group, consumer));
    }
    key_header(out, key);
    ctx.dirty += 1;
    let now = ctx.now;
    let s = stream_mut(ks, ctx.db, key).expect("stream exists");
    match after {
        Some(id) => serve_history(s, out, group, consumer, id, count, now),
        None => {
            let start = s.groups[group].last_id.incr().unwrap_or(StreamId::MAX);
            let ids = super::streams::reply_range(out, s, start, StreamId::MAX, count, false);
            let mut advanced = false;
            for id in ids {
                let before = s.groups[group].last_id;
                s.advance_group(group, id);
                advanced |= s.groups[group].last_id != before;
                if !noack {
                    let g = s.groups.get_mut(group).expect("group exists");
                    g.deliver(id, consumer, now);
                    ctx.prop.push(xclaim_prop(key, group, consumer, id, now, 1, g.last_id));
                }
            }
            if noack && advanced {
                let g = &s.groups[group];
                ctx.prop.push(setid_prop(key, group, g.last_id, g.entries_read));
            }
        }
    }
    true
}

/// A consumer's own pending entries after `after` (XREADGROUP with an ID): deleted entries
/// come back as `[id, nil]`; each served one counts a delivery.
fn serve_history(s: &mut Stream, out: &mut Out, group: &[u8], consumer: &[u8], after: StreamId, count: usize, now: i64) {
    let Some(start) = after.incr() else {
        out.array(0);
        return;
    };
    let pending: Vec<StreamId> = match s.groups.get(group).and_then(|g| g.consumers.get(consumer)) {
        Some(c) => c.pel.range(start..).take(if count == 0 { usize::MAX } else { count }).copied().collect(),
        None => vec![],
    };
    out.array(pending.len());
    for id in pending {
        let mut found = false;
        s.walk(id, id, false, false, &mut |e| {
            reply_entry(out, e);
            found = true;
            false
        });
        if found {
            if let Some(n) = s.groups.get_mut(group).and_then(|g| g.pel.get_mut(&id)) {
                n.delivery_time = now;
                n.delivery_count += 1;
            }
        } else {
            out.array(2);
            out_id(out, id);
            out.null_array();
        }
    }
}
