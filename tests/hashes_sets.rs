//! Hash and set commands against the real binary: raw replies compared with what Redis 7.0.15
//! answers (recorded from redis-server; compared live too when it is installed).


mod support;
use support::*;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn hash_commands_match_redis() {
    assert_table(&[
        (&["HSET", "h"], "-ERR wrong number of arguments for 'hset' command\r\n"),
        (&["HSET", "h", "f", "v", "g"], "-ERR wrong number of arguments for 'hset' command\r\n"),
        (&["HMSET", "h", "a", "1", "b"], "-ERR wrong number of arguments for 'hmset' command\r\n"),
        (&["HSET", "h", "f", "v"], ":1\r\n"),
        (&["HSET", "h", "f", "v2", "g", "w"], ":1\r\n"),
        (&["HGET", "h", "f"], "$2\r\nv2\r\n"),
        (&["HGET", "h", "nope"], "$-1\r\n"),
        (&["HGET", "nokey", "f"], "$-1\r\n"),
        (&["HMSET", "h", "a", "1", "b", "2"], "+OK\r\n"),
        (&["HSETNX", "h", "a", "5"], ":0\r\n"),
        (&["HSETNX", "h", "z", "5"], ":1\r\n"),
        (&["HMGET", "h", "a", "b", "nope"], "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"),
        (&["HMGET", "nokey", "a"], "*1\r\n$-1\r\n"),
        // A small hash replies in insertion order (a listpack).
        (&["HKEYS", "h"], "*5\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nz\r\n"),
        (&["HVALS", "h"], "*5\r\n$2\r\nv2\r\n$1\r\nw\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n5\r\n"),
        (&["HLEN", "h"], ":5\r\n"),
        (&["HLEN", "nokey"], ":0\r\n"),
        (&["HSTRLEN", "h", "f"], ":2\r\n"),
        (&["HSTRLEN", "h", "nope"], ":0\r\n"),
        (&["HEXISTS", "h", "f"], ":1\r\n"),
        (&["HEXISTS", "h", "nope"], ":0\r\n"),
        (&["HDEL", "h", "nope"], ":0\r\n"),
        (&["HDEL", "h", "a", "b", "nope"], ":2\r\n"),
        (&["HDEL", "nokey", "a"], ":0\r\n"),
        (&["HGETALL", "h"], "*6\r\n$1\r\nf\r\n$2\r\nv2\r\n$1\r\ng\r\n$1\r\nw\r\n$1\r\nz\r\n$1\r\n5\r\n"),
        (&["HGETALL", "nokey"], "*0\r\n"),
        (&["HINCRBY", "h", "cnt", "5"], ":5\r\n"),
        (&["HINCRBY", "h", "cnt", "-10"], ":-5\r\n"),
        (&["HINCRBY", "h", "f", "1"], "-ERR hash value is not an integer\r\n"),
        (&["HINCRBY", "h", "cnt", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["HSET", "h", "big", "9223372036854775807"], ":1\r\n"),
        (&["HINCRBY", "h", "big", "1"], "-ERR increment or decrement would overflow\r\n"),
        (&["HINCRBYFLOAT", "h", "fl", "1.5"], "$3\r\n1.5\r\n"),
        (&["HINCRBYFLOAT", "h", "fl", "0.1"], "$3\r\n1.6\r\n"),
        (&["HINCRBYFLOAT", "h", "fl", "x"], "-ERR value is not a valid float\r\n"),
        (&["HINCRBYFLOAT", "h", "fl", "inf"], "-ERR value is NaN or Infinity\r\n"),
        (&["HINCRBYFLOAT", "h", "f", "1"], "-ERR hash value is not a float\r\n"),
        (&["HINCRBYFLOAT", "nk", "f", "3"], "$1\r\n3\r\n"),
        (&["OBJECT", "ENCODING", "h"], "$8\r\nlistpack\r\n"),
        (&["HDEL", "h", "f", "g", "z", "cnt", "big", "fl"], ":6\r\n"),
        (&["EXISTS", "h"], ":0\r\n"),
        (&["SET", "str", "x"], "+OK\r\n"),
        (&["HSET", "str", "a", "b"], WRONGTYPE),
        (&["HGET", "str", "a"], WRONGTYPE),
        (&["HGETALL", "str"], WRONGTYPE),
        (&["HMGET", "str", "a"], WRONGTYPE),
        (&["HINCRBYFLOAT", "str", "a", "1"], WRONGTYPE),
        (&["HSCAN", "str", "0"], WRONGTYPE),
        (&["HRANDFIELD", "str", "2"], WRONGTYPE),
        (&["HRANDFIELD", "nokey"], "$-1\r\n"),
        (&["HRANDFIELD", "nokey", "5"], "*0\r\n"),
        (&["HRANDFIELD", "nokey", "5", "WITHVALUE"], "-ERR syntax error\r\n"),
        (&["HRANDFIELD", "nokey", "x"], "-ERR value is not an integer or out of range\r\n"),
        (
            &["HRANDFIELD", "nokey", "-9223372036854775808"],
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        ),
        (&["HRANDFIELD", "nokey", "4611686018427387904", "WITHVALUES"], "-ERR value is out of range\r\n"),
        (&["HSET", "one", "f", "v"], ":1\r\n"),
        (&["HRANDFIELD", "one"], "$1\r\nf\r\n"),
        (&["HRANDFIELD", "one", "3"], "*1\r\n$1\r\nf\r\n"),
        (&["HRANDFIELD", "one", "-3"], "*3\r\n$1\r\nf\r\n$1\r\nf\r\n$1\r\nf\r\n"),
        (&["HRANDFIELD", "one", "-2", "WITHVALUES"], "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        (&["HRANDFIELD", "one", "0"], "*0\r\n"),
        (&["HSCAN", "one", "0"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        (&["HSCAN", "one", "-1"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        (&["HSCAN", "one", "x"], "-ERR invalid cursor\r\n"),
        (&["HSCAN", "one", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
        (&["HSCAN", "one", "0", "COUNT", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["HSCAN", "one", "0", "MATCH", "z*"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        (&["HSCAN", "one", "0", "TYPE", "string"], "-ERR syntax error\r\n"),
        (&["HSCAN", "nokey", "0", "COUNT", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
        // Encodings follow the configured thresholds and never convert back.
        (&["CONFIG", "SET", "hash-max-listpack-value", "8"], "+OK\r\n"),
        (&["HSET", "e", "f", "123456789"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "e"], "$9\r\nhashtable\r\n"),
        (&["HSET", "e", "f", "1"], ":0\r\n"),
        (&["OBJECT", "ENCODING", "e"], "$9\r\nhashtable\r\n"),
        (&["HINCRBYFLOAT", "e2", "abcdefgh", "1"], "$1\r\n1\r\n"),
        (&["OBJECT", "ENCODING", "e2"], "$8\r\nlistpack\r\n"),
        (&["HINCRBYFLOAT", "e2", "abcdefghi", "1"], "$1\r\n1\r\n"),
        (&["OBJECT", "ENCODING", "e2"], "$9\r\nhashtable\r\n"),
        (&["CONFIG", "SET", "hash-max-listpack-entries", "2"], "+OK\r\n"),
        (&["HSET", "e3", "a", "1", "b", "2"], ":2\r\n"),
        (&["OBJECT", "ENCODING", "e3"], "$8\r\nlistpack\r\n"),
        (&["HSET", "e3", "c", "3"], ":1\r\n"),
        (&["HDEL", "e3", "c"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "e3"], "$9\r\nhashtable\r\n"),
    ]);
}

#[test]
fn set_commands_match_redis() {
    assert_table(&[
        (&["SADD", "s"], "-ERR wrong number of arguments for 'sadd' command\r\n"),
        (&["SADD", "s", "3", "1", "2"], ":3\r\n"),
        (&["SADD", "s", "1", "4"], ":1\r\n"),
        // An intset replies in ascending order.
        (&["SMEMBERS", "s"], "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
        (&["SSCAN", "s", "0"], "*2\r\n$1\r\n0\r\n*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
        (&["SSCAN", "s", "0", "MATCH", "3"], "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n3\r\n"),
        (&["OBJECT", "ENCODING", "s"], "$6\r\nintset\r\n"),
        (&["SREM", "s", "4", "9"], ":1\r\n"),
        (&["SREM", "nokey", "a"], ":0\r\n"),
        (&["SCARD", "s"], ":3\r\n"),
        (&["SCARD", "nokey"], ":0\r\n"),
        (&["SISMEMBER", "s", "1"], ":1\r\n"),
        (&["SISMEMBER", "s", "9"], ":0\r\n"),
        (&["SMISMEMBER", "s", "1", "9", "2"], "*3\r\n:1\r\n:0\r\n:1\r\n"),
        (&["SMISMEMBER", "nokey", "1"], "*1\r\n:0\r\n"),
        (&["SMISMEMBER", "s"], "-ERR wrong number of arguments for 'smismember' command\r\n"),
        (&["SADD", "s", "x"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "s"], "$9\r\nhashtable\r\n"),
        (&["SREM", "s", "x"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "s"], "$9\r\nhashtable\r\n"),
        (&["SADD", "big", "213244124402402314402033402"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "big"], "$9\r\nhashtable\r\n"),
        (&["SET", "str", "x"], "+OK\r\n"),
        (&["SADD", "str", "x"], WRONGTYPE),
        (&["SMEMBERS", "str"], WRONGTYPE),
        (&["SPOP", "str"], WRONGTYPE),
        (&["SMOVE", "s", "str", "1"], WRONGTYPE),
        (&["SMOVE", "nokey", "str", "1"], ":0\r\n"),
        (&["SINTER", "nokey", "str"], WRONGTYPE),
        (&["SINTERCARD", "1", "str"], WRONGTYPE),
        (&["SSCAN", "str", "0"], WRONGTYPE),
        (&["SPOP", "nokey"], "$-1\r\n"),
        (&["SPOP", "nokey", "3"], "*0\r\n"),
        (&["SPOP", "nokey", "-1"], "-ERR value is out of range, must be positive\r\n"),
        (&["SPOP", "nokey", "x"], "-ERR value is out of range, must be positive\r\n"),
        (&["SPOP", "nokey", "1", "2"], "-ERR syntax error\r\n"),
        (&["SRANDMEMBER", "nokey"], "$-1\r\n"),
        (&["SRANDMEMBER", "nokey", "3"], "*0\r\n"),
        (&["SRANDMEMBER", "nokey", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["SRANDMEMBER", "nokey", "1", "2"], "-ERR syntax error\r\n"),
        (&["SADD", "one", "a"], ":1\r\n"),
        (&["SRANDMEMBER", "one"], "$1\r\na\r\n"),
        (&["SRANDMEMBER", "one", "5"], "*1\r\n$1\r\na\r\n"),
        (&["SRANDMEMBER", "one", "-2"], "*2\r\n$1\r\na\r\n$1\r\na\r\n"),
        (&["SPOP", "one", "5"], "*1\r\n$1\r\na\r\n"),
        (&["EXISTS", "one"], ":0\r\n"),
        (&["SADD", "a1", "1", "2", "3"], ":3\r\n"),
        (&["SADD", "a2", "3", "2"], ":2\r\n"),
        (&["SINTER", "a1", "a2"], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        (&["SINTER", "a1", "nokey"], "*0\r\n"),
        (&["SUNION", "a2", "nokey"], "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        (&["SDIFF", "a1", "a2"], "*1\r\n$1\r\n1\r\n"),
        (&["SDIFF", "nokey", "a1"], "*0\r\n"),
        (&["SINTERSTORE", "dst", "a1", "a2"], ":2\r\n"),
        (&["OBJECT", "ENCODING", "dst"], "$6\r\nintset\r\n"),
        (&["SINTERSTORE", "dst", "a1", "nokey"], ":0\r\n"),
        (&["EXISTS", "dst"], ":0\r\n"),
        (&["SUNIONSTORE", "dst", "a1", "a2"], ":3\r\n"),
        (&["SDIFFSTORE", "dst", "a2", "a1"], ":0\r\n"),
        (&["EXISTS", "dst"], ":0\r\n"),
        (&["SINTERCARD", "0", "a1"], "-ERR numkeys should be greater than 0\r\n"),
        (&["SINTERCARD", "3", "a1"], "-ERR Number of keys can't be greater than number of args\r\n"),
        (&["SINTERCARD", "2", "a1", "a2"], ":2\r\n"),
        (&["SINTERCARD", "2", "a1", "a2", "LIMIT", "1"], ":1\r\n"),
        (&["SINTERCARD", "2", "a1", "a2", "LIMIT", "-1"], "-ERR LIMIT can't be negative\r\n"),
        (&["SINTERCARD", "1", "a1", "FOO", "2"], "-ERR syntax error\r\n"),
        (&["SINTERCARD", "1", "nokey"], ":0\r\n"),
        (&["SMOVE", "a1", "a2", "9"], ":0\r\n"),
        (&["SMOVE", "a1", "a1", "1"], ":1\r\n"),
        (&["SMOVE", "a1", "a2", "1"], ":1\r\n"),
        (&["SMOVE", "a1", "new", "x"], ":0\r\n"),
        (&["SMOVE", "a1", "new", "2"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "new"], "$6\r\nintset\r\n"),
        (&["SSCAN", "a2", "x"], "-ERR invalid cursor\r\n"),
        (&["SSCAN", "a2", "0", "COUNT", "0"], "-ERR syntax error\r\n"),
        (&["CONFIG", "SET", "set-max-intset-entries", "2"], "+OK\r\n"),
        (&["SADD", "i", "1", "2"], ":2\r\n"),
        (&["OBJECT", "ENCODING", "i"], "$6\r\nintset\r\n"),
        (&["SADD", "i", "3"], ":1\r\n"),
        (&["OBJECT", "ENCODING", "i"], "$9\r\nhashtable\r\n"),
    ]);
}

#[test]
fn resp3_shapes() {
    let t = Server::tandem(&[]);
    let mut c = Conn::connect(t.port);
    assert!(c.raw(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(c.raw(&["HSET", "h", "f", "v"]), ":1\r\n");
    assert_eq!(c.raw(&["HGETALL", "h"]), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(c.raw(&["HRANDFIELD", "h", "-2", "WITHVALUES"]), "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(c.raw(&["SADD", "s", "a"]), ":1\r\n");
    assert_eq!(c.raw(&["SMEMBERS", "s"]), "~1\r\n$1\r\na\r\n");
    assert_eq!(c.raw(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(c.raw(&["SPOP", "nokey"]), "_\r\n");
    assert_eq!(c.raw(&["SPOP", "nokey", "2"]), "~0\r\n");
    assert_eq!(c.raw(&["SINTER", "s", "s"]), "~1\r\n$1\r\na\r\n");
}

#[test]
fn scan_returns_every_element_under_writes() {
    let t = Server::tandem(&[]);
    let mut c = Conn::connect(t.port);
    for i in 0..1000 {
        c.raw(&["SADD", "s", &format!("m{i}")]);
        c.raw(&["HSET", "h", &format!("f{i}"), "v"]);
    }
    for (cmd, key, step) in [("SSCAN", "s", 1), ("HSCAN", "h", 2)] {
        let mut cursor = "0".to_string();
        let mut seen = std::collections::HashSet::new();
        let mut extra = 0;
        loop {
            let r = c.raw(&[cmd, key, &cursor, "COUNT", "25"]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            let items: Vec<&str> = lines[4..].iter().skip(1).step_by(2).copied().collect();
            for it in items.iter().step_by(step) {
                seen.insert(it.to_string());
            }
            // Churn: add and remove other elements between steps.
            extra += 1;
            if cmd == "SSCAN" {
                c.raw(&["SADD", key, &format!("x{extra}")]);
                c.raw(&["SREM", key, &format!("x{}", extra - 1)]);
            } else {
                c.raw(&["HSET", key, &format!("x{extra}"), "v"]);
                c.raw(&["HDEL", key, &format!("x{}", extra - 1)]);
            }
            if cursor == "0" {
                break;
            }
        }
        let prefix = if cmd == "SSCAN" { "m" } else { "f" };
        for i in 0..1000 {
            assert!(seen.contains(&format!("{prefix}{i}")), "{cmd} missed {prefix}{i}");
        }
    }
}

/// Reads one command of the replication stream (a multibulk).
fn read_stream_cmd(c: &mut Conn) -> Vec<String> {
    let text = c.reply();
    text.split("\r\n").skip(1).skip(1).step_by(2).filter(|s| !s.is_empty()).map(|s| s.to_string()).collect()
}

/// The next `n` commands of the stream, PINGs and SELECTs left out.
fn stream_cmds(c: &mut Conn, n: usize) -> Vec<Vec<String>> {
    let mut v = vec![];
    while v.len() < n {
        let cmd = read_stream_cmd(c);
        if cmd[0] != "PING" && cmd[0] != "SELECT" {
            v.push(cmd);
        }
    }
    v
}

#[test]
fn spop_and_hincrbyfloat_propagation() {
    let t = Server::tandem(&[]);
    let mut c = Conn::connect(t.port);
    let mut repl = attach_replica(t.port);

    assert_eq!(c.raw(&["SADD", "s", "a", "b", "c", "d"]), ":4\r\n");
    let r = c.raw(&["SPOP", "s", "2"]);
    assert!(r.starts_with("*2\r\n"), "{}", r);
    let popped: Vec<String> = r.split("\r\n").skip(2).step_by(2).take(2).map(|s| s.to_string()).collect();
    assert_eq!(c.raw(&["SCARD", "s"]), ":2\r\n");
    let one = c.raw(&["SPOP", "s"]);
    let one = one.split("\r\n").nth(1).unwrap().to_string();
    assert!(c.raw(&["SPOP", "s", "10"]).starts_with("*1\r\n"));
    assert_eq!(c.raw(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(c.raw(&["HINCRBYFLOAT", "h", "f", "1.5"]), "$3\r\n1.5\r\n");
    assert_eq!(c.raw(&["HINCRBYFLOAT", "h", "f", "0.25"]), "$4\r\n1.75\r\n");

    let got = stream_cmds(&mut repl, 9);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(got[0], s(&["SADD", "s", "a", "b", "c", "d"]));
    assert_eq!(got[1], s(&["MULTI"]));
    assert_eq!(got[2], s(&["SREM", "s", &popped[0]]));
    assert_eq!(got[3], s(&["SREM", "s", &popped[1]]));
    assert_eq!(got[4], s(&["EXEC"]));
    assert_eq!(got[5], s(&["SREM", "s", &one]));
    assert_eq!(got[6], s(&["DEL", "s"]));
    assert_eq!(got[7], s(&["HSET", "h", "f", "1.5"]));
    assert_eq!(got[8], s(&["HSET", "h", "f", "1.75"]));
}
