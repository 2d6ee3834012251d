//! HyperLogLog commands against real Redis 7.0 (redis-server from /usr/bin; the comparisons
//! are skipped with a message when it is missing):
//! - the same PFADD / PFCOUNT / PFMERGE / PFDEBUG sequences give the same replies and the same
//!   GET bytes (sparse, dense, promotion at hll-sparse-max-bytes, merges, multi-key counts,
//!   corrupt values and every error);
//! - the replication stream of an HLL workload equals redis-server's (PFADD only when a
//!   register changed, PFCOUNT when it refreshed the cached cardinality, ...);
//! - tandem master -> tandem replica: values equal, PFCOUNT on the read-only replica refreshes
//!   the replica's own cache and sees a logically expired key as missing without deleting it;
//! - real Redis master -> tandem replica and tandem master -> real Redis replica hold the same
//!   bytes.

mod support;
use std::time::Duration;
use support::*;

/// What every server here runs with: DEBUG allowed, a replica's sync starts at once.
const OPTS: &[&str] = &["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"];

fn start_hll(kind: Kind, extra: &[&str]) -> Server {
    Server::start(kind, &[OPTS, extra].concat())
}

/// Waits until `key` holds the same bytes on both servers.
fn wait_same_value(master: u16, replica: u16, key: &str) -> Vec<u8> {
    let (mut m, mut r) = (Conn::connect(master), Conn::connect(replica));
    let want = m.raw_bytes(&["GET", key]);
    wait_for_within(Duration::from_secs(20), &format!("{key} replicated"), || r.raw_bytes(&["GET", key]) == want);
    want
}

/// The bytes of a bulk reply.
fn payload(reply: &[u8]) -> &[u8] {
    let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    &reply[start..reply.len() - 2]
}

/// A tiny deterministic generator (xorshift), so both servers see the same elements.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pushes the reply of `args` and the GET of `key` after it.
fn step(out: &mut Vec<Vec<u8>>, c: &mut Conn, key: &str, args: &[&str]) {
    out.push(c.raw_bytes(args));
    out.push(c.raw_bytes(&["GET", key]));
}

fn basics_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let mut v = vec![];
    // Creation without elements, a first count, a repeated add, the cache.
    step(&mut v, &mut c, "h", &["PFADD", "h"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", "a", "b", "c"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", "a", "b", "c"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", ""]);
    v.push(c.raw_bytes(&["OBJECT", "ENCODING", "h"]));
    v.push(c.raw_bytes(&["PFDEBUG", "DECODE", "h"]));
    v.push(c.raw_bytes(&["PFDEBUG", "ENCODING", "h"]));
    v.push(c.raw_bytes(&["PFCOUNT", "nokey"]));
    v.push(c.raw_bytes(&["EXISTS", "nokey"]));
    // Growth to the default 3000-byte limit, then dense.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..60 {
        let els: Vec<String> = (0..40).map(|_| format!("{}", rng.next())).collect();
        let mut args = vec!["PFADD", "big"];
        args.extend(els.iter().map(|s| s.as_str()));
        step(&mut v, &mut c, "big", &args);
        if round % 5 == 0 {
            step(&mut v, &mut c, "big", &["PFCOUNT", "big"]);
        }
        v.push(c.raw_bytes(&["PFDEBUG", "ENCODING", "big"]));
    }
    // A smaller limit promotes sooner; 0 promotes at the first growth.
    v.push(c.raw_bytes(&["CONFIG", "SET", "hll-sparse-max-bytes", "100"]));
    v.push(c.raw_bytes(&["CONFIG", "GET", "hll-sparse-max-bytes"]));
    for i in 0..30 {
        step(&mut v, &mut c, "small", &["PFADD", "small", &format!("el-{i}")]);
        v.push(c.raw_bytes(&["PFDEBUG", "ENCODING", "small"]));
    }
    v.push(c.raw_bytes(&["CONFIG", "SET", "hll-sparse-max-bytes", "0"]));
    step(&mut v, &mut c, "zero", &["PFADD", "zero"]);
    step(&mut v, &mut c, "zero", &["PFADD", "zero", "x"]);
    v.push(c.raw_bytes(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]));
    // Merges: sparse with sparse, sparse with dense, into an existing key, no sources.
    c.raw_bytes(&["PFADD", "s1", "a", "b", "c", "d"]);
    c.raw_bytes(&["PFADD", "s2", "c", "d", "e", "f", "g"]);
    step(&mut v, &mut c, "m1", &["PFMERGE", "m1", "s1", "s2"]);
    step(&mut v, &mut c, "m1", &["PFCOUNT", "m1"]);
    step(&mut v, &mut c, "m2", &["PFMERGE", "m2", "s1", "big", "nokey"]);
    step(&mut v, &mut c, "s1", &["PFMERGE", "s1", "s2"]);
    step(&mut v, &mut c, "s2", &["PFMERGE", "s2"]);
    step(&mut v, &mut c, "m3", &["PFMERGE", "m3"]);
    step(&mut v, &mut c, "s2", &["PFMERGE", "s2", "big"]);
    v.push(c.raw_bytes(&["PFCOUNT", "s1", "s2", "big", "nokey"]));
    v.push(c.raw_bytes(&["PFCOUNT", "s1", "s1"]));
    v.push(c.raw_bytes(&["PFCOUNT", "nokey", "nokey2"]));
    // PFDEBUG.
    step(&mut v, &mut c, "s1", &["PFDEBUG", "TODENSE", "s1"]);
    step(&mut v, &mut c, "s1", &["PFDEBUG", "TODENSE", "s1"]);
    c.raw_bytes(&["PFADD", "g", "x", "y"]);
    v.push(c.raw_bytes(&["PFDEBUG", "GETREG", "g"]));
    v.push(c.raw_bytes(&["GET", "g"]));
    v.push(c.raw_bytes(&["PFDEBUG", "DECODE", "g"]));
    v.push(c.raw_bytes(&["PFDEBUG", "nosuch", "g"]));
    v.push(c.raw_bytes(&["PFDEBUG", "nosuch", "nokey"]));
    v.push(c.raw_bytes(&["PFDEBUG", "GETREG"]));
    v
}

