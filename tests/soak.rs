//! Link-kill soak: a chain tandem master -> redis-server replica -> tandem sub-replica under
//! mixed-type write load, its links killed at random moments from either end (`CLIENT KILL
//! TYPE replica` upstream, `CLIENT KILL TYPE master` downstream), without waiting for the
//! last kill to heal. After the first full syncs every reconnection is a partial resync, the
//! three end with equal `DEBUG DIGEST`, and the tandem processes' open fds and RSS stay flat.
//! `TANDEM_SOAK_KILLS` sets the number of kills (1000 for the long run; a short pass here).
//! Also: a replica stopped (SIGSTOP) while 200 MB are written, and a subscriber that never
//! reads, each bounded by its `client-output-buffer-limit`.

mod support;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

fn stat(s: &Server, field: &str) -> i64 {
    s.info_i64("stats", field)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid)).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Mixed writes over a bounded key space (strings, counters, lists, hashes, sets, zsets,
/// streams, TTLs, in two databases) until `stop`.
fn writer(port: u16, stop: Arc<AtomicBool>, ops: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let mut i: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let k = i % 300;
            let db = (i % 2).to_string();
            let cmds: Vec<Vec<String>> = vec![
                vec!["SELECT".into(), db],
                vec!["SET".into(), format!("s:{k}"), i.to_string()],
                vec!["INCR".into(), "counter".into()],
                vec!["LPUSH".into(), format!("l:{}", k % 20), i.to_string()],
                vec!["LTRIM".into(), format!("l:{}", k % 20), "0".into(), "50".into()],
                vec!["HSET".into(), format!("h:{}", k % 30), format!("f{}", i % 40), i.to_string()],
                vec!["SADD".into(), format!("set:{}", k % 30), (i % 100).to_string()],
                vec!["ZADD".into(), format!("z:{}", k % 30), (i % 1000).to_string(), format!("m{}", i % 50)],
                vec!["XADD".into(), format!("x:{}", k % 5), "MAXLEN".into(), "~".into(), "200".into(), "*".into(), "f".into(), i.to_string()],
                vec!["EXPIRE".into(), format!("s:{k}"), "100000".into()],
            ];
            c.pipeline(&cmds);
            i += 1;
            ops.store(i, Ordering::Relaxed);
        }
    })
}

