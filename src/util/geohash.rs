//! Geohash arithmetic as Redis's GEO commands use it: 52-bit interleaved cells over the
//! Web-Mercator latitude range, the 9-cell cover of a search shape, and the haversine
//! distance on Redis's Earth radius. The numbers are Redis 7.0's (same constants, same order
//! of floating-point operations), so positions, distances and search results print the same
//! digits.

/// Bits per coordinate of a stored position (26 * 2 = 52 bits, exact in an f64 score).
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// A coordinate range.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges of stored positions (WGS84 longitudes, Mercator-limited latitudes).
pub const WGS84: (Range, Range) = (Range { min: LONG_MIN, max: LONG_MAX }, Range { min: LAT_MIN, max: LAT_MAX });

/// A cell: `step` bits per coordinate, latitude bits in the even positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    const ZERO: Hash = Hash { bits: 0, step: 0 };

    fn is_zero(&self) -> bool {
        *self == Hash::ZERO
    }

    /// The cell's scores in a sorted set: [min, max) at 52 bits.
    pub fn score_range(&self) -> (u64, u64) {
        let shift = 52 - self.step as u32 * 2;
        (self.bits << shift, (self.bits + 1) << shift)
    }
}

/// A cell's extent.
#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0xFFFF_FFFF) as u32
}

/// The cell of `step` bits holding (lon, lat) in the given ranges; None outside them (or
/// outside the Mercator limits, which bound every encoding as in Redis).
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step == 0 || step > 32 || !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    Some(Hash { bits: spread(lat_off as u32) | (spread(lon_off as u32) << 1), step })
}

/// A cell's extent in the given ranges.
pub fn decode(lon_r: Range, lat_r: Range, h: Hash) -> Area {
    let ilat = squash(h.bits) as f64;
    let ilon = squash(h.bits >> 1) as f64;
    let cells = (1u64 << h.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    Area {
        lat: Range { min: lat_r.min + (ilat / cells) * lat_scale, max: lat_r.min + ((ilat + 1.0) / cells) * lat_scale },
        lon: Range { min: lon_r.min + (ilon / cells) * lon_scale, max: lon_r.min + ((ilon + 1.0) / cells) * lon_scale },
    }
}

/// The position a stored score stands for: the center of its cell, clamped to the limits.
pub fn score_to_lonlat(score: f64) -> (f64, f64) {
    let a = decode(WGS84.0, WGS84.1, Hash { bits: score as u64, step: STEP_MAX });
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The score a position is stored under (its 52-bit cell).
pub fn lonlat_to_score(lon: f64, lat: f64) -> Option<u64> {
    encode(WGS84.0, WGS84.1, lon, lat, STEP_MAX).map(|h| h.bits)
}

/// The 11-character standard geohash of a stored score (re-encoded over latitudes -90..90,
/// the last character always '0' as in Redis).
pub fn standard_geohash(score: f64) -> String {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = score_to_lonlat(score);
    let bits = encode(Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 }, lon, lat, 26).map_or(0, |h| h.bits);
    (0..11)
        .map(|i| {
            let idx = if i == 10 { 0 } else { (bits >> (52 - (i + 1) * 5)) & 0x1f };
            ALPHABET[idx as usize] as char
        })
        .collect()
}

/// Meters along the meridian between two latitudes.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine great-circle distance in meters.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// What a search covers, around `center` (lon, lat); sizes in meters.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// A search: its center, shape (in the unit given) and the unit's meters.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub to_meters: f64,
}

impl Search {
    /// Distance from the center when (lon, lat) is inside the shape.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.to_meters).then_some(d)
            }
            Shape::Box { width, height } => {
                // The cheaper latitude test first, as Redis.
                if lat_distance(lat, self.lat) > height * self.to_meters / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width * self.to_meters / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// [min lon, min lat, max lon, max lat] around the shape.
    fn bounds(&self) -> [f64; 4] {
        let (h, w) = match self.shape {
            Shape::Radius(r) => (r, r),
            Shape::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (height, width) = (self.to_meters * h, self.to_meters * w);
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let lon_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let lon_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let lon_delta = if self.lat < 0.0 { lon_bottom } else { lon_top };
        [self.lon - lon_delta, self.lat - lat_delta, self.lon + lon_delta, self.lat + lat_delta]
    }

    /// The cells to scan, in Redis's order (center, N, S, E, W, NE, NW, SE, SW), zero cells
    /// and repeats of the previous one left out.
    pub fn cells(&self) -> Vec<Hash> {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius = match self.shape {
            Shape::Radius(r) => r,
            Shape::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
        } * self.to_meters;
        let mut steps = estimate_steps(radius, self.lat);
        let (lon_r, lat_r) = WGS84;
        let at = |steps: u8| {
            let hash = encode(lon_r, lat_r, self.lon, self.lat, steps).unwrap_or(Hash { bits: 0, step: steps });
            (hash, neighbors(hash), decode(lon_r, lat_r, hash))
        };
        let (mut hash, mut n, mut area) = at(steps);
        let decrease = decode(lon_r, lat_r, n[N]).lat.max < max_lat
            || decode(lon_r, lat_r, n[S]).lat.min > min_lat
            || decode(lon_r, lat_r, n[E]).lon.max < max_lon
            || decode(lon_r, lat_r, n[W]).lon.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, n, area) = at(steps);
        }
        if steps >= 2 {
            let mut zero = |cells: &[usize]| cells.iter().for_each(|&c| n[c] = Hash::ZERO);
            if area.lat.min < min_lat {
                zero(&[S, SW, SE]);
            }
            if area.lat.max > max_lat {
                zero(&[N, NE, NW]);
            }
            if area.lon.min < min_lon {
                zero(&[W, SW, NW]);
            }
            if area.lon.max > max_lon {
                zero(&[E, SE, NE]);
            }
        }
        let all = [hash, n[N], n[S], n[E], n[W], n[NE], n[NW], n[SE], n[SW]];
        // Huge radii make neighbours coincide: a cell equal to the last one scanned is
        // skipped, the center excepted (Redis compares from the first neighbour scanned on).
        let mut out: Vec<Hash> = Vec::with_capacity(9);
        let mut last = 0;
        for (i, h) in all.iter().enumerate() {
            if h.is_zero() || (last != 0 && *h == all[last]) {
                continue;
            }
            out.push(*h);
            last = i;
        }
        out
    }
}

