//! String commands.

use super::{arg_i64, eq, err};
use crate::config::notify as N;
use crate::keyspace::{thin::Thin, Ctx, Keyspace, Value};
use crate::util::{longdouble::LongDouble, num};
use bytes::Bytes;

const PXAT: &[u8] = b"PXAT";

/// Reads a string value in place: `Ok(None)` when missing, `Err` (after replying) on wrong
/// type. No copy: a read of a large string costs what its reply costs.
pub fn read_str<'k>(ks: &'k mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'k [u8]>, ()> {
    match ks.lookup_read(ctx, key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_slice())),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}

/// Like [`read_str`] but for writes (no hit/miss counting): the string, writable in place
/// (a snapshot sharing its segment gets its own copy first).
fn write_lookup_str<'k>(ks: &'k mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'k mut Thin>, ()> {
    match ks.lookup_write(ctx, key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => {
            ctx.error(err::WRONGTYPE);
            Err(())
        }
    }
}


fn max_bulk(ks: &Keyspace) -> usize {
    ks.shared.hot.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed).max(0) as usize
}

pub fn get(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(v) = read_str(ks, ctx, &a[1]) {
        match v {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

/// How a SET-like command expires its key.
#[derive(Clone, Copy, PartialEq)]
enum Expiry {
    None,
    KeepTtl,
    Persist,
    At(i64),
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute time in ms, or replies with an error.
fn expire_arg(ctx: &mut Ctx, unit: &[u8], v: &[u8], cmd: &str) -> Option<i64> {
    let n = arg_i64(ctx, v)?;
    let invalid = |ctx: &mut Ctx| {
        ctx.error(format!("ERR invalid expire time in '{}' command", cmd));
        None
    };
    if n <= 0 {
        return invalid(ctx);
    }
    let at = if eq(unit, "EX") {
        n.checked_mul(1000).and_then(|ms| ms.checked_add(ctx.now))
    } else if eq(unit, "PX") {
        n.checked_add(ctx.now)
    } else if eq(unit, "EXAT") {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    match at {
        Some(t) => Some(t),
        None => invalid(ctx),
    }
}

pub fn set(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (mut nx, mut xx, mut get, mut expiry) = (false, false, false, Expiry::None);
    let mut unit_seen = false;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        if eq(o, "NX") && !xx {
            nx = true;
        } else if eq(o, "XX") && !nx {
            xx = true;
        } else if eq(o, "GET") {
            get = true;
        } else if eq(o, "KEEPTTL") && !unit_seen {
            expiry = Expiry::KeepTtl;
            unit_seen = true;
        } else if (eq(o, "EX") || eq(o, "PX") || eq(o, "EXAT") || eq(o, "PXAT"))
            && !unit_seen
            && i + 1 < a.len()
        {
            unit_seen = true;
            match expire_arg(ctx, o, &a[i + 1], "set") {
                Some(t) => expiry = Expiry::At(t),
                None => return,
            }
            i += 1;
        } else {
            ctx.error(err::SYNTAX);
            return;
        }
        i += 1;
    }
    let key = &a[1];
    let old = if get {
        match write_lookup_str(ks, ctx, key) {
            Ok(v) => v.map(|s| s.to_bytes()),
            Err(()) => return,
        }
    } else {
        None
    };
    let exists = if get { old.is_some() } else { (nx || xx) && ks.exists(ctx, key) };
    if get {
        // Redis reads through getGenericCommand: a miss publishes `keymiss`, and the old
        // value is replied before the write (and its events).
        if old.is_none() {
            ks.notify(ctx, N::KEY_MISS, "keymiss", key);
        }
        reply_opt(ctx, old);
    }
    if (nx && exists) || (xx && !exists) {
        if !get {
            ctx.out.null();
        }
        return;
    }
    ks.set_key(ctx, key, Value::Str(Thin::new(&a[2])), expiry == Expiry::KeepTtl);
    ks.notify(ctx, N::STRING, "set", key);
    if let Expiry::At(t) = expiry {
        ks.set_expire(ctx, key, t);
        ks.notify(ctx, N::GENERIC, "expire", key);
        // Replicas get an absolute time: SET key value PXAT <ms>.
        ctx.rewrite(vec![
            Bytes::from_static(b"SET"),
            a[1].clone(),
            a[2].clone(),
            Bytes::from_static(PXAT),
            Bytes::from(t.to_string()),
        ]);
    } else if get {
        let argv = a.iter().filter(|x| !eq(x, "GET")).cloned().collect();
        ctx.rewrite(argv);
    }
    if !get {
        ctx.out.ok();
    }
}

fn reply_opt(ctx: &mut Ctx, v: Option<Bytes>) {
    match v {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
}

pub fn setnx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if ks.exists(ctx, &a[1]) {
        ctx.out.int(0);
    } else {
        ks.set_key(ctx, &a[1], Value::Str(Thin::new(&a[2])), false);
        ks.notify(ctx, N::STRING, "set", &a[1]);
        ctx.out.int(1);
    }
}

fn set_with_expire(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], unit: &str, cmd: &str) {
    let Some(t) = expire_arg(ctx, unit.as_bytes(), &a[2], cmd) else { return };
    ks.set_key(ctx, &a[1], Value::Str(Thin::new(&a[3])), false);
    ks.notify(ctx, N::STRING, "set", &a[1]);
    ks.set_expire(ctx, &a[1], t);
    ks.notify(ctx, N::GENERIC, "expire", &a[1]);
    ctx.rewrite(vec![
        Bytes::from_static(b"SET"),
        a[1].clone(),
        a[3].clone(),
        Bytes::from_static(PXAT),
        Bytes::from(t.to_string()),
    ]);
    ctx.out.ok();
}

pub fn setex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_with_expire(ks, ctx, a, "EX", "setex")
}

pub fn psetex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    set_with_expire(ks, ctx, a, "PX", "psetex")
}

pub fn getset(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(old) = write_lookup_str(ks, ctx, &a[1]).map(|o| o.map(|s| s.to_bytes())) else { return };
    if old.is_none() {
        ks.notify(ctx, N::KEY_MISS, "keymiss", &a[1]);
    }
    // As Redis (getGenericCommand first): the old value is replied before the write.
    reply_opt(ctx, old);
    ks.set_key(ctx, &a[1], Value::Str(Thin::new(&a[2])), false);
    ks.notify(ctx, N::STRING, "set", &a[1]);
    ctx.rewrite(vec![Bytes::from_static(b"SET"), a[1].clone(), a[2].clone()]);
}

pub fn getdel(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(old) = read_str(ks, ctx, &a[1]).map(|o| o.map(Bytes::copy_from_slice)) else { return };
    let found = old.is_some();
    // As Redis, the value is replied first, then the key goes (`del` after the reply).
    reply_opt(ctx, old);
    if found {
        ks.delete(ctx, &a[1]);
        ks.notify(ctx, N::GENERIC, "del", &a[1]);
        ctx.rewrite(vec![Bytes::from_static(b"DEL"), a[1].clone()]);
    }
}

pub fn getex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut expiry = Expiry::None;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if eq(o, "PERSIST") && expiry == Expiry::None {
            expiry = Expiry::Persist;
        } else if (eq(o, "EX") || eq(o, "PX") || eq(o, "EXAT") || eq(o, "PXAT"))
            && expiry == Expiry::None
            && i + 1 < a.len()
        {
            match expire_arg(ctx, o, &a[i + 1], "getex") {
                Some(t) => expiry = Expiry::At(t),
                None => return,
            }
            i += 1;
        } else {
            ctx.error(err::SYNTAX);
            return;
        }
        i += 1;
    }
    let Ok(v) = read_str(ks, ctx, &a[1]).map(|o| o.map(Bytes::copy_from_slice)) else { return };
    let Some(v) = v else {
        ctx.out.null();
        return;
    };
    // As Redis, the value is replied before the TTL changes (and their events).
    ctx.out.bulk(&v);
    match expiry {
        Expiry::At(t) if t <= ctx.now => {
            ks.delete(ctx, &a[1]);
            ks.notify(ctx, N::GENERIC, "del", &a[1]);
            ctx.rewrite(vec![Bytes::from_static(b"DEL"), a[1].clone()]);
        }
        Expiry::At(t) => {
            ks.set_expire(ctx, &a[1], t);
            ks.modified(ctx, &a[1]);
            ks.notify(ctx, N::GENERIC, "expire", &a[1]);
            ctx.rewrite(vec![Bytes::from_static(b"PEXPIREAT"), a[1].clone(), Bytes::from(t.to_string())]);
        }
        Expiry::Persist if ks.persist(ctx, &a[1]) => {
            ks.modified(ctx, &a[1]);
            ks.notify(ctx, N::GENERIC, "persist", &a[1]);
            ctx.rewrite(vec![Bytes::from_static(b"PERSIST"), a[1].clone()]);
        }
        _ => {}
    }
}

