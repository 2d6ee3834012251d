//! SORT and SORT_RO (issue 13) byte for byte against redis-server: numeric and ALPHA sorts of
//! lists, sets and sorted sets, BY patterns (keys and hash fields, constant BY keeping the
//! native order), LIMIT edge cases, GET patterns, STORE (and what it propagates), errors.

mod support;
use support::*;

#[test]
fn sort_matches_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let setup: &[&[&str]] = &[
            &["RPUSH", "l", "3", "1", "2", "10", "-5", "2.5", "1e2", "0x10"],
            &["RPUSH", "words", "pear", "apple", "fig", "banana", "Apple", "10", "9"],
            &["SADD", "s", "5", "3", "9", "1"],
            &["SADD", "sw", "b", "a", "c"],
            &["ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb"],
            &["MSET", "w_3", "30", "w_1", "10", "w_2", "-1", "w_10", "5", "w_-5", "5", "o_1", "one", "o_2", "two"],
            &["HSET", "h_3", "f", "c", "n", "3"],
            &["HSET", "h_1", "f", "a", "n", "1"],
            &["HSET", "h_2", "f", "b", "n", "x"],
            &["RPUSH", "bad", "1", "x", "2"],
            &["RPUSH", "spaced", " 3", "1", "2 "],
        ];
        for a in setup {
            c.raw(a);
        }
        let cmds: &[&[&str]] = &[
            &["SORT", "l"],
            &["SORT", "l", "DESC"],
            &["SORT", "l", "ALPHA"],
            &["SORT", "l", "LIMIT", "1", "3"],
            &["SORT", "l", "LIMIT", "-5", "2"],
            &["SORT", "l", "LIMIT", "5", "-1"],
            &["SORT", "l", "LIMIT", "100", "5"],
            &["SORT", "l", "LIMIT", "0", "0"],
            &["SORT", "l", "LIMIT", "x", "1"],
            &["SORT", "l", "LIMIT", "1"],
            &["SORT", "words", "ALPHA"],
            &["SORT", "words", "ALPHA", "DESC", "LIMIT", "0", "3"],
            &["SORT", "words"],
            &["SORT", "s"],
            &["SORT", "s", "DESC"],
            &["SORT", "sw", "ALPHA"],
            &["SORT", "z"],
            &["SORT", "z", "ALPHA", "DESC"],
            &["SORT", "z", "BY", "nosort"],
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
            &["SORT", "l", "BY", "nosort"],
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"],
            &["SORT", "l", "BY", "w_*"],
            &["SORT", "l", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*", "GET", "o_*"],
            &["SORT", "l", "BY", "w_*", "ALPHA"],
            &["SORT", "l", "BY", "h_*->n"],
            &["SORT", "s", "BY", "h_*->f", "ALPHA", "GET", "h_*->f", "GET", "h_*->missing", "GET", "nostar"],
            &["SORT", "s", "BY", "h_*->n"],
            &["SORT", "s", "GET", "h_*->"],
            &["SORT", "bad"],
            &["SORT", "bad", "ALPHA"],
            &["SORT", "spaced"],
            &["SORT", "none"],
            &["SORT", "none", "STORE", "dst"],
            &["SORT", "l", "STORE", "dst"],
            &["LRANGE", "dst", "0", "-1"],
            &["SORT", "s", "BY", "nosort", "STORE", "dst"],
            &["LRANGE", "dst", "0", "-1"],
            &["SORT", "l", "BY", "w_*", "GET", "o_*", "STORE", "dst"],
            &["LRANGE", "dst", "0", "-1"],
            &["SORT", "l", "LIMIT", "100", "1", "STORE", "dst"],
            &["EXISTS", "dst"],
            &["SORT_RO", "l", "LIMIT", "0", "2"],
            &["SORT_RO", "l", "STORE", "dst"],
            &["SORT", "l", "FOO"],
            &["SET", "str", "x"],
            &["SORT", "str"],
            &["SORT", "str", "FOO"],
            &["HSET", "hash", "a", "1"],
            &["SORT", "hash"],
            &["COMMAND", "GETKEYS", "SORT", "abc", "STORE", "def"],
            &["COMMAND", "GETKEYS", "SORT", "abc", "LIMIT", "0", "1", "GET", "store", "STORE", "store", "x"],
            &["COMMAND", "GETKEYS", "GEORADIUS", "g", "0", "0", "1", "km", "STOREDIST", "d"],
            &["INFO", "keyspace"],
        ];
        cmds.iter().map(|a| c.raw(a)).collect::<Vec<_>>()
    });
}

#[test]
fn sort_store_propagates_as_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let steps: &[&[&str]] = &[
            &["RPUSH", "l", "3", "1", "2"],
            &["SORT", "l"],
            &["SORT", "l", "STORE", "d"],
            &["SORT", "none", "STORE", "d"],
            &["SORT", "none", "STORE", "d"],
        ];
        replies_and_stream(port, steps)
    });
}
