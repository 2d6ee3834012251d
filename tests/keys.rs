//! Generic key commands and databases.

mod support;
use support::*;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn del_unlink_exists_type_touch() {
    assert_table(&[
        (&["MSET", "a", "1", "b", "2", "c", "3"], "+OK\r\n"),
        (&["EXISTS", "a", "b", "nokey", "a"], ":3\r\n"),
        (&["TYPE", "a"], "+string\r\n"),
        (&["TYPE", "nokey"], "+none\r\n"),
        (&["TOUCH", "a", "b", "nokey"], ":2\r\n"),
        (&["DEL", "a", "nokey", "a"], ":1\r\n"),
        (&["UNLINK", "b", "c", "b"], ":2\r\n"),
        (&["EXISTS", "a", "b", "c"], ":0\r\n"),
        (&["DEL"], "-ERR wrong number of arguments for 'del' command\r\n"),
        (&["EXISTS"], "-ERR wrong number of arguments for 'exists' command\r\n"),
        (&["TYPE"], "-ERR wrong number of arguments for 'type' command\r\n"),
    ]);
}

#[test]
fn expire_family_flags() {
    assert_table(&[
        (&["SET", "k", "v"], "+OK\r\n"),
        (&["EXPIRE", "nokey", "100"], ":0\r\n"),
        (&["EXPIRE", "k", "100", "XX"], ":0\r\n"),
        (&["EXPIRE", "k", "100", "GT"], ":0\r\n"),
        (&["TTL", "k"], ":-1\r\n"),
        (&["EXPIRE", "k", "100", "LT"], ":1\r\n"),
        (&["TTL", "k"], ":100\r\n"),
        (&["EXPIRE", "k", "200", "NX"], ":0\r\n"),
        (&["EXPIRE", "k", "50", "GT"], ":0\r\n"),
        (&["EXPIRE", "k", "200", "GT"], ":1\r\n"),
        (&["TTL", "k"], ":200\r\n"),
        (&["EXPIRE", "k", "300", "LT"], ":0\r\n"),
        (&["EXPIRE", "k", "150", "LT"], ":1\r\n"),
        (&["EXPIRE", "k", "120", "XX"], ":1\r\n"),
        (&["TTL", "k"], ":120\r\n"),
        (&["EXPIRE", "k", "100", "NX", "XX"], "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
        (&["EXPIRE", "k", "100", "GT", "LT"], "-ERR GT and LT options at the same time are not compatible\r\n"),
        (&["EXPIRE", "k", "100", "FOO"], "-ERR Unsupported option FOO\r\n"),
        (&["EXPIRE", "k", "abc"], "-ERR value is not an integer or out of range\r\n"),
        (&["EXPIRE", "k", "9223372036854775807"], "-ERR invalid expire time in 'expire' command\r\n"),
        (&["PEXPIRE", "k", "100000"], ":1\r\n"),
        (&["TTL", "k"], ":100\r\n"),
        (&["PERSIST", "k"], ":1\r\n"),
        (&["PERSIST", "k"], ":0\r\n"),
        (&["PERSIST", "nokey"], ":0\r\n"),
        (&["TTL", "k"], ":-1\r\n"),
        (&["PTTL", "k"], ":-1\r\n"),
        (&["TTL", "nokey"], ":-2\r\n"),
        (&["PTTL", "nokey"], ":-2\r\n"),
        (&["EXPIRETIME", "k"], ":-1\r\n"),
        (&["EXPIRETIME", "nokey"], ":-2\r\n"),
        (&["PEXPIRETIME", "nokey"], ":-2\r\n"),
        (&["EXPIREAT", "k", "4000000000"], ":1\r\n"),
        (&["EXPIRETIME", "k"], ":4000000000\r\n"),
        (&["PEXPIRETIME", "k"], ":4000000000000\r\n"),
        (&["PEXPIREAT", "k", "4000000000123"], ":1\r\n"),
        (&["PEXPIRETIME", "k"], ":4000000000123\r\n"),
        (&["EXPIRETIME", "k"], ":4000000000\r\n"),
        // A time in the past deletes the key.
        (&["EXPIRE", "k", "-1"], ":1\r\n"),
        (&["EXISTS", "k"], ":0\r\n"),
        (&["SET", "k2", "v"], "+OK\r\n"),
        (&["PEXPIREAT", "k2", "1"], ":1\r\n"),
        (&["GET", "k2"], "$-1\r\n"),
        (&["EXPIRE", "k"], "-ERR wrong number of arguments for 'expire' command\r\n"),
    ]);
}

#[test]
fn pttl_is_close_to_requested() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SET", "k", "v", "PX", "100000"]), "+OK\r\n");
    let pttl = c.cmd(&["PTTL", "k"]).int();
    assert!((99_000..=100_000).contains(&pttl), "pttl {}", pttl);
}

