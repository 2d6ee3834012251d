//! Sorted sets against the real binary, with real redis-server (when installed) as the oracle.

mod support;

use std::time::{Duration, Instant};
use support::{have_redis, Conn, Server};

fn real_redis() -> Option<Server> {
    have_redis().then(|| Server::redis(&[]))
}

/// Whitespace-separated commands and their exact wire replies.
trait LineCmd {
    fn run(&mut self, line: &str) -> String;
}

impl LineCmd for Conn {
    fn run(&mut self, line: &str) -> String {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.raw(&args)
    }
}

/// Commands whose replies must match Redis 7.0 byte for byte.
const TABLE: &[&str] = &[
    "ZADD z 1 a 2 b 3 c",
    "ZADD z NX XX 1 a",
    "ZADD z GT LT 1 a",
    "ZADD z 1",
    "ZADD z INCR 1 a 2 b",
    "ZADD z nan a",
    "ZADD z abc a",
    "ZADD z XX CH 5 a 6 d",
    "ZADD z CH 5 a 6 d",
    "ZADD z INCR 1 a",
    "ZADD z INCR NX 1 a",
    "ZADD z GT INCR -1 a",
    "ZADD z INCR +inf a",
    "ZADD z INCR -inf a",
    "ZINCRBY z 1.5 b",
    "ZINCRBY z x b",
    "ZADD z 1.1 f 1e20 g -0 h 1e-5 i",
    "ZRANGE z 0 -1 WITHSCORES",
    "ZRANGE z 0 -1 REV WITHSCORES",
    "ZRANGE z -100 100",
    "ZRANGE z 5 2",
    "ZRANGE z 0 -1 LIMIT 1 2",
    "ZRANGE z (1 3 BYSCORE WITHSCORES",
    "ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES",
    "ZRANGE z 0 -1 BYLEX WITHSCORES",
    "ZRANGE z x y BYSCORE",
    "ZRANGEBYSCORE z (1 (6",
    "ZRANGEBYSCORE z 1 6 LIMIT -1 5",
    "ZRANGEBYSCORE z 1 6 REV",
    "ZREVRANGEBYSCORE z (6 (1 LIMIT 1 1 WITHSCORES",
    "ZREVRANGE z 0 1 WITHSCORES",
    "ZCOUNT z -inf +inf",
    "ZCOUNT z (1 3",
    "ZCARD z",
    "ZRANK z b",
    "ZREVRANK z b",
    "ZRANK z nope",
    "ZSCORE z f",
    "ZMSCORE z a nope b",
    "ZREM z a nope",
    "ZADD l 0 a 0 b 0 c 0 d 0 e",
    "ZRANGEBYLEX l [b (e",
    "ZRANGEBYLEX l (b + LIMIT 1 2",
    "ZREVRANGEBYLEX l + (b",
    "ZRANGEBYLEX l a b",
    "ZLEXCOUNT l - +",
    "ZREMRANGEBYLEX l [b (d",
    "ZREMRANGEBYRANK l 0 0",
    "ZREMRANGEBYSCORE l -inf +inf",
    "EXISTS l",
    "ZADD p 1 a 2 b 3 c 4 d",
    "ZPOPMIN p",
    "ZPOPMAX p 2",
    "ZPOPMIN p -1",
    "ZMPOP 2 nokey p MAX COUNT 5",
    "ZMPOP 1 p MIN",
    "ZMPOP 0 p MIN",
    "ZADD u1 1 a 2 b 3 c",
    "ZADD u2 10 b 20 c 30 d",
    "ZUNION 2 u1 u2 WEIGHTS 2 3 WITHSCORES",
    "ZUNION 2 u1 u2 AGGREGATE MIN WITHSCORES",
    "ZINTER 2 u1 u2 AGGREGATE MAX WITHSCORES",
    "ZDIFF 2 u1 u2 WITHSCORES",
    "ZINTERCARD 2 u1 u2 LIMIT 1",
    "ZUNIONSTORE dst 2 u1 u2",
    "ZRANGE dst 0 -1 WITHSCORES",
    "ZINTERSTORE dst 2 u1 nokey",
    "EXISTS dst",
    "ZRANGESTORE dst u2 (10 +inf BYSCORE",
    "ZRANGE dst 0 -1 WITHSCORES",
    "ZUNION 0 u1",
    "ZUNION 2 u1 u2 WEIGHTS 1",
    "ZRANDMEMBER nokey 5",
    "ZRANDMEMBER u1 -9223372036854775808",
    "ZSCAN u1 0",
    "OBJECT ENCODING u1",
    "SET str x",
    "ZADD str 1 a",
    "ZRANGE str 0 -1",
    "ZUNION 2 u1 str",
    "BZPOPMIN str 0",
    "BZPOPMIN nokey u1 0",
    "BZMPOP 0 1 u2 MAX COUNT 2",
    "BZPOPMIN nokey -1",
];