fn errors_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let mut v = vec![];
    c.raw_bytes(&["RPUSH", "list", "x"]);
    c.raw_bytes(&["SET", "str", "not an hll"]);
    for args in [
        &["PFADD", "list", "a"][..],
        &["PFCOUNT", "list"],
        &["PFCOUNT", "nokey", "list"],
        &["PFMERGE", "list", "nokey"],
        &["PFMERGE", "dest", "list"],
        &["PFDEBUG", "ENCODING", "list"],
        &["PFADD", "str", "a"],
        &["PFCOUNT", "str"],
        &["PFCOUNT", "str", "nokey"],
        &["PFMERGE", "str"],
        &["PFMERGE", "dest", "str"],
        &["PFDEBUG", "GETREG", "str"],
        &["PFADD"],
        &["PFCOUNT"],
        &["PFMERGE"],
        &["PFDEBUG", "ENCODING"],
        &["PFSELFTEST", "x"],
        &["EXISTS", "dest"],
    ] {
        v.push(c.raw_bytes(args));
    }
    // Corrupt values: extra bytes at the tail of a sparse value, broken magic, unknown
    // encoding, a dense header on a sparse body, a dense value with a bad register byte.
    let corruptions: &[(&str, &[&[u8]])] = &[
        ("tail", &[b"APPEND", b"tail", b"hello"]),
        ("magic", &[b"SETRANGE", b"magic", b"0", b"0123"]),
        ("enc", &[b"SETRANGE", b"enc", b"4", b"x"]),
        ("dense-len", &[b"SETRANGE", b"dense-len", b"4", b"\x00"]),
        ("sparse-short", &[b"SETRANGE", b"sparse-short", b"17", b"\x00"]),
        ("sparse-val", &[b"SETRANGE", b"sparse-val", b"16", b"\xff"]),
        ("trunc", &[b"APPEND", b"trunc", b"\x40"]),
    ];
    for (key, corrupt) in corruptions {
        c.raw_bytes(&["PFADD", key, "a", "b", "c"]);
        v.push(c.raw_bytes(corrupt));
        for args in [
            &["PFCOUNT", key][..],
            &["PFCOUNT", key, "nokey"],
            &["PFADD", key, "d", "e", "f", "g", "h", "i", "j", "k", "l"],
            &["PFMERGE", "dest2", key],
            &["PFMERGE", key],
            &["PFDEBUG", "DECODE", key],
            &["PFDEBUG", "TODENSE", key],
            &["GET", key],
            &["EXISTS", "dest2"],
        ] {
            v.push(c.raw_bytes(args));
        }
    }
    c.raw_bytes(&["PFADD", "d", "a"]);
    c.raw_bytes(&["PFDEBUG", "TODENSE", "d"]);
    c.raw_bytes::<&[u8]>(&[b"SETRANGE", b"d", b"100", b"\xff\xff\xff"]);
    for args in [&["PFCOUNT", "d"][..], &["PFCOUNT", "d", "nokey"], &["PFADD", "d", "z"], &["PFDEBUG", "DECODE", "d"], &["GET", "d"]] {
        v.push(c.raw_bytes(args));
    }
    v
}

#[test]
fn command_sequences_match_redis() {
    same_on_both_with(OPTS, basics_workload);
}

#[test]
fn errors_and_corrupt_values_match_redis() {
    same_on_both_with(OPTS, errors_workload);
}