#[test]
fn rename_and_renamenx() {
    assert_table(&[
        (&["RENAME", "nokey", "x"], "-ERR no such key\r\n"),
        (&["RENAMENX", "nokey", "x"], "-ERR no such key\r\n"),
        (&["SET", "a", "1", "EX", "100"], "+OK\r\n"),
        (&["SET", "b", "2"], "+OK\r\n"),
        (&["RENAME", "a", "a"], "+OK\r\n"),
        (&["RENAMENX", "a", "a"], ":0\r\n"),
        (&["RENAMENX", "a", "b"], ":0\r\n"),
        (&["RENAME", "a", "c"], "+OK\r\n"),
        (&["EXISTS", "a"], ":0\r\n"),
        (&["GET", "c"], "$1\r\n1\r\n"),
        (&["TTL", "c"], ":100\r\n"),
        (&["RENAME", "c", "b"], "+OK\r\n"),
        (&["GET", "b"], "$1\r\n1\r\n"),
        (&["TTL", "b"], ":100\r\n"),
        (&["RENAMENX", "b", "d"], ":1\r\n"),
        (&["GET", "d"], "$1\r\n1\r\n"),
        (&["RENAME", "d"], "-ERR wrong number of arguments for 'rename' command\r\n"),
    ]);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn keys_glob_patterns() {
    let s = Server::tandem(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    for k in ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "h*llo", "other", "a[b", "x?y"] {
        assert_eq!(c.raw(&["SET", k, "1"]), "+OK\r\n");
    }
    let keys = |c: &mut Conn, p: &str| sorted(c.cmd(&["KEYS", p]).strings());
    assert_eq!(keys(&mut c, "*").len(), 10);
    assert_eq!(keys(&mut c, "h?llo"), vec!["h*llo", "hallo", "hbllo", "hello", "hxllo"]);
    assert_eq!(keys(&mut c, "h*llo"), vec!["h*llo", "hallo", "hbllo", "heeeello", "hello", "hllo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[ae]llo"), vec!["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h[^e]llo"), vec!["h*llo", "hallo", "hbllo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[a-b]llo"), vec!["hallo", "hbllo"]);
    assert_eq!(keys(&mut c, "h\\*llo"), vec!["h*llo"]);
    assert_eq!(keys(&mut c, "a\\[b"), vec!["a[b"]);
    assert_eq!(keys(&mut c, "x\\?y"), vec!["x?y"]);
    assert_eq!(keys(&mut c, "nomatch*"), Vec::<String>::new());
    assert_eq!(c.raw(&["KEYS", "nomatch*"]), "*0\r\n");
    assert_eq!(c.raw(&["KEYS"]), "-ERR wrong number of arguments for 'keys' command\r\n");
    // Logically expired keys are not listed.
    assert_eq!(c.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(c.raw(&["SET", "hzllo", "1", "PX", "1"]), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!keys(&mut c, "h*").contains(&"hzllo".to_string()));
}

/// Iterates SCAN to cursor 0 and returns every key seen (checking each call's shape).
fn scan_all(c: &mut Conn, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = vec![];
    let mut calls = 0;
    loop {
        let mut a = vec!["SCAN", cursor.as_str()];
        a.extend_from_slice(extra);
        let r = c.cmd(&a);
        let parts = r.array();
        assert_eq!(parts.len(), 2, "SCAN reply {:?}", r);
        let next = parts[0].text();
        seen.extend(parts[1].strings());
        calls += 1;
        assert!(calls < 100_000, "SCAN never returned cursor 0");
        if next == "0" {
            return (seen, calls);
        }
        cursor = next;
    }
}

#[test]
fn scan_match_count_type() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let mut pipeline = vec![];
    for i in 0..1000 {
        pipeline.extend(encode_str(&["SET", &format!("key:{}", i), "v"]));
    }
    for i in 0..100 {
        pipeline.extend(encode_str(&["SET", &format!("other:{}", i), "v"]));
    }
    c.send(&pipeline);
    for _ in 0..1100 {
        assert_eq!(c.reply_bytes(), b"+OK\r\n");
    }
    let (all, calls) = scan_all(&mut c, &[]);
    let set: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(set.len(), 1100, "every key seen");
    assert!(calls > 1, "default COUNT should take several calls");
    let (m, _) = scan_all(&mut c, &["MATCH", "other:*", "COUNT", "50"]);
    let m: HashSet<_> = m.into_iter().collect();
    assert_eq!(m.len(), 100);
    assert!(m.iter().all(|k| k.starts_with("other:")));
    let (big, calls) = scan_all(&mut c, &["COUNT", "100000"]);
    assert_eq!(big.len(), 1100);
    assert_eq!(calls, 1, "a huge COUNT finishes in one call");
    let (t, _) = scan_all(&mut c, &["TYPE", "string", "MATCH", "key:1?"]);
    assert_eq!(sorted(t), sorted((10..20).map(|i| format!("key:{}", i)).collect()));
    let (none, _) = scan_all(&mut c, &["TYPE", "list"]);
    assert!(none.is_empty());
    assert_eq!(c.raw(&["SCAN", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.raw(&["SCAN", "0", "COUNT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.raw(&["SCAN", "0", "FOO", "x"]), "-ERR syntax error\r\n");
    assert_eq!(c.raw(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(c.raw(&["SCAN", "abc"]), "-ERR invalid cursor\r\n");
}

#[test]
fn scan_errors_match_redis() {
    assert_same_as_redis(&[
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "COUNT", "x"],
        &["SCAN", "0", "FOO", "x"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "abc"],
        &["SCAN", "0"],
        &["SCAN"],
    ]);
}

#[test]
fn randomkey_dbsize_flush() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["MSET", "a", "1", "b", "2", "c", "3"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":3\r\n");
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(c.cmd(&["RANDOMKEY"]).text());
    }
    assert_eq!(seen, ["a", "b", "c"].iter().map(|s| s.to_string()).collect());
    assert_eq!(c.raw(&["FLUSHDB", "BAD"]), "-ERR syntax error\r\n");
    assert_eq!(c.raw(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHDB", "sync"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    // FLUSHALL clears every database.
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(c.raw(&["SET", "b", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL", "x"]), "-ERR syntax error\r\n");
    assert_eq!(c.raw(&["DBSIZE", "x"]), "-ERR wrong number of arguments for 'dbsize' command\r\n");
}

#[test]
fn select_swapdb_move_copy() {
    assert_table(&[
        (&["SET", "k", "db0"], "+OK\r\n"),
        (&["SELECT", "1"], "+OK\r\n"),
        (&["GET", "k"], "$-1\r\n"),
        (&["SET", "k", "db1"], "+OK\r\n"),
        (&["SELECT", "16"], "-ERR DB index is out of range\r\n"),
        (&["SELECT", "-1"], "-ERR DB index is out of range\r\n"),
        (&["SELECT", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["SELECT", "0"], "+OK\r\n"),
        (&["GET", "k"], "$3\r\ndb0\r\n"),
        (&["SWAPDB", "0", "1"], "+OK\r\n"),
        (&["GET", "k"], "$3\r\ndb1\r\n"),
        (&["SWAPDB", "0", "16"], "-ERR DB index is out of range\r\n"),
        (&["SWAPDB", "x", "1"], "-ERR invalid first DB index\r\n"),
        (&["SWAPDB", "0", "y"], "-ERR invalid second DB index\r\n"),
        (&["SWAPDB", "1", "0"], "+OK\r\n"),
        (&["GET", "k"], "$3\r\ndb0\r\n"),
        // MOVE
        (&["SET", "m", "1", "EX", "100"], "+OK\r\n"),
        (&["MOVE", "m", "0"], "-ERR source and destination objects are the same\r\n"),
        (&["MOVE", "m", "16"], "-ERR DB index is out of range\r\n"),
        (&["MOVE", "nokey", "2"], ":0\r\n"),
        (&["MOVE", "m", "2"], ":1\r\n"),
        (&["EXISTS", "m"], ":0\r\n"),
        (&["SELECT", "2"], "+OK\r\n"),
        (&["GET", "m"], "$1\r\n1\r\n"),
        (&["TTL", "m"], ":100\r\n"),
        (&["SELECT", "0"], "+OK\r\n"),
        (&["SET", "m", "again"], "+OK\r\n"),
        (&["MOVE", "m", "2"], ":0\r\n"),
        (&["GET", "m"], "$5\r\nagain\r\n"),
        // COPY
        (&["COPY", "k", "k"], "-ERR source and destination objects are the same\r\n"),
        (&["COPY", "nokey", "x"], ":0\r\n"),
        (&["SET", "src", "val", "EX", "100"], "+OK\r\n"),
        (&["COPY", "src", "dst"], ":1\r\n"),
        (&["GET", "dst"], "$3\r\nval\r\n"),
        (&["TTL", "dst"], ":100\r\n"),
        (&["COPY", "src", "k"], ":0\r\n"),
        (&["COPY", "src", "k", "REPLACE"], ":1\r\n"),
        (&["GET", "k"], "$3\r\nval\r\n"),
        (&["COPY", "src", "src", "DB", "3"], ":1\r\n"),
        (&["COPY", "src", "x", "DB", "16"], "-ERR DB index is out of range\r\n"),
        (&["COPY", "src", "x", "FOO"], "-ERR syntax error\r\n"),
        (&["SELECT", "3"], "+OK\r\n"),
        (&["GET", "src"], "$3\r\nval\r\n"),
    ]);
}

#[test]
fn object_subcommands() {
    assert_table(&[
        (&["SET", "int", "12345"], "+OK\r\n"),
        (&["SET", "bigint", "123456789012"], "+OK\r\n"),
        (&["SET", "short", "hello"], "+OK\r\n"),
        (&["SET", "long", "this string is definitely longer than forty-four bytes, so raw"], "+OK\r\n"),
        (&["OBJECT", "ENCODING", "int"], "$3\r\nint\r\n"),
        (&["OBJECT", "ENCODING", "bigint"], "$3\r\nint\r\n"),
        (&["OBJECT", "ENCODING", "short"], "$6\r\nembstr\r\n"),
        (&["OBJECT", "ENCODING", "long"], "$3\r\nraw\r\n"),
        (&["OBJECT", "ENCODING", "nokey"], "$-1\r\n"),
        (&["OBJECT", "REFCOUNT", "short"], ":1\r\n"),
        (&["OBJECT", "REFCOUNT", "nokey"], "$-1\r\n"),
        (&["OBJECT", "IDLETIME", "short"], ":0\r\n"),
        (&["OBJECT", "FREQ", "short"], "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"),
        (&["OBJECT", "FOO", "short"], "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"),
        (&["OBJECT", "ENCODING"], "-ERR wrong number of arguments for 'object|encoding' command\r\n"),
        (&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], "+OK\r\n"),
        (&["OBJECT", "IDLETIME", "short"], "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"),
    ]);
}

#[test]
fn object_freq_with_lfu() {
    let s = Server::tandem(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    let f = c.cmd(&["OBJECT", "FREQ", "k"]).int();
    assert!(f >= 0);
    assert_eq!(c.raw(&["OBJECT", "FREQ", "nokey"]), "$-1\r\n");
}

/// FLUSHALL/FLUSHDB ASYNC (and plain ones with lazyfree-lazy-user-flush yes) empty the
/// databases at once and free the old keys on a background thread, counted in INFO
/// lazyfree_pending_objects / lazyfreed_objects as Redis does; SYNC frees in place. Checked
/// on redis-server too.
#[test]
fn flush_async_frees_in_background() {
    flush_async_on(&Server::tandem(&["--enable-debug-command", "yes"]));
    if have_redis() {
        flush_async_on(&Server::redis(&["--enable-debug-command", "yes"]));
    }
}

fn flush_async_on(s: &Server) {
    let mut c = s.conn();
    let freed = |c: &mut Conn| -> i64 {
        let info = c.raw(&["INFO", "memory"]);
        info.lines().find_map(|l| l.strip_prefix("lazyfreed_objects:")).unwrap().trim().parse().unwrap()
    };
    assert!(c.raw(&["INFO", "memory"]).contains("lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n"));
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "20000"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(freed(&mut c), 0);
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "20000"]), "+OK\r\n");
    assert_eq!(c.raw(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "500"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    s.wait_info("memory", "lazyfreed_objects", Duration::from_secs(10), |v| v == "500");
    assert_eq!(c.raw(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.raw(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(c.raw(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.raw(&["GET", "key:1"]), "$-1\r\n");
    s.wait_info("memory", "lazyfreed_objects", Duration::from_secs(10), |v| v == "20500");
    assert_eq!(c.raw(&["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"]), "+OK\r\n");
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["FLUSHALL"]), "+OK\r\n");
    s.wait_info("memory", "lazyfreed_objects", Duration::from_secs(10), |v| v == "20501");
    assert!(c.raw(&["INFO", "memory"]).contains("lazyfree_pending_objects:0\r\n"));
    assert_eq!(c.raw(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    assert_eq!(freed(&mut c), 0);
}
