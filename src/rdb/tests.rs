//! Round-trip, corruption and (when redis-server is installed) interop tests.
#![allow(clippy::approx_constant, clippy::type_complexity)]

use super::reader::parse_dump_payload;
use super::writer::dump_payload;
use super::*;
use bytes::Bytes;
use std::collections::BTreeMap;

// ---- helpers ---------------------------------------------------------------

/// (db, key) -> (value, expire)
type Dataset = BTreeMap<(u64, Vec<u8>), (RdbValue, Option<i64>)>;

#[derive(Default)]
struct Collect {
    db: u64,
    data: Dataset,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    functions: Vec<Bytes>,
    resizes: Vec<(u64, u64)>,
}

impl RdbSink for Collect {
    fn aux(&mut self, key: &[u8], val: &[u8]) -> Result<(), RdbError> {
        self.aux.push((key.to_vec(), val.to_vec()));
        Ok(())
    }
    fn select_db(&mut self, db: u64) -> Result<(), RdbError> {
        self.db = db;
        Ok(())
    }
    fn resize_db(&mut self, size: u64, expires: u64) -> Result<(), RdbError> {
        self.resizes.push((size, expires));
        Ok(())
    }
    fn key(&mut self, key: Bytes, value: RdbValue, expire_ms: Option<i64>) -> Result<(), RdbError> {
        self.data
            .insert((self.db, key.to_vec()), (value, expire_ms));
        Ok(())
    }
    fn function(&mut self, code: Bytes) -> Result<(), RdbError> {
        self.functions.push(code);
        Ok(())
    }
}

/// Order-insensitive form for comparing sets, hashes and zsets.
fn norm(v: &RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(s) => {
            let mut s = s.clone();
            s.sort();
            RdbValue::Set(s)
        }
        RdbValue::Hash(h) => {
            let mut h = h.clone();
            h.sort();
            RdbValue::Hash(h)
        }
        RdbValue::ZSet(z) => {
            let mut z = z.clone();
            z.sort_by(|a, b| a.0.cmp(&b.0));
            RdbValue::ZSet(z)
        }
        o => o.clone(),
    }
}

fn norm_ds(d: &Dataset) -> Vec<((u64, Vec<u8>), RdbValue, Option<i64>)> {
    d.iter()
        .map(|(k, (v, e))| (k.clone(), norm(v), *e))
        .collect()
}

fn b(s: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(s.as_ref())
}

fn write_dataset(d: &Dataset, opts: RdbOptions) -> Vec<u8> {
    let mut w = RdbWriter::with_options(Vec::new(), opts).unwrap();
    write_default_aux(
        &mut w,
        12345,
        Some((0, "0123456789abcdef0123456789abcdef01234567", 42)),
        false,
    )
    .unwrap();
    let mut cur: Option<u64> = None;
    for ((db, key), (v, e)) in d {
        if cur != Some(*db) {
            w.select_db(*db).unwrap();
            let n = d.keys().filter(|k| k.0 == *db).count() as u64;
            let ne = d
                .iter()
                .filter(|(k, v)| k.0 == *db && v.1.is_some())
                .count() as u64;
            w.resize_db(n, ne).unwrap();
            cur = Some(*db);
        }
        w.key_value(key, v, *e).unwrap();
    }
    w.finish().unwrap()
}