/// Random elements, random limits, random merges: every reply and value byte-equal.
fn random_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    let mut v = vec![];
    let mut rng = Rng(42);
    let keys = ["r0", "r1", "r2", "r3"];
    for round in 0..40 {
        let limit = [25, 100, 500, 3000, 3000, 8000][rng.below(6) as usize].to_string();
        v.push(c.raw_bytes(&["CONFIG", "SET", "hll-sparse-max-bytes", &limit]));
        if round % 10 == 0 {
            c.raw_bytes(&["FLUSHALL"]);
        }
        for _ in 0..10 {
            let key = keys[rng.below(4) as usize];
            match rng.below(10) {
                0..=5 => {
                    let n = [0, 1, 3, 10, 50, 300][rng.below(6) as usize];
                    let els: Vec<String> = (0..n)
                        .map(|_| {
                            let bits = 8 + rng.below(40);
                            format!("{:x}", rng.below(1 << bits))
                        })
                        .collect();
                    let mut args = vec!["PFADD", key];
                    args.extend(els.iter().map(|s| s.as_str()));
                    v.push(c.raw_bytes(&args));
                }
                6 => v.push(c.raw_bytes(&["PFCOUNT", key])),
                7 => v.push(c.raw_bytes(&["PFCOUNT", keys[0], keys[1], keys[2], keys[3]])),
                8 => v.push(c.raw_bytes(&["PFMERGE", key, keys[rng.below(4) as usize], keys[rng.below(4) as usize]])),
                _ => v.push(c.raw_bytes(&["PFDEBUG", "TODENSE", key])),
            }
            for k in keys {
                v.push(c.raw_bytes(&["GET", k]));
            }
        }
    }
    v
}

#[test]
fn random_sequences_match_redis() {
    same_on_both_with(OPTS, random_workload);
}

