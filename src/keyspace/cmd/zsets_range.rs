//! Sorted-set ranges (by rank, score and lex), range removal, and the set operations
//! (ZUNION/ZINTER/ZDIFF, their STORE forms, ZINTERCARD). See [`super::zsets`].

use super::zsets::{limits, read_zset, reply_members, write_zset, after_change};
use super::{arg_i64, eq, err};
use crate::keyspace::value::{Score, ZSet};
use crate::config::notify as N;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::util::num;
use bytes::Bytes;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

// ----- ranges ----------------------------------------------------------------------------

/// A score interval; `(` makes an end exclusive.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex { v > self.min } else { v >= self.min }
    }
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex { v < self.max } else { v <= self.max }
    }
    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// `strtod` over the whole argument, as Redis parses range ends: leading blanks allowed,
/// overflow gives infinity, an empty string is 0; NaN is refused.
fn strtod_full(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let t = &s[start..];
    let unsigned = t.strip_prefix(b"-").or_else(|| t.strip_prefix(b"+")).unwrap_or(t);
    let v = if unsigned.len() > 1 && unsigned[0] == b'0' && (unsigned[1] | 0x20) == b'x' {
        num::parse_f64(t)?
    } else {
        std::str::from_utf8(t).ok()?.parse::<f64>().ok()?
    };
    (!v.is_nan()).then_some(v)
}

fn parse_score_bound(s: &[u8]) -> Option<(f64, bool)> {
    match s.first() {
        Some(b'(') => strtod_full(&s[1..]).map(|v| (v, true)),
        _ => strtod_full(s).map(|v| (v, false)),
    }
}

pub fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_score_bound(min)?;
    let (max, maxex) = parse_score_bound(max)?;
    Some(ScoreRange { min, max, minex, maxex })
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug)]
pub enum LexBound {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

#[derive(Clone, Debug)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

fn parse_lex_bound(s: &[u8]) -> Option<LexBound> {
    match s.first()? {
        b'+' if s.len() == 1 => Some(LexBound::Max),
        b'-' if s.len() == 1 => Some(LexBound::Min),
        b'(' => Some(LexBound::Excl(Bytes::copy_from_slice(&s[1..]))),
        b'[' => Some(LexBound::Incl(Bytes::copy_from_slice(&s[1..]))),
        _ => None,
    }
}

pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange { min: parse_lex_bound(min)?, max: parse_lex_bound(max)? })
}

impl LexRange {
    pub fn gte_min(&self, v: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(b) => v >= &b[..],
            LexBound::Excl(b) => v > &b[..],
        }
    }
    pub fn lte_max(&self, v: &[u8]) -> bool {
        match &self.max {
            LexBound::Max => true,
            LexBound::Min => false,
            LexBound::Incl(b) => v <= &b[..],
            LexBound::Excl(b) => v < &b[..],
        }
    }
    /// Redis's `sdscmplex` test: min above max, or equal with an open end.
    fn is_empty(&self) -> bool {
        use std::cmp::Ordering::*;
        use LexBound::*;
        let (cmp, ex) = match (&self.min, &self.max) {
            (Min, Min) | (Max, Max) => (Equal, true),
            (Min, _) | (_, Max) => (Less, false),
            (Max, _) | (_, Min) => (Greater, false),
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => {
                (a.cmp(b), matches!(self.min, Excl(_)) || matches!(self.max, Excl(_)))
            }
        };
        cmp == Greater || (cmp == Equal && ex)
    }
}

type Entry = (Score, Bytes);

fn to_item(e: &Entry) -> (Bytes, f64) {
    (e.1.clone(), e.0 .0)
}

/// Members by rank, Redis's index rules (negative from the end, clamped).
pub fn rank_items(z: &ZSet, start: i64, end: i64, rev: bool) -> Vec<(Bytes, f64)> {
    let len = z.len() as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return vec![];
    }
    if end >= len {
        end = len - 1;
    }
    let n = (end - start + 1) as usize;
    if rev {
        z.order.iter().rev().skip(start as usize).take(n).map(to_item).collect()
    } else {
        z.order.iter().skip(start as usize).take(n).map(to_item).collect()
    }
}