fn digest_of(d: &Dataset) -> String {
    let mut g = Digest::new();
    for ((db, key), (v, e)) in d {
        g.select_db(*db);
        g.add_key_value(key, v, *e);
    }
    g.hex()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A dataset exercising every encoding the writer produces.
fn sample_dataset() -> Dataset {
    let mut d = Dataset::new();
    let exp = Some(now_ms() + 3_600_000);
    let mut put = |db: u64, k: &str, v: RdbValue, e: Option<i64>| {
        d.insert((db, k.as_bytes().to_vec()), (v, e));
    };
    // strings
    put(0, "s:empty", RdbValue::Str(b("")), None);
    put(0, "s:small", RdbValue::Str(b("hello")), None);
    for (i, n) in [
        "0",
        "-1",
        "127",
        "-128",
        "128",
        "32767",
        "-32769",
        "2147483647",
        "-2147483648",
        "2147483648",
        "123456789012",
        "007",
        "-0",
        "+5",
        "1e3",
        "9223372036854775807",
    ]
    .iter()
    .enumerate()
    {
        put(0, &format!("s:int{i}"), RdbValue::Str(b(n)), None);
    }
    put(
        0,
        "s:long_compressible",
        RdbValue::Str(b("abcdefgh".repeat(500))),
        exp,
    );
    put(
        0,
        "s:long_random",
        RdbValue::Str(Bytes::from(pseudo_random(3000, 7))),
        None,
    );
    put(0, "s:21", RdbValue::Str(b("aaaaaaaaaaaaaaaaaaaaa")), None);
    put(
        0,
        "s:binary",
        RdbValue::Str(Bytes::from((0u8..=255).collect::<Vec<u8>>())),
        None,
    );
    put(
        0,
        "s:big",
        RdbValue::Str(b("0123456789".repeat(20000))),
        None,
    );
    // lists
    put(
        0,
        "l:small",
        RdbValue::List(vec![b("a"), b("1"), b("-5000"), b("b"), b("")]),
        None,
    );
    put(
        0,
        "l:big",
        RdbValue::List(
            (0..5000)
                .map(|i| b(format!("element-{i}-{}", "x".repeat(i % 40))))
                .collect(),
        ),
        exp,
    );
    put(
        0,
        "l:ints",
        RdbValue::List(
            (0..3000i64)
                .map(|i| b((i * 7919 - 100000).to_string()))
                .collect(),
        ),
        None,
    );
    put(
        0,
        "l:huge_elems",
        RdbValue::List(vec![
            b("x".repeat(10000)),
            b("y"),
            b(pseudo_random(20000, 3)),
            b("z"),
        ]),
        None,
    );
    // sets
    put(
        0,
        "set:ints",
        RdbValue::Set(
            (0..100i64)
                .map(|i| b((i * 1000 - 5000).to_string()))
                .collect(),
        ),
        None,
    );
    put(
        0,
        "set:bigints",
        RdbValue::Set(vec![
            b("1"),
            b("9223372036854775807"),
            b("-9223372036854775808"),
        ]),
        None,
    );
    put(
        0,
        "set:mixed",
        RdbValue::Set(vec![b("1"), b("two"), b("3")]),
        exp,
    );
    put(
        0,
        "set:manyints",
        RdbValue::Set((0..600i64).map(|i| b(i.to_string())).collect()),
        None,
    );
    put(
        0,
        "set:strs",
        RdbValue::Set((0..300).map(|i| b(format!("member:{i}"))).collect()),
        None,
    );
    // hashes
    put(
        0,
        "h:small",
        RdbValue::Hash(vec![
            (b("f1"), b("v1")),
            (b("n"), b("12345")),
            (b("e"), b("")),
        ]),
        None,
    );
    put(
        0,
        "h:bigval",
        RdbValue::Hash(vec![(b("f1"), b("v1")), (b("long"), b("L".repeat(100)))]),
        None,
    );
    put(
        1,
        "h:many",
        RdbValue::Hash(
            (0..500)
                .map(|i| (b(format!("field{i}")), b(format!("value{i}"))))
                .collect(),
        ),
        exp,
    );
    // zsets
    put(
        0,
        "z:small",
        RdbValue::ZSet(vec![
            (b("a"), 1.0),
            (b("b"), 2.5),
            (b("c"), -3.25),
            (b("d"), 0.1),
            (b("e"), f64::INFINITY),
            (b("f"), f64::NEG_INFINITY),
            (b("g"), 1e20),
            (b("h"), 123456789.0),
            (b("5"), 5.0),
        ]),
        None,
    );
    put(
        1,
        "z:big",
        RdbValue::ZSet(
            (0..400)
                .map(|i| (b(format!("m{i}")), (i as f64) * 1.5 - 100.0))
                .collect(),
        ),
        None,
    );
    put(
        1,
        "z:longmember",
        RdbValue::ZSet(vec![(b("M".repeat(80)), 1.0), (b("x"), 2.0)]),
        exp,
    );
    put(5, "s:db5", RdbValue::Str(b("in db 5")), None);
    d
}

fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

fn load_bytes(data: &[u8]) -> Result<(Collect, LoadStats), RdbError> {
    let mut c = Collect::default();
    let st = load(data, &mut c)?;
    Ok((c, st))
}

// ---- unit tests --------------------------------------------------------------

#[test]
fn g17_format_matches_c() {
    let cases: &[(f64, &str)] = &[
        (0.1, "0.10000000000000001"),
        (1.5, "1.5"),
        (1e20, "1e+20"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (1e-5, "1.0000000000000001e-05"),
        (0.0001, "0.0001"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (3.14159, "3.1415899999999999"),
        (-2.5, "-2.5"),
        (1.0 / 3.0, "0.33333333333333331"),
        (9007199254740992.0, "9007199254740992"),
        (5e-324, "4.9406564584124654e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (100.0, "100"),
        (-0.0, "-0"),
        (0.0, "0"),
        (0.001234, "0.0012340000000000001"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ];
    for (v, s) in cases {
        assert_eq!(fmt_g17(*v), *s, "{v}");
    }
    assert_eq!(redis_d2string(3.0), "3");
    assert_eq!(redis_d2string(-0.0), "-0");
    assert_eq!(redis_d2string(2.5), "2.5");
    assert_eq!(redis_d2string(1e20), "1e+20");
}

#[test]
fn canonical_ints() {
    assert_eq!(parse_canonical_i64(b"0"), Some(0));
    assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
    for bad in [
        &b"9223372036854775808"[..],
        b"-0",
        b"01",
        b"+1",
        b"",
        b"-",
        b" 1",
        b"1 ",
        b"1a",
    ] {
        assert_eq!(parse_canonical_i64(bad), None, "{:?}", bad);
    }
}

#[test]
fn string_encodings_on_the_wire() {
    // Exact bytes of small records.
    let mut w = RdbWriter::new(Vec::new(), true).unwrap();
    w.key_value(b"k", &RdbValue::Str(b("-1")), None).unwrap();
    w.key_value(b"k", &RdbValue::Str(b("300")), None).unwrap();
    w.key_value(b"k", &RdbValue::Str(b("70000")), None).unwrap();
    w.key_value(b"k", &RdbValue::Str(b("123456789012")), None)
        .unwrap();
    let out = w.finish().unwrap();
    let body = &out[9..out.len() - 9];
    let mut exp = vec![0u8, 1, b'k', 0xC0, 0xFF];
    exp.extend_from_slice(&[0, 1, b'k', 0xC1, 0x2C, 0x01]);
    exp.extend_from_slice(&[0, 1, b'k', 0xC2, 0x70, 0x11, 0x01, 0x00]);
    exp.extend_from_slice(&[0, 1, b'k', 12]);
    exp.extend_from_slice(b"123456789012");
    assert_eq!(body, &exp[..]);
    assert_eq!(out[out.len() - 9], 0xFF);
    assert_eq!(&out[..9], b"REDIS0010");
    // Lengths: 6/14/32 bit
    for (n, hdr) in [
        (63usize, vec![63u8]),
        (64, vec![0x40, 64]),
        (16383, vec![0x7F, 0xFF]),
        (16384, vec![0x80, 0, 0, 0x40, 0]),
    ] {
        let mut w = RdbWriter::new(Vec::new(), false).unwrap();
        let s = pseudo_random(n, 1);
        w.key_value(b"k", &RdbValue::Str(Bytes::from(s)), None)
            .unwrap();
        let out = w.finish().unwrap();
        assert_eq!(&out[12..12 + hdr.len()], &hdr[..], "len {n}");
        let (c, _) = load_bytes(&out).unwrap();
        assert_eq!(c.data.len(), 1);
    }
    // LZF used when compressible and compression enabled, not otherwise.
    let long = b("z".repeat(100));
    let mut w = RdbWriter::new(Vec::new(), true).unwrap();
    w.key_value(b"k", &RdbValue::Str(long.clone()), None)
        .unwrap();
    let out = w.finish().unwrap();
    assert_eq!(out[12], 0xC3);
    assert!(out.len() < 40);
    let mut w = RdbWriter::new(Vec::new(), false).unwrap();
    w.key_value(b"k", &RdbValue::Str(long), None).unwrap();
    assert_eq!(&w.finish().unwrap()[12..14], &[0x40, 100]);
}

#[test]
fn empty_rdb() {
    let out = RdbWriter::new(Vec::new(), true).unwrap().finish().unwrap();
    assert_eq!(out.len(), 18);
    let (c, st) = load_bytes(&out).unwrap();
    assert!(c.data.is_empty());
    assert!(st.checksum_verified);
    // the minimal file with a zero checksum is accepted
    let mut z = b"REDIS0010".to_vec();
    z.push(0xFF);
    z.extend_from_slice(&[0; 8]);
    let (_, st) = load_bytes(&z).unwrap();
    assert!(!st.checksum_verified);
    assert_eq!(Digest::new().hex(), "0".repeat(40));
}

#[test]
fn round_trip_all_types() {
    let d = sample_dataset();
    for compress in [true, false] {
        let out = write_dataset(
            &d,
            RdbOptions {
                compress,
                ..Default::default()
            },
        );
        let (c, st) = load_bytes(&out).unwrap();
        assert!(st.checksum_verified);
        assert_eq!(st.bytes as usize, out.len());
        assert_eq!(st.keys as usize, d.len());
        assert_eq!(norm_ds(&c.data), norm_ds(&d));
        assert_eq!(digest_of(&c.data), digest_of(&d));
        let aux: BTreeMap<_, _> = c.aux.iter().cloned().collect();
        assert_eq!(aux[&b"redis-ver".to_vec()], b"7.0.15");
        assert_eq!(aux[&b"redis-bits".to_vec()], b"64");
        assert_eq!(aux[&b"repl-offset".to_vec()], b"42");
        assert_eq!(aux[&b"aof-base".to_vec()], b"0");
    }
}

#[test]
fn list_order_and_ints_survive_quicklist_split() {
    for fill in [-1i64, -2, -5, 1, 7, 128] {
        let list: Vec<Bytes> = (0..2000)
            .map(|i| {
                if i % 3 == 0 {
                    b(i.to_string())
                } else {
                    b(format!("v{i}"))
                }
            })
            .collect();
        let opts = RdbOptions {
            list_max_listpack_size: fill,
            ..Default::default()
        };
        let mut w = RdbWriter::with_options(Vec::new(), opts).unwrap();
        w.key(b"l", RdbValueRef::List(&list), None).unwrap();
        let out = w.finish().unwrap();
        let (c, _) = load_bytes(&out).unwrap();
        assert_eq!(
            c.data[&(0, b"l".to_vec())].0,
            RdbValue::List(list.clone()),
            "fill {fill}"
        );
    }
    // plain nodes
    let list: Vec<Bytes> = vec![b("a"), b("B".repeat(300)), b("c"), b("D".repeat(500))];
    let opts = RdbOptions {
        list_plain_threshold: 200,
        ..Default::default()
    };
    let mut w = RdbWriter::with_options(Vec::new(), opts).unwrap();
    w.key(b"l", RdbValueRef::List(&list), None).unwrap();
    let out = w.finish().unwrap();
    let (c, _) = load_bytes(&out).unwrap();
    assert_eq!(c.data[&(0, b"l".to_vec())].0, RdbValue::List(list));
}

#[test]
fn borrowed_std_containers() {
    use std::collections::{HashMap, HashSet, VecDeque};
    let dq: VecDeque<Bytes> = (0..10).map(|i| b(format!("e{i}"))).collect();
    let hs: HashSet<Vec<u8>> = (0..10).map(|i| format!("{i}").into_bytes()).collect();
    let hm: HashMap<Bytes, Bytes> = (0..10)
        .map(|i| (b(format!("f{i}")), b(format!("v{i}"))))
        .collect();
    let zm: HashMap<String, f64> = (0..10).map(|i| (format!("m{i}"), i as f64)).collect();
    let mut w = RdbWriter::new(Vec::new(), true).unwrap();
    w.key(b"l", RdbValueRef::List(&dq), None).unwrap();
    w.key(b"s", RdbValueRef::Set(&hs), None).unwrap();
    w.key(b"h", RdbValueRef::Hash(&hm), Some(1)).unwrap();
    w.key(b"z", RdbValueRef::ZSet(&zm), None).unwrap();
    w.key(b"empty", RdbValueRef::Set(&HashSet::<Vec<u8>>::new()), None)
        .unwrap();
    let out = w.finish().unwrap();
    let (c, st) = load_bytes(&out).unwrap();
    assert_eq!(st.keys, 4);
    assert_eq!(c.data[&(0, b"h".to_vec())].1, Some(1));
    // digests from borrowed and owned views agree
    let owned = RdbValueRef::Hash(&hm).to_owned_value();
    assert_eq!(
        digest::digest_value(RdbValueRef::Hash(&hm), None),
        digest::digest_value(owned.as_value_ref(), None)
    );
}

#[test]
fn count_mismatch_is_an_error() {
    struct Liar;
    impl Seq for Liar {
        fn len(&self) -> usize {
            3
        }
        fn for_each_item(&self, f: &mut dyn FnMut(&[u8])) {
            f(b"only one")
        }
    }
    let mut w = RdbWriter::new(Vec::new(), true).unwrap();
    let r = w.key(b"s", RdbValueRef::Set(&Liar), None);
    assert!(r.is_err());
}

#[test]
fn dump_payload_round_trip() {
    let d = sample_dataset();
    for (v, _) in d.values() {
        let p = dump_payload(v.as_value_ref(), &RdbOptions::default()).unwrap();
        let back = parse_dump_payload(&p).unwrap();
        assert_eq!(norm(&back), norm(v));
        let mut bad = p.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(matches!(parse_dump_payload(&bad), Err(RdbError::Checksum)));
    }
}

#[test]
fn errors_version_magic_checksum() {
    let d = sample_dataset();
    let out = write_dataset(&d, RdbOptions::default());
    // Versions 11 and 12 (Redis 7.2-8.x, Valkey 8) load; 13 does not.
    for (ver, ok) in [(b"0011", true), (b"0012", true), (b"0013", false)] {
        let mut v = out.clone();
        v[5..9].copy_from_slice(ver);
        let n = v.len();
        let crc = crate::rdb::crc64::crc64(&v[..n - 8]);
        v[n - 8..].copy_from_slice(&crc.to_le_bytes());
        match load_bytes(&v) {
            Ok(_) => assert!(ok),
            Err(e) => {
                assert!(!ok);
                assert!(matches!(e, RdbError::Version(13)));
                assert_eq!(e.to_string(), "Can't handle RDB format version 13");
            }
        }
    }
    let mut bad = out.clone();
    bad[0] = b'X';
    assert!(matches!(
        load_bytes(&bad).err().unwrap(),
        RdbError::Corrupt(_)
    ));
    let mut ck = out.clone();
    let n = ck.len();
    ck[n - 3] ^= 0x10;
    let e = load_bytes(&ck).err().unwrap();
    assert!(matches!(e, RdbError::Checksum));
    assert_eq!(e.to_string(), "Wrong RDB checksum");
    // zeroed checksum accepted
    let mut z = out.clone();
    for x in &mut z[n - 8..] {
        *x = 0;
    }
    assert!(load_bytes(&z).is_ok());
    // flip in the body (not the checksum) with valid parse => checksum error
    let mut body = out.clone();
    let pos = body.windows(5).position(|w| w == b"hello").unwrap();
    body[pos] = b'j';
    assert!(matches!(
        load_bytes(&body).err().unwrap(),
        RdbError::Checksum
    ));
}

#[test]
fn unsupported_types_are_named() {
    for (t, word) in [
        (6u8, "module"),
        (7, "module"),
    ] {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[t, 1, b'k', 0, 0, 0]);
        let e = load_bytes(&f).err().unwrap();
        match e {
            RdbError::Unsupported(m) => assert!(m.contains(word), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[OP_MODULE_AUX, 0]);
    assert!(matches!(load_bytes(&f), Err(RdbError::Unsupported(_))));
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[OP_FUNCTION, 0]);
    assert!(matches!(load_bytes(&f), Err(RdbError::Unsupported(_))));
    // FUNCTION2 goes to the sink
    let mut w = RdbWriter::new(Vec::new(), true).unwrap();
    w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        .unwrap();
    let out = w.finish().unwrap();
    let (c, _) = load_bytes(&out).unwrap();
    assert_eq!(c.functions.len(), 1);
    assert!(c.functions[0].starts_with(b"#!lua name=lib"));
    // Default sink refuses functions.
    struct NoFn;
    impl RdbSink for NoFn {
        fn key(&mut self, _: Bytes, _: RdbValue, _: Option<i64>) -> Result<(), RdbError> {
            Ok(())
        }
    }
    assert!(matches!(
        load(&out[..], &mut NoFn),
        Err(RdbError::Unsupported(_))
    ));
}

#[test]
fn truncation_at_every_position_is_an_error() {
    let mut d = Dataset::new();
    d.insert(
        (0, b"s".to_vec()),
        (
            RdbValue::Str(b("hello world hello world hello world")),
            Some(now_ms()),
        ),
    );
    d.insert((0, b"i".to_vec()), (RdbValue::Str(b("12345")), None));
    d.insert(
        (0, b"l".to_vec()),
        (RdbValue::List(vec![b("a"), b("77"), b("c")]), None),
    );
    d.insert(
        (1, b"set".to_vec()),
        (RdbValue::Set(vec![b("1"), b("2")]), None),
    );
    d.insert(
        (1, b"set2".to_vec()),
        (RdbValue::Set(vec![b("x"), b("y")]), None),
    );
    d.insert(
        (1, b"h".to_vec()),
        (RdbValue::Hash(vec![(b("f"), b("v"))]), None),
    );
    d.insert(
        (1, b"z".to_vec()),
        (RdbValue::ZSet(vec![(b("m"), 1.5)]), None),
    );
    d.insert(
        (1, b"zbig".to_vec()),
        (
            RdbValue::ZSet((0..130).map(|i| (b(format!("m{i}")), i as f64)).collect()),
            None,
        ),
    );
    let out = write_dataset(&d, RdbOptions::default());
    for cut in 0..out.len() {
        assert!(load_bytes(&out[..cut]).is_err(), "cut at {cut} accepted");
    }
    assert!(load_bytes(&out).is_ok());
}

#[test]
fn flipped_bytes_never_panic() {
    let d = sample_dataset();
    // A smaller dataset so every byte can be flipped quickly.
    let skip: [&[u8]; 10] = [
        b"l:big",
        b"l:ints",
        b"s:big",
        b"l:huge",
        b"set:manyints",
        b"h:many",
        b"z:big",
        b"set:strs",
        b"s:long_random",
        b"s:binary",
    ];
    let small: Dataset = d
        .iter()
        .filter(|(k, _)| !skip.iter().any(|p| k.1.starts_with(p)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let out = write_dataset(&small, RdbOptions::default());
    // Without checksum verification so that the parsers see the damage.
    let n = out.len();
    let mut base = out.clone();
    for x in &mut base[n - 8..] {
        *x = 0;
    }
    for pos in 9..n - 9 {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut c = base.clone();
            c[pos] ^= mask;
            let _ = load_bytes(&c);
        }
    }
    // With the checksum: any single flip of the body is reported.
    for pos in (9..n - 9).step_by(7) {
        let mut c = out.clone();
        c[pos] ^= 0x20;
        assert!(load_bytes(&c).is_err(), "flip at {pos} accepted");
    }
}

#[test]
fn huge_claimed_lengths_do_not_allocate() {
    // A string claiming 2^40 bytes, a list claiming 2^60 items, an LZF blob
    // claiming a giant expansion.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[0, 1, b'k', 0x81, 0, 0, 1, 0, 0, 0, 0, 0, b'x']);
    assert!(load_bytes(&f).is_err());
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[1, 1, b'k', 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, b'a']);
    assert!(load_bytes(&f).is_err());
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[
        0, 1, b'k', 0xC3, 2, 0x81, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, b'a',
    ]);
    assert!(load_bytes(&f).is_err());
}

// ---- old formats (hand-built) ------------------------------------------------

struct Raw(Vec<u8>);
impl Raw {
    fn new(version: u32) -> Self {
        Raw(format!("REDIS{version:04}").into_bytes())
    }
    fn len(&mut self, n: u64) -> &mut Self {
        if n < 64 {
            self.0.push(n as u8);
        } else if n < 16384 {
            self.0.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else {
            self.0.push(0x80);
            self.0.extend_from_slice(&(n as u32).to_be_bytes());
        }
        self
    }
    fn str(&mut self, s: &[u8]) -> &mut Self {
        self.len(s.len() as u64);
        self.0.extend_from_slice(s);
        self
    }
    fn lzf_str(&mut self, s: &[u8]) -> &mut Self {
        let c = lzf::compress(s, s.len() - 4).unwrap();
        self.0.push(0xC3);
        self.len(c.len() as u64).len(s.len() as u64);
        self.0.extend_from_slice(&c);
        self
    }
    fn u8(&mut self, x: u8) -> &mut Self {
        self.0.push(x);
        self
    }
    fn bytes(&mut self, x: &[u8]) -> &mut Self {
        self.0.extend_from_slice(x);
        self
    }
    fn finish(&mut self) -> Vec<u8> {
        self.0.push(0xFF);
        let c = crc64::crc64(&self.0);
        let mut v = self.0.clone();
        v.extend_from_slice(&c.to_le_bytes());
        v
    }
}

/// An RDB v9 file using every legacy encoding, plus what we expect it to hold.
fn legacy_file() -> (Vec<u8>, Dataset) {
    let mut r = Raw::new(9);
    let mut d = Dataset::new();
    let exp_s = (now_ms() / 1000 + 7200) as i32;
    r.u8(OP_SELECTDB).len(0);
    // type 1 LIST (linked list)
    r.u8(TYPE_LIST)
        .str(b"old:list")
        .len(3)
        .str(b"a")
        .str(b"b")
        .bytes(&[0xC1, 0x2C, 0x01]);
    d.insert(
        (0, b"old:list".to_vec()),
        (RdbValue::List(vec![b("a"), b("b"), b("300")]), None),
    );
    // type 3 ZSET with text scores, expire in seconds
    r.u8(OP_EXPIRETIME).bytes(&exp_s.to_le_bytes());
    r.u8(TYPE_ZSET).str(b"old:zset").len(4);
    r.str(b"a")
        .u8(3)
        .bytes(b"1.5")
        .str(b"b")
        .u8(254)
        .str(b"c")
        .u8(255)
        .str(b"d")
        .u8(2)
        .bytes(b"-7");
    d.insert(
        (0, b"old:zset".to_vec()),
        (
            RdbValue::ZSet(vec![
                (b("a"), 1.5),
                (b("b"), f64::INFINITY),
                (b("c"), f64::NEG_INFINITY),
                (b("d"), -7.0),
            ]),
            Some(exp_s as i64 * 1000),
        ),
    );
    // type 9 ZIPMAP
    let pairs: Vec<(&[u8], &[u8])> = vec![(b"f1", b"v1"), (b"f2", b"22"), (b"big", &[b'B'; 300])];
    r.u8(TYPE_HASH_ZIPMAP)
        .str(b"old:zipmap")
        .str(&ziplist::build_zipmap(pairs.iter().copied()));
    d.insert(
        (0, b"old:zipmap".to_vec()),
        (
            RdbValue::Hash(pairs.iter().map(|(k, v)| (b(k), b(v))).collect()),
            None,
        ),
    );
    // type 10 LIST_ZIPLIST
    let items: Vec<&[u8]> = vec![b"x", b"12", b"-100000", b"9999999999", b"hello"];
    r.u8(TYPE_LIST_ZIPLIST)
        .str(b"old:ziplist")
        .str(&ziplist::build_ziplist(items.iter().copied()));
    d.insert(
        (0, b"old:ziplist".to_vec()),
        (RdbValue::List(items.iter().map(b).collect()), None),
    );
    // type 12 ZSET_ZIPLIST
    let zitems: Vec<&[u8]> = vec![b"m1", b"1", b"m2", b"2.5", b"m3", b"1000000"];
    r.u8(TYPE_ZSET_ZIPLIST)
        .str(b"old:zsetzl")
        .str(&ziplist::build_ziplist(zitems.iter().copied()));
    d.insert(
        (0, b"old:zsetzl".to_vec()),
        (
            RdbValue::ZSet(vec![(b("m1"), 1.0), (b("m2"), 2.5), (b("m3"), 1000000.0)]),
            None,
        ),
    );
    // type 13 HASH_ZIPLIST (LZF-compressed blob)
    let hitems: Vec<Vec<u8>> = (0..20)
        .flat_map(|i| {
            [
                format!("field-{i}").into_bytes(),
                format!("{}", i * 3).into_bytes(),
            ]
        })
        .collect();
    let zl = ziplist::build_ziplist(hitems.iter().map(|v| v.as_slice()));
    r.u8(TYPE_HASH_ZIPLIST).str(b"old:hashzl").lzf_str(&zl);
    d.insert(
        (0, b"old:hashzl".to_vec()),
        (
            RdbValue::Hash(hitems.chunks(2).map(|c| (b(&c[0]), b(&c[1]))).collect()),
            None,
        ),
    );
    // type 14 LIST_QUICKLIST (ziplist nodes)
    r.u8(TYPE_LIST_QUICKLIST).str(b"old:quicklist").len(2);
    r.str(&ziplist::build_ziplist([&b"n1a"[..], b"5"]));
    r.lzf_str(&ziplist::build_ziplist([
        &b"repeat-repeat-repeat-repeat"[..],
        b"repeat-repeat-repeat-repeat",
    ]));
    d.insert(
        (0, b"old:quicklist".to_vec()),
        (
            RdbValue::List(vec![
                b("n1a"),
                b("5"),
                b("repeat-repeat-repeat-repeat"),
                b("repeat-repeat-repeat-repeat"),
            ]),
            None,
        ),
    );
    // type 2 SET, 4 HASH in db 2, with IDLE and FREQ annotations
    r.u8(OP_SELECTDB).len(2).u8(OP_RESIZEDB).len(2).len(0);
    r.u8(OP_IDLE)
        .len(1000)
        .u8(TYPE_SET)
        .str(b"old:set")
        .len(2)
        .str(b"p")
        .str(b"q");
    r.u8(OP_FREQ)
        .u8(5)
        .u8(TYPE_HASH)
        .str(b"old:hash")
        .len(1)
        .str(b"k")
        .str(b"v");
    d.insert(
        (2, b"old:set".to_vec()),
        (RdbValue::Set(vec![b("p"), b("q")]), None),
    );
    d.insert(
        (2, b"old:hash".to_vec()),
        (RdbValue::Hash(vec![(b("k"), b("v"))]), None),
    );
    (r.finish(), d)
}

#[test]
fn legacy_encodings_load() {
    let (f, d) = legacy_file();
    let (c, st) = load_bytes(&f).unwrap();
    assert_eq!(st.version, 9);
    assert_eq!(norm_ds(&c.data), norm_ds(&d));
    for cut in 0..f.len() {
        assert!(load_bytes(&f[..cut]).is_err());
    }
}

// ---- interop with a real redis-server ----------------------------------------

mod interop {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const SERVER: &str = "/usr/bin/redis-server";
    const CHECK: &str = "/usr/bin/redis-check-rdb";

    fn have_redis() -> bool {
        let ok = Path::new(SERVER).exists();
        if !ok {
            eprintln!("redis-server not installed: skipping interop test");
        }
        ok
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn tempdir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "rdbtest-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub struct Redis {
        child: Child,
        pub dir: PathBuf,
        conn: BufReader<TcpStream>,
    }

    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum Resp {
        Simple(String),
        Err(String),
        Int(i64),
        Bulk(Option<Vec<u8>>),
        Array(Option<Vec<Resp>>),
    }

    impl Resp {
        fn bulk(&self) -> Vec<u8> {
            match self {
                Resp::Bulk(Some(b)) => b.clone(),
                Resp::Simple(s) => s.clone().into_bytes(),
                o => panic!("not a bulk: {o:?}"),
            }
        }
        fn int(&self) -> i64 {
            match self {
                Resp::Int(i) => *i,
                o => panic!("not an int: {o:?}"),
            }
        }
        fn arr(&self) -> Vec<Resp> {
            match self {
                Resp::Array(Some(a)) => a.clone(),
                o => panic!("not an array: {o:?}"),
            }
        }
    }

    fn read_resp(r: &mut BufReader<TcpStream>) -> Resp {
        let mut line = Vec::new();
        r.read_until(b'\n', &mut line).unwrap();
        assert!(
            line.ends_with(b"\r\n"),
            "bad line {:?}",
            String::from_utf8_lossy(&line)
        );
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).to_string();
        match line[0] {
            b'+' => Resp::Simple(body),
            b'-' => Resp::Err(body),
            b':' => Resp::Int(body.parse().unwrap()),
            b'$' => {
                let n: i64 = body.parse().unwrap();
                if n < 0 {
                    return Resp::Bulk(None);
                }
                let mut buf = vec![0u8; n as usize + 2];
                std::io::Read::read_exact(r, &mut buf).unwrap();
                buf.truncate(n as usize);
                Resp::Bulk(Some(buf))
            }
            b'*' => {
                let n: i64 = body.parse().unwrap();
                if n < 0 {
                    return Resp::Array(None);
                }
                Resp::Array(Some((0..n).map(|_| read_resp(r)).collect()))
            }
            c => panic!("unexpected RESP type {c}"),
        }
    }

    impl Redis {
        /// Start redis-server with `dir`; if `rdb` is given it is placed there as x.rdb.
        pub fn start(tag: &str, rdb: Option<&[u8]>) -> Redis {
            let dir = tempdir(tag);
            if let Some(data) = rdb {
                std::fs::write(dir.join("x.rdb"), data).unwrap();
            }
            for _attempt in 0..5 {
                let port = free_port();
                let child = Command::new(SERVER)
                    .args([
                        "--port",
                        &port.to_string(),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        dir.to_str().unwrap(),
                        "--dbfilename",
                        "x.rdb",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--enable-debug-command",
                        "yes",
                        "--rdbcompression",
                        "yes",
                        "--sanitize-dump-payload",
                        "yes",
                        "--logfile",
                        dir.join("log.txt").to_str().unwrap(),
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn redis-server");
                let mut child = child;
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                        let mut me = Redis {
                            child,
                            dir: dir.clone(),
                            conn: BufReader::new(s),
                        };
                        loop {
                            match me.cmd(&["PING"]) {
                                Resp::Simple(p) if p == "PONG" => return me,
                                Resp::Err(e) if e.starts_with("LOADING") => {
                                    std::thread::sleep(Duration::from_millis(50))
                                }
                                o => panic!("PING -> {o:?}"),
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default();
                if !log.contains("Address already in use") {
                    panic!("redis-server did not start:\n{log}");
                }
            }
            panic!("could not start redis-server");
        }

        pub fn cmd<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Resp {
            let mut out = format!("*{}\r\n", args.len()).into_bytes();
            for a in args {
                let a = a.as_ref();
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
            self.conn.get_mut().write_all(&out).unwrap();
            read_resp(&mut self.conn)
        }

        fn ok<S: AsRef<[u8]>>(&mut self, args: &[S]) {
            if let Resp::Err(e) = self.cmd(args) {
                panic!(
                    "{:?} -> {e}",
                    args.iter()
                        .map(|a| String::from_utf8_lossy(a.as_ref()).to_string())
                        .collect::<Vec<_>>()
                );
            }
        }

        /// Read a whole dataset out of the server through commands.
        pub fn fetch_all(&mut self, dbs: &[u64]) -> Dataset {
            let mut d = Dataset::new();
            let now = now_ms();
            for &db in dbs {
                self.ok(&["SELECT", &db.to_string()]);
                let keys = self.cmd(&["KEYS", "*"]).arr();
                for k in keys {
                    let k = k.bulk();
                    let t = self.cmd(&[&b"TYPE"[..], &k]).bulk();
                    let v = match &t[..] {
                        b"string" => {
                            RdbValue::Str(Bytes::from(self.cmd(&[&b"GET"[..], &k]).bulk()))
                        }
                        b"list" => RdbValue::List(
                            self.cmd(&[&b"LRANGE"[..], &k, b"0", b"-1"])
                                .arr()
                                .iter()
                                .map(|x| Bytes::from(x.bulk()))
                                .collect(),
                        ),
                        b"set" => RdbValue::Set(
                            self.cmd(&[&b"SMEMBERS"[..], &k])
                                .arr()
                                .iter()
                                .map(|x| Bytes::from(x.bulk()))
                                .collect(),
                        ),
                        b"hash" => {
                            let a = self.cmd(&[&b"HGETALL"[..], &k]).arr();
                            RdbValue::Hash(
                                a.chunks(2)
                                    .map(|c| (Bytes::from(c[0].bulk()), Bytes::from(c[1].bulk())))
                                    .collect(),
                            )
                        }
                        b"zset" => {
                            let a = self
                                .cmd(&[&b"ZRANGE"[..], &k, b"0", b"-1", b"WITHSCORES"])
                                .arr();
                            RdbValue::ZSet(
                                a.chunks(2)
                                    .map(|c| {
                                        (
                                            Bytes::from(c[0].bulk()),
                                            parse_score(&c[1].bulk()).unwrap(),
                                        )
                                    })
                                    .collect(),
                            )
                        }
                        o => panic!("type {o:?}"),
                    };
                    let pttl = self.cmd(&[&b"PTTL"[..], &k]).int();
                    // exact expire is not observable; mark presence with an approximate time
                    let e = if pttl >= 0 { Some(now + pttl) } else { None };
                    d.insert((db, k), (v, e));
                }
            }
            self.ok(&["SELECT", "0"]);
            d
        }

        pub fn digest(&mut self) -> String {
            String::from_utf8(self.cmd(&["DEBUG", "DIGEST"]).bulk()).unwrap()
        }

        pub fn encoding(&mut self, db: u64, key: &[u8]) -> String {
            self.ok(&["SELECT", &db.to_string()]);
            let e =
                String::from_utf8(self.cmd(&[&b"OBJECT"[..], b"ENCODING", key]).bulk()).unwrap();
            self.ok(&["SELECT", "0"]);
            e
        }
    }

    /// Compare two datasets; expire times only need to agree within `tol` ms.
    fn assert_same(a: &Dataset, b: &Dataset, tol: i64) {
        let na = norm_ds(a);
        let nb = norm_ds(b);
        assert_eq!(na.len(), nb.len(), "key count");
        for (x, y) in na.iter().zip(nb.iter()) {
            assert_eq!(x.0, y.0);
            assert!(
                x.1 == y.1,
                "value of {:?} differs",
                String::from_utf8_lossy(&x.0 .1)
            );
            match (x.2, y.2) {
                (None, None) => {}
                (Some(p), Some(q)) => {
                    assert!((p - q).abs() <= tol, "expire of {:?}: {p} vs {q}", x.0)
                }
                _ => panic!(
                    "expire presence differs for {:?}",
                    String::from_utf8_lossy(&x.0 .1)
                ),
            }
        }
    }

    fn check_rdb(path: &Path) {
        if !Path::new(CHECK).exists() {
            eprintln!("redis-check-rdb missing; skipped");
            return;
        }
        let out = Command::new(CHECK).arg(path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "redis-check-rdb:\n{text}"
        );
    }

    #[test]
    fn our_rdb_loads_in_redis() {
        if !have_redis() {
            return;
        }
        let d = sample_dataset();
        for compress in [true, false] {
            let file = write_dataset(
                &d,
                RdbOptions {
                    compress,
                    ..Default::default()
                },
            );
            let mut r = Redis::start("ours", Some(&file));
            check_rdb(&r.dir.join("x.rdb"));
            let got = r.fetch_all(&[0, 1, 5]);
            assert_same(&got, &d, 5_000);
            assert_eq!(r.digest(), digest_of(&d));
            // per-key DIGEST-VALUE
            for ((db, key), (v, e)) in &d {
                r.ok(&["SELECT", &db.to_string()]);
                let got = r.cmd(&[&b"DEBUG"[..], b"DIGEST-VALUE", key]).arr()[0].bulk();
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    digest::to_hex(&digest_value(v.as_value_ref(), *e)),
                    "DIGEST-VALUE {:?}",
                    String::from_utf8_lossy(key)
                );
            }
            // encodings as Redis sees them after loading
            assert_eq!(r.encoding(0, b"s:int3"), "int");
            assert_eq!(r.encoding(0, b"l:big"), "quicklist");
            assert_eq!(r.encoding(0, b"set:ints"), "intset");
            assert_eq!(r.encoding(0, b"set:manyints"), "hashtable");
            assert_eq!(r.encoding(0, b"h:small"), "listpack");
            assert_eq!(r.encoding(0, b"h:bigval"), "hashtable");
            assert_eq!(r.encoding(0, b"z:small"), "listpack");
            assert_eq!(r.encoding(1, b"z:big"), "skiplist");
            // Redis can use the loaded listpack zset in sorted order.
            let first = r.cmd(&["ZRANGE", "z:small", "0", "0"]).arr()[0].bulk();
            assert_eq!(first, b"f");
            // DEBUG RELOAD: Redis re-saves and reloads; digest unchanged.
            r.ok(&["DEBUG", "RELOAD"]);
            assert_eq!(r.digest(), digest_of(&d));
        }
    }

    #[test]
    fn legacy_rdb_loads_in_redis_too() {
        if !have_redis() {
            return;
        }
        let (f, d) = legacy_file();
        let mut r = Redis::start("legacy", Some(&f));
        let got = r.fetch_all(&[0, 2]);
        assert_same(&got, &d, 5_000);
        assert_eq!(r.digest(), digest_of(&d));
    }

    #[test]
    fn redis_dump_loads_in_ours() {
        if !have_redis() {
            return;
        }
        let mut r = Redis::start("theirs", None);
        // Plain quicklist nodes for elements >= 1000 bytes.
        r.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]);
        r.ok(&["CONFIG", "SET", "list-compress-depth", "1"]);
        let exp = |r: &mut Redis, k: &str| r.ok(&["PEXPIRE", k, "3600000"]);
        for db in 0..3u64 {
            r.ok(&["SELECT", &db.to_string()]);
            let p = format!("db{db}:");
            r.ok(&["SET", &format!("{p}str"), "hello"]);
            r.ok(&["SET", &format!("{p}int"), "12345"]);
            r.ok(&["SET", &format!("{p}negint"), "-70000"]);
            r.ok(&["SET", &format!("{p}bigint"), "123456789012"]);
            r.ok(&[
                "SET",
                &format!("{p}long"),
                &"compress me please ".repeat(100),
            ]);
            r.ok(&["SET", &format!("{p}ttl"), "v"]);
            exp(&mut r, &format!("{p}ttl"));
            r.ok(&["RPUSH", &format!("{p}list"), "a", "1", "b", "-4000", "c"]);
            for chunk in 0..20 {
                let items: Vec<String> = (0..100)
                    .map(|i| format!("listitem-{chunk}-{i}-{}", "pad".repeat(i % 7)))
                    .collect();
                let mut args = vec!["RPUSH".to_string(), format!("{p}biglist")];
                args.extend(items);
                r.ok(&args);
            }
            exp(&mut r, &format!("{p}biglist"));
            r.ok(&[
                "RPUSH",
                &format!("{p}plainlist"),
                "small",
                &"P".repeat(2000),
                "tail",
                &"Q".repeat(1500),
            ]);
            r.ok(&[
                "SADD",
                &format!("{p}intset"),
                "1",
                "2",
                "3",
                "-100",
                "100000",
                "5000000000",
            ]);
            r.ok(&["SADD", &format!("{p}set"), "a", "b", "c", "1"]);
            let many: Vec<String> = (0..700).map(|i| i.to_string()).collect();
            let mut args = vec!["SADD".to_string(), format!("{p}bigintset")];
            args.extend(many);
            r.ok(&args);
            r.ok(&[
                "HSET",
                &format!("{p}hash"),
                "f1",
                "v1",
                "f2",
                "2",
                "f3",
                "-3",
            ]);
            let mut args = vec!["HSET".to_string(), format!("{p}bighash")];
            for i in 0..300 {
                args.push(format!("field:{i}"));
                args.push(format!("value:{i}"));
            }
            r.ok(&args);
            exp(&mut r, &format!("{p}bighash"));
            r.ok(&["HSET", &format!("{p}longvalhash"), "x", &"L".repeat(200)]);
            r.ok(&[
                "ZADD",
                &format!("{p}zset"),
                "1",
                "one",
                "2.5",
                "two",
                "-3",
                "neg",
                "1e20",
                "huge",
                "0.1",
                "tenth",
                "inf",
                "pinf",
            ]);
            let mut args = vec!["ZADD".to_string(), format!("{p}bigzset")];
            for i in 0..300 {
                args.push(format!("{}", i as f64 * 0.37 - 20.0));
                args.push(format!("member:{i}"));
            }
            r.ok(&args);
            r.ok(&["ZADD", &format!("{p}longmemberzset"), "1", &"M".repeat(100)]);
        }
        r.ok(&["SELECT", "0"]);
        r.ok(&["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)"]);
        let expected_digest = r.digest();
        let expected = r.fetch_all(&[0, 1, 2]);
        assert_eq!(r.encoding(0, b"db0:biglist"), "quicklist");
        assert_eq!(r.encoding(0, b"db0:intset"), "intset");
        assert_eq!(r.encoding(0, b"db0:bigzset"), "skiplist");
        assert_eq!(r.encoding(0, b"db0:hash"), "listpack");
        r.ok(&["SAVE"]);
        let file = std::fs::read(r.dir.join("x.rdb")).unwrap();
        // Load through a BufReader over a file (streaming path).
        let mut c = Collect::default();
        let mut br = std::io::BufReader::new(std::fs::File::open(r.dir.join("x.rdb")).unwrap());
        let st = load(&mut br, &mut c).unwrap();
        assert!(st.checksum_verified);
        assert_eq!(st.bytes as usize, file.len());
        assert_same(&c.data, &expected, 5_000);
        assert_eq!(digest_of(&c.data), expected_digest);
        assert_eq!(c.functions.len(), 1);
        assert!(c.functions[0].starts_with(b"#!lua name=mylib"));
        let aux: BTreeMap<_, _> = c.aux.iter().cloned().collect();
        assert_eq!(aux[&b"redis-ver".to_vec()], b"7.0.15");
        // Per-key DIGEST-VALUE agrees with ours.
        for ((db, key), (v, e)) in &c.data {
            r.ok(&["SELECT", &db.to_string()]);
            let got = r.cmd(&[&b"DEBUG"[..], b"DIGEST-VALUE", key]).arr()[0].bulk();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                digest::to_hex(&digest_value(v.as_value_ref(), *e))
            );
        }
        // Redis used compressed quicklist nodes and plain nodes: check the
        // raw file mentions LZF-encoded node blobs (0xC3 after container 2).
        assert!(
            file.windows(2).any(|w| w == [2, 0xC3]),
            "expected compressed quicklist nodes"
        );
        assert!(
            super::super::reader::PLAIN_NODES_SEEN.load(std::sync::atomic::Ordering::Relaxed) >= 6,
            "expected plain quicklist nodes"
        );
        // Re-write what we loaded with our writer: redis-check-rdb accepts it
        // and Redis loads it to the same digest.
        let ours = write_dataset(&c.data, RdbOptions::default());
        let mut r2 = Redis::start("rewrite", Some(&ours));
        check_rdb(&r2.dir.join("x.rdb"));
        assert_eq!(r2.digest(), expected_digest);
        drop(r2);
        // DUMP payloads from Redis parse with our parser.
        r.ok(&["SELECT", "0"]);
        for k in [
            "db0:biglist",
            "db0:intset",
            "db0:hash",
            "db0:zset",
            "db0:long",
            "db0:int",
            "db0:bigzset",
        ] {
            let p = r.cmd(&["DUMP", k]).bulk();
            let v = parse_dump_payload(&p).unwrap();
            assert_eq!(
                norm(&v),
                norm(&c.data[&(0, k.as_bytes().to_vec())].0),
                "{k}"
            );
            // And ours restore in Redis.
            let mine = dump_payload(v.as_value_ref(), &RdbOptions::default()).unwrap();
            let nk = format!("{k}:restored");
            r.ok(&[
                b"RESTORE".to_vec(),
                nk.clone().into_bytes(),
                b"0".to_vec(),
                mine,
            ]);
            let d2 = r.cmd(&["DEBUG", "DIGEST-VALUE", &nk]).arr()[0].bulk();
            assert_eq!(
                String::from_utf8(d2).unwrap(),
                digest::to_hex(&digest_value(v.as_value_ref(), None)),
                "{k}"
            );
        }
    }
}

// ---- hostile lengths and counts (issue 9, item 4) ------------------------------
//
// Nothing a length or count in the input declares may be allocated before the bytes are
// there. A thread-local allocation meter measures the peak bytes a load allocates.

mod meter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(d: isize) {
        let _ = LIVE.try_with(|l| {
            let v = l.get() + d;
            l.set(v);
            let _ = PEAK.try_with(|p| {
                if v > p.get() {
                    p.set(v)
                }
            });
        });
    }

    /// System allocator counting live bytes per thread.
    pub struct Meter;

    unsafe impl GlobalAlloc for Meter {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                add(l.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(l) };
            if !p.is_null() {
                add(l.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { System.dealloc(p, l) };
            add(-(l.size() as isize));
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                add(new as isize - l.size() as isize);
            }
            q
        }
    }

    /// Runs `f` and returns its result with the peak bytes it had allocated (on this
    /// thread) at any moment.
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = LIVE.with(|l| l.get());
        PEAK.with(|p| p.set(base));
        let r = f();
        let top = PEAK.with(|p| p.get());
        (r, (top - base).max(0) as usize)
    }
}

#[global_allocator]
static METER: meter::Meter = meter::Meter;

/// An input of known size allocates nothing much before its claims are found false.
const SIZED_PEAK: usize = 16 << 10;
/// An input of unknown size pre-sizes by constants only (64 KiB strings, 4096 elements).
const UNSIZED_PEAK: usize = 1 << 20;

fn load_sized_bytes(data: &[u8]) -> Result<(Collect, LoadStats), RdbError> {
    let mut c = Collect::default();
    let st = super::reader::load_sized(data, Some(data.len() as u64), &mut c)?;
    Ok((c, st))
}

/// Loads `f` both as an input of known size and of unknown size: it must fail (a short
/// read: the claims are false) with at most the given peak allocation.
fn assert_fails_small(what: &str, f: &[u8], sized_peak: usize, unsized_peak: usize) {
    let (r, pk) = meter::peak(|| load_sized_bytes(f).map(|_| ()));
    assert!(r.is_err(), "{what}: sized load succeeded");
    assert!(pk <= sized_peak, "{what}: sized load allocated {pk} bytes");
    let (r, pk) = meter::peak(|| load_bytes(f).map(|_| ()));
    assert!(r.is_err(), "{what}: load succeeded");
    assert!(pk <= unsized_peak, "{what}: unsized load allocated {pk} bytes");
}

/// `REDIS0009`, SELECTDB 0, RESIZEDB 2^62 2^62, EOF, zero checksum: 39 bytes.
pub(crate) fn hostile_resizedb() -> Vec<u8> {
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(&[0xFE, 0x00, 0xFB]);
    for _ in 0..2 {
        f.push(0x81);
        f.extend_from_slice(&(1u64 << 62).to_be_bytes());
    }
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    f
}

/// A 64-bit length (0x81 + 8 bytes big-endian), as Redis writes lengths >= 2^32.
fn len64(n: u64) -> Vec<u8> {
    let mut v = vec![0x81];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

#[test]
fn hostile_resizedb_hint_is_bounded() {
    let f = hostile_resizedb();
    assert_eq!(f.len(), 39);
    // Known size: no more keys than 3-byte records fit in what is left.
    let ((c, st), pk) = meter::peak(|| load_sized_bytes(&f).unwrap());
    assert_eq!(st.keys, 0);
    assert_eq!(c.resizes.len(), 1);
    let (size, expires) = c.resizes[0];
    assert!(size <= f.len() as u64 / 3 && expires <= size, "{:?}", c.resizes);
    assert!(pk <= SIZED_PEAK, "{pk}");
    // Unknown size: a constant bound.
    let (c, _) = load_bytes(&f).unwrap();
    let (size, expires) = c.resizes[0];
    assert!(size <= super::reader::RESIZE_HINT_UNKNOWN && expires <= size, "{:?}", c.resizes);
    // Honest hints still pass through.
    let mut g = b"REDIS0009".to_vec();
    g.extend_from_slice(&[0xFE, 0x00, 0xFB, 2, 1, 0, 1, b'a', 1, b'x', 0xFC]);
    g.extend_from_slice(&i64::MAX.to_le_bytes());
    g.extend_from_slice(&[0, 1, b'b', 1, b'y', 0xFF]);
    g.extend_from_slice(&[0; 8]);
    let (c, st) = load_sized_bytes(&g).unwrap();
    assert_eq!((c.resizes.clone(), st.keys), (vec![(2, 1)], 2));
}

#[test]
fn hostile_collection_counts_fail_small() {
    // A key claiming 2^40 elements followed by 3 bytes of body.
    for (t, name) in [
        (TYPE_LIST, "list"),
        (TYPE_SET, "set"),
        (TYPE_ZSET, "zset (text scores)"),
        (TYPE_ZSET_2, "zset"),
        (TYPE_HASH, "hash"),
        (TYPE_LIST_QUICKLIST, "quicklist"),
        (TYPE_LIST_QUICKLIST_2, "quicklist 2"),
    ] {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[t, 1, b'k']);
        f.extend(len64(1 << 40));
        f.extend_from_slice(&[1, b'a', 0]);
        assert_fails_small(name, &f, SIZED_PEAK, UNSIZED_PEAK);
    }
}

#[test]
fn hostile_string_lengths_fail_small() {
    // 2^40 bytes claimed, one sent: as a value, as a key, as an AUX field.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k']);
    f.extend(len64(1 << 40));
    f.push(b'x');
    assert_fails_small("string value", &f, SIZED_PEAK, UNSIZED_PEAK);
    let mut f = b"REDIS0010".to_vec();
    f.push(TYPE_STRING);
    f.extend(len64(1 << 40));
    f.push(b'x');
    assert_fails_small("key", &f, SIZED_PEAK, UNSIZED_PEAK);
    let mut f = b"REDIS0010".to_vec();
    f.push(OP_AUX);
    f.extend(len64(u64::MAX));
    assert_fails_small("aux field", &f, SIZED_PEAK, UNSIZED_PEAK);
    // 60 KiB claimed (under the eager size), 10 bytes sent: a known size catches it first.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0x80, 0, 0, 0xF0, 0]);
    f.extend_from_slice(b"0123456789");
    assert_fails_small("short string", &f, SIZED_PEAK, UNSIZED_PEAK);
    // 32 MiB claimed and streamed in part: allocation follows what arrived (~1 MiB).
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0x80, 0x02, 0, 0, 0]);
    f.extend(std::iter::repeat_n(b'z', 1 << 20));
    let (r, pk) = meter::peak(|| load_bytes(&f).map(|_| ()));
    assert!(r.is_err());
    assert!(pk <= 3 << 20, "allocated {pk} bytes for 1 MiB received");
}

#[test]
fn hostile_lzf_lengths_fail_small() {
    // A huge uncompressed length for 3 bytes of data: beyond LZF's 88x, refused at once.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0xC3, 3]);
    f.extend(len64(1 << 40));
    f.extend_from_slice(&[1, b'a', b'b']);
    assert_fails_small("lzf 2^40", &f, SIZED_PEAK, UNSIZED_PEAK);
    // A huge compressed length.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0xC3]);
    f.extend(len64(1 << 40));
    f.extend(len64(1 << 41));
    f.extend_from_slice(&[1, b'a', b'b']);
    assert_fails_small("lzf clen 2^40", &f, SIZED_PEAK, UNSIZED_PEAK);
    // Within the ratio (64 KiB of literals claiming 88x = 5.5 MiB) but the data only yields
    // 62 KiB: the output grows as produced, so the claim costs little.
    let clen = 64 * 1024;
    let mut body = Vec::new();
    while body.len() + 33 <= clen {
        body.push(31);
        body.extend_from_slice(&[b'q'; 32]);
    }
    while body.len() < clen {
        body.extend_from_slice(&[0, b'r']);
    }
    body.truncate(clen);
    let ulen = (clen as u64) * 88;
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0xC3, 0x80]);
    f.extend_from_slice(&(clen as u32).to_be_bytes());
    f.push(0x80);
    f.extend_from_slice(&(ulen as u32).to_be_bytes());
    f.extend_from_slice(&body);
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    let (r, pk) = meter::peak(|| load_sized_bytes(&f).map(|_| ()));
    assert!(matches!(r, Err(RdbError::Corrupt(_))), "{r:?}");
    assert!(pk <= 512 << 10, "allocated {pk} bytes for a {ulen}-byte LZF claim");
    // The largest real expansion still loads: one literal then 264-byte back-references.
    let mut body = vec![0, b'x'];
    let refs = 1000;
    for _ in 0..refs {
        body.extend_from_slice(&[0xE0, 255, 0]);
    }
    let ulen = 1 + refs * 264;
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_STRING, 1, b'k', 0xC3, 0x80]);
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.push(0x80);
    f.extend_from_slice(&(ulen as u32).to_be_bytes());
    f.extend_from_slice(&body);
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    let (c, _) = load_sized_bytes(&f).unwrap();
    let (v, _) = &c.data[&(0, b"k".to_vec())];
    assert_eq!(v, &RdbValue::Str(Bytes::from(vec![b'x'; ulen])));
}