#[test]
fn replies_match_redis() {
    let Some(real) = real_redis() else {
        eprintln!("redis-server not installed: skipping the comparison");
        return;
    };
    let ours = Server::tandem(&[]);
    let (mut a, mut b) = (Conn::connect(real.port), Conn::connect(ours.port));
    let mut diffs = vec![];
    for line in TABLE {
        let (x, y) = (a.run(line), b.run(line));
        if x != y {
            diffs.push(format!("{line}\n  redis: {x:?}\n  ours:  {y:?}"));
        }
    }
    assert!(diffs.is_empty(), "replies differ:\n{}", diffs.join("\n"));
}

#[test]
fn encoding_follows_thresholds() {
    let s = Server::tandem(&[]);
    let mut c = Conn::connect(s.port);
    c.run("ZADD small 1 a");
    assert_eq!(c.run("OBJECT ENCODING small"), "$8\r\nlistpack\r\n");
    let long = "x".repeat(65);
    c.run(&format!("ZADD small 2 {long}"));
    assert_eq!(c.run("OBJECT ENCODING small"), "$8\r\nskiplist\r\n");
    c.run(&format!("ZREM small {long}"));
    assert_eq!(c.run("OBJECT ENCODING small"), "$8\r\nskiplist\r\n", "conversion is sticky");
    c.run("CONFIG SET zset-max-listpack-entries 1");
    c.run("ZADD two 1 a 2 b");
    assert_eq!(c.run("OBJECT ENCODING two"), "$8\r\nskiplist\r\n");
    assert_eq!(c.run("ZRANGESTORE one two 0 0"), ":1\r\n");
    assert_eq!(c.run("OBJECT ENCODING one"), "$8\r\nlistpack\r\n");
}

#[test]
fn bzpopmin_is_woken_by_zadd() {
    let s = Server::tandem(&[]);
    let mut waiter = Conn::connect(s.port);
    let mut other = Conn::connect(s.port);
    waiter.send_cmd(&["BZPOPMIN", "k1", "k2", "0"]);
    // Wait until the server has parked the waiter.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !other.run("INFO clients").contains("blocked_clients:1") {
        assert!(Instant::now() < deadline, "client never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(other.run("ZADD k2 5 m 7 n"), ":2\r\n");
    assert_eq!(waiter.reply(), "*3\r\n$2\r\nk2\r\n$1\r\nm\r\n$1\r\n5\r\n");
    assert_eq!(other.run("ZRANGE k2 0 -1"), "*1\r\n$1\r\nn\r\n");
}

#[test]
fn bzpopmin_times_out() {
    let s = Server::tandem(&[]);
    let mut c = Conn::connect(s.port);
    let t = Instant::now();
    assert_eq!(c.run("BZPOPMIN nokey 0.2"), "*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(c.run("BZMPOP 0.1 1 nokey MIN"), "*-1\r\n");
}