pub fn mget(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ctx.out.array(a.len() - 1);
    for k in &a[1..] {
        match ks.lookup_read(ctx, k) {
            Some(Value::Str(s)) => ctx.out.bulk(s),
            _ => ctx.out.null(),
        }
    }
}

pub fn mset(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len().is_multiple_of(2) {
        ctx.error(super::arity_error("mset"));
        return;
    }
    for kv in a[1..].chunks(2) {
        ks.set_key(ctx, &kv[0], Value::Str(Thin::new(&kv[1])), false);
        ks.notify(ctx, N::STRING, "set", &kv[0]);
    }
    ctx.out.ok();
}

pub fn msetnx(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if a.len().is_multiple_of(2) {
        ctx.error(super::arity_error("msetnx"));
        return;
    }
    for kv in a[1..].chunks(2) {
        if ks.exists(ctx, &kv[0]) {
            ctx.out.int(0);
            return;
        }
    }
    for kv in a[1..].chunks(2) {
        ks.set_key(ctx, &kv[0], Value::Str(Thin::new(&kv[1])), false);
        ks.notify(ctx, N::STRING, "set", &kv[0]);
    }
    ctx.out.int(1);
}

fn incr_by(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], by: i64) {
    let Ok(cur) = write_lookup_str(ks, ctx, key) else { return };
    let old = match &cur {
        None => 0,
        Some(s) => match num::parse_i64(s) {
            Some(v) => v,
            None => return ctx.error(err::NOT_INT),
        },
    };
    let Some(new) = old.checked_add(by) else {
        return ctx.error(err::OVERFLOW);
    };
    let digits = crate::resp::reply::itoa_buf(new);
    match cur {
        // The key stays where it is (one lookup, its TTL kept), as Redis's dbOverwrite.
        Some(s) => {
            *s = Thin::new(digits.as_str().as_bytes());
            ks.overwritten(ctx, key);
        }
        None => ks.set_key(ctx, key, Value::Str(Thin::new(digits.as_str().as_bytes())), true),
    }
    ks.notify(ctx, N::STRING, "incrby", key);
    ctx.out.int(new);
}