#[test]
fn link_kill_soak_through_a_mixed_chain() {
    if !have_redis() {
        return;
    }
    let kills: u64 = std::env::var("TANDEM_SOAK_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let big = &["--repl-backlog-size", "64mb"];
    let master = Server::repl_tandem("master", big);
    let middle = Server::repl_redis("redis-middle", big);
    let leaf = Server::repl_tandem("leaf", big);
    middle.replicaof(&master);
    middle.wait_link_up();
    leaf.replicaof(&middle);
    leaf.wait_link_up();
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let w = writer(master.port, stop.clone(), ops.clone());
    wait_for("writes flowing", || ops.load(Ordering::Relaxed) > 100);
    let (full_m, full_mid) = (stat(&master, "sync_full"), stat(&middle, "sync_full"));
    let (fds0, rss0) = ((master.open_fds(), leaf.open_fds()), (rss_kb(master.pid()), rss_kb(leaf.pid())));
    let mut rng: u64 = 0x9e3779b97f4a7c15 ^ u64::from(master.port);
    for n in 0..kills {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Which end kills which link; the links need not be up (some kills land mid-PSYNC).
        let (srv, typ) = match rng % 4 {
            0 => (&master, "replica"),
            1 => (&middle, "master"),
            2 => (&middle, "replica"),
            _ => (&leaf, "master"),
        };
        let _ = srv.conn().cmd(&["CLIENT", "KILL", "TYPE", typ]);
        std::thread::sleep(Duration::from_millis(20 + (rng >> 8) % 80));
        if n % 50 == 49 {
            // Let the chain heal now and then, so kills keep landing on live links.
            middle.wait_link_up();
            leaf.wait_link_up();
        }
    }
    stop.store(true, Ordering::Relaxed);
    w.join().unwrap();
    middle.wait_link_up();
    leaf.wait_link_up();
    wait_synced(&master, &[&middle]);
    wait_synced(&middle, &[&leaf]);
    eprintln!(
        "soak: {} kills, {} write batches; master partial {} full {}; middle partial {} full {}",
        kills,
        ops.load(Ordering::Relaxed),
        stat(&master, "sync_partial_ok"),
        stat(&master, "sync_full"),
        stat(&middle, "sync_partial_ok"),
        stat(&middle, "sync_full")
    );
    assert_eq!(stat(&master, "sync_full"), full_m, "the master served a full sync after the first");
    assert_eq!(stat(&middle, "sync_full"), full_mid, "the middle served a full sync after the first");
    let d = master.digest();
    assert_eq!(middle.digest(), d);
    assert_eq!(leaf.digest(), d);
    let fds1 = (master.open_fds(), leaf.open_fds());
    let rss1 = (rss_kb(master.pid()), rss_kb(leaf.pid()));
    eprintln!("soak: fds master {}->{} leaf {}->{}; RSS kB master {}->{} leaf {}->{}", fds0.0, fds1.0, fds0.1, fds1.1, rss0.0, rss1.0, rss0.1, rss1.1);
    assert!(fds1.0 <= fds0.0 + 2 && fds1.1 <= fds0.1 + 2, "open fds grew: {:?} -> {:?}", fds0, fds1);
    // The backlog (64mb, filling) and the dataset (bounded key space) account for growth.
    let limit = 64 * 1024 + 32 * 1024;
    assert!(rss1.0 < rss0.0 + limit && rss1.1 < rss0.1 + limit, "RSS grew: {:?} -> {:?}", rss0, rss1);
}

/// Sends `n` SETs of `size`-byte values over a few keys (the dataset stays small while the
/// stream carries n * size bytes), pipelined; returns the highest RSS seen meanwhile.
fn write_volume(s: &Server, n: usize, size: usize) -> u64 {
    let mut c = Conn::connect(s.port);
    let value = "v".repeat(size);
    let mut peak = 0;
    for chunk in 0..n / 20 {
        let cmds: Vec<Vec<String>> = (0..20).map(|i| vec!["SET".into(), format!("big:{}", (chunk * 20 + i) % 10), value.clone()]).collect();
        c.pipeline(&cmds);
        peak = peak.max(rss_kb(s.pid()));
    }
    peak
}

/// A replica stopped (SIGSTOP) while 200 MB go through its master: the master holds at most
/// its `client-output-buffer-limit replica` hard limit for it, drops it there, and after
/// SIGCONT the replica syncs again to the same data.
#[test]
fn stopped_replica_bounded_by_its_output_limit() {
    let m = Server::repl_tandem("master", &["--client-output-buffer-limit", "replica 32mb 16mb 60", "--repl-backlog-size", "1mb"]);
    let r = Server::repl_tandem("replica", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    let _ = write_volume(&m, 20, 100_000);
    wait_synced(&m, &[&r]);
    let base = rss_kb(m.pid());
    r.stop();
    let _resume = Resume(r.pid());
    let peak = write_volume(&m, 2000, 100_000);
    wait_for("the master dropped the stopped replica", || m.log_text().contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
    eprintln!("stopped replica: master RSS {} kB before, peak {} kB while 200 MB were written", base, peak);
    // The hard limit (32 MB) plus the client's input and allocator slack.
    assert!(peak < base + 96 * 1024, "master RSS {} kB -> {} kB", base, peak);
    r.cont();
    r.wait_link_up();
    wait_synced(&m, &[&r]);
    assert_eq!(r.digest(), m.digest());
}

/// A subscriber that never reads is dropped at the pubsub limit; the server's memory stays
/// bounded meanwhile.
#[test]
fn subscriber_that_never_reads_bounded_by_the_pubsub_limit() {
    let s = Server::tandem(&["--client-output-buffer-limit", "pubsub 16mb 8mb 60"]);
    let mut sub = Conn::connect(s.port);
    sub.send(&encode_str(&["SUBSCRIBE", "news"]));
    std::thread::sleep(Duration::from_millis(100));
    let base = rss_kb(s.pid());
    let mut p = Conn::connect(s.port);
    let msg = "m".repeat(100_000);
    let mut peak = 0;
    for _ in 0..100 {
        let cmds: Vec<Vec<String>> = (0..20).map(|_| vec!["PUBLISH".into(), "news".into(), msg.clone()]).collect();
        p.pipeline(&cmds);
        peak = peak.max(rss_kb(s.pid()));
    }
    wait_for("the subscriber was dropped", || s.log_text().contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
    eprintln!("silent subscriber: RSS {} kB before, peak {} kB while 200 MB were published", base, peak);
    assert!(peak < base + 64 * 1024, "RSS {} kB -> {} kB", base, peak);
    assert_eq!(p.raw(&["PUBLISH", "news", "x"]), ":0\r\n");
}
