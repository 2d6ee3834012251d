//! Geo commands (Redis's geo.c): positions are sorted-set members scored by their 52-bit
//! geohash cell ([`crate::util::geohash`]). GEOADD is a ZADD (and propagates as one, with the
//! scores); searches scan the cells around the shape in Redis's order, so replies, sorting and
//! stored results are Redis's.

use super::Route::Keyspace as K;
use super::zsets::{limits, read_zset};
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::value::{Score, ZSet};
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::resp::Out;
use crate::util::geohash::{self, Search, Shape};
use crate::util::longdouble::LongDouble;
use crate::util::num;
use bytes::Bytes;
use std::sync::Arc;

crate::command_specs! {
    "geoadd", -5, "write denyoom", 1, 1, 1, "geo", K(geoadd), "Add one or more geospatial items in the geospatial index represented using a sorted set";
    "geodist", -4, "readonly", 1, 1, 1, "geo", K(geodist), "Returns the distance between two members of a geospatial index";
    "geohash", -2, "readonly", 1, 1, 1, "geo", K(geohash), "Returns members of a geospatial index as standard geohash strings";
    "geopos", -2, "readonly", 1, 1, 1, "geo", K(geopos), "Returns longitude and latitude of members of a geospatial index";
    "georadius", -6, "write denyoom movablekeys", 1, 1, 1, "geo", K(georadius), "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point";
    "georadius_ro", -6, "readonly", 1, 1, 1, "geo", K(georadius_ro), "A read-only variant for GEORADIUS";
    "georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1, "geo", K(georadiusbymember), "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member";
    "georadiusbymember_ro", -5, "readonly", 1, 1, 1, "geo", K(georadiusbymember_ro), "A read-only variant for GEORADIUSBYMEMBER";
    "geosearch", -7, "readonly", 1, 1, 1, "geo", K(geosearch), "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.";
    "geosearchstore", -8, "write denyoom", 1, 2, 1, "geo", K(geosearchstore), "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.";
}

/// A float argument (`strtod` rules); `msg` replaces Redis's default error text.
fn float_arg(ctx: &mut Ctx, a: &[u8], msg: Option<&str>) -> Option<f64> {
    let v = num::parse_f64(a);
    if v.is_none() {
        match msg {
            Some(m) => ctx.error(format!("ERR {m}")),
            None => ctx.error(err::NOT_FLOAT),
        }
    }
    v
}

/// `lon lat`, within the limits of a stored position.
fn lonlat(ctx: &mut Ctx, a: &[Bytes]) -> Option<(f64, f64)> {
    let lon = float_arg(ctx, &a[0], None)?;
    let lat = float_arg(ctx, &a[1], None)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat) {
        ctx.error(format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"));
        return None;
    }
    Some((lon, lat))
}

/// Meters per unit (m, km, ft, mi).
fn unit(ctx: &mut Ctx, a: &[u8]) -> Option<f64> {
    let m = match a {
        u if eq(u, "m") => 1.0,
        u if eq(u, "km") => 1000.0,
        u if eq(u, "ft") => 0.3048,
        u if eq(u, "mi") => 1609.34,
        _ => {
            ctx.error("ERR unsupported unit provided. please use M, KM, FT, MI");
            return None;
        }
    };
    Some(m)
}

/// `radius unit`.
fn radius(ctx: &mut Ctx, a: &[Bytes]) -> Option<(f64, f64)> {
    let r = float_arg(ctx, &a[0], Some("need numeric radius"))?;
    if r < 0.0 {
        ctx.error("ERR radius cannot be negative");
        return None;
    }
    Some((r, unit(ctx, &a[1])?))
}