pub fn incr(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    incr_by(ks, ctx, &a[1], 1)
}

pub fn decr(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    incr_by(ks, ctx, &a[1], -1)
}

pub fn incrby(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Some(by) = arg_i64(ctx, &a[2]) {
        incr_by(ks, ctx, &a[1], by)
    }
}

pub fn decrby(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Some(by) = arg_i64(ctx, &a[2]) {
        match by.checked_neg() {
            Some(n) => incr_by(ks, ctx, &a[1], n),
            None => ctx.error("ERR decrement would overflow"),
        }
    }
}

pub fn incrbyfloat(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(cur) = write_lookup_str(ks, ctx, &a[1]) else { return };
    let cur = match cur {
        None => LongDouble::zero(),
        Some(s) => match LongDouble::parse(s) {
            Some(v) => v,
            None => return ctx.error(err::NOT_FLOAT),
        },
    };
    let Some(by) = LongDouble::parse(&a[2]) else {
        return ctx.error(err::NOT_FLOAT);
    };
    let Some(text) = cur.add(&by).human() else {
        return ctx.error("ERR increment would produce NaN or Infinity");
    };
    let v = Bytes::from(text);
    ks.set_key(ctx, &a[1], Value::Str(Thin::new(&v)), true);
    ks.notify(ctx, N::STRING, "incrbyfloat", &a[1]);
    ctx.rewrite(vec![Bytes::from_static(b"SET"), a[1].clone(), v.clone(), Bytes::from_static(b"KEEPTTL")]);
    ctx.out.bulk(&v);
}

