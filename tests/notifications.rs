//! Keyspace notifications against real Redis 7.0 (redis-server from /usr/bin; skipped with a
//! message when it is missing): the same command script runs on tandem and on redis-server,
//! each watched by a `PSUBSCRIBE *` client, and both subscribers must receive the identical
//! list of (channel, message) pairs. The script touches every class (g $ l s h z x n m, K and
//! E), lazy and active expiry, several databases, and CONFIG SET of
//! `notify-keyspace-events` (partial class sets, K or E alone, off). Also: a replica's
//! subscriber sees what the replica applies from its master's stream, and a RESP3 client's
//! pushes of its own writes sit among its replies byte for byte where Redis puts them.

mod support;
use std::time::{Duration, Instant};
use support::*;

const OPTS: &[&str] = &["--enable-debug-command", "yes", "--notify-keyspace-events", "KEAmn"];

/// The end of the script: published last, the subscriber reads up to it.
const MARKER: &str = "notifications-test-end";

/// One step of the script.
enum Step {
    Cmd(&'static [&'static str]),
    /// Waits until DBSIZE (of the current db) is `n` (active expiry done).
    WaitDbsize(i64),
    Sleep(u64),
}
use Step::*;

fn script() -> Vec<Step> {
    vec![
        // Strings.
        Cmd(&["SET", "s1", "v"]),
        Cmd(&["SET", "s1", "v2", "EX", "100"]),
        Cmd(&["SET", "s1", "v3", "KEEPTTL"]),
        Cmd(&["SET", "s1", "nx", "NX"]),
        Cmd(&["SET", "sx", "xx", "XX"]),
        Cmd(&["SETNX", "s1", "x"]),
        Cmd(&["SETNX", "s2", "x"]),
        Cmd(&["SETEX", "s3", "100", "v"]),
        Cmd(&["PSETEX", "s4", "100000", "v"]),
        Cmd(&["GETSET", "s2", "y"]),
        Cmd(&["GETSET", "gs-new", "y"]),
        Cmd(&["SET", "s5", "a", "GET"]),
        Cmd(&["SET", "s5", "b", "GET"]),
        Cmd(&["MSET", "m1", "a", "m2", "b"]),
        Cmd(&["MSETNX", "m3", "a", "m4", "b"]),
        Cmd(&["MSETNX", "m3", "a", "m5", "b"]),
        Cmd(&["INCR", "n1"]),
        Cmd(&["INCRBY", "n1", "5"]),
        Cmd(&["DECR", "n1"]),
        Cmd(&["DECRBY", "n1", "2"]),
        Cmd(&["INCRBYFLOAT", "n1", "1.5"]),
        Cmd(&["INCR", "s1"]),
        Cmd(&["APPEND", "s1", "xyz"]),
        Cmd(&["APPEND", "a1", "new"]),
        Cmd(&["SETRANGE", "sr", "5", "hello"]),
        Cmd(&["SETRANGE", "sr", "0", "ab"]),
        Cmd(&["SETRANGE", "sr", "0", ""]),
        Cmd(&["SETRANGE", "sr-none", "0", ""]),
        Cmd(&["SETBIT", "b1", "7", "1"]),
        Cmd(&["SETBIT", "b1", "7", "1"]),
        Cmd(&["SETBIT", "b1", "100", "0"]),
        // Read misses (keymiss) and hits.
        Cmd(&["GET", "miss1"]),
        Cmd(&["GET", "s1"]),
        Cmd(&["MGET", "s1", "miss2"]),
        Cmd(&["STRLEN", "miss3"]),
        Cmd(&["EXISTS", "miss4", "s1"]),
        Cmd(&["TYPE", "miss5"]),
        Cmd(&["TTL", "miss6"]),
        Cmd(&["PTTL", "s1"]),
        Cmd(&["GETRANGE", "miss7", "0", "1"]),
        Cmd(&["TOUCH", "s2", "miss8"]),
        Cmd(&["OBJECT", "ENCODING", "miss9"]),
        Cmd(&["GETDEL", "s5"]),
        Cmd(&["GETDEL", "miss10"]),
        Cmd(&["GETEX", "s1", "EX", "100"]),
        Cmd(&["GETEX", "s1", "PERSIST"]),
        Cmd(&["GETEX", "s1", "PERSIST"]),
        Cmd(&["GETEX", "s1"]),
        Cmd(&["GETEX", "s1", "PXAT", "1"]),
        Cmd(&["GETEX", "miss11", "EX", "10"]),
        // Generic.
        Cmd(&["EXPIRE", "m1", "100"]),
        Cmd(&["PEXPIRE", "m1", "100000"]),
        Cmd(&["EXPIREAT", "m1", "99999999999"]),
        Cmd(&["PEXPIREAT", "m1", "99999999999000"]),
        Cmd(&["EXPIRE", "m1", "100", "NX"]),
        Cmd(&["EXPIRE", "miss12", "100"]),
        Cmd(&["PERSIST", "m1"]),
        Cmd(&["PERSIST", "m1"]),
        Cmd(&["EXPIRE", "m2", "-1"]),
        Cmd(&["DEL", "m3", "m4", "miss13"]),
        Cmd(&["SET", "u1", "x"]),
        Cmd(&["UNLINK", "u1"]),
        Cmd(&["RENAME", "n1", "n2"]),
        Cmd(&["SET", "n3", "x"]),
        Cmd(&["RENAME", "n2", "n3"]),
        Cmd(&["RENAMENX", "n3", "s2"]),
        Cmd(&["RENAMENX", "n3", "n9"]),
        Cmd(&["RENAME", "n9", "n9"]),
        Cmd(&["MOVE", "n9", "1"]),
        Cmd(&["SET", "mv", "x"]),
        Cmd(&["SELECT", "1"]),
        Cmd(&["SET", "mv", "y"]),
        Cmd(&["SELECT", "0"]),
        Cmd(&["MOVE", "mv", "1"]),
        Cmd(&["COPY", "s2", "c1"]),
        Cmd(&["COPY", "s2", "c1"]),
        Cmd(&["COPY", "s2", "c1", "REPLACE"]),
        Cmd(&["COPY", "s2", "c1", "DB", "2"]),
        Cmd(&["COPY", "miss14", "c2"]),
        // Lists.
        Cmd(&["RPUSH", "l1", "a", "b", "c"]),
        Cmd(&["LPUSH", "l1", "z"]),
        Cmd(&["LPUSHX", "l1", "q"]),
        Cmd(&["LPUSHX", "nolist", "q"]),
        Cmd(&["RPUSHX", "l1", "w"]),
        Cmd(&["LINSERT", "l1", "BEFORE", "a", "x"]),
        Cmd(&["LINSERT", "l1", "BEFORE", "nope", "y"]),
        Cmd(&["LSET", "l1", "0", "Z"]),
        Cmd(&["LREM", "l1", "1", "x"]),
        Cmd(&["LREM", "l1", "1", "nope"]),
        Cmd(&["LTRIM", "l1", "0", "-1"]),
        Cmd(&["LTRIM", "l1", "1", "-1"]),
        Cmd(&["LPOP", "l1"]),
        Cmd(&["RPOP", "l1", "2"]),
        Cmd(&["LPOP", "l1", "0"]),
        Cmd(&["LPOP", "nolist"]),
        Cmd(&["LMOVE", "l1", "l2", "LEFT", "RIGHT"]),
        Cmd(&["RPOPLPUSH", "l2", "l2"]),
        Cmd(&["LRANGE", "nolist", "0", "-1"]),
        Cmd(&["LLEN", "nolist"]),
        Cmd(&["LINDEX", "nolist", "0"]),
        Cmd(&["LPOS", "nolist", "a"]),
        Cmd(&["RPUSH", "l3", "a"]),
        Cmd(&["LMOVE", "l3", "l3", "LEFT", "LEFT"]),
        Cmd(&["RPOPLPUSH", "l3", "l4"]),
        Cmd(&["LMPOP", "2", "nolist", "l4", "LEFT", "COUNT", "5"]),
        Cmd(&["RPUSH", "l5", "a", "b"]),
        Cmd(&["BLPOP", "l5", "0"]),
        Cmd(&["BRPOP", "l5", "0"]),
        Cmd(&["RPUSH", "l6", "a", "b"]),
        Cmd(&["BLMOVE", "l6", "l7", "RIGHT", "LEFT", "0"]),
        Cmd(&["BRPOPLPUSH", "l6", "l7", "0"]),
        Cmd(&["BLMPOP", "0", "1", "l7", "RIGHT"]),
        Cmd(&["LTRIM", "l7", "5", "10"]),
        Cmd(&["RPUSH", "l8", "a", "a"]),
        Cmd(&["LREM", "l8", "0", "a"]),
        // Hashes.
        Cmd(&["HSET", "h1", "f1", "v1", "f2", "v2"]),
        Cmd(&["HMSET", "h1", "f3", "v3"]),
        Cmd(&["HSETNX", "h1", "f1", "x"]),
        Cmd(&["HSETNX", "h1", "f9", "x"]),
        Cmd(&["HSETNX", "h2", "f", "x"]),
        Cmd(&["HINCRBY", "h1", "n", "3"]),
        Cmd(&["HINCRBYFLOAT", "h1", "fl", "1.5"]),
        Cmd(&["HINCRBY", "h3", "n", "1"]),
        Cmd(&["HDEL", "h1", "f1", "nope"]),
        Cmd(&["HDEL", "h1", "nope"]),
        Cmd(&["HDEL", "nohash", "f"]),
        Cmd(&["HGET", "nohash", "f"]),
        Cmd(&["HGETALL", "nohash"]),
        Cmd(&["HLEN", "nohash"]),
        Cmd(&["HDEL", "h1", "f2", "f3", "f9", "n", "fl"]),
        // Sets.
        Cmd(&["SADD", "st1", "a", "b", "c"]),
        Cmd(&["SADD", "st1", "a"]),
        Cmd(&["SREM", "st1", "a"]),
        Cmd(&["SREM", "st1", "zz"]),
        Cmd(&["SMOVE", "st1", "st2", "b"]),
        Cmd(&["SMOVE", "st1", "st2", "zz"]),
        Cmd(&["SMOVE", "st1", "st2", "c"]),
        Cmd(&["SADD", "st3", "1", "2", "3", "4", "5"]),
        Cmd(&["SPOP", "st3"]),
        Cmd(&["SPOP", "st3", "2"]),
        Cmd(&["SPOP", "st3", "0"]),
        Cmd(&["SPOP", "st3", "10"]),
        Cmd(&["SPOP", "noset"]),
        Cmd(&["SADD", "st5", "only"]),
        Cmd(&["SPOP", "st5"]),
        Cmd(&["SINTERSTORE", "d1", "st2", "noset"]),
        Cmd(&["SADD", "st4", "b", "x"]),
        Cmd(&["SUNIONSTORE", "d1", "st2", "st4"]),
        Cmd(&["SINTERSTORE", "d1", "st2", "st4"]),
        Cmd(&["SDIFFSTORE", "d1", "st2", "st4"]),
        Cmd(&["SDIFFSTORE", "d1", "st2", "st2"]),
        Cmd(&["SINTER", "st2", "noset"]),
        Cmd(&["SISMEMBER", "noset", "a"]),
        Cmd(&["SMEMBERS", "noset"]),
        Cmd(&["SCARD", "noset"]),
        // Sorted sets.
        Cmd(&["ZADD", "z1", "1", "a", "2", "b", "3", "c"]),
        Cmd(&["ZADD", "z1", "1", "a"]),
        Cmd(&["ZADD", "z1", "XX", "5", "a"]),
        Cmd(&["ZADD", "zx", "XX", "5", "a"]),
        Cmd(&["ZINCRBY", "z1", "1", "b"]),
        Cmd(&["ZADD", "z1", "INCR", "1", "c"]),
        Cmd(&["ZREM", "z1", "a", "nope"]),
        Cmd(&["ZREM", "z1", "nope"]),
        Cmd(&["ZADD", "z2", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]),
        Cmd(&["ZREMRANGEBYSCORE", "z2", "1", "1"]),
        Cmd(&["ZREMRANGEBYSCORE", "z2", "100", "200"]),
        Cmd(&["ZREMRANGEBYRANK", "z2", "0", "0"]),
        Cmd(&["ZADD", "z4", "0", "a", "0", "b", "0", "c"]),
        Cmd(&["ZREMRANGEBYLEX", "z4", "[a", "[b"]),
        Cmd(&["ZREMRANGEBYLEX", "z4", "-", "+"]),
        Cmd(&["ZPOPMIN", "z2"]),
        Cmd(&["ZPOPMAX", "z2", "5"]),
        Cmd(&["ZPOPMIN", "nozset"]),
        Cmd(&["ZADD", "z3", "1", "x", "2", "y", "3", "w"]),
        Cmd(&["ZUNIONSTORE", "zd", "2", "z1", "z3"]),
        Cmd(&["ZINTERSTORE", "zd", "2", "z1", "z3"]),
        Cmd(&["ZDIFFSTORE", "zd", "1", "z1"]),
        Cmd(&["ZRANGESTORE", "zd2", "z1", "0", "-1"]),
        Cmd(&["ZRANGESTORE", "zd2", "z1", "5", "10"]),
        Cmd(&["BZPOPMIN", "z3", "0"]),
        Cmd(&["BZPOPMAX", "z3", "0"]),
        Cmd(&["ZMPOP", "1", "z3", "MIN"]),
        Cmd(&["ZSCORE", "nozset", "a"]),
        Cmd(&["ZRANGE", "nozset", "0", "-1"]),
        Cmd(&["ZCARD", "nozset"]),
        Cmd(&["ZUNION", "2", "nozset", "z1"]),
        // HyperLogLog.
        Cmd(&["PFADD", "hl", "a", "b", "c"]),
        Cmd(&["PFADD", "hl", "a"]),
        Cmd(&["PFADD", "hl2", "x"]),
        Cmd(&["PFADD", "hl4"]),
        Cmd(&["PFMERGE", "hl3", "hl", "hl2"]),
        Cmd(&["PFCOUNT", "hl", "nohll"]),
        // Databases: no key events.
        Cmd(&["SELECT", "3"]),
        Cmd(&["SET", "f1", "x"]),
        Cmd(&["FLUSHDB"]),
        Cmd(&["SWAPDB", "3", "4"]),
        Cmd(&["SELECT", "0"]),
        Cmd(&["DEBUG", "POPULATE", "2", "pop"]),
        // Transactions: events in the order the queued commands run.
        Cmd(&["MULTI"]),
        Cmd(&["SET", "t1", "x"]),
        Cmd(&["RPUSH", "t2", "x"]),
        Cmd(&["DEL", "t1", "t2"]),
        Cmd(&["EXEC"]),
        // Expiry by the active cycle.
        Cmd(&["FLUSHALL"]),
        Cmd(&["SET", "keep", "x"]),
        Cmd(&["PSETEX", "e1", "20", "v"]),
        WaitDbsize(1),
        // Lazy expiry: reads, writes, SCAN.
        Cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        Cmd(&["PSETEX", "e2", "10", "v"]),
        Cmd(&["SET", "e3", "v", "PX", "10"]),
        Cmd(&["HSET", "e4", "f", "v"]),
        Cmd(&["PEXPIRE", "e4", "10"]),
        Cmd(&["RPUSH", "e5", "v"]),
        Cmd(&["PEXPIRE", "e5", "10"]),
        Cmd(&["PSETEX", "e6", "10", "v"]),
        Sleep(60),
        Cmd(&["GET", "e2"]),
        Cmd(&["SET", "e3", "again"]),
        Cmd(&["HSET", "e4", "f", "v2"]),
        Cmd(&["LPOP", "e5"]),
        Cmd(&["SCAN", "0", "COUNT", "1000"]),
        Cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]),
        // Class filters and K / E alone, changed at run time.
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "Kl"]),
        Cmd(&["RPUSH", "q", "a"]),
        Cmd(&["SET", "q2", "x"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "Eg$"]),
        Cmd(&["SET", "q2", "y"]),
        Cmd(&["DEL", "q2"]),
        Cmd(&["RPUSH", "q", "b"]),
        Cmd(&["GET", "miss-q"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "Khszm"]),
        Cmd(&["HSET", "qh", "f", "v"]),
        Cmd(&["SADD", "qs", "v"]),
        Cmd(&["ZADD", "qz", "1", "v"]),
        Cmd(&["GET", "miss-q2"]),
        Cmd(&["SET", "q3", "v"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "En"]),
        Cmd(&["SET", "q4", "v"]),
        Cmd(&["SET", "q4", "w"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "A"]),
        Cmd(&["SET", "q5", "v"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        Cmd(&["SET", "q6", "v"]),
        Cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        Cmd(&["SET", "q7", "v"]),
        Cmd(&["GET", "miss-q3"]),
    ]
}