fn stream_workload(port: u16) -> Vec<Vec<u8>> {
    let mut repl = attach_replica(port);
    let mut c = Conn::connect(port);
    let mut v = vec![];
    c.raw_bytes(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for args in [
        &["PFADD", "h", "a", "b", "c"][..],
        &["PFADD", "h", "a", "b", "c"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h"],
        &["PFADD", "h2"],
        &["PFADD", "h2"],
        &["PFCOUNT", "h", "h2"],
        &["PFMERGE", "h3", "h", "h2"],
        &["PFMERGE", "h3"],
        &["PFDEBUG", "TODENSE", "h3"],
        &["PFDEBUG", "TODENSE", "h3"],
        &["PFDEBUG", "GETREG", "h2"],
        &["PFDEBUG", "ENCODING", "h2"],
        &["PFADD", "h", "z"],
        &["MULTI"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h"],
        &["PFADD", "h", "zz"],
        &["EXEC"],
        &["SET", "notvalid", "x"],
        &["PFADD", "notvalid", "a"],
        &["PFCOUNT", "notvalid"],
        // Expired keys: the DEL goes first (with the command in MULTI/EXEC when it also
        // propagates).
        &["PFADD", "e1", "x"],
        &["PEXPIRE", "e1", "1"],
        &["PFADD", "e2", "x"],
        &["PEXPIRE", "e2", "1"],
        &["PFADD", "e3", "x"],
        &["PEXPIRE", "e3", "1"],
        &["PFADD", "e4", "x"],
        &["PEXPIRE", "e4", "1"],
        &["DEBUG", "SLEEP", "0.01"],
        &["PFCOUNT", "e1"],
        &["PFCOUNT", "e2", "h"],
        &["PFADD", "e3", "y"],
        &["PFMERGE", "e4"],
        &["SET", "end-marker", "1"],
    ] {
        v.push(c.raw_bytes(args));
    }
    v.push(b"--- stream ---".to_vec());
    // PXAT times masked.
    v.extend(read_stream(&mut repl).into_iter().map(|mut parts| {
        if parts[0].eq_ignore_ascii_case("PEXPIREAT") {
            parts[2] = "*".into();
        }
        parts.join(" ").into_bytes()
    }));
    v
}

#[test]
fn replication_stream_matches_redis() {
    same_on_both_with(OPTS, stream_workload);
}

#[test]
fn tandem_replica_pfcount_refreshes_its_own_cache() {
    let master = start_hll(Kind::Tandem, &[]);
    let replica = start_hll(Kind::Tandem, &["--replicaof", &format!("127.0.0.1 {}", master.port)]);
    replica.wait_link_up();
    let (mut m, mut r) = (Conn::connect(master.port), Conn::connect(replica.port));
    m.raw_bytes(&["PFADD", "h", "a", "b", "c", "d"]);
    let before = wait_same_value(master.port, replica.port, "h");
    assert_eq!(payload(&before)[15], 0x80, "cache invalid after PFADD: {before:?}");
    // PFCOUNT on the read-only replica computes and stores the cache in its own copy.
    assert_eq!(r.raw(&["PFCOUNT", "h"]), ":4\r\n");
    let after = r.raw_bytes(&["GET", "h"]);
    assert_ne!(after, before);
    assert_eq!(&payload(&after)[8..16], &[4, 0, 0, 0, 0, 0, 0, 0]);
    // The master's own PFCOUNT propagates and leaves the same bytes on both.
    assert_eq!(m.raw(&["PFCOUNT", "h"]), ":4\r\n");
    assert_eq!(wait_same_value(master.port, replica.port, "h"), after);
    // Writes stay refused on the replica.
    assert!(r.raw(&["PFADD", "h", "x"]).starts_with("-READONLY"));
    assert!(r.raw(&["PFMERGE", "h", "h"]).starts_with("-READONLY"));
    assert!(r.raw(&["PFDEBUG", "TODENSE", "h"]).starts_with("-READONLY"));
    // A key that is logically expired (the master has not expired it yet) is missing for
    // PFCOUNT on the replica, and stays in its keyspace.
    m.raw_bytes(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    m.raw_bytes(&["PFADD", "e", "a", "b"]);
    m.raw_bytes(&["PEXPIRE", "e", "50"]);
    wait_same_value(master.port, replica.port, "e");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(r.raw(&["PFCOUNT", "e"]), ":0\r\n");
    assert_eq!(r.raw(&["PFCOUNT", "e", "h"]), ":4\r\n");
    assert_eq!(r.raw(&["DBSIZE"]), ":2\r\n");
    // Dense values replicate byte for byte too.
    m.raw_bytes(&["PFDEBUG", "TODENSE", "h"]);
    let dense = wait_same_value(master.port, replica.port, "h");
    assert!(dense.len() > 12304);
}

#[test]
fn real_redis_and_tandem_exchange_hll_values() {
    if !have_redis() {
        return;
    }
    // Real master, tandem replica.
    let master = start_hll(Kind::Redis, &[]);
    let mut m = Conn::connect(master.port);
    m.raw_bytes(&["PFADD", "before-sync", "a", "b", "c"]);
    m.raw_bytes(&["PFADD", "dense-before", "x"]);
    m.raw_bytes(&["PFDEBUG", "TODENSE", "dense-before"]);
    let replica = start_hll(Kind::Tandem, &["--replicaof", &format!("127.0.0.1 {}", master.port)]);
    replica.wait_link_up();
    wait_same_value(master.port, replica.port, "before-sync");
    wait_same_value(master.port, replica.port, "dense-before");
    let mut r = Conn::connect(replica.port);
    assert_eq!(r.raw(&["PFCOUNT", "before-sync", "dense-before"]), ":4\r\n");
    let mut rng = Rng(7);
    for i in 0..200 {
        let els: Vec<String> = (0..20).map(|_| rng.next().to_string()).collect();
        let mut args = vec!["PFADD", "live"];
        args.extend(els.iter().map(|s| s.as_str()));
        m.raw_bytes(&args);
        if i % 20 == 0 {
            m.raw_bytes(&["PFCOUNT", "live"]);
        }
    }
    m.raw_bytes(&["PFMERGE", "merged", "live", "before-sync"]);
    for k in ["live", "merged"] {
        wait_same_value(master.port, replica.port, k);
    }

    // Tandem master, real replica.
    let master = start_hll(Kind::Tandem, &[]);
    let mut m = Conn::connect(master.port);
    m.raw_bytes(&["PFADD", "before-sync", "a", "b", "c"]);
    m.raw_bytes(&["PFCOUNT", "before-sync"]);
    let replica = start_hll(Kind::Redis, &["--replicaof", "127.0.0.1", &master.port.to_string()]);
    replica.wait_link_up();
    wait_same_value(master.port, replica.port, "before-sync");
    let mut r = Conn::connect(replica.port);
    assert_eq!(r.raw(&["PFCOUNT", "before-sync"]), ":3\r\n");
    for i in 0..200 {
        let els: Vec<String> = (0..20).map(|_| rng.next().to_string()).collect();
        let mut args = vec!["PFADD", "live"];
        args.extend(els.iter().map(|s| s.as_str()));
        m.raw_bytes(&args);
        if i % 20 == 0 {
            m.raw_bytes(&["PFCOUNT", "live"]);
        }
    }
    m.raw_bytes(&["PFMERGE", "merged", "live", "before-sync"]);
    for k in ["live", "merged"] {
        wait_same_value(master.port, replica.port, k);
    }
    assert_eq!(r.raw(&["PFCOUNT", "merged"]), m.raw(&["PFCOUNT", "merged"]));
}
