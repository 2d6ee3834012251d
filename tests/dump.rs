//! DUMP and RESTORE (issue 13): payloads move between tandem and redis-server in both
//! directions for every type and encoding (the restored value has the same DEBUG DIGEST-VALUE
//! and encoding), replies and errors byte for byte, and what RESTORE propagates (a relative
//! TTL as ABSTTL, an expired one as DEL of the replaced key).

mod support;
use support::*;

/// Keys of every type and encoding.
fn populate(c: &mut Conn) {
    let long = "x".repeat(100);
    let cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "int".into(), "12345".into()],
        vec!["SET".into(), "emb".into(), "hello".into()],
        vec!["SET".into(), "raw".into(), "compressible-".repeat(30)],
        vec!["RPUSH".into(), "list".into(), "a".into(), "1".into(), long.clone()],
        vec!["SADD".into(), "intset".into(), "1".into(), "2".into(), "-3".into()],
        vec!["SADD".into(), "set".into(), "a".into(), "b".into(), long.clone()],
        vec!["HSET".into(), "hsmall".into(), "f".into(), "v".into(), "n".into(), "1".into()],
        vec!["HSET".into(), "hbig".into(), "f".into(), long.clone()],
        vec!["ZADD".into(), "zsmall".into(), "1.5".into(), "a".into(), "-2".into(), "b".into()],
        vec!["ZADD".into(), "zbig".into(), "1".into(), long.clone(), "inf".into(), "c".into()],
        vec!["PFADD".into(), "hll".into(), "a".into(), "b".into(), "c".into()],
    ];
    for cmd in &cmds {
        let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        assert!(!c.raw(&args).starts_with('-'), "{args:?}");
    }
    let mut big: Vec<String> = vec!["SADD".into(), "bigset".into()];
    big.extend((0..600).map(|i| i.to_string()));
    let args: Vec<&str> = big.iter().map(|s| s.as_str()).collect();
    c.raw(&args);
}

const KEYS: &[&str] = &["int", "emb", "raw", "list", "intset", "set", "hsmall", "hbig", "zsmall", "zbig", "hll", "bigset"];

fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    match c.cmd(&["DUMP", key]) {
        Reply::Bulk(b) => b,
        r => panic!("DUMP {key}: {r:?}"),
    }
}

/// Payloads written by one server restore on the other with the same value and encoding.
#[test]
fn payloads_cross_between_tandem_and_redis() {
    if !have_redis() {
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    for (from, to) in [(&t, &r), (&r, &t)] {
        let (mut src, mut dst) = (from.conn(), to.conn());
        populate(&mut src);
        dst.raw(&["FLUSHALL"]);
        for k in KEYS {
            let p = dump(&mut src, k);
            let restored = dst.raw_bytes(&[b"RESTORE".as_slice(), k.as_bytes(), b"0", &p]);
            assert_eq!(String::from_utf8_lossy(&restored), "+OK\r\n", "{k} from {} to {}", from.name, to.name);
            // A string's encoding is the restoring server's choice (embstr for a short one,
            // whatever the source held): compared for the collections.
            let checks: &[&[&str]] = if src.raw(&["TYPE", k]) == "+string\r\n" {
                &[&["DEBUG", "DIGEST-VALUE", k], &["TYPE", k]]
            } else {
                &[&["DEBUG", "DIGEST-VALUE", k], &["OBJECT", "ENCODING", k], &["TYPE", k]]
            };
            for q in checks {
                assert_eq!(src.raw(q), dst.raw(q), "{q:?} from {} to {}", from.name, to.name);
            }
        }
        src.raw(&["FLUSHALL"]);
    }
}

#[test]
fn restore_replies_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        populate(&mut c);
        let p = dump(&mut c, "list");
        let mut bad_crc = p.clone();
        let n = bad_crc.len();
        bad_crc[n - 1] ^= 1;
        let mut bad_ver = p.clone();
        bad_ver[n - 10] = 99;
        let mut out = vec![c.raw(&["DUMP", "nokey"])];
        let steps: Vec<Vec<&[u8]>> = vec![
            vec![b"RESTORE", b"list", b"0", &p],
            vec![b"RESTORE", b"copy", b"0", &p],
            vec![b"LRANGE", b"copy", b"0", b"-1"],
            vec![b"RESTORE", b"copy", b"0", &p, b"REPLACE"],
            vec![b"RESTORE", b"t1", b"100000", &p],
            vec![b"RESTORE", b"t2", b"-1", &p],
            vec![b"RESTORE", b"t2", b"x", &p],
            vec![b"RESTORE", b"t3", b"1", &p, b"ABSTTL"],
            vec![b"EXISTS", b"t3"],
            vec![b"RESTORE", b"copy", b"1", &p, b"ABSTTL", b"REPLACE"],
            vec![b"EXISTS", b"copy"],
            vec![b"RESTORE", b"t4", b"0", &bad_crc],
            vec![b"RESTORE", b"t4", b"0", &bad_ver],
            vec![b"RESTORE", b"t4", b"0", b"short"],
            vec![b"RESTORE", b"t4", b"0", &p, b"FOO"],
            vec![b"RESTORE", b"t4", b"0", &p, b"IDLETIME", b"-1"],
            vec![b"RESTORE", b"t4", b"0", &p, b"FREQ", b"256"],
            vec![b"RESTORE", b"t4", b"0", &p, b"FREQ", b"5", b"IDLETIME", b"5"],
            vec![b"RESTORE", b"t4", b"0", &p, b"IDLETIME", b"x"],
            vec![b"RESTORE", b"t4", b"0", &p, b"FREQ", b"10"],
            vec![b"LLEN", b"t4"],
        ];
        for s in steps {
            out.push(String::from_utf8_lossy(&c.raw_bytes(&s)).into_owned());
        }
        let ttl: i64 = c.cmd(&["PTTL", "t1"]).int();
        out.push(format!("ttl in range: {}", (90_000..=100_000).contains(&ttl)));
        out
    });
}