#[test]
fn hostile_blob_headers_fail_small() {
    // Listpack / ziplist / intset blobs whose headers claim huge sizes and counts.
    let lp = vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x81, b'a', 0x02, 0xFF];
    let zl = vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFE, 0xFF, 0, 1, b'a', 0xFF];
    let is = vec![8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 0, 0, 0, 0];
    // ... and an entry claiming 4 GiB inside an honest header.
    let lp_entry = {
        let mut e = vec![0, 0, 0, 0, 1, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, b'a', 0xFF];
        let n = e.len() as u32;
        e[..4].copy_from_slice(&n.to_le_bytes());
        e
    };
    let zl_entry = {
        let mut e = vec![0, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, b'a', 0xFF];
        let n = e.len() as u32;
        e[..4].copy_from_slice(&n.to_le_bytes());
        e
    };
    for (t, name, blob) in [
        (TYPE_HASH_LISTPACK, "hash listpack", lp.clone()),
        (TYPE_ZSET_LISTPACK, "zset listpack", lp.clone()),
        (TYPE_HASH_LISTPACK, "listpack entry", lp_entry.clone()),
        (TYPE_LIST_ZIPLIST, "list ziplist", zl.clone()),
        (TYPE_HASH_ZIPLIST, "hash ziplist", zl.clone()),
        (TYPE_ZSET_ZIPLIST, "zset ziplist", zl_entry.clone()),
        (TYPE_SET_INTSET, "intset", is.clone()),
    ] {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[t, 1, b'k', blob.len() as u8]);
        f.extend_from_slice(&blob);
        f.push(0xFF);
        f.extend_from_slice(&[0; 8]);
        let (r, pk) = meter::peak(|| load_sized_bytes(&f).map(|_| ()));
        assert!(matches!(r, Err(RdbError::Corrupt(_))), "{name}: {r:?}");
        assert!(pk <= SIZED_PEAK, "{name}: allocated {pk} bytes");
    }
    // A quicklist whose node blob claims 2^40 bytes.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[TYPE_LIST_QUICKLIST_2, 1, b'k', 1, 2]);
    f.extend(len64(1 << 40));
    f.extend_from_slice(&[1, 2, 3]);
    assert_fails_small("quicklist node", &f, SIZED_PEAK, UNSIZED_PEAK);
}