const N: usize = 0;
const S: usize = 1;
const E: usize = 2;
const W: usize = 3;
const NE: usize = 4;
const NW: usize = 5;
const SE: usize = 6;
const SW: usize = 7;

/// The bits a search scans at: coarser for larger radii and nearer the poles.
fn estimate_steps(mut meters: f64, lat: f64) -> u8 {
    if meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while meters < MERCATOR_MAX {
        meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// Moves a cell by `d` (-1, 0, 1) along longitude (odd bits).
fn move_x(h: Hash, d: i8) -> Hash {
    move_along(h, d, 0xaaaa_aaaa_aaaa_aaaa, 0x5555_5555_5555_5555)
}

/// Moves a cell along latitude (even bits).
fn move_y(h: Hash, d: i8) -> Hash {
    move_along(h, d, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa)
}

/// Adds `d` to the coordinate held in the `mine` bit positions, carrying through the other
/// coordinate's positions, wrapping at the cell count.
fn move_along(h: Hash, d: i8, mine: u64, other: u64) -> Hash {
    if d == 0 {
        return h;
    }
    let shift = 64 - h.step as u32 * 2;
    let mut x = h.bits & mine;
    let y = h.bits & other;
    let fill = other.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(fill.wrapping_add(1));
    } else {
        x |= fill;
        x = x.wrapping_sub(fill.wrapping_add(1));
    }
    x &= mine.checked_shr(shift).unwrap_or(0);
    Hash { bits: x | y, step: h.step }
}

/// The 8 neighbours, indexed by N, S, E, W, NE, NW, SE, SW.
fn neighbors(h: Hash) -> [Hash; 8] {
    let at = |dx: i8, dy: i8| move_y(move_x(h, dx), dy);
    [at(0, 1), at(0, -1), at(1, 0), at(-1, 0), at(1, 1), at(-1, 1), at(1, -1), at(-1, -1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_as_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo": score 3479099956230698, GEOPOS
        // 13.36138933897018433 38.11555639549629859, GEOHASH sqc8b49rny0 (redis-server 7.0).
        let s = lonlat_to_score(13.361389, 38.115556).unwrap();
        assert_eq!(s, 3479099956230698);
        let (lon, lat) = score_to_lonlat(s as f64);
        assert!((lon - 13.361389339).abs() < 1e-9 && (lat - 38.115556395).abs() < 1e-9, "{lon} {lat}");
        assert_eq!(standard_geohash(s as f64), "sqc8b49rny0");
        let c = lonlat_to_score(15.087269, 37.502669).unwrap();
        let (l2, t2) = score_to_lonlat(c as f64);
        assert_eq!(format!("{:.4}", distance(lon, lat, l2, t2)), "166274.1516");
        assert!(lonlat_to_score(181.0, 0.0).is_none() && lonlat_to_score(0.0, 86.0).is_none());
    }

    #[test]
    fn neighbours_are_adjacent() {
        let h = encode(WGS84.0, WGS84.1, 10.0, 10.0, 8).unwrap();
        let a = decode(WGS84.0, WGS84.1, h);
        let n = neighbors(h);
        let north = decode(WGS84.0, WGS84.1, n[N]);
        assert!((north.lat.min - a.lat.max).abs() < 1e-9 && (north.lon.min - a.lon.min).abs() < 1e-9);
        let west = decode(WGS84.0, WGS84.1, n[W]);
        assert!((west.lon.max - a.lon.min).abs() < 1e-9 && (west.lat.min - a.lat.min).abs() < 1e-9);
        let se = decode(WGS84.0, WGS84.1, n[SE]);
        assert!((se.lat.max - a.lat.min).abs() < 1e-9 && (se.lon.min - a.lon.max).abs() < 1e-9);
    }
}
