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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REDIS: &str = "/usr/bin/redis-server";
const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");

struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn have_redis() -> bool {
    let ok = Path::new(REDIS).exists();
    if !ok {
        eprintln!("redis-server not installed: comparison skipped");
    }
    ok
}

fn start(bin: &str, extra: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("tandem-hll-{}-{}", std::process::id(), port));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<String> = vec!["--port".into(), port.to_string(), "--save".into(), "".into()];
    args.extend(["--dir".to_string(), dir.to_string_lossy().into_owned()]);
    args.extend(["--repl-diskless-sync-delay".to_string(), "0".into(), "--enable-debug-command".into(), "yes".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let s = Server { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} did not start", bin);
}

struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    req
}

impl Conn {
    fn new(port: u16) -> Conn {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Conn { w, r }
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let mut line = vec![];
        self.r.read_until(b'\n', &mut line).unwrap();
        assert!(!line.is_empty(), "connection closed");
        out.extend_from_slice(&line);
        let n = || std::str::from_utf8(&line[1..line.len() - 2]).unwrap().parse::<i64>().unwrap();
        match line[0] {
            b'$' if n() >= 0 => {
                let mut b = vec![0; n() as usize + 2];
                self.r.read_exact(&mut b).unwrap();
                out.extend_from_slice(&b);
            }
            b'*' => (0..n().max(0)).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }

    fn reply(&mut self) -> Vec<u8> {
        let mut out = vec![];
        self.read_reply(&mut out);
        out
    }

    fn raw_b(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.w.write_all(&encode(args)).unwrap();
        self.reply()
    }

    fn raw(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.raw_b(&a)
    }

    fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.raw(args)).into_owned()
    }

    fn info_field(&mut self, field: &str) -> Option<String> {
        let info = self.text(&["INFO", "all"]);
        info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn wait_link_up(replica: u16) {
    let mut c = Conn::new(replica);
    wait_for("master_link_status:up", 30, || c.info_field("master_link_status").as_deref() == Some("up"));
}

/// Waits until `key` holds the same bytes on both servers.
fn wait_same_value(master: u16, replica: u16, key: &str) -> Vec<u8> {
    let (mut m, mut r) = (Conn::new(master), Conn::new(replica));
    let want = m.raw(&["GET", key]);
    wait_for(&format!("{key} replicated"), 20, || r.raw(&["GET", key]) == want);
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

/// Runs `f` against tandem and (when installed) redis-server and compares what it returns.
fn same_on_both(f: impl Fn(u16) -> Vec<Vec<u8>>) {
    let t = start(TANDEM, &[]);
    let got = f(t.port);
    if have_redis() {
        let r = start(REDIS, &[]);
        let want = f(r.port);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(String::from_utf8_lossy(g), String::from_utf8_lossy(w), "step {i}: tandem (left) and redis-server (right) differ");
        }
    }
}

/// Pushes the reply of `args` and the GET of `key` after it.
fn step(out: &mut Vec<Vec<u8>>, c: &mut Conn, key: &str, args: &[&str]) {
    out.push(c.raw(args));
    out.push(c.raw(&["GET", key]));
}

fn basics_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::new(port);
    let mut v = vec![];
    // Creation without elements, a first count, a repeated add, the cache.
    step(&mut v, &mut c, "h", &["PFADD", "h"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", "a", "b", "c"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", "a", "b", "c"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFCOUNT", "h"]);
    step(&mut v, &mut c, "h", &["PFADD", "h", ""]);
    v.push(c.raw(&["OBJECT", "ENCODING", "h"]));
    v.push(c.raw(&["PFDEBUG", "DECODE", "h"]));
    v.push(c.raw(&["PFDEBUG", "ENCODING", "h"]));
    v.push(c.raw(&["PFCOUNT", "nokey"]));
    v.push(c.raw(&["EXISTS", "nokey"]));
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
        v.push(c.raw(&["PFDEBUG", "ENCODING", "big"]));
    }
    // A smaller limit promotes sooner; 0 promotes at the first growth.
    v.push(c.raw(&["CONFIG", "SET", "hll-sparse-max-bytes", "100"]));
    v.push(c.raw(&["CONFIG", "GET", "hll-sparse-max-bytes"]));
    for i in 0..30 {
        step(&mut v, &mut c, "small", &["PFADD", "small", &format!("el-{i}")]);
        v.push(c.raw(&["PFDEBUG", "ENCODING", "small"]));
    }
    v.push(c.raw(&["CONFIG", "SET", "hll-sparse-max-bytes", "0"]));
    step(&mut v, &mut c, "zero", &["PFADD", "zero"]);
    step(&mut v, &mut c, "zero", &["PFADD", "zero", "x"]);
    v.push(c.raw(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]));
    // Merges: sparse with sparse, sparse with dense, into an existing key, no sources.
    c.raw(&["PFADD", "s1", "a", "b", "c", "d"]);
    c.raw(&["PFADD", "s2", "c", "d", "e", "f", "g"]);
    step(&mut v, &mut c, "m1", &["PFMERGE", "m1", "s1", "s2"]);
    step(&mut v, &mut c, "m1", &["PFCOUNT", "m1"]);
    step(&mut v, &mut c, "m2", &["PFMERGE", "m2", "s1", "big", "nokey"]);
    step(&mut v, &mut c, "s1", &["PFMERGE", "s1", "s2"]);
    step(&mut v, &mut c, "s2", &["PFMERGE", "s2"]);
    step(&mut v, &mut c, "m3", &["PFMERGE", "m3"]);
    step(&mut v, &mut c, "s2", &["PFMERGE", "s2", "big"]);
    v.push(c.raw(&["PFCOUNT", "s1", "s2", "big", "nokey"]));
    v.push(c.raw(&["PFCOUNT", "s1", "s1"]));
    v.push(c.raw(&["PFCOUNT", "nokey", "nokey2"]));
    // PFDEBUG.
    step(&mut v, &mut c, "s1", &["PFDEBUG", "TODENSE", "s1"]);
    step(&mut v, &mut c, "s1", &["PFDEBUG", "TODENSE", "s1"]);
    c.raw(&["PFADD", "g", "x", "y"]);
    v.push(c.raw(&["PFDEBUG", "GETREG", "g"]));
    v.push(c.raw(&["GET", "g"]));
    v.push(c.raw(&["PFDEBUG", "DECODE", "g"]));
    v.push(c.raw(&["PFDEBUG", "nosuch", "g"]));
    v.push(c.raw(&["PFDEBUG", "nosuch", "nokey"]));
    v.push(c.raw(&["PFDEBUG", "GETREG"]));
    v
}