#[test]
fn restore_propagates_as_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.raw(&["SET", "v", "value"]);
        let p = dump(&mut c, "v");
        let mut repl = attach_replica(port);
        let mut out = Vec::new();
        let steps: Vec<Vec<&[u8]>> = vec![
            vec![b"RESTORE", b"a", b"0", &p],
            vec![b"RESTORE", b"a", b"0", &p],
            vec![b"RESTORE", b"b", b"5000000000000", &p, b"ABSTTL"],
            vec![b"RESTORE", b"c", b"1", &p, b"ABSTTL"],
            vec![b"RESTORE", b"a", b"1", &p, b"ABSTTL", b"REPLACE"],
            vec![b"SET", b"end-marker", b"1"],
        ];
        for s in steps {
            out.push(String::from_utf8_lossy(&c.raw_bytes(&s)).into_owned());
        }
        out.push("--- stream ---".into());
        out.extend(read_stream(&mut repl).into_iter().map(|c| c.join(" ")));
        // A relative TTL becomes absolute: the stream carries ABSTTL and a time in the future.
        let mut r2 = attach_replica(port);
        c.raw_bytes(&[b"RESTORE".as_slice(), b"d", b"100000", &p]);
        c.raw(&["SET", "end-marker", "1"]);
        let s = read_stream(&mut r2);
        let restore = s.iter().find(|cmd| cmd[0].eq_ignore_ascii_case("RESTORE")).expect("RESTORE propagated");
        let when: i64 = restore[2].parse().unwrap();
        out.push(format!("absolute: {} {}", when > 1_600_000_000_000, restore.last().unwrap()));
        out
    });
}

/// MIGRATE from tandem and from redis-server to a real redis-server target: the same
/// replies (OK, NOKEY, the target's errors, IOERR, syntax errors), the same keys moved (TTL
/// kept), and the same replication stream on the source (each MIGRATE as DEL of the keys the
/// target acknowledged). Then from redis-server to tandem as the target.
#[test]
fn migrate_as_redis() {
    if !have_redis() {
        return;
    }
    let target = Server::redis(&[]);
    let tport = target.port.to_string();
    let tp = tport.as_str();
    let run = |port: u16| -> Vec<String> {
        let mut t = target.conn();
        t.raw(&["FLUSHALL"]);
        let mut c = Conn::connect(port);
        c.raw(&["SET", "k1", "v1"]);
        c.raw(&["RPUSH", "l", "a", "b", "c"]);
        c.raw(&["SET", "t", "x", "PX", "100000"]);
        let steps: &[&[&str]] = &[
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "1000"],
            &["MIGRATE", "127.0.0.1", tp, "", "0", "1000", "KEYS", "l", "t", "nosuch"],
            &["MIGRATE", "127.0.0.1", tp, "nosuch", "0", "1000"],
            &["SET", "k1", "v2"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "1000"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "1000", "REPLACE", "COPY"],
            &["MIGRATE", "127.0.0.1", "1", "k1", "0", "100"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "100", "AUTH", "x"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "100", "KEYS", "a"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "x", "100"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "100", "BOGUS"],
            &["MIGRATE", "127.0.0.1", tp, "k1", "0", "100", "REPLACE"],
        ];
        let mut out = replies_and_stream(port, steps);
        out.push(format!("dbsize {}", c.raw(&["DBSIZE"])));
        let mut keys = t.cmd(&["KEYS", "*"]).strings();
        keys.sort();
        out.push(format!("target keys {:?} k1={} ttl>0 {}", keys, t.raw(&["GET", "k1"]), t.cmd(&["PTTL", "t"]).int() > 0));
        out
    };
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    assert_eq!(run(t.port), run(r.port));
    // tandem as the target of a redis-server source.
    let mut src = r.conn();
    src.raw(&["FLUSHALL"]);
    src.raw(&["HSET", "h", "f", "v"]);
    let tport2 = t.port.to_string();
    assert_eq!(src.raw(&["MIGRATE", "127.0.0.1", &tport2, "h", "3", "1000"]), "+OK\r\n");
    let mut tc = t.conn();
    tc.raw(&["SELECT", "3"]);
    assert_eq!(tc.cmd(&["HGET", "h", "f"]).text(), "v");
}
