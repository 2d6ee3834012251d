//! In-place string writes (issue 9): APPEND, SETRANGE and SETBIT change a string where it is,
//! with amortised growth, instead of copying the whole value on every call; a snapshot (a
//! replica's full sync) still sees the value as it was; the replies, OBJECT ENCODING and the
//! change counter are Redis's. A copy per call made 20,000 appends of 1 KB take minutes
//! (every reply here must come within the 10 s read timeout).

mod support;

use support::*;
use std::io::Write;

/// Sends `n` pipelined copies of `cmd` (in chunks) and checks every reply with `check`.
fn pipeline(c: &mut Conn, cmds: &[Vec<u8>], check: impl Fn(usize, &[u8])) {
    for (chunk_no, chunk) in cmds.chunks(1000).enumerate() {
        let mut buf = Vec::new();
        for c in chunk {
            buf.extend_from_slice(c);
        }
        c.w.write_all(&buf).unwrap();
        for i in 0..chunk.len() {
            let r = c.reply_bytes();
            check(chunk_no * 1000 + i, &r);
        }
    }
}

#[test]
fn large_values_grow_in_place() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    // Not a benchmark but a stall detector with a wide margin: in place this whole test takes
    // well under a second; copying the value per call it took minutes.
    let started = std::time::Instant::now();
    // 20,000 appends of 1 KB to one key: 20 MB, each call O(1 KB).
    let kb = vec![b'a'; 1024];
    let append = encode(&[b"APPEND", b"k", &kb]);
    let cmds = vec![append; 20_000];
    pipeline(&mut c, &cmds, |i, r| assert_eq!(r, format!(":{}\r\n", (i + 1) * 1024).as_bytes()));
    assert_eq!(c.cmd(&["STRLEN", "k"]).int(), 20_000 * 1024);
    assert_eq!(c.raw(&["GETRANGE", "k", "-3", "-1"]), "$3\r\naaa\r\n");
    // 200 SETBITs spread over a 16 MB bitmap, then 200 SETRANGEs in a 64 MB string.
    assert_eq!(c.cmd(&["SETBIT", "bm", &(16 * 1024 * 1024 * 8 - 1).to_string(), "1"]).int(), 0);
    let bits: Vec<Vec<u8>> = (0..200u64).map(|i| encode_str(&["SETBIT", "bm", &(i * 671_087).to_string(), "1"])).collect();
    pipeline(&mut c, &bits, |_, r| assert_eq!(r, b":0\r\n"));
    assert_eq!(c.cmd(&["GETBIT", "bm", &(199u64 * 671_087).to_string()]).int(), 1);
    assert_eq!(c.cmd(&["SETRANGE", "s", &(64 * 1024 * 1024 - 1).to_string(), "z"]).int(), 64 * 1024 * 1024);
    let ranges: Vec<Vec<u8>> = (0..200u64).map(|i| encode_str(&["SETRANGE", "s", &(i * 300_000).to_string(), "hello"])).collect();
    pipeline(&mut c, &ranges, |_, r| assert_eq!(r, format!(":{}\r\n", 64 * 1024 * 1024).as_bytes()));
    assert_eq!(c.raw(&["GETRANGE", "s", "59700000", "59700004"]), "$5\r\nhello\r\n");
    assert_eq!(c.raw(&["OBJECT", "ENCODING", "k"]), "$3\r\nraw\r\n");
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(30), "in-place writes took {:?}", took);
}