/// The members within a score range, in order (or reverse order).
fn score_iter<'a>(z: &'a ZSet, r: &'a ScoreRange, rev: bool) -> Box<dyn Iterator<Item = &'a Entry> + 'a> {
    if r.is_empty() {
        return Box::new(std::iter::empty());
    }
    if !rev {
        let it = z
            .order
            .range((Score(r.min), Bytes::new())..)
            .skip_while(move |e| !r.gte_min(e.0 .0))
            .take_while(move |e| r.lte_max(e.0 .0));
        Box::new(it)
    } else {
        let at_max: Vec<&Entry> =
            z.order.range((Score(r.max), Bytes::new())..).take_while(|e| e.0 .0 == r.max).collect();
        let below = z.order.range(..(Score(r.max), Bytes::new())).rev();
        let it = at_max
            .into_iter()
            .rev()
            .chain(below)
            .skip_while(move |e| !r.lte_max(e.0 .0))
            .take_while(move |e| r.gte_min(e.0 .0));
        Box::new(it)
    }
}

/// The single score of a set whose members all share one (then lex order is member order).
fn uniform_score(z: &ZSet) -> Option<Score> {
    let first = z.order.first()?;
    let last = z.order.last()?;
    (first.0 .0 == last.0 .0).then_some(first.0)
}

/// The members within a lex range. Like Redis, the range is searched as if the set were
/// ordered by member: the first member past `min`, then on while below `max`.
fn lex_iter<'a>(z: &'a ZSet, r: &'a LexRange, rev: bool) -> Box<dyn Iterator<Item = &'a Entry> + 'a> {
    let (Some(first), Some(last)) = (z.order.first(), z.order.last()) else {
        return Box::new(std::iter::empty());
    };
    if r.is_empty() || !r.gte_min(&last.1) || !r.lte_max(&first.1) {
        return Box::new(std::iter::empty());
    }
    let u = uniform_score(z);
    if !rev {
        let it = match (&r.min, u) {
            (LexBound::Incl(b) | LexBound::Excl(b), Some(s)) => z.order.range((s, b.clone())..),
            _ => z.order.range::<Entry, _>(..),
        };
        Box::new(it.skip_while(move |e| !r.gte_min(&e.1)).take_while(move |e| r.lte_max(&e.1)))
    } else {
        let it = match (&r.max, u) {
            (LexBound::Incl(b), Some(s)) => z.order.range((Bound::Unbounded, Bound::Included((s, b.clone())))),
            (LexBound::Excl(b), Some(s)) => z.order.range((Bound::Unbounded, Bound::Excluded((s, b.clone())))),
            _ => z.order.range::<Entry, _>(..),
        };
        Box::new(it.rev().skip_while(move |e| !r.lte_max(&e.1)).take_while(move |e| r.gte_min(&e.1)))
    }
}

/// Applies LIMIT offset count the way Redis walks it (a negative offset skips everything,
/// a negative count means no limit).
fn limited<'a>(it: Box<dyn Iterator<Item = &'a Entry> + 'a>, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    if offset < 0 {
        return vec![];
    }
    let it = it.skip(offset as usize);
    if limit < 0 {
        it.map(to_item).collect()
    } else {
        it.take(limit as usize).map(to_item).collect()
    }
}

// ----- ZRANGE and friends ----------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Auto,
    Fwd,
    Rev,
}

