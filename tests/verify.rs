//! Consistency proof at an offset (tandem-verify): a master and its tandem replicas compare
//! digests of their datasets at one replication offset, online. VERIFYREPLICAS runs a round
//! now; `repl-verify-period` runs them periodically; INFO shows each replica's last verdict;
//! a divergence is logged loudly. A chain verifies hop by hop; replicas without the
//! capability (real redis-server) never get a marker.
//!
//! `TANDEM_VERIFY_SECS` (default 4) sets how long the mixed write load of the periodic test
//! runs (the closing note's 10-minute run uses 600).

mod support;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// VERIFYREPLICAS's entries: (address, offset, verdict, digest).
fn verify(c: &mut Conn, timeout_ms: u64) -> Vec<(String, i64, String, String)> {
    let r = c.cmd(&["VERIFYREPLICAS", &timeout_ms.to_string()]);
    r.array()
        .iter()
        .map(|e| {
            let e = e.array();
            (e[0].text(), e[1].int(), e[2].text(), e[3].text())
        })
        .collect()
}

/// Mixed-type writes: strings, counters, lists, hashes, sets, sorted sets, streams, and keys
/// that expire, in two databases.
fn mixed_writes(c: &mut Conn, i: u64) {
    let k = i % 500;
    let cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), format!("s:{}", k), format!("v{}", i)],
        vec!["INCR".into(), format!("n:{}", k % 50)],
        vec!["RPUSH".into(), format!("l:{}", k % 20), format!("e{}", i)],
        vec!["LTRIM".into(), format!("l:{}", k % 20), "-50".into(), "-1".into()],
        vec!["HSET".into(), format!("h:{}", k % 30), format!("f{}", i % 70), format!("{}", i)],
        vec!["SADD".into(), format!("t:{}", k % 30), format!("m{}", i % 300)],
        vec!["ZADD".into(), format!("z:{}", k % 30), format!("{}", i % 1000), format!("m{}", i % 200)],
        vec!["XADD".into(), format!("x:{}", k % 5), "MAXLEN".into(), "100".into(), "*".into(), "f".into(), format!("{}", i)],
        vec!["SET".into(), format!("e:{}", k), "x".into(), "PX".into(), format!("{}", 50 + i % 200)],
        vec!["SELECT".into(), "1".into()],
        vec!["SET".into(), format!("db1:{}", k), format!("{}", i)],
        vec!["SELECT".into(), "0".into()],
    ];
    c.pipeline(&cmds);
}