fn errors_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::new(port);
    let mut v = vec![];
    c.raw(&["RPUSH", "list", "x"]);
    c.raw(&["SET", "str", "not an hll"]);
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
        v.push(c.raw(args));
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
        c.raw(&["PFADD", key, "a", "b", "c"]);
        v.push(c.raw_b(corrupt));
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
            v.push(c.raw(args));
        }
    }
    c.raw(&["PFADD", "d", "a"]);
    c.raw(&["PFDEBUG", "TODENSE", "d"]);
    c.raw_b(&[b"SETRANGE", b"d", b"100", b"\xff\xff\xff"]);
    for args in [&["PFCOUNT", "d"][..], &["PFCOUNT", "d", "nokey"], &["PFADD", "d", "z"], &["PFDEBUG", "DECODE", "d"], &["GET", "d"]] {
        v.push(c.raw(args));
    }
    v
}

#[test]
fn command_sequences_match_redis() {
    same_on_both(basics_workload);
}

#[test]
fn errors_and_corrupt_values_match_redis() {
    same_on_both(errors_workload);
}

/// Random elements, random limits, random merges: every reply and value byte-equal.
fn random_workload(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::new(port);
    let mut v = vec![];
    let mut rng = Rng(42);
    let keys = ["r0", "r1", "r2", "r3"];
    for round in 0..40 {
        let limit = [25, 100, 500, 3000, 3000, 8000][rng.below(6) as usize].to_string();
        v.push(c.raw(&["CONFIG", "SET", "hll-sparse-max-bytes", &limit]));
        if round % 10 == 0 {
            c.raw(&["FLUSHALL"]);
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
                    v.push(c.raw(&args));
                }
                6 => v.push(c.raw(&["PFCOUNT", key])),
                7 => v.push(c.raw(&["PFCOUNT", keys[0], keys[1], keys[2], keys[3]])),
                8 => v.push(c.raw(&["PFMERGE", key, keys[rng.below(4) as usize], keys[rng.below(4) as usize]])),
                _ => v.push(c.raw(&["PFDEBUG", "TODENSE", key])),
            }
            for k in keys {
                v.push(c.raw(&["GET", k]));
            }
        }
    }
    v
}