/// APPEND key value: grows the string in place (amortised, as Redis's sds), so a run of
/// appends costs what the appended bytes cost, however long the string.
pub fn append(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let max = max_bulk(ks);
    let len = match write_lookup_str(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(None) => {
            ks.set_key(ctx, &a[1], Value::Str(Thin::new(&a[2])), true);
            ks.notify(ctx, N::STRING, "append", &a[1]);
            return ctx.out.int(a[2].len() as i64);
        }
        Ok(Some(s)) => {
            if s.len() + a[2].len() > max {
                return ctx.error(err::BULK_TOO_BIG);
            }
            s.extend_from_slice(&a[2]);
            s.len()
        }
    };
    modified_in_place(ks, ctx, &a[1]);
    ks.notify(ctx, N::STRING, "append", &a[1]);
    ctx.out.int(len as i64);
}

/// After a string changed in place: a change (dirty, WATCH) and, as Redis's
/// dbUnshareStringValue, OBJECT ENCODING `raw`.
fn modified_in_place(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8]) {
    ks.modified(ctx, key);
    ks.mark_raw(ctx.db, key);
}

/// A new string key of `len` zero bytes (SETRANGE, SETBIT on a missing key), `raw` as Redis.
fn create_zeroed(ks: &mut Keyspace, ctx: &mut Ctx, key: &[u8], len: usize, fill: impl FnOnce(&mut [u8])) {
    let mut t = Thin::zeroed(len);
    fill(t.as_mut_slice());
    ks.set_key(ctx, key, Value::Str(t), true);
    ks.mark_raw(ctx.db, key);
}

pub fn strlen(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if let Ok(v) = read_str(ks, ctx, &a[1]) {
        ctx.out.int(v.map_or(0, |s| s.len() as i64));
    }
}

pub fn getrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (Some(mut start), Some(mut end)) = (num::parse_i64(&a[2]), num::parse_i64(&a[3])) else {
        return ctx.error(err::NOT_INT);
    };
    let Ok(v) = read_str(ks, ctx, &a[1]) else { return };
    let s = v.unwrap_or_default();
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return ctx.out.bulk(b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return ctx.out.bulk(b"");
    }
    ctx.out.bulk(&s[start as usize..=end as usize]);
}

pub fn setrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(offset) = arg_i64(ctx, &a[2]) else { return };
    if offset < 0 {
        return ctx.error("ERR offset is out of range");
    }
    let max = max_bulk(ks) as u64;
    let val = &a[3];
    let need = offset as u64 + val.len() as u64;
    let offset = offset as usize;
    let len = match write_lookup_str(ks, ctx, &a[1]) {
        Err(()) => return,
        // Setting nothing answers the current length and changes nothing.
        Ok(cur) if val.is_empty() => return ctx.out.int(cur.map_or(0, |s| s.len()) as i64),
        _ if need > max => return ctx.error(err::BULK_TOO_BIG),
        Ok(None) => {
            create_zeroed(ks, ctx, &a[1], need as usize, |b| b[offset..].copy_from_slice(val));
            ks.notify(ctx, N::STRING, "setrange", &a[1]);
            return ctx.out.int(need as i64);
        }
        Ok(Some(s)) => {
            s.grow_zeroed(need as usize);
            s.as_mut_slice()[offset..need as usize].copy_from_slice(val);
            s.len()
        }
    };
    modified_in_place(ks, ctx, &a[1]);
    ks.notify(ctx, N::STRING, "setrange", &a[1]);
    ctx.out.int(len as i64);
}

/// Parses a bit offset (SETBIT, GETBIT): non-negative and within proto-max-bulk-len bytes.
fn bit_offset(ks: &Keyspace, ctx: &mut Ctx, a: &[u8]) -> Option<u64> {
    match num::parse_i64(a) {
        Some(n) if n >= 0 && ((n >> 3) as u64) < max_bulk(ks) as u64 => Some(n as u64),
        _ => {
            ctx.error("ERR bit offset is not an integer or out of range");
            None
        }
    }
}