/// The common ZRANGE engine: `src` is the index of the source key, `dst` is set for
/// ZRANGESTORE.
fn zrange_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], src: usize, dst: Option<&Bytes>, mut rt: RangeType, mut dir: Dir) {
    let store = dst.is_some();
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = src + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && eq(&a[j], "WITHSCORES") {
            withscores = true;
        } else if eq(&a[j], "LIMIT") && left >= 2 {
            let Some(o) = arg_i64(ctx, &a[j + 1]) else { return };
            let Some(l) = arg_i64(ctx, &a[j + 2]) else { return };
            offset = o;
            limit = l;
            j += 2;
        } else if dir == Dir::Auto && eq(&a[j], "REV") {
            dir = Dir::Rev;
        } else if rt == RangeType::Auto && eq(&a[j], "BYLEX") {
            rt = RangeType::Lex;
        } else if rt == RangeType::Auto && eq(&a[j], "BYSCORE") {
            rt = RangeType::Score;
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    let rev = dir == Dir::Rev;
    if rt == RangeType::Auto {
        rt = RangeType::Rank;
    }
    if limit != -1 && rt == RangeType::Rank {
        return ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && rt == RangeType::Lex {
        return ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let (mut lo, mut hi) = (&a[src + 1], &a[src + 2]);
    if rev && rt != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rt {
        RangeType::Score => match parse_score_range(lo, hi) {
            Some(r) => Parsed::Score(r),
            None => return ctx.error("ERR min or max is not a float"),
        },
        RangeType::Lex => match parse_lex_range(lo, hi) {
            Some(r) => Parsed::Lex(r),
            None => return ctx.error("ERR min or max not valid string range item"),
        },
        _ => {
            let Some(s) = arg_i64(ctx, lo) else { return };
            let Some(e) = arg_i64(ctx, hi) else { return };
            Parsed::Rank(s, e)
        }
    };
    let Ok(z) = read_zset(ks, ctx, &a[src]) else { return };
    let items = match &z {
        None => vec![],
        Some(z) => match &parsed {
            Parsed::Rank(s, e) => rank_items(z, *s, *e, rev),
            Parsed::Score(r) => {
                if offset > 0 && offset as usize >= z.len() {
                    vec![]
                } else {
                    limited(score_iter(z, r, rev), offset, limit)
                }
            }
            Parsed::Lex(r) => limited(lex_iter(z, r, rev), offset, limit),
        },
    };
    drop(z);
    match dst {
        Some(dst) => store_result(ks, ctx, dst, items, "zrangestore"),
        None => reply_members(ctx, &items, withscores),
    }
}

/// Stores a result set under `dst` (deleting `dst` when empty) and replies with its size.
/// `event` is published (class z) on a store, `del` (class g) when an existing `dst` goes.
fn store_result(ks: &mut Keyspace, ctx: &mut Ctx, dst: &[u8], items: Vec<(Bytes, f64)>, event: &str) {
    if items.is_empty() {
        // As Redis: the reply first, then the destination goes (`del`).
        ctx.out.int(0);
        if !ks.expire_if_needed(ctx, dst) && ks.delete(ctx, dst) {
            ks.notify(ctx, N::GENERIC, "del", dst);
        }
        return;
    }
    let mut z = ZSet { skiplist: true, ..ZSet::default() };
    for (m, s) in items {
        z.insert(m, s);
    }
    z.fit_encoding(limits(ks));
    let n = z.len();
    ks.set_key(ctx, dst, Value::ZSet(Arc::new(z)), false);
    ks.signal_ready(ctx.db, dst);
    ctx.out.int(n as i64);
    ks.notify(ctx, N::ZSET, event, dst);
}

pub fn zrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Auto, Dir::Auto)
}

pub fn zrangestore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let dst = a[1].clone();
    zrange_generic(ks, ctx, a, 2, Some(&dst), RangeType::Auto, Dir::Auto)
}

pub fn zrevrange(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Rank, Dir::Rev)
}

pub fn zrangebyscore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Score, Dir::Fwd)
}

pub fn zrevrangebyscore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Score, Dir::Rev)
}

pub fn zrangebylex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Lex, Dir::Fwd)
}

pub fn zrevrangebylex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    zrange_generic(ks, ctx, a, 1, None, RangeType::Lex, Dir::Rev)
}

pub fn zcount(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(r) = parse_score_range(&a[2], &a[3]) else {
        return ctx.error("ERR min or max is not a float");
    };
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    ctx.out.int(z.map_or(0, |z| score_iter(&z, &r, false).count() as i64));
}

