//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XINFO.
//! (XREAD/XREADGROUP: `streams_read.rs`; consumer groups: `streams_cg.rs`.)

use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::stream::{self as st, AppendError, NodeLimits, Stream, StreamId, Trim};
use crate::resp::Out;
use bytes::Bytes;
use std::sync::Arc;
use super::Route::Keyspace as K;

crate::command_specs! {
    "xadd", -5, "write denyoom fast", 1, 1, 1, "stream", K(xadd), "Appends a new entry to a stream";
    "xlen", 2, "readonly fast", 1, 1, 1, "stream", K(xlen), "Return the number of entries in a stream";
    "xrange", -4, "readonly", 1, 1, 1, "stream", K(xrange), "Return a range of elements in a stream, with IDs matching the specified IDs interval";
    "xrevrange", -4, "readonly", 1, 1, 1, "stream", K(xrevrange), "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE";
    "xdel", -3, "write fast", 1, 1, 1, "stream", K(xdel), "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.";
    "xtrim", -4, "write", 1, 1, 1, "stream", K(xtrim), "Trims the stream to (approximately if '~' is passed) a certain size";
    "xsetid", -3, "write denyoom fast", 1, 1, 1, "stream", K(xsetid), "An internal command for replicating stream values";
    "xinfo", -2, "readonly", 0, 0, 0, "stream", K(xinfo), "A container for stream introspection commands";
    "xread", -4, "readonly blocking movablekeys", 0, 0, 0, "stream", K(super::streams_read::xread), "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.";
    "xreadgroup", -7, "write blocking movablekeys", 0, 0, 0, "stream", K(super::streams_read::xreadgroup), "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.";
    "xgroup", -2, "", 0, 0, 0, "stream", K(super::streams_cg::xgroup), "A container for consumer groups commands";
    "xack", -4, "write fast", 1, 1, 1, "stream", K(super::streams_cg::xack), "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.";
    "xpending", -3, "readonly", 1, 1, 1, "stream", K(super::streams_cg::xpending), "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.";
    "xclaim", -6, "write fast", 1, 1, 1, "stream", K(super::streams_cg::xclaim), "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.";
    "xautoclaim", -6, "write fast", 1, 1, 1, "stream", K(super::streams_cg::xautoclaim), "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.";
}

/// The stream at `key`: Ok(None) when missing, Err after a WRONGTYPE reply.
pub(super) fn read_stream<'a>(ks: &'a mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'a Stream>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(&**s)),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Checks the type for a write: Ok(false) when missing.
pub(super) fn write_check(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<bool, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(false),
        Some(Value::Stream(_)) => Ok(true),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Mutable access to an existing stream (copy-on-write against snapshots).
pub(super) fn stream_mut<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Option<&'a mut Stream> {
    match ks.dbs[db].keys.get_mut(key) {
        Some(Value::Stream(s)) => Some(Arc::make_mut(s)),
        _ => None,
    }
}

/// The stream at `key` without counting a hit (for writes that checked the type).
pub(super) fn stream_ref<'a>(ks: &'a Keyspace, db: usize, key: &[u8]) -> Option<&'a Stream> {
    match ks.dbs[db].keys.get(key) {
        Some(Value::Stream(s)) => Some(&**s),
        _ => None,
    }
}

pub(super) fn reply_id(ctx: &mut Ctx, id: StreamId) {
    out_id(ctx.out, id)
}

pub(super) fn out_id(out: &mut Out, id: StreamId) {
    out.bulk(id.to_string().as_bytes());
}

/// One entry: `[id, [field, value, ...]]`.
pub(super) fn reply_entry(out: &mut Out, e: &st::Entry<'_>) {
    out.array(2);
    out_id(out, e.id);
    out.array(e.fields.len() * 2);
    for (f, v) in &e.fields {
        out.bulk(f);
        out.bulk(v);
    }
}

/// Replies with the entries in `[start, end]` (at most `count`, 0 = all) as an array;
/// returns the IDs emitted.
pub(super) fn reply_range(out: &mut Out, s: &Stream, start: StreamId, end: StreamId, count: usize, rev: bool) -> Vec<StreamId> {
    let mut ids = Vec::new();
    let mut body = Out::new(out.resp3);
    s.walk(start, end, rev, false, &mut |e| {
        reply_entry(&mut body, e);
        ids.push(e.id);
        count == 0 || ids.len() < count
    });
    out.array(ids.len());
    out.raw(&body.buf);
    ids
}