/// `width height unit`.
fn boxed(ctx: &mut Ctx, a: &[Bytes]) -> Option<(f64, f64, f64)> {
    let w = float_arg(ctx, &a[0], Some("need numeric width"))?;
    let h = float_arg(ctx, &a[1], Some("need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        ctx.error("ERR height or width cannot be negative");
        return None;
    }
    Some((w, h, unit(ctx, &a[2])?))
}

/// A distance as Redis prints it: rounded to 4 decimals (half to even on the scaled value).
fn distance_text(d: f64) -> String {
    let scaled = (d * 10000.0).round_ties_even() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let v = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", v / 10000, v % 10000)
}

/// A coordinate as Redis prints it (`%.17Lf` of the long double, trailing zeros cut): a bulk
/// string in RESP2, a double in RESP3.
fn coordinate(out: &mut Out, v: f64) {
    let text = LongDouble::from_f64(v).human().unwrap_or_else(|| "0".into());
    if out.resp3 {
        out.raw(format!(",{text}\r\n").as_bytes());
    } else {
        out.bulk(text.as_bytes());
    }
}

/// `GEOADD key [NX|XX] [CH] lon lat member ...`: the positions become scores and the command
/// a ZADD, which replies and is what replicas receive.
pub fn geoadd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < a.len() {
        match &a[first] {
            o if eq(o, "NX") => nx = true,
            o if eq(o, "XX") => xx = true,
            o if eq(o, "CH") => {}
            _ => break,
        }
        first += 1;
    }
    if (a.len() - first) % 3 != 0 || (nx && xx) {
        return ctx.error(err::SYNTAX);
    }
    let mut zadd: Vec<Bytes> = Vec::with_capacity(first + (a.len() - first) / 3 * 2);
    zadd.push(Bytes::from_static(b"zadd"));
    zadd.extend_from_slice(&a[1..first]);
    for item in a[first..].chunks_exact(3) {
        let Some((lon, lat)) = lonlat(ctx, &item[..2]) else { return };
        let score = geohash::lonlat_to_score(lon, lat).unwrap_or(0);
        zadd.push(Bytes::from(score.to_string()));
        zadd.push(item[2].clone());
    }
    super::zsets::zadd(ks, ctx, &zadd);
    if ctx.dirty > 0 {
        ctx.rewrite(zadd);
    }
}

/// `GEODIST key member1 member2 [unit]`.
pub fn geodist(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let to_meters = match a.len() {
        4 => 1.0,
        5 => match unit(ctx, &a[4]) {
            Some(u) => u,
            None => return,
        },
        _ => return ctx.error(err::SYNTAX),
    };
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    let Some(z) = z else { return ctx.out.null() };
    let (Some(s1), Some(s2)) = (z.score(&a[2]), z.score(&a[3])) else { return ctx.out.null() };
    let (lon1, lat1) = geohash::score_to_lonlat(s1);
    let (lon2, lat2) = geohash::score_to_lonlat(s2);
    ctx.out.bulk(distance_text(geohash::distance(lon1, lat1, lon2, lat2) / to_meters).as_bytes());
}

/// `GEOHASH key member ...`: 11-character standard geohashes.
pub fn geohash(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    ctx.out.array(a.len() - 2);
    for m in &a[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => ctx.out.bulk(geohash::standard_geohash(s).as_bytes()),
            None => ctx.out.null(),
        }
    }
}

/// `GEOPOS key member ...`: [lon, lat] of each, a null array for a missing one.
pub fn geopos(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Ok(z) = read_zset(ks, ctx, &a[1]) else { return };
    ctx.out.array(a.len() - 2);
    for m in &a[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::score_to_lonlat(s);
                ctx.out.array(2);
                coordinate(ctx.out, lon);
                coordinate(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
}

/// Which command runs the search (Redis's georadiusGeneric flags).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    RadiusCoords,
    RadiusMember,
    Search,
    SearchStore,
}

pub fn georadius(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::RadiusCoords, true)
}

pub fn georadius_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::RadiusCoords, false)
}

pub fn georadiusbymember(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::RadiusMember, true)
}

pub fn georadiusbymember_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::RadiusMember, false)
}

pub fn geosearch(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::Search, false)
}

pub fn geosearchstore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    search(ks, ctx, a, Kind::SearchStore, false)
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Everything a search was asked for.
struct Options {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    sort: Sort,
    count: usize,
    store: Option<Bytes>,
    storedist: bool,
}

/// A member found by a search.
struct Point {
    member: Bytes,
    score: f64,
    dist: f64,
    lon: f64,
    lat: f64,
}

/// The center of a search from a member of the set; None (after replying) when it is not
/// there.
fn member_center(ctx: &mut Ctx, z: &ZSet, m: &[u8]) -> Option<(f64, f64)> {
    match z.score(m) {
        Some(s) => Some(geohash::score_to_lonlat(s)),
        None => {
            ctx.error("ERR could not decode requested zset member");
            None
        }
    }
}