pub fn zlexcount(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(r) = parse_lex_range(&a[2], &a[3]) else {
        return ctx.error("ERR min or max not valid string range item");
    };
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    ctx.out.int(z.map_or(0, |z| lex_iter(&z, &r, false).count() as i64));
}

// ----- ZREMRANGEBY* ----------------------------------------------------------------------

enum RemRange {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zremrange_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], r: RemRange) {
    let key = &a[1];
    let Ok(z) = write_zset(ks, ctx, key) else { return };
    let Some(z) = z else { return ctx.out.int(0) };
    let victims: Vec<(Bytes, f64)> = match &r {
        RemRange::Rank(s, e) => rank_items(z, *s, *e, false),
        RemRange::Score(r) => score_iter(z, r, false).map(to_item).collect(),
        RemRange::Lex(r) => lex_iter(z, r, false).map(to_item).collect(),
    };
    for (m, _) in &victims {
        z.remove(m);
    }
    let empty = z.is_empty();
    let event = match r {
        RemRange::Rank(..) => "zremrangebyrank",
        RemRange::Score(_) => "zremrangebyscore",
        RemRange::Lex(_) => "zremrangebylex",
    };
    after_change(ks, ctx, key, victims.len(), empty, event);
    ctx.out.int(victims.len() as i64);
}

pub fn zremrangebyrank(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(s) = arg_i64(ctx, &a[2]) else { return };
    let Some(e) = arg_i64(ctx, &a[3]) else { return };
    zremrange_generic(ks, ctx, a, RemRange::Rank(s, e))
}

pub fn zremrangebyscore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    match parse_score_range(&a[2], &a[3]) {
        Some(r) => zremrange_generic(ks, ctx, a, RemRange::Score(r)),
        None => ctx.error("ERR min or max is not a float"),
    }
}

pub fn zremrangebylex(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    match parse_lex_range(&a[2], &a[3]) {
        Some(r) => zremrange_generic(ks, ctx, a, RemRange::Lex(r)),
        None => ctx.error("ERR min or max not valid string range item"),
    }
}

// ----- set operations --------------------------------------------------------------------

/// An input of a set operation: a sorted set, a plain set (scores 1), or nothing.
enum Src {
    None,
    Z(Arc<ZSet>),
    S(Arc<crate::keyspace::value::SetObj>),
}

