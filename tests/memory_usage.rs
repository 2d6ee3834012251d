//! MEMORY USAGE against real redis-server 7.0: the same commands on both servers must report
//! the same number of bytes, for every type and encoding, with the default, full (SAMPLES 0)
//! and partial sampling, and the same errors.
//!
//! Redis itself is not repeatable in two places, and the tests keep clear of them: a hash
//! table's rehashing state a few insertions after it doubles depends on its random hash seed
//! (sizes here are right after a doubling, where it always rehashes, or long after, where it
//! never does), and which elements of a hash table SAMPLES picks depends on the same seed
//! (elements here have equal sizes). Skiplist node heights are random in Redis: the sorted-set
//! test checks that the only difference left is the one node height that was sampled.

mod support;
use support::*;

/// Sends `cmds` on a pipeline (each must succeed).
fn setup(c: &mut Conn, cmds: Vec<Vec<String>>) {
    c.pipeline(&cmds);
}

/// A command from string slices.
fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `head` followed by `rest`, as one command.
fn cmd_with(head: &[&str], rest: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v = cmd(head);
    v.extend(rest);
    v
}

/// MEMORY USAGE of each key with each option list, as "key opts -> reply" steps.
fn usages(c: &mut Conn, keys: &[String], variants: &[&[&str]]) -> Vec<String> {
    let mut out = Vec::new();
    for k in keys {
        for v in variants {
            let mut args = vec!["MEMORY", "USAGE", k.as_str()];
            args.extend_from_slice(v);
            out.push(format!("{:?} -> {}", args, c.raw(&args)));
        }
    }
    out
}

const ALL_SAMPLES: &[&[&str]] = &[&[], &["SAMPLES", "0"], &["SAMPLES", "1"], &["SAMPLES", "3"]];

#[test]
fn strings_of_every_encoding() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut keys = Vec::new();
        // embstr up to 44 bytes, raw beyond; the allocation classes move at 12/13, 28/29...
        for n in [0usize, 1, 12, 13, 28, 29, 43, 44, 45, 63, 64, 100, 1000, 4000, 20_000] {
            let k = format!("s:{}", n);
            setup(&mut c, vec![cmd(&["SET", &k, &"x".repeat(n)])]);
            keys.push(k);
        }
        // Integers (shared ones too), and strings that only look like integers.
        for v in ["0", "1", "9999", "10000", "-1", "123456789012345678", "9223372036854775807", "9223372036854775808", "01", "+1", "-0", "1.5"] {
            let k = format!("i:{}", v);
            setup(&mut c, vec![cmd(&["SET", &k, v])]);
            keys.push(k);
        }
        // Key lengths across the string header sizes.
        for n in [31usize, 32, 255, 256] {
            let k = "k".repeat(n);
            setup(&mut c, vec![cmd(&["SET", &k, "v"])]);
            keys.push(k);
        }
        // Strings modified in place, and a big value sent on its own (read straight into
        // the argument buffer by Redis).
        setup(
            &mut c,
            vec![
                cmd(&["SET", "ap", "hello world"]),
                cmd(&["APPEND", "ap", "and more"]),
                cmd(&["SETRANGE", "sr", "10", "abc"]),
                cmd(&["SETBIT", "sb", "100", "1"]),
                cmd(&["INCR", "counter"]),
                cmd(&["SET", "ex", "value", "EX", "1000"]),
            ],
        );
        let big = "y".repeat(70_000);
        assert_eq!(c.raw(&["SET", "big", &big]), "+OK\r\n");
        keys.extend(["ap", "sr", "sb", "counter", "ex", "big"].map(String::from));
        usages(&mut c, &keys, &[&[]])
    });
}

#[test]
fn lists_small_and_with_many_nodes() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut keys = Vec::new();
        // One listpack node, then several 8 KiB nodes (values of 100 bytes), then many.
        for n in [1usize, 10, 128, 129, 200, 2000, 20_000] {
            let k = format!("l:{}", n);
            setup(&mut c, vec![cmd_with(&["RPUSH", &k], (0..n).map(|i| format!("v{:0>98}", i)))]);
            keys.push(k);
        }
        // Integers, mixed sizes, elements near the node size.
        setup(&mut c, vec![cmd_with(&["RPUSH", "ints"], (0..3000).map(|i| (i * 1000 - 7).to_string()))]);
        setup(&mut c, vec![cmd_with(&["RPUSH", "mixed"], (0..1500).map(|i| "z".repeat(i % 300)))]);
        setup(&mut c, vec![cmd_with(&["RPUSH", "big5000"], (0..10).map(|_| "b".repeat(5000)))]);
        setup(&mut c, vec![cmd_with(&["RPUSH", "big9000"], (0..3).map(|_| "b".repeat(9000)))]);
        keys.extend(["ints", "mixed", "big5000", "big9000"].map(String::from));
        let mut out = usages(&mut c, &keys, ALL_SAMPLES);
        // Other node limits (in bytes, then in entries) apply to lists created after them.
        for fill in ["-1", "-5", "5", "128"] {
            c.raw(&["CONFIG", "SET", "list-max-listpack-size", fill]);
            let k = format!("fill:{}", fill);
            setup(&mut c, vec![cmd_with(&["RPUSH", &k], (0..3000).map(|i| format!("value-{}", i)))]);
            out.extend(usages(&mut c, &[k], ALL_SAMPLES));
        }
        out
    });
}