/// Runs the script on `server` and returns what a `PSUBSCRIBE *` client received.
fn run(server: &Server) -> Vec<(String, String)> {
    let mut sub = server.client();
    let mut ps = sub.as_pubsub();
    ps.psubscribe("*").expect("psubscribe");
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut con = server.client();
    for step in script() {
        match step {
            Cmd(argv) => {
                let mut c = redis::cmd(argv[0]);
                for a in &argv[1..] {
                    c.arg(*a);
                }
                // Errors (WRONGTYPE, ...) are part of the script; only notifications count.
                let _: redis::RedisResult<redis::Value> = c.query(&mut con);
            }
            WaitDbsize(n) => {
                let start = Instant::now();
                loop {
                    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
                    if size == n {
                        break;
                    }
                    assert!(start.elapsed() < Duration::from_secs(5), "{}: DBSIZE stays {size}, want {n}", server.name);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Sleep(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
    }
    let _: i64 = redis::cmd("PUBLISH").arg(MARKER).arg("end").query(&mut con).unwrap();
    let mut got = vec![];
    loop {
        let msg = ps.get_message().unwrap_or_else(|e| panic!("{}: no marker: {e}; got {got:?}", server.name));
        let channel = msg.get_channel_name().to_string();
        if channel == MARKER {
            break;
        }
        let payload = String::from_utf8_lossy(msg.get_payload_bytes()).into_owned();
        got.push((channel, payload));
    }
    got
}

#[test]
fn notifications_match_redis() {
    let tandem = Server::tandem(OPTS);
    let got = run(&tandem);
    assert!(got.len() > 300, "tandem published only {} notifications", got.len());
    for want in ["new", "expired", "keymiss", "set", "lpush", "hset", "sadd", "zadd", "pfadd", "rename_to", "move_to", "copy_to"] {
        let end = format!("__:{want}");
        assert!(got.iter().any(|(c, _)| c.starts_with("__keyevent@") && c.ends_with(&end)), "no {want} event from tandem");
    }
    if !have_redis() {
        return;
    }
    let redis = Server::redis(OPTS);
    let want = run(&redis);
    eprintln!("tandem {} / redis {} notifications", got.len(), want.len());
    if got != want {
        let n = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        let from = n.saturating_sub(5);
        panic!(
            "notifications differ at #{n} (of tandem {} / redis {}):\ntandem: {:#?}\nredis:  {:#?}",
            got.len(),
            want.len(),
            &got[from..(n + 10).min(got.len())],
            &want[from..(n + 10).min(want.len())]
        );
    }
}

/// What a `PSUBSCRIBE *` client on a replica receives while its master runs a few writes
/// (the replica applies the master's stream: SET ... PXAT, INCRBYFLOAT as SET KEEPTTL, the
/// master's DEL for a key its active expiry removed).
fn replica_events(kind: Kind) -> Vec<(String, String)> {
    let master = Server::repl(kind, "master", OPTS);
    let replica = Server::repl(kind, "replica", OPTS);
    replica.replicaof(&master);
    replica.wait_link_up();
    let mut sub = replica.client();
    let mut ps = sub.as_pubsub();
    ps.psubscribe("*").expect("psubscribe");
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut con = master.client();
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "b", "1", "EX", "100"],
        &["RPUSH", "l", "x", "y"],
        &["LPOP", "l", "2"],
        &["INCRBYFLOAT", "f", "1.5"],
        &["HSET", "h", "f", "v"],
        &["SADD", "s", "m"],
        &["ZADD", "z", "1", "m"],
        &["RENAME", "a", "a2"],
        &["DEL", "a2"],
        &["PSETEX", "e", "20", "v"],
    ];
    for argv in script {
        let mut c = redis::cmd(argv[0]);
        for a in &argv[1..] {
            c.arg(*a);
        }
        let _: redis::Value = c.query(&mut con).unwrap();
    }
    let start = Instant::now();
    while redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap() != 5 {
        assert!(start.elapsed() < Duration::from_secs(5), "{}: e never expired", master.name);
        std::thread::sleep(Duration::from_millis(10));
    }
    let _: i64 = redis::cmd("PUBLISH").arg(MARKER).arg("end").query(&mut con).unwrap();
    let mut got = vec![];
    loop {
        let msg = ps.get_message().unwrap_or_else(|e| panic!("{}: no marker: {e}; got {got:?}", replica.name));
        let channel = msg.get_channel_name().to_string();
        if channel == MARKER {
            break;
        }
        got.push((channel, String::from_utf8_lossy(msg.get_payload_bytes()).into_owned()));
    }
    got
}

#[test]
fn a_replica_publishes_what_it_applies() {
    let got = replica_events(Kind::Tandem);
    assert!(got.contains(&("__keyevent@0__:del".to_string(), "e".to_string())), "{got:?}");
    if !have_redis() {
        return;
    }
    assert_eq!(got, replica_events(Kind::Redis));
}

/// Steps [`self_session`] leaves out: random members (SPOP), time-dependent (PTTL) or
/// server-specific replies (DEBUG).
fn skipped_in_session(argv: &[&str]) -> bool {
    argv[0] == "DEBUG" || argv[0] == "PTTL" || (argv[0] == "SPOP" && argv[1] == "st3")
}

/// A RESP3 client subscribed to every event runs the script itself (up to the expiry part):
/// its own notifications arrive as pushes among its replies, in Redis's place for each
/// command (before or after the reply, as Redis writes them).
fn self_session(port: u16) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(port);
    c.send_cmd(&["HELLO", "3"]);
    let _ = c.read_reply();
    c.send_cmd(&["PSUBSCRIBE", "*"]);
    let mut steps = vec![c.reply_bytes()];
    let mut in_multi = false;
    for step in script() {
        let Cmd(argv) = step else { continue };
        if argv[0] == "FLUSHALL" {
            break;
        }
        if skipped_in_session(argv) {
            continue;
        }
        c.send_cmd(argv);
        if argv[0] == "MULTI" || in_multi {
            // Queued: +QUEUED alone, the pushes come with EXEC.
            in_multi = argv[0] != "EXEC";
            if in_multi {
                steps.push(c.reply_bytes());
                continue;
            }
        }
        c.send_cmd(&["ECHO", "step-end"]);
        steps.push(c.until_suffix(b"step-end\r\n"));
    }
    steps
}

#[test]
fn resp3_pushes_of_own_writes_match_redis() {
    let tandem = Server::tandem(OPTS);
    let got = self_session(tandem.port);
    if !have_redis() {
        return;
    }
    let redis = Server::redis(OPTS);
    let want = self_session(redis.port);
    assert_eq!(got.len(), want.len());
    let cmds: Vec<String> = std::iter::once("PSUBSCRIBE *".to_string())
        .chain(script().into_iter().filter_map(|s| match s {
            Cmd(argv) if !skipped_in_session(argv) => Some(argv.join(" ")),
            _ => None,
        }))
        .collect();
    let diffs: Vec<String> = got
        .iter()
        .zip(&want)
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .map(|(i, (g, w))| {
            format!("{}:\n  tandem {:?}\n  redis  {:?}", cmds[i], String::from_utf8_lossy(g), String::from_utf8_lossy(w))
        })
        .collect();
    assert!(diffs.is_empty(), "{} steps differ:\n{}", diffs.len(), diffs.join("\n"));
}
