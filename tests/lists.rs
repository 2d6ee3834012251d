//! List commands against the real binary: raw replies compared with what Redis 7.0.15 answers
//! (the tables were recorded from redis-server 7.0.15; they are compared live too when it is
//! installed, so a table that drifts from Redis fails loudly).


mod support;
use support::*;

const PUSH_POP: &[(&[&str], &str)] = &[
    (&["LPUSH", "l"], "-ERR wrong number of arguments for 'lpush' command\r\n"),
    (&["RPUSH", "l"], "-ERR wrong number of arguments for 'rpush' command\r\n"),
    (&["LPUSHX", "l"], "-ERR wrong number of arguments for 'lpushx' command\r\n"),
    (&["RPUSHX", "l"], "-ERR wrong number of arguments for 'rpushx' command\r\n"),
    (&["LPUSHX", "l", "a"], ":0\r\n"),
    (&["RPUSHX", "l", "a"], ":0\r\n"),
    (&["EXISTS", "l"], ":0\r\n"),
    (&["LPUSH", "l", "a", "b", "c"], ":3\r\n"),
    (&["RPUSH", "l", "d", "e"], ":5\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n"),
    (&["LPUSHX", "l", "x", "y"], ":7\r\n"),
    (&["RPUSHX", "l", "z"], ":8\r\n"),
    (&["LLEN", "l"], ":8\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*8\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nz\r\n"),
    (&["LPOP", "l"], "$1\r\ny\r\n"),
    (&["RPOP", "l"], "$1\r\nz\r\n"),
    (&["LPOP", "l", "2"], "*2\r\n$1\r\nx\r\n$1\r\nc\r\n"),
    (&["RPOP", "l", "0"], "*0\r\n"),
    (&["LPOP", "l", "-1"], "-ERR value is out of range, must be positive\r\n"),
    (&["LPOP", "l", "x"], "-ERR value is out of range, must be positive\r\n"),
    (&["LPOP", "l", "1", "2"], "-ERR wrong number of arguments for 'lpop' command\r\n"),
    (&["RPOP", "l", "100"], "*4\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"),
    (&["EXISTS", "l"], ":0\r\n"),
    (&["LPOP", "l"], "$-1\r\n"),
    (&["LPOP", "l", "3"], "*-1\r\n"),
    (&["RPOP", "l"], "$-1\r\n"),
    (&["RPOP", "l", "3"], "*-1\r\n"),
    (&["LLEN", "l"], ":0\r\n"),
    (&["SET", "s", "v"], "+OK\r\n"),
    (&["LPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LPOP", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPOP", "s", "2"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LLEN", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPUSH", "n", "1", "-2", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "3.5", ""], ":7\r\n"),
    (&["LRANGE", "n", "0", "-1"], "*7\r\n$1\r\n1\r\n$2\r\n-2\r\n$19\r\n9223372036854775807\r\n$20\r\n-9223372036854775808\r\n$19\r\n9223372036854775808\r\n$3\r\n3.5\r\n$0\r\n\r\n"),
    (&["LLEN"], "-ERR wrong number of arguments for 'llen' command\r\n"),
    (&["LLEN", "a", "b"], "-ERR wrong number of arguments for 'llen' command\r\n"),
];

const READ: &[(&[&str], &str)] = &[
    (&["RPUSH", "l", "a", "b", "c", "d", "e", "a", "b", "a"], ":8\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*8\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n"),
    (&["LRANGE", "l", "1", "3"], "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    (&["LRANGE", "l", "-3", "-1"], "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n"),
    (&["LRANGE", "l", "-100", "100"], "*8\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n"),
    (&["LRANGE", "l", "5", "2"], "*0\r\n"),
    (&["LRANGE", "l", "100", "200"], "*0\r\n"),
    (&["LRANGE", "l", "-1", "-100"], "*0\r\n"),
    (&["LRANGE", "l", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
    (&["LRANGE", "l", "0", "y"], "-ERR value is not an integer or out of range\r\n"),
    (&["LRANGE", "nokey", "0", "-1"], "*0\r\n"),
    (&["LRANGE", "l", "0"], "-ERR wrong number of arguments for 'lrange' command\r\n"),
    (&["LINDEX", "l", "0"], "$1\r\na\r\n"),
    (&["LINDEX", "l", "-1"], "$1\r\na\r\n"),
    (&["LINDEX", "l", "7"], "$1\r\na\r\n"),
    (&["LINDEX", "l", "8"], "$-1\r\n"),
    (&["LINDEX", "l", "-9"], "$-1\r\n"),
    (&["LINDEX", "l", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["LINDEX", "nokey", "0"], "$-1\r\n"),
    (&["LPOS", "l", "a"], ":0\r\n"),
    (&["LPOS", "l", "b"], ":1\r\n"),
    (&["LPOS", "l", "zz"], "$-1\r\n"),
    (&["LPOS", "l", "a", "RANK", "2"], ":5\r\n"),
    (&["LPOS", "l", "a", "RANK", "-1"], ":7\r\n"),
    (&["LPOS", "l", "a", "RANK", "-2"], ":5\r\n"),
    (&["LPOS", "l", "a", "RANK", "4"], "$-1\r\n"),
    (&["LPOS", "l", "a", "COUNT", "0"], "*3\r\n:0\r\n:5\r\n:7\r\n"),
    (&["LPOS", "l", "a", "COUNT", "2"], "*2\r\n:0\r\n:5\r\n"),
    (&["LPOS", "l", "a", "COUNT", "0", "RANK", "-1"], "*3\r\n:7\r\n:5\r\n:0\r\n"),
    (&["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "6"], "*2\r\n:0\r\n:5\r\n"),
    (&["LPOS", "l", "a", "MAXLEN", "1"], ":0\r\n"),
    (&["LPOS", "l", "a", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
    (&["LPOS", "l", "a", "RANK", "-9223372036854775808"], ":7\r\n"),
    (&["LPOS", "l", "a", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
    (&["LPOS", "l", "a", "MAXLEN", "-1"], "-ERR MAXLEN can't be negative\r\n"),
    (&["LPOS", "l", "a", "FOO", "1"], "-ERR syntax error\r\n"),
    (&["LPOS", "l", "a", "RANK"], "-ERR syntax error\r\n"),
    (&["LPOS", "l", "a", "COUNT", "x"], "-ERR COUNT can't be negative\r\n"),
    (&["LPOS", "l", "a", "MAXLEN", "x"], "-ERR MAXLEN can't be negative\r\n"),
    (&["LPOS", "l", "a", "RANK", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["LPOS", "l", "a", "FOO", "x"], "-ERR syntax error\r\n"),
    (&["LPOS", "l", "a", "COUNT", "99999999999999999999"], "-ERR COUNT can't be negative\r\n"),
    (&["LPOS", "nokey", "a"], "$-1\r\n"),
    (&["LPOS", "nokey", "a", "COUNT", "1"], "*0\r\n"),
    (&["LPOS", "l", "zz", "COUNT", "1"], "*0\r\n"),
    (&["SET", "s", "v"], "+OK\r\n"),
    (&["LRANGE", "s", "0", "-1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LINDEX", "s", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LPOS", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LLEN", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
];

const WRITE: &[(&[&str], &str)] = &[
    (&["RPUSH", "l", "a", "b", "c", "d", "e", "a", "b", "a"], ":8\r\n"),
    (&["LSET", "l", "0", "A"], "+OK\r\n"),
    (&["LSET", "l", "-1", "Z"], "+OK\r\n"),
    (&["LSET", "l", "8", "x"], "-ERR index out of range\r\n"),
    (&["LSET", "l", "-9", "x"], "-ERR index out of range\r\n"),
    (&["LSET", "l", "x", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["LSET", "nokey", "0", "x"], "-ERR no such key\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*8\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nZ\r\n"),
    (&["LREM", "l", "0", "b"], ":2\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*6\r\n$1\r\nA\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nZ\r\n"),
    (&["RPUSH", "l", "c", "c"], ":8\r\n"),
    (&["LREM", "l", "1", "c"], ":1\r\n"),
    (&["LREM", "l", "-1", "c"], ":1\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*6\r\n$1\r\nA\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nZ\r\n$1\r\nc\r\n"),
    (&["LREM", "l", "0", "zz"], ":0\r\n"),
    (&["LREM", "l", "x", "a"], "-ERR value is not an integer or out of range\r\n"),
    (&["LREM", "nokey", "0", "a"], ":0\r\n"),
    (&["LINSERT", "l", "BEFORE", "d", "X"], ":7\r\n"),
    (&["LINSERT", "l", "after", "d", "Y"], ":8\r\n"),
    (&["LINSERT", "l", "BEFORE", "zz", "X"], ":-1\r\n"),
    (&["LINSERT", "l", "MIDDLE", "d", "X"], "-ERR syntax error\r\n"),
    (&["LINSERT", "nokey", "BEFORE", "d", "X"], ":0\r\n"),
    (&["EXISTS", "nokey"], ":0\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*8\r\n$1\r\nA\r\n$1\r\nX\r\n$1\r\nd\r\n$1\r\nY\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nZ\r\n$1\r\nc\r\n"),
    (&["LTRIM", "l", "1", "-2"], "+OK\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*6\r\n$1\r\nX\r\n$1\r\nd\r\n$1\r\nY\r\n$1\r\ne\r\n$1\r\na\r\n$1\r\nZ\r\n"),
    (&["LTRIM", "l", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
    (&["LTRIM", "l", "-2", "100"], "+OK\r\n"),
    (&["LRANGE", "l", "0", "-1"], "*2\r\n$1\r\na\r\n$1\r\nZ\r\n"),
    (&["LTRIM", "l", "5", "1"], "+OK\r\n"),
    (&["EXISTS", "l"], ":0\r\n"),
    (&["LTRIM", "nokey", "0", "1"], "+OK\r\n"),
    (&["RPUSH", "m", "1", "2", "3"], ":3\r\n"),
    (&["LREM", "m", "0", "2"], ":1\r\n"),
    (&["LREM", "m", "0", "1"], ":1\r\n"),
    (&["LREM", "m", "0", "3"], ":1\r\n"),
    (&["EXISTS", "m"], ":0\r\n"),
    (&["SET", "s", "v"], "+OK\r\n"),
    (&["LSET", "s", "0", "x"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LREM", "s", "0", "x"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LINSERT", "s", "BEFORE", "a", "b"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LTRIM", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LSET", "l"], "-ERR wrong number of arguments for 'lset' command\r\n"),
    (&["LREM", "l", "0"], "-ERR wrong number of arguments for 'lrem' command\r\n"),
    (&["LINSERT", "l", "BEFORE", "a"], "-ERR wrong number of arguments for 'linsert' command\r\n"),
    (&["LTRIM", "l", "0"], "-ERR wrong number of arguments for 'ltrim' command\r\n"),
];

const MOVES: &[(&[&str], &str)] = &[
    (&["RPUSH", "src", "a", "b", "c", "d"], ":4\r\n"),
    (&["RPOPLPUSH", "src", "dst"], "$1\r\nd\r\n"),
    (&["LRANGE", "dst", "0", "-1"], "*1\r\n$1\r\nd\r\n"),
    (&["RPOPLPUSH", "src", "src"], "$1\r\nc\r\n"),
    (&["LRANGE", "src", "0", "-1"], "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n"),
    (&["LMOVE", "src", "dst", "LEFT", "RIGHT"], "$1\r\nc\r\n"),
    (&["LMOVE", "src", "dst", "right", "left"], "$1\r\nb\r\n"),
    (&["LMOVE", "src", "dst", "LEFT", "LEFT"], "$1\r\na\r\n"),
    (&["LMOVE", "src", "dst", "RIGHT", "RIGHT"], "$-1\r\n"),
    (&["LRANGE", "src", "0", "-1"], "*0\r\n"),
    (&["LRANGE", "dst", "0", "-1"], "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\nc\r\n"),
    (&["EXISTS", "src"], ":0\r\n"),
    (&["LMOVE", "src", "dst", "LEFT", "RIGHT"], "$-1\r\n"),
    (&["RPOPLPUSH", "src", "dst"], "$-1\r\n"),
    (&["LMOVE", "dst", "dst", "LEFT", "RIGHT"], "$1\r\na\r\n"),
    (&["LRANGE", "dst", "0", "-1"], "*4\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\na\r\n"),
    (&["LMOVE", "dst", "x", "UP", "LEFT"], "-ERR syntax error\r\n"),
    (&["LMOVE", "dst", "x", "LEFT", "DOWN"], "-ERR syntax error\r\n"),
    (&["SET", "s", "v"], "+OK\r\n"),
    (&["RPOPLPUSH", "s", "dst"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPOPLPUSH", "dst", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LMOVE", "dst", "s", "LEFT", "LEFT"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LRANGE", "dst", "0", "-1"], "*4\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\na\r\n"),
    (&["RPOPLPUSH", "nokey", "s"], "$-1\r\n"),
    (&["LMOVE", "nokey", "s", "LEFT", "LEFT"], "$-1\r\n"),
    (&["RPOPLPUSH", "a"], "-ERR wrong number of arguments for 'rpoplpush' command\r\n"),
    (&["LMOVE", "a", "b", "LEFT"], "-ERR wrong number of arguments for 'lmove' command\r\n"),
    (&["RPUSH", "k1", "1", "2", "3"], ":3\r\n"),
    (&["RPUSH", "k2", "x", "y"], ":2\r\n"),
    (&["LMPOP", "2", "nokey", "k1", "LEFT"], "*2\r\n$2\r\nk1\r\n*1\r\n$1\r\n1\r\n"),
    (&["LMPOP", "2", "k1", "k2", "RIGHT", "COUNT", "10"], "*2\r\n$2\r\nk1\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"),
    (&["LMPOP", "2", "k1", "k2", "LEFT", "COUNT", "1"], "*2\r\n$2\r\nk2\r\n*1\r\n$1\r\nx\r\n"),
    (&["LMPOP", "1", "k1", "LEFT"], "*-1\r\n"),
    (&["LMPOP", "1", "k1", "LEFT"], "*-1\r\n"),
    (&["LMPOP", "0", "k1", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
    (&["LMPOP", "-1", "k1", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
    (&["LMPOP", "x", "k1", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
    (&["LMPOP", "3", "k1", "k2", "LEFT"], "-ERR syntax error\r\n"),
    (&["LMPOP", "1", "k2", "MIDDLE"], "-ERR syntax error\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "COUNT", "0"], "-ERR count should be greater than 0\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "COUNT", "-1"], "-ERR count should be greater than 0\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "COUNT"], "-ERR syntax error\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "COUNT", "1", "COUNT", "1"], "-ERR syntax error\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "FOO"], "-ERR syntax error\r\n"),
    (&["LMPOP", "2", "s", "k2", "LEFT"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LMPOP", "2", "nokey", "s", "LEFT"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["LMPOP", "1"], "-ERR wrong number of arguments for 'lmpop' command\r\n"),
    (&["LMPOP", "1", "k2"], "-ERR wrong number of arguments for 'lmpop' command\r\n"),
    (&["LMPOP", "1", "k2", "LEFT", "COUNT", "2"], "*2\r\n$2\r\nk2\r\n*1\r\n$1\r\ny\r\n"),
    (&["EXISTS", "k2"], ":0\r\n"),
    (&["BLPOP", "nokey", "-1"], "-ERR timeout is negative\r\n"),
    (&["BLPOP", "nokey", "x"], "-ERR timeout is not a float or out of range\r\n"),
    (&["BLMPOP", "x", "1", "k", "LEFT"], "-ERR timeout is not a float or out of range\r\n"),
    (&["BLMPOP", "0.01", "0", "k", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
    (&["BLMPOP", "-1", "1", "k", "LEFT"], "-ERR timeout is negative\r\n"),
    (&["BRPOPLPUSH", "a", "b", "x"], "-ERR timeout is not a float or out of range\r\n"),
    (&["BLMOVE", "a", "b", "LEFT", "RIGHT", "-1"], "-ERR timeout is negative\r\n"),
    (&["RPUSH", "b1", "v"], ":1\r\n"),
    (&["BLPOP", "nokey", "b1", "0"], "*2\r\n$2\r\nb1\r\n$1\r\nv\r\n"),
    (&["BRPOP", "s", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["RPUSH", "b1", "v", "w"], ":2\r\n"),
    (&["BLMPOP", "0", "2", "nokey", "b1", "RIGHT", "COUNT", "5"], "*2\r\n$2\r\nb1\r\n*2\r\n$1\r\nw\r\n$1\r\nv\r\n"),
    (&["BLMOVE", "nokey", "b1", "LEFT", "RIGHT", "0.01"], "*-1\r\n"),
    (&["BRPOPLPUSH", "nokey", "b1", "0.01"], "*-1\r\n"),
    (&["BLPOP", "nokey", "0.01"], "*-1\r\n"),
    (&["BLMPOP", "0.01", "1", "nokey", "LEFT"], "*-1\r\n"),
];


#[test]
fn push_and_pop_match_redis() {
    assert_table(PUSH_POP);
}

#[test]
fn reads_match_redis() {
    assert_table(READ);
}

#[test]
fn in_place_writes_match_redis() {
    assert_table(WRITE);
}

#[test]
fn moves_and_multi_pops_match_redis() {
    assert_table(MOVES);
}

#[test]
fn pop_count_resp3_and_large_lists() {
    let t = Server::tandem(&[]);
    let mut c = Conn::connect(t.port);
    assert!(c.raw(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(c.raw(&["LPOP", "nokey", "1"]), "_\r\n");
    assert_eq!(c.raw(&["LMPOP", "1", "nokey", "LEFT"]), "_\r\n");
    assert_eq!(c.raw(&["RPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.raw(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(c.raw(&["LPOS", "l", "zz"]), "_\r\n");
    assert_eq!(c.raw(&["BLPOP", "nokey", "0.01"]), "_\r\n");
    assert_eq!(c.raw(&["BLMOVE", "nokey", "l", "LEFT", "LEFT", "0.01"]), "_\r\n");
    assert_eq!(c.raw(&["HELLO", "2"]).as_bytes()[0], b'*');
    // A list past the listpack limits still answers quicklist, and keeps its order.
    let big = "x".repeat(100);
    for i in 0..300 {
        c.raw(&["RPUSH", "big", &format!("{i}{big}")]);
    }
    assert_eq!(c.raw(&["OBJECT", "ENCODING", "big"]), "$9\r\nquicklist\r\n");
    assert_eq!(c.raw(&["OBJECT", "ENCODING", "l"]), "$9\r\nquicklist\r\n");
    assert_eq!(c.raw(&["LINDEX", "big", "150"]), format!("$103\r\n150{big}\r\n"));
    assert_eq!(c.raw(&["LTRIM", "big", "100", "199"]), "+OK\r\n");
    assert_eq!(c.raw(&["LLEN", "big"]), ":100\r\n");
    assert_eq!(c.raw(&["LINDEX", "big", "0"]), format!("$103\r\n100{big}\r\n"));
}