#[test]
fn hashes_listpack_and_hashtable() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut keys = Vec::new();
        // Listpacks, up to the 512-field limit.
        for n in [1usize, 10, 512] {
            let k = format!("lp:{}", n);
            setup(&mut c, vec![cmd_with(&["HSET", &k], (0..n).flat_map(|i| [format!("f{}", i), format!("val{}", i)]))]);
            keys.push(k);
        }
        // Hash tables converted on the 513th field: sized for it, then doubled at 1025.
        for n in [513usize, 600, 1025] {
            let k = format!("ht:{}", n);
            setup(&mut c, (0..n).map(|i| cmd(&["HSET", &k, &format!("f{:05}", i), &format!("v{:05}", i)])).collect());
            keys.push(k);
        }
        // Hash tables converted by a long value at once, grown field by field: right after a
        // doubling (5, 9) and long after one (16).
        for n in [1usize, 4, 5, 9, 16] {
            let k = format!("long:{}", n);
            setup(&mut c, (0..n).map(|i| cmd(&["HSET", &k, &format!("f{:03}", i), &"x".repeat(100)])).collect());
            keys.push(k);
        }
        usages(&mut c, &keys, ALL_SAMPLES)
    });
}

#[test]
fn sets_intset_and_hashtable() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut keys = Vec::new();
        // Intsets of 16, 32 and 64-bit integers, up to the 512-member limit.
        let intsets: [(&str, Vec<String>); 5] = [
            ("is:small", (0..10).map(|i| i.to_string()).collect()),
            ("is:512", (0..512).map(|i| (i * 7 - 100).to_string()).collect()),
            ("is:32", vec!["1".into(), "100000".into()]),
            ("is:64", vec!["1".into(), "10000000000".into()]),
            ("is:neg", vec!["-32768".into(), "32767".into()]),
        ];
        for (k, members) in intsets {
            setup(&mut c, vec![cmd_with(&["SADD", k], members)]);
            keys.push(k.to_string());
        }
        // Hash tables grown from empty, around their doublings.
        for n in [1usize, 4, 5, 9, 33, 64, 129, 1000] {
            let k = format!("ht:{}", n);
            setup(&mut c, vec![cmd_with(&["SADD", &k], (0..n).map(|i| format!("m{:05}", i)))]);
            keys.push(k);
        }
        // Intsets converted on the 513th member (sized for it, doubled at 1025).
        for n in [513usize, 600, 1025] {
            let k = format!("conv:{}", n);
            setup(&mut c, vec![cmd_with(&["SADD", &k], (0..n).map(|i| (i + 100_000).to_string()))]);
            keys.push(k);
        }
        usages(&mut c, &keys, ALL_SAMPLES)
    });
}

#[test]
fn sorted_sets_listpack() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut keys = Vec::new();
        for n in [1usize, 10, 128] {
            let k = format!("z:{}", n);
            setup(&mut c, vec![cmd_with(&["ZADD", &k], (0..n).flat_map(|i| [i.to_string(), format!("m{}", i)]))]);
            keys.push(k);
        }
        // Scores stored as text (17 significant digits), as integers, and the odd ones.
        let scores = ["0.1", "1.5", "-2.75", "1e300", "-1e-10", "inf", "-inf", "4611686018427387904", "9223372036854775807", "3.0", "123456.789"];
        setup(&mut c, vec![cmd_with(&["ZADD", "z:scores"], scores.iter().enumerate().flat_map(|(i, s)| [s.to_string(), format!("m{}", i)]))]);
        setup(&mut c, vec![cmd_with(&["ZADD", "z:intmembers"], (0..50).flat_map(|i| [format!("{}.5", i), (i * 1000).to_string()]))]);
        keys.extend(["z:scores", "z:intmembers"].map(String::from));
        usages(&mut c, &keys, &[&[]])
    });
}

/// Bytes of a skiplist node of height `level` (jemalloc's size class of 24 + 16 per level).
fn skiplist_node_bytes(level: i64) -> i64 {
    let n = 24 + 16 * level;
    // The size classes this range of heights falls in.
    [48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640].into_iter().find(|&c| c >= n).unwrap_or(640)
}