#[test]
fn verifyreplicas_proves_equal_data_and_finds_a_divergence() {
    let m = Server::repl_tandem("vf-master", &[]);
    let r1 = Server::repl_tandem("vf-r1", &[]);
    let r2 = Server::repl_tandem("vf-r2", &[]);
    r1.replicaof(&m);
    r2.replicaof(&r1);
    let mut c = m.conn();
    for i in 0..300 {
        mixed_writes(&mut c, i);
    }
    wait_synced(&m, &[&r1]);
    wait_synced(&r1, &[&r2]);
    let got = verify(&mut c, 10_000);
    assert_eq!(got.len(), 1, "{:?}", got);
    let (addr, off, verdict, digest) = &got[0];
    assert_eq!(addr, &format!("127.0.0.1:{}", r1.port));
    assert_eq!(verdict, "match", "{:?}", got);
    assert_eq!(digest, &m.digest(), "the digest is DEBUG DIGEST's at the round's offset");
    assert!(*off > 0 && *off < m.offset(), "the round's offset is before its marker");
    let line = &m.replicas()[0];
    assert_eq!(line["digest_offset"], off.to_string());
    assert_eq!(line["digest"], "match");
    // The marker went down the chain: r1 judged r2 against its own digest at the same offset.
    wait_for("r1 judged r2", || r1.replicas().first().and_then(|l| l.get("digest_offset").cloned()) == Some(off.to_string()));
    assert_eq!(r1.replicas()[0]["digest"], "match");
    assert_eq!(m.info_field("replication", "repl_verify_mismatches"), "0");

    // A divergence injected on r1 (a writable replica's own write stays local).
    let mut rc = r1.conn();
    assert_eq!(rc.raw(&["CONFIG", "SET", "replica-read-only", "no"]), "+OK\r\n");
    assert_eq!(rc.raw(&["SET", "only-on-r1", "1"]), "+OK\r\n");
    let got = verify(&mut c, 10_000);
    assert_eq!(got[0].2, "mismatch", "{:?}", got);
    assert_eq!(got[0].3, r1.digest(), "r1's digest");
    assert_ne!(got[0].3, m.digest());
    assert_eq!(m.replicas()[0]["digest"], "mismatch");
    assert_eq!(m.info_field("replication", "repl_verify_mismatches"), "1");
    let log = m.log_text();
    assert!(log.contains(&format!("# DIVERGENCE: replica 127.0.0.1:{} holds a different dataset than this server at replication offset {}", r1.port, got[0].1)), "{}", log);
    // r2 follows r1's stream, not its local write: r1 finds r2 different from itself.
    wait_for("r1 judged r2 again", || r1.replicas().first().and_then(|l| l.get("digest_offset").cloned()) == Some(got[0].1.to_string()));
    assert_eq!(r1.replicas()[0]["digest"], "mismatch");
    assert!(r1.log_text().contains("# DIVERGENCE: replica"));

    // Errors: on a replica, and arguments.
    assert!(rc.raw(&["VERIFYREPLICAS"]).starts_with("-ERR verification rounds start on the master"));
    assert_eq!(c.raw(&["VERIFYREPLICAS", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(c.raw(&["VERIFYREPLICAS", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.raw(&["VERIFYREPLICAS", "1", "2"]), "-ERR syntax error\r\n");
}

/// Periodic rounds under mixed-type write load: no false alarm, each replica judged every
/// period; a divergence injected afterwards is detected within one period.
#[test]
fn periodic_rounds_under_write_load() {
    let secs: u64 = std::env::var("TANDEM_VERIFY_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let m = Server::repl_tandem("vp-master", &["--repl-verify-period", "1"]);
    let r = Server::repl_tandem("vp-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    let stop = Arc::new(AtomicBool::new(false));
    let port = m.port;
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            let mut i = 0;
            while !stop.load(Relaxed) {
                mixed_writes(&mut c, i);
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Relaxed);
    let batches = writer.join().unwrap();
    wait_synced(&m, &[&r]);
    let info = m.info("replication");
    let rounds: u64 = info["repl_verify_rounds"].parse().unwrap();
    let matches: u64 = info["repl_verify_matches"].parse().unwrap();
    eprintln!("{} s of mixed writes ({} batches of 12): {} rounds, {} matches, {} mismatches", secs, batches, rounds, matches, info["repl_verify_mismatches"]);
    assert_eq!(info["repl_verify_mismatches"], "0", "no false alarm");
    // About a round per period (the cron's second slips a little under load).
    assert!(rounds + 1 >= secs * 9 / 10, "a round per period: {} in {} s", rounds, secs);
    assert!(matches + 1 >= rounds, "{} rounds, {} matches", rounds, matches);

    // Divergence: the replica loses a key behind its master's back.
    assert_eq!(r.conn().raw(&["CONFIG", "SET", "replica-read-only", "no"]), "+OK\r\n");
    assert_eq!(r.conn().raw(&["DEL", "s:1"]), ":1\r\n");
    let t = Instant::now();
    wait_for_within(Duration::from_secs(10), "the divergence detected", || m.replicas()[0].get("digest").map(|d| d == "mismatch").unwrap_or(false));
    let took = t.elapsed();
    eprintln!("divergence detected after {:?} (period 1 s)", took);
    assert!(took < Duration::from_millis(2500), "detected within about one period: {:?}", took);
    assert!(m.log_text().contains("# DIVERGENCE: replica"));
}

/// A replica without the capability (redis-server 7.0) never receives a marker: rounds do
/// not start, periodic or asked for.
#[test]
fn no_marker_for_replicas_without_the_capability() {
    if !have_redis() {
        return;
    }
    let m = Server::repl_tandem("vn-master", &["--repl-verify-period", "1"]);
    let r = Server::repl_redis("vn-redis-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    let mut c = m.conn();
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!m.info("replication").contains_key("repl_verify_rounds"), "no round ran");
    let e = c.raw(&["VERIFYREPLICAS"]);
    assert!(e.starts_with("-ERR replicas without the tandem-verify capability are attached: 127.0.0.1:"), "{}", e);
    wait_synced(&m, &[&r]);
    assert_eq!(m.digest(), r.digest());
    // Without replicas at all.
    let lone = Server::repl_tandem("vn-lone", &[]);
    assert_eq!(lone.conn().raw(&["VERIFYREPLICAS"]), "-ERR no online replica to verify\r\n");
}