#[test]
fn random_sequences_match_redis() {
    same_on_both(random_workload);
}

/// Skips the RDB a `SYNC` answers: `$<len>\r\n<bytes>` (newlines may come first).
fn attach_replica(port: u16) -> Conn {
    let mut repl = Conn::new(port);
    repl.w.write_all(b"SYNC\r\n").unwrap();
    let len = loop {
        let mut line = String::new();
        repl.r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed during SYNC");
        if let Some(n) = line.strip_prefix('$') {
            break n.trim().parse::<usize>().unwrap();
        }
    };
    let mut rdb = vec![0; len];
    repl.r.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS"));
    repl
}

/// Reads the stream up to `SET end-marker 1`, PINGs and SELECTs left out, PXAT times masked.
fn read_stream(repl: &mut Conn) -> Vec<Vec<u8>> {
    let mut v = vec![];
    loop {
        let raw = String::from_utf8_lossy(&repl.reply()).into_owned();
        let mut parts: Vec<String> = raw.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).map(|s| s.to_string()).collect();
        let name = parts[0].to_ascii_uppercase();
        if name == "SET" && parts[1] == "end-marker" {
            return v;
        }
        if name == "PEXPIREAT" {
            parts[2] = "*".into();
        }
        if name != "PING" && name != "SELECT" {
            v.push(parts.join(" ").into_bytes());
        }
    }
}

fn stream_workload(port: u16) -> Vec<Vec<u8>> {
    let mut repl = attach_replica(port);
    let mut c = Conn::new(port);
    let mut v = vec![];
    c.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
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
        v.push(c.raw(args));
    }
    v.push(b"--- stream ---".to_vec());
    v.extend(read_stream(&mut repl));
    v
}

#[test]
fn replication_stream_matches_redis() {
    same_on_both(stream_workload);
}