pub(super) fn node_limits(ks: &Keyspace) -> NodeLimits {
    let cfg = ks.shared.cfg();
    NodeLimits { max_bytes: cfg.stream_node_max_bytes(), max_entries: cfg.stream_node_max_entries() }
}

pub(super) fn id_or_err(ctx: &mut Ctx, arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    match st::parse_id(arg, missing_seq, strict, false) {
        Some(p) => Some(p.id),
        None => {
            ctx.error(st::INVALID_ID);
            None
        }
    }
}

fn parse_i64_or_err(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    super::arg_i64(ctx, a)
}

/// XADD/XTRIM options (Redis's streamAddTrimArgs).
#[derive(Default)]
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    limit: i64,
    /// Index of the MAXLEN/MINID value argument.
    arg_idx: usize,
    no_mkstream: bool,
    id: Option<st::ParsedId>,
}

/// Parses XADD (`xadd`) or XTRIM options; returns the index of the ID (XADD).
fn parse_trim_args(ks: &Keyspace, ctx: &mut Ctx, a: &[Bytes], xadd: bool) -> Option<(TrimArgs, usize)> {
    let mut t = TrimArgs::default();
    let mut i = 2;
    let mut limit_given = false;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = &a[i];
        if xadd && opt[..] == b"*"[..] {
            break;
        } else if (eq(opt, "maxlen") || eq(opt, "minid")) && more > 0 {
            if t.trim.is_some() {
                ctx.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            t.approx = false;
            let next = &a[i + 1];
            if more >= 2 && next[..] == b"~"[..] {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next[..] == b"="[..] {
                i += 1;
            }
            if eq(opt, "maxlen") {
                let n = parse_i64_or_err(ctx, &a[i + 1])?;
                if n < 0 {
                    ctx.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                t.trim = Some(Trim::MaxLen(n as u64));
            } else {
                let id = id_or_err(ctx, &a[i + 1], 0, true)?;
                t.trim = Some(Trim::MinId(id));
            }
            i += 1;
            t.arg_idx = i;
        } else if eq(opt, "limit") && more > 0 {
            let n = parse_i64_or_err(ctx, &a[i + 1])?;
            if n < 0 {
                ctx.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            t.limit = n;
            limit_given = true;
            i += 1;
        } else if xadd && eq(opt, "nomkstream") {
            t.no_mkstream = true;
        } else if xadd {
            match st::parse_id(opt, 0, true, true) {
                Some(p) => t.id = Some(p),
                None => {
                    ctx.error(st::INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            ctx.error(err::SYNTAX);
            return None;
        }
        i += 1;
    }
    if t.limit != 0 && t.trim.is_none() {
        ctx.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && t.trim.is_none() {
        ctx.error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if ks.applying_master {
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            ctx.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if t.approx {
        let per = ks.shared.cfg().stream_node_max_entries() as i64;
        t.limit = per.saturating_mul(100);
        if t.limit <= 0 {
            t.limit = 10000;
        }
        t.limit = t.limit.min(1_000_000);
    } else {
        t.limit = 0;
    }
    Some((t, i))
}

/// After an approximate trim: `~` becomes `=` and the value the resulting length (MAXLEN)
/// or first ID, tombstones included (MINID), so replicas trim exactly the same.
fn rewrite_trim(argv: &mut [Bytes], s: &Stream, t: &TrimArgs) {
    argv[t.arg_idx - 1] = Bytes::from_static(b"=");
    argv[t.arg_idx] = match t.trim {
        Some(Trim::MaxLen(_)) => Bytes::from(s.length.to_string()),
        _ => s.edge_id(true, true).unwrap_or(StreamId::MAX).to_bytes(),
    };
}

pub fn xadd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some((t, idpos)) = parse_trim_args(ks, ctx, a, true) else { return };
    let fpos = idpos + 1;
    if a.len() < fpos + 2 || (a.len() - fpos) % 2 == 1 {
        return ctx.error(super::arity_error("xadd"));
    }
    if let Some(p) = t.id {
        if p.seq_given && p.id.is_zero() {
            return ctx.error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = &a[1];
    let Ok(exists) = write_check(ks, ctx, key) else { return };
    if !exists {
        if t.no_mkstream {
            return ctx.out.null();
        }
        ks.set_key(ctx, key, Value::Stream(Arc::new(Stream::new())), false);
        ctx.dirty -= 1;
    }
    let lim = node_limits(ks);
    let now = ctx.now.max(0) as u64;
    let s = stream_mut(ks, ctx.db, key).expect("stream just checked");
    if s.last_id == StreamId::MAX {
        return ctx.error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let pairs: Vec<&[u8]> = a[fpos..].iter().map(|b| &b[..]).collect();
    let added = s.next_id(t.id, now).and_then(|id| s.append(id, &pairs, lim).map(|_| id));
    let id = match added {
        Ok(id) => id,
        Err(AppendError::NotGreater) => return ctx.error("ERR The ID specified in XADD is equal or smaller than the target stream top item"),
        Err(AppendError::TooLarge) => return ctx.error("ERR Elements are too large to be stored"),
    };
    reply_id(ctx, id);
    ks.modified(ctx, key);
    ks.notify(ctx, N::STREAM, "xadd", key);
    let mut argv: Option<Vec<Bytes>> = None;
    if let Some(how) = t.trim {
        let s = stream_mut(ks, ctx.db, key).expect("stream exists");
        let trimmed = s.trim(how, t.approx, t.limit as u64);
        if t.approx {
            let mut v = a.to_vec();
            rewrite_trim(&mut v, s, &t);
            argv = Some(v);
        }
        if trimmed > 0 {
            ks.notify(ctx, N::STREAM, "xtrim", key);
        }
    }
    if !t.id.is_some_and(|p| p.seq_given) {
        argv.get_or_insert_with(|| a.to_vec())[idpos] = id.to_bytes();
    }
    if let Some(v) = argv {
        ctx.rewrite(v);
    }
    ks.signal_ready(ctx.db, key);
}

pub fn xtrim(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some((t, _)) = parse_trim_args(ks, ctx, a, false) else { return };
    let key = &a[1];
    match write_check(ks, ctx, key) {
        Err(()) => return,
        Ok(false) => return ctx.out.int(0),
        Ok(true) => {}
    }
    let how = t.trim.expect("XTRIM has a strategy");
    let s = stream_mut(ks, ctx.db, key).expect("stream just checked");
    let deleted = s.trim(how, t.approx, t.limit as u64);
    if deleted > 0 {
        if t.approx {
            let mut v = a.to_vec();
            rewrite_trim(&mut v, s, &t);
            ctx.rewrite(v);
        }
        ks.notify(ctx, N::STREAM, "xtrim", key);
        ks.modified(ctx, key);
        ctx.dirty += deleted - 1;
    }
    ctx.out.int(deleted as i64);
}

pub fn xlen(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(s) = read_stream(ks, ctx, &a[1]) {
        let n = s.map_or(0, |s| s.length);
        ctx.out.int(n as i64);
    }
}

fn range(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], rev: bool) {
    let (sa, ea) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let Some((mut start, sx)) = st::parse_interval(sa, 0) else { return ctx.error(st::INVALID_ID) };
    if sx {
        match start.incr() {
            Some(i) => start = i,
            None => return ctx.error("ERR invalid start ID for the interval"),
        }
    }
    let Some((mut end, ex)) = st::parse_interval(ea, u64::MAX) else { return ctx.error(st::INVALID_ID) };
    if ex {
        match end.decr() {
            Some(i) => end = i,
            None => return ctx.error("ERR invalid end ID for the interval"),
        }
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if eq(&a[j], "count") && j + 1 < a.len() {
            let Some(n) = parse_i64_or_err(ctx, &a[j + 1]) else { return };
            count = n.max(0);
            j += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    let s = match read_stream(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.array(0),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        return ctx.out.null_array();
    }
    reply_range(ctx.out, s, start, end, count.max(0) as usize, rev);
}

pub fn xrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    range(ks, ctx, a, false)
}

pub fn xrevrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    range(ks, ctx, a, true)
}

pub fn xdel(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let key = &a[1];
    match write_check(ks, ctx, key) {
        Err(()) => return,
        Ok(false) => return ctx.out.int(0),
        Ok(true) => {}
    }
    let mut ids = Vec::with_capacity(a.len() - 2);
    for arg in &a[2..] {
        let Some(id) = id_or_err(ctx, arg, 0, true) else { return };
        ids.push(id);
    }
    let s = stream_mut(ks, ctx.db, key).expect("stream just checked");
    let deleted = ids.iter().filter(|&&id| s.delete(id)).count();
    if deleted > 0 {
        s.after_deletes();
        ks.modified(ctx, key);
        ctx.dirty += deleted as u64 - 1;
        ks.notify(ctx, N::STREAM, "xdel", key);
    }
    ctx.out.int(deleted as i64);
}

pub fn xsetid(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(id) = id_or_err(ctx, &a[2], 0, true) else { return };
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if eq(&a[i], "entriesadded") && more > 0 {
            let Some(n) = parse_i64_or_err(ctx, &a[i + 1]) else { return };
            if n < 0 {
                return ctx.error("ERR entries_added must be positive");
            }
            entries_added = n;
        } else if eq(&a[i], "maxdeletedid") && more > 0 {
            let Some(m) = id_or_err(ctx, &a[i + 1], 0, true) else { return };
            if id < m {
                return ctx.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_xdel = m;
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 2;
    }
    let key = &a[1];
    match write_check(ks, ctx, key) {
        Err(()) => return,
        Ok(false) => return ctx.error(err::NO_KEY),
        Ok(true) => {}
    }
    let s = stream_mut(ks, ctx.db, key).expect("stream just checked");
    if s.length > 0 {
        let maxid = s.edge_id(false, false).unwrap_or(StreamId::MIN);
        if id < maxid {
            return ctx.error("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if entries_added != -1 && s.length > entries_added as u64 {
            return ctx.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    ctx.out.ok();
    ks.modified(ctx, key);
    ks.notify(ctx, N::STREAM, "xsetid", key);
}

// ----- XINFO ---------------------------------------------------------------------------------

fn subcommand_syntax(ctx: &mut Ctx, sub: &[u8]) {
    let mut e = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    e.extend_from_slice(super::cstr(sub, 128));
    e.extend_from_slice(b"'. Try XINFO HELP.");
    ctx.error(e)
}

pub fn xinfo(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = &a[1];
    let (arity_ok, name) = if eq(sub, "help") {
        (a.len() == 2, "xinfo|help")
    } else if eq(sub, "stream") {
        (a.len() >= 3, "xinfo|stream")
    } else if eq(sub, "groups") {
        (a.len() == 3, "xinfo|groups")
    } else if eq(sub, "consumers") {
        (a.len() == 4, "xinfo|consumers")
    } else {
        return ctx.error(super::unknown_subcommand(sub, "XINFO"));
    };
    if !arity_ok {
        return ctx.error(super::arity_error(name));
    }
    if eq(sub, "help") {
        let lines = [
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Prints this help.",
        ];
        ctx.out.help(&lines);
        return;
    }
    let key = &a[2];
    let s = match read_stream(ks, ctx, key) {
        Err(()) => return,
        Ok(None) => return ctx.error(err::NO_KEY),
        Ok(Some(s)) => s,
    };
    if eq(sub, "consumers") {
        let Some(g) = s.groups.get(&a[3]) else {
            let mut e = b"NOGROUP No such consumer group '".to_vec();
            e.extend_from_slice(super::cstr(&a[3], usize::MAX));
            e.extend_from_slice(b"' for key name '");
            e.extend_from_slice(super::cstr(key, usize::MAX));
            e.push(b'\'');
            return ctx.error(e);
        };
        ctx.out.array(g.consumers.len());
        for (name, c) in &g.consumers {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(name);
            ctx.out.bulk(b"pending");
            ctx.out.int(c.pel.len() as i64);
            ctx.out.bulk(b"idle");
            ctx.out.int((ctx.now - c.seen_time).max(0));
        }
    } else if eq(sub, "groups") {
        ctx.out.array(s.groups.len());
        for (name, g) in &s.groups {
            ctx.out.map(6);
            ctx.out.bulk(b"name");
            ctx.out.bulk(name);
            ctx.out.bulk(b"consumers");
            ctx.out.int(g.consumers.len() as i64);
            ctx.out.bulk(b"pending");
            ctx.out.int(g.pel.len() as i64);
            ctx.out.bulk(b"last-delivered-id");
            reply_id(ctx, g.last_id);
            reply_group_counters(ctx, s, g);
        }
    } else {
        xinfo_stream(ctx, s, &a[3..], sub);
    }
}

/// `entries-read` and `lag` of a group.
fn reply_group_counters(ctx: &mut Ctx, s: &Stream, g: &st::Group) {
    ctx.out.bulk(b"entries-read");
    if g.entries_read != st::INVALID_ENTRIES_READ {
        ctx.out.int(g.entries_read);
    } else {
        ctx.out.null();
    }
    ctx.out.bulk(b"lag");
    match s.group_lag(g) {
        Some(l) => ctx.out.int(l),
        None => ctx.out.null(),
    }
}

/// Redis's radix tree node count for the node keys (16-byte big-endian IDs).
fn rax_nodes(s: &Stream) -> usize {
    // A compressed radix tree over sorted keys: one node per distinct branching point plus
    // the leaves; approximated as Redis's rax does for a single key (2 nodes) and grown by
    // one node per additional key.
    if s.nodes.is_empty() {
        1
    } else {
        s.nodes.len() + 1
    }
}

fn xinfo_stream(ctx: &mut Ctx, s: &Stream, opts: &[Bytes], sub: &[u8]) {
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !eq(&opts[0], "full") {
            return subcommand_syntax(ctx, sub);
        }
        full = true;
        if opts.len() == 3 {
            if !eq(&opts[1], "count") {
                return subcommand_syntax(ctx, sub);
            }
            let Some(n) = parse_i64_or_err(ctx, &opts[2]) else { return };
            count = if n < 0 { 10 } else { n };
        }
    }
    ctx.out.map(if full { 9 } else { 10 });
    ctx.out.bulk(b"length");
    ctx.out.int(s.length as i64);
    ctx.out.bulk(b"radix-tree-keys");
    ctx.out.int(s.nodes.len() as i64);
    ctx.out.bulk(b"radix-tree-nodes");
    ctx.out.int(rax_nodes(s) as i64);
    ctx.out.bulk(b"last-generated-id");
    reply_id(ctx, s.last_id);
    ctx.out.bulk(b"max-deleted-entry-id");
    reply_id(ctx, s.max_deleted_id);
    ctx.out.bulk(b"entries-added");
    ctx.out.int(s.entries_added as i64);
    ctx.out.bulk(b"recorded-first-entry-id");
    reply_id(ctx, s.first_id);
    if !full {
        ctx.out.bulk(b"groups");
        ctx.out.int(s.groups.len() as i64);
        for (label, first) in [(&b"first-entry"[..], true), (&b"last-entry"[..], false)] {
            ctx.out.bulk(label);
            let mut done = false;
            s.walk(StreamId::MIN, StreamId::MAX, !first, false, &mut |e| {
                reply_entry(ctx.out, e);
                done = true;
                false
            });
            if !done {
                ctx.out.null();
            }
        }
        return;
    }
    let count = count.max(0) as usize;
    ctx.out.bulk(b"entries");
    reply_range(ctx.out, s, StreamId::MIN, StreamId::MAX, count, false);
    ctx.out.bulk(b"groups");
    ctx.out.array(s.groups.len());
    for (name, g) in &s.groups {
        ctx.out.map(7);
        ctx.out.bulk(b"name");
        ctx.out.bulk(name);
        ctx.out.bulk(b"last-delivered-id");
        reply_id(ctx, g.last_id);
        reply_group_counters(ctx, s, g);
        ctx.out.bulk(b"pel-count");
        ctx.out.int(g.pel.len() as i64);
        ctx.out.bulk(b"pending");
        let n = if count == 0 { g.pel.len() } else { g.pel.len().min(count) };
        ctx.out.array(n);
        for (id, nack) in g.pel.iter().take(n) {
            ctx.out.array(4);
            reply_id(ctx, *id);
            ctx.out.bulk(&nack.consumer);
            ctx.out.int(nack.delivery_time);
            ctx.out.int(nack.delivery_count as i64);
        }
        ctx.out.bulk(b"consumers");
        ctx.out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            ctx.out.map(4);
            ctx.out.bulk(b"name");
            ctx.out.bulk(cname);
            ctx.out.bulk(b"seen-time");
            ctx.out.int(c.seen_time);
            ctx.out.bulk(b"pel-count");
            ctx.out.int(c.pel.len() as i64);
            ctx.out.bulk(b"pending");
            let n = if count == 0 { c.pel.len() } else { c.pel.len().min(count) };
            ctx.out.array(n);
            for id in c.pel.iter().take(n) {
                let nack = g.pel.get(id);
                ctx.out.array(3);
                reply_id(ctx, *id);
                ctx.out.int(nack.map_or(0, |n| n.delivery_time));
                ctx.out.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
}