#[test]
fn hostile_dump_payloads_fail_small() {
    let payload = |body: &[u8]| {
        let mut p = body.to_vec();
        p.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
        p.extend_from_slice(&[0; 8]); // no checksum
        p
    };
    for (t, name) in [
        (TYPE_LIST, "list"),
        (TYPE_SET, "set"),
        (TYPE_ZSET_2, "zset"),
        (TYPE_HASH, "hash"),
        (TYPE_LIST_QUICKLIST_2, "quicklist"),
        (TYPE_STRING, "string"),
    ] {
        let mut body = vec![t];
        body.extend(len64(1 << 40));
        body.extend_from_slice(&[1, b'a', 0]);
        let p = payload(&body);
        let (r, pk) = meter::peak(|| parse_dump_payload(&p).map(|_| ()));
        assert!(r.is_err(), "{name}");
        assert!(pk <= SIZED_PEAK, "DUMP {name}: allocated {pk} bytes");
    }
    // An LZF string inside a DUMP payload claiming more than its bytes can expand to.
    let mut body = vec![TYPE_STRING, 0xC3, 3];
    body.extend(len64(1 << 40));
    body.extend_from_slice(&[1, b'a', b'b']);
    let (r, pk) = meter::peak(|| parse_dump_payload(&payload(&body)).map(|_| ()));
    assert!(r.is_err());
    assert!(pk <= SIZED_PEAK, "DUMP lzf: allocated {pk} bytes");
}