#[test]
fn sorted_sets_skiplist_up_to_node_heights() {
    if !have_redis() {
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    // Converted on the 129th member (its table doubles right then), well after it (200), and
    // a skiplist from the first member (a member longer than 64 bytes).
    let sets: Vec<(String, Vec<Vec<String>>)> = vec![
        ("by-count:129".into(), (0..129).map(|i| cmd(&["ZADD", "by-count:129", &i.to_string(), &format!("m{:05}", i)])).collect()),
        ("by-count:200".into(), (0..200).map(|i| cmd(&["ZADD", "by-count:200", &i.to_string(), &format!("m{:05}", i)])).collect()),
        ("long:4".into(), (0..4).map(|i| cmd(&["ZADD", "long:4", &i.to_string(), &format!("{}{:03}", "m".repeat(70), i)])).collect()),
        ("long:64".into(), (0..64).map(|i| cmd(&["ZADD", "long:64", &i.to_string(), &format!("{}{:03}", "m".repeat(70), i)])).collect()),
    ];
    for (key, cmds) in &sets {
        setup(&mut tc, cmds.clone());
        setup(&mut rc, cmds.clone());
        let n = cmds.len() as i64;
        assert_eq!(rc.raw(&["OBJECT", "ENCODING", key]), "$8\r\nskiplist\r\n");
        let usage = |c: &mut Conn, opts: &[&str]| {
            let mut args = vec!["MEMORY", "USAGE", key.as_str()];
            args.extend_from_slice(opts);
            c.cmd(&args).int()
        };
        // SAMPLES 1 looks at the lowest node only: the answers differ by that node's height,
        // times the member count, and by nothing else.
        let (ours, redis) = (usage(&mut tc, &["SAMPLES", "1"]), usage(&mut rc, &["SAMPLES", "1"]));
        let explained = (1..=32).any(|level| redis - ours == n * (skiplist_node_bytes(level) - skiplist_node_bytes(1)));
        assert!(explained, "{}: SAMPLES 1: tandem {} redis {}", key, ours, redis);
        // With every node counted, all heights add up: the gap is a multiple of 16 bytes
        // (whole size classes) and small next to the total.
        if n.count_ones() == 1 {
            let (ours, redis) = (usage(&mut tc, &["SAMPLES", "0"]), usage(&mut rc, &["SAMPLES", "0"]));
            assert_eq!((redis - ours) % 16, 0, "{}: SAMPLES 0: tandem {} redis {}", key, ours, redis);
            assert!((redis - ours).abs() <= n * 32, "{}: SAMPLES 0: tandem {} redis {}", key, ours, redis);
        }
    }
}

#[test]
fn streams_nodes_deletions_and_groups() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out = Vec::new();
        // Entries with explicit IDs (the same on both servers), across node boundaries.
        let mut keys = Vec::new();
        for n in [1usize, 2, 99, 100, 101, 250, 1000] {
            let k = format!("x:{}", n);
            setup(&mut c, (0..n).map(|i| cmd(&["XADD", &k, &format!("{}-1", i + 1), "field", &format!("value{}", i), "n", &i.to_string()])).collect());
            keys.push(k);
        }
        // Changing field sets, big entries (nodes closed by size), scattered IDs.
        setup(&mut c, (0..500).map(|i| cmd(&["XADD", "x:fields", &format!("{}-{}", i + 1, i), &format!("f{}", i % 3), &"v".repeat(i % 50)])).collect());
        setup(&mut c, (0..100).map(|i| cmd(&["XADD", "x:big", &format!("5-{}", i), "f", &"y".repeat(700)])).collect());
        setup(&mut c, (0..300u64).map(|i| cmd(&["XADD", "x:scattered", &format!("{}-{}", i * i * 7919 + 1, i % 17), "a", "b"])).collect());
        setup(&mut c, vec![cmd(&["XGROUP", "CREATE", "x:empty", "g", "$", "MKSTREAM"])]);
        keys.extend(["x:fields", "x:big", "x:scattered", "x:empty"].map(String::from));
        out.extend(usages(&mut c, &keys, ALL_SAMPLES));
        // Deleted entries, a whole node deleted, trimming by nodes and exactly.
        setup(
            &mut c,
            vec![
                cmd_with(&["XDEL", "x:1000"], (0..1000).step_by(7).map(|i| format!("{}-1", i + 1))),
                cmd_with(&["XDEL", "x:250"], (0..100).map(|i| format!("{}-1", i + 1))),
                cmd(&["XTRIM", "x:101", "MAXLEN", "50"]),
                cmd(&["XTRIM", "x:fields", "MAXLEN", "~", "200"]),
            ],
        );
        let trimmed: Vec<String> = ["x:1000", "x:250", "x:101", "x:fields"].map(String::from).to_vec();
        out.extend(usages(&mut c, &trimmed, ALL_SAMPLES));
        // Consumer groups: pending entries of two consumers, acknowledgements, claims, an
        // idle consumer and a group with nothing pending.
        setup(
            &mut c,
            vec![
                cmd(&["XGROUP", "CREATE", "x:1000", "g1", "0"]),
                cmd(&["XGROUP", "CREATE", "x:1000", "g2", "$"]),
                cmd(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "100", "STREAMS", "x:1000", ">"]),
                cmd(&["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "50", "STREAMS", "x:1000", ">"]),
                cmd(&["XGROUP", "CREATECONSUMER", "x:1000", "g2", "carol"]),
            ],
        );
        out.extend(usages(&mut c, &["x:1000".to_string()], ALL_SAMPLES));
        setup(
            &mut c,
            vec![
                cmd_with(&["XACK", "x:1000", "g1"], (0..200).step_by(3).map(|i| format!("{}-1", i + 1))),
                cmd(&["XCLAIM", "x:1000", "g1", "dave", "0", "100-1", "101-1", "102-1"]),
            ],
        );
        out.extend(usages(&mut c, &["x:1000".to_string()], ALL_SAMPLES));
        // Smaller nodes, by bytes then by entries, apply to entries added after them (the last
        // node's preallocation follows the byte limit in force, so measure before changing it).
        c.raw(&["CONFIG", "SET", "stream-node-max-bytes", "1000"]);
        setup(&mut c, (0..200).map(|i| cmd(&["XADD", "x:bytes", &format!("{}-0", i + 1), "f", &"v".repeat(30)])).collect());
        out.extend(usages(&mut c, &["x:bytes".to_string()], ALL_SAMPLES));
        c.raw(&["CONFIG", "SET", "stream-node-max-bytes", "4096"]);
        c.raw(&["CONFIG", "SET", "stream-node-max-entries", "10"]);
        setup(&mut c, (0..200).map(|i| cmd(&["XADD", "x:entries", &format!("{}-0", i + 1), "f", "v"])).collect());
        out.extend(usages(&mut c, &["x:entries".to_string()], ALL_SAMPLES));
        out
    });
}