impl Src {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn get(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::None => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
    fn iter(&self) -> Box<dyn Iterator<Item = (&Bytes, f64)> + '_> {
        match self {
            Src::None => Box::new(std::iter::empty()),
            Src::Z(z) => Box::new(z.order.iter().map(|(s, m)| (m, s.0))),
            Src::S(s) => Box::new(s.iter().map(|m| (m, 1.0))),
        }
    }
    fn same(&self, o: &Src) -> bool {
        match (self, o) {
            (Src::Z(a), Src::Z(b)) => Arc::ptr_eq(a, b),
            (Src::S(a), Src::S(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if v < *target {
                *target = v
            }
        }
        Agg::Max => {
            if v > *target {
                *target = v
            }
        }
    }
}

/// ZUNION/ZINTER/ZDIFF[STORE], ZINTERCARD. `nk` is the index of numkeys.
fn setop_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], nk: usize, dst: Option<&Bytes>, op: Op, card_only: bool, name: &str) {
    let Some(setnum) = arg_i64(ctx, &a[nk]) else { return };
    if setnum < 1 {
        return ctx.error(format!("ERR at least 1 input key is needed for '{}' command", name));
    }
    if setnum as usize > a.len() - (nk + 1) {
        return ctx.error(err::SYNTAX);
    }
    let setnum = setnum as usize;
    let mut srcs = Vec::with_capacity(setnum);
    for k in &a[nk + 1..nk + 1 + setnum] {
        srcs.push(match ks.lookup_read(ctx, k) {
            None => Src::None,
            Some(Value::ZSet(z)) => Src::Z(z.clone()),
            Some(Value::Set(s)) => Src::S(s.clone()),
            Some(_) => return ctx.error(err::WRONGTYPE),
        });
    }
    let mut weights = vec![1.0f64; setnum];
    let (mut agg, mut withscores, mut limit) = (Agg::Sum, false, 0usize);
    let mut j = nk + 1 + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != Op::Diff && !card_only && remaining > setnum && eq(&a[j], "WEIGHTS") {
            j += 1;
            for w in weights.iter_mut() {
                match num::parse_f64(&a[j]) {
                    Some(v) => *w = v,
                    None => return ctx.error("ERR weight value is not a float"),
                }
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && eq(&a[j], "AGGREGATE") {
            let v = &a[j + 1];
            agg = if eq(v, "SUM") {
                Agg::Sum
            } else if eq(v, "MIN") {
                Agg::Min
            } else if eq(v, "MAX") {
                Agg::Max
            } else {
                return ctx.error(err::SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq(&a[j], "WITHSCORES") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq(&a[j], "LIMIT") {
            match num::parse_i64(&a[j + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.error(err::SYNTAX);
        }
    }
    // Smallest inputs first (Redis's order, which also fixes how sums accumulate).
    let mut idx: Vec<usize> = (0..setnum).collect();
    if op != Op::Diff {
        idx.sort_by_key(|&i| srcs[i].len());
    }
    let mut result: Vec<(Bytes, f64)> = vec![];
    let mut card = 0usize;
    match op {
        Op::Inter => {
            let first = &srcs[idx[0]];
            if first.len() > 0 {
                for (m, s0) in first.iter() {
                    let mut score = weights[idx[0]] * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut all = true;
                    for &i in &idx[1..] {
                        let v = if srcs[i].same(first) { Some(s0) } else { srcs[i].get(m) };
                        match v {
                            Some(v) => aggregate(&mut score, v * weights[i], agg),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if !all {
                        continue;
                    }
                    if card_only {
                        card += 1;
                        if limit > 0 && card >= limit {
                            break;
                        }
                    } else {
                        result.push((m.clone(), score));
                    }
                }
            }
        }
        Op::Union => {
            let mut acc: HashMap<Bytes, f64> = HashMap::new();
            for &i in &idx {
                for (m, s) in srcs[i].iter() {
                    let mut score = weights[i] * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            acc.insert(m.clone(), score);
                        }
                    }
                }
            }
            result = acc.into_iter().collect();
        }
        Op::Diff => {
            for (m, s) in srcs[0].iter() {
                if !srcs[1..].iter().any(|o| o.get(m).is_some()) {
                    result.push((m.clone(), s));
                }
            }
        }
    }
    drop(srcs);
    if card_only {
        return ctx.out.int(card as i64);
    }
    if let Some(dst) = dst {
        return store_result(ks, ctx, dst, result, name);
    }
    result.sort_by(|x, y| (Score(x.1), &x.0).cmp(&(Score(y.1), &y.0)));
    reply_members(ctx, &result, withscores);
}

pub fn zunionstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let d = a[1].clone();
    setop_generic(ks, ctx, a, 2, Some(&d), Op::Union, false, "zunionstore")
}

pub fn zinterstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let d = a[1].clone();
    setop_generic(ks, ctx, a, 2, Some(&d), Op::Inter, false, "zinterstore")
}

pub fn zdiffstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let d = a[1].clone();
    setop_generic(ks, ctx, a, 2, Some(&d), Op::Diff, false, "zdiffstore")
}

pub fn zunion(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    setop_generic(ks, ctx, a, 1, None, Op::Union, false, "zunion")
}

pub fn zinter(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    setop_generic(ks, ctx, a, 1, None, Op::Inter, false, "zinter")
}

pub fn zdiff(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    setop_generic(ks, ctx, a, 1, None, Op::Diff, false, "zdiff")
}

pub fn zintercard(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    setop_generic(ks, ctx, a, 1, None, Op::Inter, true, "zintercard")
}