#[test]
fn stream_round_trip_keeps_nodes_groups_and_pel() {
    use crate::stream::{NodeLimits, Stream, StreamId};
    let mut s = Stream::new();
    let lim = NodeLimits { max_bytes: 4096, max_entries: 5 };
    for i in 1..=23u64 {
        let v = i.to_string();
        let pairs: Vec<&[u8]> = if i % 4 == 0 { vec![b"other", v.as_bytes()] } else { vec![b"f", v.as_bytes(), b"g", b"x"] };
        s.append(StreamId::new(i, i % 3), &pairs, lim).unwrap();
    }
    assert!(s.delete(StreamId::new(2, 2)));
    s.after_deletes();
    let mut g = crate::stream::Group::new(StreamId::new(5, 2), 5);
    g.consumer_or_create(b"alice", 1000);
    g.deliver(StreamId::new(3, 0), &Bytes::from_static(b"alice"), 1234);
    g.consumer_or_create(b"idle", 999);
    s.groups.insert(Bytes::from_static(b"g"), g);
    let s = std::sync::Arc::new(s);
    let mut d = Dataset::new();
    d.insert((0, b"st".to_vec()), (RdbValue::Stream(s.clone()), None));
    let out = write_dataset(&d, RdbOptions::default());
    let (c, _) = load_bytes(&out).unwrap();
    match &c.data[&(0, b"st".to_vec())].0 {
        RdbValue::Stream(got) => assert_eq!(**got, *s),
        other => panic!("{other:?}"),
    }
    assert_eq!(digest_of(&c.data), digest_of(&d));
}