#[test]
fn tandem_replica_pfcount_refreshes_its_own_cache() {
    let master = start(TANDEM, &[]);
    let replica = start(TANDEM, &["--replicaof", &format!("127.0.0.1 {}", master.port)]);
    wait_link_up(replica.port);
    let (mut m, mut r) = (Conn::new(master.port), Conn::new(replica.port));
    m.raw(&["PFADD", "h", "a", "b", "c", "d"]);
    let before = wait_same_value(master.port, replica.port, "h");
    assert_eq!(payload(&before)[15], 0x80, "cache invalid after PFADD: {before:?}");
    // PFCOUNT on the read-only replica computes and stores the cache in its own copy.
    assert_eq!(r.text(&["PFCOUNT", "h"]), ":4\r\n");
    let after = r.raw(&["GET", "h"]);
    assert_ne!(after, before);
    assert_eq!(&payload(&after)[8..16], &[4, 0, 0, 0, 0, 0, 0, 0]);
    // The master's own PFCOUNT propagates and leaves the same bytes on both.
    assert_eq!(m.text(&["PFCOUNT", "h"]), ":4\r\n");
    assert_eq!(wait_same_value(master.port, replica.port, "h"), after);
    // Writes stay refused on the replica.
    assert!(r.text(&["PFADD", "h", "x"]).starts_with("-READONLY"));
    assert!(r.text(&["PFMERGE", "h", "h"]).starts_with("-READONLY"));
    assert!(r.text(&["PFDEBUG", "TODENSE", "h"]).starts_with("-READONLY"));
    // A key that is logically expired (the master has not expired it yet) is missing for
    // PFCOUNT on the replica, and stays in its keyspace.
    m.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    m.raw(&["PFADD", "e", "a", "b"]);
    m.raw(&["PEXPIRE", "e", "50"]);
    wait_same_value(master.port, replica.port, "e");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(r.text(&["PFCOUNT", "e"]), ":0\r\n");
    assert_eq!(r.text(&["PFCOUNT", "e", "h"]), ":4\r\n");
    assert_eq!(r.text(&["DBSIZE"]), ":2\r\n");
    // Dense values replicate byte for byte too.
    m.raw(&["PFDEBUG", "TODENSE", "h"]);
    let dense = wait_same_value(master.port, replica.port, "h");
    assert!(dense.len() > 12304);
}

#[test]
fn real_redis_and_tandem_exchange_hll_values() {
    if !have_redis() {
        return;
    }
    // Real master, tandem replica.
    let master = start(REDIS, &[]);
    let mut m = Conn::new(master.port);
    m.raw(&["PFADD", "before-sync", "a", "b", "c"]);
    m.raw(&["PFADD", "dense-before", "x"]);
    m.raw(&["PFDEBUG", "TODENSE", "dense-before"]);
    let replica = start(TANDEM, &["--replicaof", &format!("127.0.0.1 {}", master.port)]);
    wait_link_up(replica.port);
    wait_same_value(master.port, replica.port, "before-sync");
    wait_same_value(master.port, replica.port, "dense-before");
    let mut r = Conn::new(replica.port);
    assert_eq!(r.text(&["PFCOUNT", "before-sync", "dense-before"]), ":4\r\n");
    let mut rng = Rng(7);
    for i in 0..200 {
        let els: Vec<String> = (0..20).map(|_| rng.next().to_string()).collect();
        let mut args = vec!["PFADD", "live"];
        args.extend(els.iter().map(|s| s.as_str()));
        m.raw(&args);
        if i % 20 == 0 {
            m.raw(&["PFCOUNT", "live"]);
        }
    }
    m.raw(&["PFMERGE", "merged", "live", "before-sync"]);
    for k in ["live", "merged"] {
        wait_same_value(master.port, replica.port, k);
    }

    // Tandem master, real replica.
    let master = start(TANDEM, &[]);
    let mut m = Conn::new(master.port);
    m.raw(&["PFADD", "before-sync", "a", "b", "c"]);
    m.raw(&["PFCOUNT", "before-sync"]);
    let replica = start(REDIS, &["--replicaof", "127.0.0.1", &master.port.to_string()]);
    wait_link_up(replica.port);
    wait_same_value(master.port, replica.port, "before-sync");
    let mut r = Conn::new(replica.port);
    assert_eq!(r.text(&["PFCOUNT", "before-sync"]), ":3\r\n");
    for i in 0..200 {
        let els: Vec<String> = (0..20).map(|_| rng.next().to_string()).collect();
        let mut args = vec!["PFADD", "live"];
        args.extend(els.iter().map(|s| s.as_str()));
        m.raw(&args);
        if i % 20 == 0 {
            m.raw(&["PFCOUNT", "live"]);
        }
    }
    m.raw(&["PFMERGE", "merged", "live", "before-sync"]);
    for k in ["live", "merged"] {
        wait_same_value(master.port, replica.port, k);
    }
    assert_eq!(r.text(&["PFCOUNT", "merged"]), m.text(&["PFCOUNT", "merged"]));
}