#[test]
fn values_loaded_from_a_snapshot() {
    same_on_both_with(&["--enable-debug-command", "yes"], |port| {
        let mut c = Conn::connect(port);
        setup(
            &mut c,
            vec![
                cmd_with(&["SADD", "set:big"], (0..1000).map(|i| format!("m{:05}", i))),
                cmd_with(&["SADD", "set:ints"], (0..600).map(|i| (i * 3).to_string())),
                cmd_with(&["HSET", "hash:big"], (0..700).flat_map(|i| [format!("f{:05}", i), format!("v{:05}", i)])),
                cmd_with(&["HSET", "hash:long"], (0..5).flat_map(|i| [format!("f{}", i), "x".repeat(100)])),
                cmd_with(&["RPUSH", "list"], (0..2000).map(|i| format!("v{:0>98}", i))),
                cmd_with(&["ZADD", "zset"], (0..100).flat_map(|i| [i.to_string(), format!("m{}", i)])),
                cmd(&["SET", "string", &"s".repeat(100)]),
            ],
        );
        assert_eq!(c.raw(&["DEBUG", "RELOAD"]), "+OK\r\n");
        let keys = ["set:big", "set:ints", "hash:big", "hash:long", "list", "zset", "string"].map(String::from);
        usages(&mut c, &keys, &[&[], &["SAMPLES", "0"]])
    });
}

#[test]
fn arguments_and_errors() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.raw(&["SET", "k", "v"]);
        let cases: &[&[&str]] = &[
            &["MEMORY", "USAGE", "k"],
            &["MEMORY", "USAGE", "missing"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "0"],
            &["MEMORY", "USAGE", "k", "samples", "7"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "5", "SAMPLES", "0"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "9223372036854775807"],
            &["MEMORY", "USAGE", "k", "SAMPLES"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "-1"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "abc"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "1.5"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "99999999999999999999"],
            &["MEMORY", "USAGE", "k", "foo"],
            &["MEMORY", "USAGE", "k", "SAMPLES", "5", "foo"],
            // The options are checked before the key is looked up.
            &["MEMORY", "USAGE", "missing", "SAMPLES", "abc"],
            &["MEMORY", "USAGE", "missing", "foo"],
            &["MEMORY", "USAGE"],
        ];
        cases.iter().map(|a| format!("{:?} -> {}", a, c.raw(a))).collect::<Vec<_>>()
    });
}
