//! SORT and SORT_RO (Redis's sort.c): a list, set or sorted set sorted numerically or
//! lexicographically, by its own elements or by weights looked up through a `BY` pattern,
//! with `LIMIT`, `GET` patterns (`#`, `key*`, `hash*->field`) and `STORE` into a list.

use super::Route::Keyspace as K;
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::longdouble::sort_weight;
use crate::util::num;
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;

crate::command_specs! {
    "sort", -2, "write denyoom movablekeys", 1, 1, 1, "generic", K(sort), "Sort the elements in a list, set or sorted set";
    "sort_ro", -2, "readonly movablekeys", 1, 1, 1, "generic", K(sort_ro), "Sort the elements in a list, set or sorted set. Read-only variant of SORT.";
}

pub fn sort(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    sort_generic(ks, ctx, a, false)
}

pub fn sort_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    sort_generic(ks, ctx, a, true)
}

/// The parsed options.
struct Options {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<Bytes>,
    /// BY a pattern without `*`: nothing to sort.
    dont_sort: bool,
    gets: Vec<Bytes>,
    store: Option<Bytes>,
}

fn parse(ctx: &mut Ctx, a: &[Bytes], read_only: bool) -> Option<Options> {
    let mut o = Options { desc: false, alpha: false, limit: None, by: None, dont_sort: false, gets: Vec::new(), store: None };
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let arg = &a[j];
        if eq(arg, "ASC") {
            o.desc = false;
        } else if eq(arg, "DESC") {
            o.desc = true;
        } else if eq(arg, "ALPHA") {
            o.alpha = true;
        } else if eq(arg, "LIMIT") && left >= 2 {
            let (Some(start), Some(count)) = (num::parse_i64(&a[j + 1]), num::parse_i64(&a[j + 2])) else {
                ctx.error(err::NOT_INT);
                return None;
            };
            o.limit = Some((start, count));
            j += 2;
        } else if !read_only && eq(arg, "STORE") && left >= 1 {
            o.store = Some(a[j + 1].clone());
            j += 1;
        } else if eq(arg, "BY") && left >= 1 {
            o.dont_sort = !a[j + 1].contains(&b'*');
            o.by = Some(a[j + 1].clone());
            j += 1;
        } else if eq(arg, "GET") && left >= 1 {
            o.gets.push(a[j + 1].clone());
            j += 1;
        } else {
            ctx.error(err::SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is
/// replaced by the element, and a `->field` after it reads that hash field. A pattern
/// without `*`, a missing key or a key of another type gives nothing.
fn by_pattern(ks: &mut Keyspace, ctx: &mut Ctx, pattern: &[u8], elem: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(elem.clone());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let field = after.windows(2).position(|w| w == b"->").filter(|&f| f + 2 < after.len());
    let postfix = match field {
        Some(f) => &after[..f],
        None => after,
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    match (ks.lookup_read(ctx, &key)?, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(f)) => h.get(&after[f + 2..]).cloned(),
        _ => None,
    }
}

/// One element to sort, with what it sorts by.
struct Item {
    elem: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

fn sort_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], read_only: bool) {
    let Some(mut o) = parse(ctx, a, read_only) else { return };
    // The elements, in the value's own order (a set's as SMEMBERS lists it).
    let lim = super::hashes::limits(ks);
    let (elems, is_set): (Vec<Bytes>, bool) = match ks.lookup_read(ctx, &a[1]) {
        None => (Vec::new(), false),
        Some(Value::List(l)) => (l.iter().cloned().collect(), false),
        Some(Value::Set(s)) => (s.members(&lim).into_iter().cloned().collect(), true),
        Some(Value::ZSet(z)) => (z.order.iter().map(|(_, m)| m.clone()).collect(), false),
        Some(_) => return ctx.error(err::WRONGTYPE),
    };
    if o.dont_sort && is_set && (o.store.is_some() || ks.in_script()) {
        // A set has no order of its own: what a replica stores (or a script sees) must not
        // depend on its table.
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = elems.len() as i64;
    let (lstart, lcount) = o.limit.unwrap_or((0, -1));
    let mut start = lstart.max(0).min(len);
    let count = lcount.max(-1).min(len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    let mut items: Vec<Item> = if o.dont_sort && !is_set {
        // Native order, DESC reversed, the range taken directly.
        let mut v: Vec<Bytes> = elems;
        if o.desc {
            v.reverse();
        }
        v.into_iter().map(|elem| Item { elem, score: 0.0, cmp: None }).collect()
    } else {
        elems.into_iter().map(|elem| Item { elem, score: 0.0, cmp: None }).collect()
    };
    if !o.dont_sort {
        let mut bad_weight = false;
        for it in items.iter_mut() {
            let by = match &o.by {
                Some(p) => match by_pattern(ks, ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match sort_weight(&by) {
                    Some(w) => it.score = w,
                    None => bad_weight = true,
                }
            }
        }
        let (alpha, by, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|x, y| {
            let c = if !alpha {
                x.score.partial_cmp(&y.score).unwrap_or(Ordering::Equal).then_with(|| x.elem.cmp(&y.elem))
            } else if by {
                match (&x.cmp, &y.cmp) {
                    (Some(p), Some(q)) => p.cmp(q),
                    (None, None) => Ordering::Equal,
                    (None, _) => Ordering::Less,
                    (_, None) => Ordering::Greater,
                }
            } else {
                x.elem.cmp(&y.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
        if bad_weight {
            return ctx.error("ERR One or more scores can't be converted into double");
        }
    }
    let picked: &[Item] = if end >= start { &items[start as usize..=end as usize] } else { &[] };
    match o.store.take() {
        None => reply(ks, ctx, &o, picked),
        Some(dst) => store(ks, ctx, &o, picked, &dst),
    }
}

fn reply(ks: &mut Keyspace, ctx: &mut Ctx, o: &Options, picked: &[Item]) {
    let per = if o.gets.is_empty() { 1 } else { o.gets.len() };
    ctx.out.array(picked.len() * per);
    for it in picked {
        if o.gets.is_empty() {
            ctx.out.bulk(&it.elem);
        }
        for g in &o.gets {
            match by_pattern(ks, ctx, g, &it.elem) {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        }
    }
}

/// STORE: the result as a list (a missing GET value as an empty string); nothing to store
/// deletes the destination.
fn store(ks: &mut Keyspace, ctx: &mut Ctx, o: &Options, picked: &[Item], dst: &[u8]) {
    let mut list = VecDeque::new();
    for it in picked {
        if o.gets.is_empty() {
            list.push_back(Bytes::copy_from_slice(&it.elem));
        }
        for g in &o.gets {
            list.push_back(by_pattern(ks, ctx, g, &it.elem).map(|v| Bytes::copy_from_slice(&v)).unwrap_or_default());
        }
    }
    let n = list.len();
    if n > 0 {
        ks.set_key(ctx, dst, Value::List(Arc::new(list)), false);
        ks.notify(ctx, N::LIST, "sortstore", dst);
        ctx.dirty += n as u64 - 1;
    } else if ks.delete(ctx, dst) {
        ks.notify(ctx, N::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}