/// SETBIT key offset 0|1: in place; as Redis, the key is created or grown (zero-filled) to
/// hold the bit.
pub fn setbit(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(offset) = bit_offset(ks, ctx, &a[2]) else { return };
    let on = match num::parse_i64(&a[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return ctx.error("ERR bit is not an integer or out of range"),
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u8;
    let set = |b: &mut u8| {
        let old = (*b >> shift) & 1;
        *b = (*b & !(1 << shift)) | (on << shift);
        old
    };
    let changed;
    let old = match write_lookup_str(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(None) => {
            create_zeroed(ks, ctx, &a[1], byte + 1, |b| {
                set(&mut b[byte]);
            });
            ks.notify(ctx, N::STRING, "setbit", &a[1]);
            return ctx.out.int(0);
        }
        Ok(Some(s)) => {
            let grew = s.len() <= byte;
            s.grow_zeroed(byte + 1);
            let old = set(&mut s.as_mut_slice()[byte]);
            changed = grew || old != on;
            old
        }
    };
    // As Redis 7.0: a change only when the string grew or the bit flipped (`raw` either way).
    if changed {
        modified_in_place(ks, ctx, &a[1]);
        ks.notify(ctx, N::STRING, "setbit", &a[1]);
    } else {
        ks.mark_raw(ctx.db, &a[1]);
    }
    ctx.out.int(old as i64);
}

pub fn getbit(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(offset) = bit_offset(ks, ctx, &a[2]) else { return };
    let Ok(cur) = read_str(ks, ctx, &a[1]) else { return };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u8;
    let bit = cur.as_ref().and_then(|s| s.get(byte)).map_or(0, |b| (b >> shift) & 1);
    ctx.out.int(bit as i64);
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`
pub fn lcs(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut vals = [Bytes::new(), Bytes::new()];
    for (i, k) in a[1..3].iter().enumerate() {
        match ks.lookup_read(ctx, k) {
            None => {}
            Some(Value::Str(s)) => vals[i] = s.to_bytes(),
            Some(_) => return ctx.error("ERR The specified keys must contain string values"),
        }
    }
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < a.len() {
        let o = &a[j];
        if eq(o, "IDX") {
            getidx = true;
        } else if eq(o, "LEN") {
            getlen = true;
        } else if eq(o, "WITHMATCHLEN") {
            withmatchlen = true;
        } else if eq(o, "MINMATCHLEN") && j + 1 < a.len() {
            let Some(n) = arg_i64(ctx, &a[j + 1]) else { return };
            minmatchlen = n.max(0);
            j += 1;
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    if getlen && getidx {
        return ctx.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (x, y) = (&vals[0][..], &vals[1][..]);
    let (xl, yl) = (x.len(), y.len());
    let cells = (xl as u64 + 1) * (yl as u64 + 1);
    if cells.saturating_mul(4) > max_bulk(ks) as u64 {
        return ctx.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    // table[i*(yl+1)+j]: LCS length of x[..i] and y[..j].
    let w = yl + 1;
    let mut t = vec![0u32; cells as usize];
    for i in 1..=xl {
        for j in 1..=yl {
            t[i * w + j] = if x[i - 1] == y[j - 1] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let total = t[xl * w + yl];
    if getlen {
        return ctx.out.int(total as i64);
    }
    // Walk back from the end, collecting the LCS and the matching ranges (last first).
    let mut res = vec![0u8; total as usize];
    let mut ranges: Vec<[usize; 4]> = vec![];
    let mut cur: Option<[usize; 4]> = None; // a_start, a_end, b_start, b_end
    let (mut i, mut j, mut idx) = (xl, yl, total as usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if x[i - 1] == y[j - 1] {
            res[idx - 1] = x[i - 1];
            match cur.as_mut() {
                None => cur = Some([i - 1, i - 1, j - 1, j - 1]),
                Some(r) if r[0] == i && r[2] == j => {
                    r[0] -= 1;
                    r[2] -= 1;
                }
                Some(_) => emit = true,
            }
            if cur.is_some_and(|r| r[0] == 0 || r[2] == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some(r) = cur.take() {
                let len = (r[1] - r[0] + 1) as i64;
                if minmatchlen == 0 || len >= minmatchlen {
                    ranges.push(r);
                }
            }
        }
    }
    if !getidx {
        return ctx.out.bulk(&res);
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for r in &ranges {
        ctx.out.array(2 + withmatchlen as usize);
        ctx.out.array(2);
        ctx.out.int(r[0] as i64);
        ctx.out.int(r[1] as i64);
        ctx.out.array(2);
        ctx.out.int(r[2] as i64);
        ctx.out.int(r[3] as i64);
        if withmatchlen {
            ctx.out.int((r[1] - r[0] + 1) as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(total as i64);
}