/// Redis's georadiusGeneric: GEORADIUS[BYMEMBER][_RO], GEOSEARCH[STORE]. `may_store`: the
/// STORE/STOREDIST options of GEORADIUS are accepted.
fn search(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], kind: Kind, may_store: bool) {
    let src = if kind == Kind::SearchStore { &a[2] } else { &a[1] };
    let Ok(z) = read_zset(ks, ctx, src) else { return };
    let mut center: Option<(f64, f64)> = None;
    let mut shape: Option<(Shape, f64)> = None;
    let base = match kind {
        Kind::RadiusCoords => {
            let Some(c) = lonlat(ctx, &a[2..4]) else { return };
            let Some((r, u)) = radius(ctx, &a[4..6]) else { return };
            (center, shape) = (Some(c), Some((Shape::Radius(r), u)));
            6
        }
        Kind::RadiusMember => {
            if let Some(z) = &z {
                let Some(c) = member_center(ctx, z, &a[2]) else { return };
                let Some((r, u)) = radius(ctx, &a[3..5]) else { return };
                (center, shape) = (Some(c), Some((Shape::Radius(r), u)));
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => 3,
    };
    let searching = matches!(kind, Kind::Search | Kind::SearchStore);
    let mut o = Options {
        withdist: false,
        withhash: false,
        withcoord: false,
        any: false,
        sort: Sort::None,
        count: 0,
        store: (kind == Kind::SearchStore).then(|| a[1].clone()),
        storedist: false,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut i = base;
    while i < a.len() {
        let arg = &a[i];
        let rem = a.len() - i - 1;
        if eq(arg, "WITHDIST") {
            o.withdist = true;
        } else if eq(arg, "WITHHASH") {
            o.withhash = true;
        } else if eq(arg, "WITHCOORD") {
            o.withcoord = true;
        } else if eq(arg, "ANY") {
            o.any = true;
        } else if eq(arg, "ASC") {
            o.sort = Sort::Asc;
        } else if eq(arg, "DESC") {
            o.sort = Sort::Desc;
        } else if eq(arg, "COUNT") && rem >= 1 {
            let Some(n) = num::parse_i64(&a[i + 1]) else { return ctx.error(err::NOT_INT) };
            if n <= 0 {
                return ctx.error("ERR COUNT must be > 0");
            }
            o.count = n as usize;
            i += 1;
        } else if (eq(arg, "STORE") || eq(arg, "STOREDIST")) && rem >= 1 && may_store && !searching {
            o.store = Some(a[i + 1].clone());
            o.storedist = eq(arg, "STOREDIST");
            i += 1;
        } else if eq(arg, "STOREDIST") && kind == Kind::SearchStore {
            o.storedist = true;
        } else if eq(arg, "FROMMEMBER") && rem >= 1 && searching && !fromloc {
            if let Some(z) = &z {
                let Some(c) = member_center(ctx, z, &a[i + 1]) else { return };
                center = Some(c);
            }
            frommember = true;
            i += 1;
        } else if eq(arg, "FROMLONLAT") && rem >= 2 && searching && !frommember {
            let Some(c) = lonlat(ctx, &a[i + 1..i + 3]) else { return };
            center = Some(c);
            fromloc = true;
            i += 2;
        } else if eq(arg, "BYRADIUS") && rem >= 2 && searching && !bybox {
            let Some((r, u)) = radius(ctx, &a[i + 1..i + 3]) else { return };
            shape = Some((Shape::Radius(r), u));
            byradius = true;
            i += 2;
        } else if eq(arg, "BYBOX") && rem >= 3 && searching && !byradius {
            let Some((w, h, u)) = boxed(ctx, &a[i + 1..i + 4]) else { return };
            shape = Some((Shape::Box { width: w, height: h }, u));
            bybox = true;
            i += 3;
        } else {
            return ctx.error(err::SYNTAX);
        }
        i += 1;
    }
    if o.store.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let what = if kind == Kind::SearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return ctx.error(format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    }
    let name = String::from_utf8_lossy(&a[0]).into_owned();
    if searching && !(frommember || fromloc) {
        return ctx.error(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
    }
    if searching && !(byradius || bybox) {
        return ctx.error(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
    }
    if o.any && o.count == 0 {
        return ctx.error("ERR the ANY argument requires COUNT argument");
    }
    let (Some(z), Some((lon, lat)), Some((shape, to_meters))) = (z, center, shape) else {
        // No source set.
        match &o.store {
            Some(dst) => {
                if ks.delete(ctx, dst) {
                    ks.notify(ctx, N::GENERIC, "del", dst);
                }
                ctx.out.int(0);
            }
            None => ctx.out.array(0),
        }
        return;
    };
    if o.count != 0 && o.sort == Sort::None && !o.any {
        o.sort = Sort::Asc;
    }
    let s = Search { lon, lat, shape, to_meters };
    let mut found = scan(&z, &s, if o.any { o.count } else { 0 });
    match o.sort {
        Sort::Asc => found.sort_by(|x, y| x.dist.total_cmp(&y.dist)),
        Sort::Desc => found.sort_by(|x, y| y.dist.total_cmp(&x.dist)),
        Sort::None => {}
    }
    if o.count != 0 {
        found.truncate(o.count);
    }
    for p in &mut found {
        p.dist /= to_meters;
    }
    match o.store.take() {
        None => reply(ctx, &o, &found),
        Some(dst) => store(ks, ctx, &dst, found, o.storedist, kind),
    }
}

/// The members inside the search, cell by cell; stops at `limit` when it is not 0 (ANY).
fn scan(z: &ZSet, s: &Search, limit: usize) -> Vec<Point> {
    let mut found = Vec::new();
    for cell in s.cells() {
        if limit != 0 && found.len() >= limit {
            break;
        }
        let (min, max) = cell.score_range();
        let (min, max) = (min as f64, max as f64);
        for (score, member) in z.order.range((Score(min), Bytes::new())..) {
            if score.0 >= max {
                break;
            }
            let (plon, plat) = geohash::score_to_lonlat(score.0);
            if let Some(dist) = s.contains(plon, plat) {
                found.push(Point { member: member.clone(), score: score.0, dist, lon: plon, lat: plat });
            }
            if limit != 0 && found.len() >= limit {
                break;
            }
        }
    }
    found
}

fn reply(ctx: &mut Ctx, o: &Options, found: &[Point]) {
    let extra = o.withdist as usize + o.withhash as usize + o.withcoord as usize;
    ctx.out.array(found.len());
    for p in found {
        if extra > 0 {
            ctx.out.array(extra + 1);
        }
        ctx.out.bulk(&p.member);
        if o.withdist {
            ctx.out.bulk(distance_text(p.dist).as_bytes());
        }
        if o.withhash {
            ctx.out.int(p.score as i64);
        }
        if o.withcoord {
            ctx.out.array(2);
            coordinate(ctx.out, p.lon);
            coordinate(ctx.out, p.lat);
        }
    }
}

/// STORE / STOREDIST / GEOSEARCHSTORE: the found members into a sorted set scored by their
/// position (or distance); nothing found deletes the destination.
fn store(ks: &mut Keyspace, ctx: &mut Ctx, dst: &[u8], found: Vec<Point>, storedist: bool, kind: Kind) {
    if found.is_empty() {
        if ks.delete(ctx, dst) {
            ks.notify(ctx, N::GENERIC, "del", dst);
        }
        return ctx.out.int(0);
    }
    let n = found.len();
    let mut z = ZSet { skiplist: true, ..ZSet::default() };
    for p in found {
        z.insert(p.member, if storedist { p.dist } else { p.score });
    }
    z.fit_encoding(limits(ks));
    ks.set_key(ctx, dst, Value::ZSet(Arc::new(z)), false);
    ctx.dirty += n as u64 - 1;
    let event = if matches!(kind, Kind::Search | Kind::SearchStore) { "geosearchstore" } else { "georadiusstore" };
    ks.notify(ctx, N::ZSET, event, dst);
    ctx.out.int(n as i64);
}

#[cfg(test)]
mod tests {
    use super::distance_text;

    #[test]
    fn distances_have_four_decimals() {
        assert_eq!(distance_text(0.0), "0.0000");
        assert_eq!(distance_text(0.12345), "0.1234");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(distance_text(-1.5), "-1.5000");
    }
}
