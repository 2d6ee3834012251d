//! Geo commands (issue 13) byte for byte against redis-server: positions, hashes and
//! distances with Redis's digits, errors, random searches by radius and box with every
//! option (sorting, COUNT, ANY, WITH*), the stores, RESP3 coordinates, and what each write
//! sends to replicas (GEOADD as ZADD with the scores).

mod support;
use support::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A float in [lo, hi) with 6 decimals.
    fn coord(&mut self, lo: f64, hi: f64) -> String {
        let f = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        format!("{:.6}", lo + f * (hi - lo))
    }
}

#[test]
fn geo_commands_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let cmds: &[&[&str]] = &[
            &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
            &["GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "13.583333", "37.316667", "Agrigento"],
            &["GEOADD", "Sicily", "NX", "XX", "1", "1", "x"],
            &["GEOADD", "Sicily", "1", "1"],
            &["GEOADD", "Sicily", "200", "100", "bad"],
            &["GEOADD", "Sicily", "abc", "1", "bad"],
            &["GEOADD", "Sicily", "NX", "CH"],
            &["GEODIST", "Sicily", "Palermo", "Catania"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "km"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "MI"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "ft"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "parsec"],
            &["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"],
            &["GEODIST", "Sicily", "Palermo", "nobody"],
            &["GEODIST", "none", "a", "b"],
            &["GEODIST", "Sicily", "Palermo", "Palermo"],
            &["GEOHASH", "Sicily", "Palermo", "Catania", "nobody"],
            &["GEOHASH", "none", "a"],
            &["GEOPOS", "Sicily", "Palermo", "nobody", "Catania"],
            &["GEOPOS", "none", "a"],
            &["ZSCORE", "Sicily", "Palermo"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "COUNT", "2"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"],
            &["GEORADIUS", "Sicily", "15", "37", "-1", "km"],
            &["GEORADIUS", "Sicily", "15", "37", "x", "km"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "furlongs"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst", "WITHDIST"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"],
            &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst"],
            &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
            &["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst"],
            &["EXISTS", "dst"],
            &["GEORADIUS", "none", "0", "0", "1", "km"],
            &["GEORADIUS", "none", "0", "0", "1", "km", "STORE", "dst"],
            &["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "dst"],
            &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "km", "WITHDIST"],
            &["GEORADIUSBYMEMBER", "Sicily", "nobody", "100", "km"],
            &["GEORADIUSBYMEMBER", "none", "nobody", "100", "km"],
            &["GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100", "km", "WITHCOORD"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD", "WITHDIST"],
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "DESC"],
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "200", "km"],
            &["GEOSEARCH", "Sicily", "BYRADIUS", "200", "km"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "BYBOX", "1", "1", "m"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "m"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "w", "1", "m"],
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"],
            &["GEOSEARCH", "none", "FROMMEMBER", "x", "BYRADIUS", "200", "km"],
            &["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST", "COUNT", "2"],
            &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
            &["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"],
            &["GEOSEARCHSTORE", "dst", "none", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            &["EXISTS", "dst"],
            &["SET", "str", "x"],
            &["GEOADD", "str", "1", "1", "a"],
            &["GEOPOS", "str", "a"],
            &["GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m"],
            &["GEOADD", "poles", "179.999999", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0", "zero"],
            &["GEOPOS", "poles", "ne", "sw", "zero"],
            &["GEOHASH", "poles", "ne", "sw", "zero"],
            &["GEORADIUS", "poles", "0", "0", "20000", "km", "ASC", "WITHDIST"],
            &["GEOSEARCH", "poles", "FROMLONLAT", "0", "0", "BYBOX", "40000", "20000", "km", "DESC"],
            &["HELLO", "3"],
            &["GEOPOS", "Sicily", "Palermo", "nobody"],
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "ASC"],
        ];
        // HELLO's reply holds the connection id, which differs between the servers.
        cmds.iter().map(|a| (c.raw(a), a[0])).map(|(r, n)| if n == "HELLO" { n.to_string() } else { r }).collect::<Vec<_>>()
    });
}

#[test]
fn geo_random_searches_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut r = Rng(0x853c_49e6_748f_ea9b);
        let mut out = Vec::new();
        // A dense cluster, a wide spread, and some near the poles and the antimeridian.
        for i in 0..600 {
            let (lon, lat) = match i % 4 {
                0 => (r.coord(12.0, 13.0), r.coord(45.0, 46.0)),
                1 => (r.coord(-180.0, 180.0), r.coord(-85.0, 85.0)),
                2 => (r.coord(170.0, 180.0), r.coord(-20.0, 20.0)),
                _ => (r.coord(-180.0, 180.0), r.coord(70.0, 85.0)),
            };
            c.raw(&["GEOADD", "pts", &lon, &lat, &format!("m{i}")]);
        }
        for q in 0..120 {
            let (lon, lat) = match q % 3 {
                0 => (r.coord(12.0, 13.0), r.coord(45.0, 46.0)),
                1 => (r.coord(-180.0, 180.0), r.coord(-80.0, 80.0)),
                _ => (r.coord(175.0, 180.0), r.coord(70.0, 85.0)),
            };
            let size = ["5", "50", "500", "2000", "9000"][(r.next() % 5) as usize];
            let unit = ["km", "mi", "m", "ft"][(r.next() % 4) as usize];
            let size = if unit == "m" || unit == "ft" { format!("{size}000") } else { size.to_string() };
            let mut args: Vec<String> = vec!["GEOSEARCH".into(), "pts".into(), "FROMLONLAT".into(), lon.clone(), lat.clone()];
            if q % 2 == 0 {
                args.extend(["BYRADIUS".into(), size.clone(), unit.into()]);
            } else {
                args.extend(["BYBOX".into(), size.clone(), (size.parse::<f64>().unwrap() / 2.0).to_string(), unit.into()]);
            }
            args.extend(["ASC".into(), "WITHDIST".into(), "WITHCOORD".into(), "WITHHASH".into()]);
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            out.push(c.raw(&refs));
            // Unsorted: Redis's cell order.
            out.push(c.raw(&["GEORADIUS", "pts", &lon, &lat, &size, unit]));
            out.push(c.raw(&["GEORADIUS", "pts", &lon, &lat, &size, unit, "COUNT", "3", "DESC"]));
            out.push(c.raw(&["GEORADIUSBYMEMBER", "pts", &format!("m{}", q * 5), &size, unit, "WITHDIST", "ASC"]));
        }
        out.push(c.raw(&["DEBUG", "DIGEST"]));
        out
    });
}

#[test]
fn geo_writes_propagate_as_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let steps: &[&[&str]] = &[
            &["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"][..],
            &["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
            &["GEOADD", "g", "XX", "CH", "13.361389", "38.2", "Palermo"],
            &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d1"],
            &["GEORADIUS", "g", "15", "37", "200", "km", "ASC"],
            &["GEORADIUSBYMEMBER", "g", "Palermo", "500", "km", "STOREDIST", "d2"],
            &["GEOSEARCHSTORE", "d3", "g", "FROMMEMBER", "Catania", "BYBOX", "500", "500", "km"],
            &["GEOSEARCHSTORE", "d3", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        ];
        replies_and_stream(port, steps)
    });
}