/// RDB 11 (Redis 7.2, Valkey 8): a set as a listpack (type 20) loads; a Redis 7.4 hash with
/// field expiration (type 24) is refused with a message naming it.
#[test]
fn rdb_11_set_listpack_and_12_hash_field_expiration() {
    let blob = crate::rdb::listpack::build([&b"a"[..], b"17", b"hello"]);
    let mut f = b"REDIS0011".to_vec();
    f.extend_from_slice(&[OP_SELECTDB, 0, TYPE_SET_LISTPACK, 1, b's']);
    assert!(blob.len() < 64);
    f.push(blob.len() as u8);
    f.extend_from_slice(&blob);
    f.push(OP_EOF);
    let crc = crate::rdb::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let (c, _) = load_bytes(&f).unwrap();
    let (v, _) = &c.data[&(0, b"s".to_vec())];
    assert_eq!(norm(v), norm(&RdbValue::Set(vec![b("a"), b("17"), b("hello")])));
    let mut h = b"REDIS0012".to_vec();
    h.extend_from_slice(&[OP_SELECTDB, 0, TYPE_HASH_METADATA, 1, b'h', 0, 0, 0]);
    match load_bytes(&h).err().unwrap() {
        RdbError::Unsupported(m) => assert!(m.contains("hash with field expiration (RDB type 24"), "{m}"),
        other => panic!("{other:?}"),
    }
}