/// The same sequence on tandem and redis-server: replies, values, encodings and the number
/// of changes (`rdb_changes_since_last_save`: a SETBIT that neither grows the string nor flips
/// the bit changes nothing).
#[test]
fn same_as_redis() {
    let script: &[&[&str]] = &[
        &["APPEND", "a", "hello"],
        &["OBJECT", "ENCODING", "a"],
        &["APPEND", "a", " world"],
        &["OBJECT", "ENCODING", "a"],
        &["APPEND", "a", ""],
        &["GET", "a"],
        &["SET", "n", "12"],
        &["APPEND", "n", "3"],
        &["INCR", "n"],
        &["SETRANGE", "a", "3", "XY"],
        &["SETRANGE", "a", "20", "tail"],
        &["SETRANGE", "a", "2", ""],
        &["SETRANGE", "missing", "5", ""],
        &["EXISTS", "missing"],
        &["SETRANGE", "new", "3", "abc"],
        &["OBJECT", "ENCODING", "new"],
        &["GET", "new"],
        &["SETRANGE", "a", "-1", "x"],
        &["SETRANGE", "a", "536870911", "xy"],
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "100", "0"],
        &["STRLEN", "b"],
        &["OBJECT", "ENCODING", "b"],
        &["SETBIT", "b", "2", "2"],
        &["SETBIT", "b", "-1", "1"],
        &["SETBIT", "b", "4294967296", "1"],
        &["GETBIT", "b", "7"],
        &["GET", "a"],
        &["GETRANGE", "a", "0", "-1"],
        &["LPUSH", "l", "x"],
        &["APPEND", "l", "x"],
        &["SETRANGE", "l", "0", "x"],
        &["SETBIT", "l", "0", "1"],
        &["SET", "e", "v", "EX", "100"],
        &["APPEND", "e", "w"],
        &["TTL", "e"],
        &["SETBIT", "e", "0", "1"],
        &["TTL", "e"],
        &["GET", "e"],
    ];
    let run = |s: &Server| -> (Vec<String>, String) {
        let mut c = s.conn();
        let before: i64 = c.info_field("persistence", "rdb_changes_since_last_save").unwrap().parse().unwrap();
        let replies = script.iter().map(|cmd| c.raw(cmd)).collect();
        let after: i64 = c.info_field("persistence", "rdb_changes_since_last_save").unwrap().parse().unwrap();
        (replies, (after - before).to_string())
    };
    let ours = run(&Server::tandem(&[]));
    if !have_redis() {
        return;
    }
    let theirs = run(&Server::redis(&[]));
    for (i, (o, t)) in ours.0.iter().zip(&theirs.0).enumerate() {
        assert_eq!(o, t, "reply to {:?}", script[i]);
    }
    assert_eq!(ours.1, theirs.1, "changes counted");
}

/// WATCH sees an in-place change.
#[test]
fn watch_sees_in_place_changes() {
    let s = Server::tandem(&[]);
    for write in [&["APPEND", "w", "x"][..], &["SETRANGE", "w", "0", "y"], &["SETBIT", "w", "0", "1"]] {
        let mut a = s.conn();
        let mut b = s.conn();
        assert_eq!(a.raw(&["SET", "w", "v"]), "+OK\r\n");
        assert_eq!(a.raw(&["SETBIT", "w", "0", "0"]), ":0\r\n");
        assert_eq!(a.raw(&["WATCH", "w"]), "+OK\r\n");
        b.cmd(write);
        assert_eq!(a.raw(&["MULTI"]), "+OK\r\n");
        assert_eq!(a.raw(&["PING"]), "+QUEUED\r\n");
        assert_eq!(a.raw(&["EXEC"]), "*-1\r\n", "WATCH missed {:?}", write);
    }
}

/// A replica syncing while a string grows in place gets exactly the master's dataset: the
/// snapshot holds the value as of its offset, the stream carries the rest.
#[test]
fn snapshot_during_in_place_writes() {
    let master = Server::repl_tandem("sw-master", &[]);
    let replica = Server::repl_tandem("sw-replica", &[]);
    let mut c = Conn::connect(master.port);
    let chunk = vec![b'q'; 4096];
    let mut model: Vec<u8> = Vec::new();
    let mut bits = vec![0u8; 1 << 20];
    let mut i = 0u64;
    let writer = |c: &mut Conn, i: u64, model: &mut Vec<u8>, bits: &mut Vec<u8>| {
        c.send(&encode(&[b"APPEND", b"big", &chunk]));
        model.extend_from_slice(&chunk);
        let off = (i * 7919) % (model.len() as u64 - 8);
        c.send(&encode_str(&["SETRANGE", "big", &off.to_string(), "12345678"]));
        model[off as usize..off as usize + 8].copy_from_slice(b"12345678");
        let bit = (i * 104_729) % ((bits.len() as u64) * 8);
        c.send(&encode_str(&["SETBIT", "bits", &bit.to_string(), "1"]));
        bits[(bit / 8) as usize] |= 1 << (7 - bit % 8);
        for _ in 0..3 {
            let r = c.reply_bytes();
            assert!(r[0] == b':', "{:?}", String::from_utf8_lossy(&r));
        }
    };
    while i < 2000 {
        writer(&mut c, i, &mut model, &mut bits);
        i += 1;
    }
    replica.replicaof(&master);
    // Keep writing in place while the full sync runs.
    while i < 6000 {
        writer(&mut c, i, &mut model, &mut bits);
        i += 1;
    }
    wait_synced(&master, &[&replica]);
    assert_eq!(master.digest(), replica.digest());
    let mut rc = Conn::connect(replica.port);
    let got = rc.cmd(&["GET", "big"]);
    assert!(got == Reply::Bulk(model.clone()), "replica's value differs from the model");
    assert_eq!(c.cmd(&["GET", "big"]), Reply::Bulk(model));
    // Trailing zero bytes are not there unless a bit past them was set.
    let last = bits.iter().rposition(|&b| b != 0).unwrap();
    assert_eq!(rc.cmd(&["GET", "bits"]), Reply::Bulk(bits[..=last].to_vec()));
}
