//! Sockets and descriptors: replica reconnects and REPLICAOF flips leave no socket behind
//! (fd counts read from /proc/<pid>/fd, tandem and redis-server side by side), the listen
//! queue is `tcp-backlog` long, the process exits promptly after "ready to exit", and a
//! `temp-<pid>.rdb` left by a killed save is cleaned up at start.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// A replica coming back after REPLICAOF NO ONE asks with its new replid: a full sync, served
/// at once.
const MASTER: [&str; 2] = ["--repl-diskless-sync-delay", "0"];

/// Open descriptors of `pid`.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", pid)).map(|d| d.count()).unwrap_or(0)
}

/// Polls (closing is asynchronous) until `pid` has at most `base + slack` descriptors, for up
/// to 2 s; returns the last count.
fn settle_fds(pid: u32, base: usize, slack: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = fds(pid);
        if n <= base + slack || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Full plus partial resyncs the master served so far.
fn syncs(master: &mut Conn) -> i64 {
    let f = |c: &mut Conn, k: &str| c.info_field("stats", k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    f(master, "sync_full") + f(master, "sync_partial_ok")
}

/// Waits until the master served a sync after `after` and both ends show the link up.
fn wait_resynced(what: &str, master: &mut Conn, replica: &mut Conn, after: i64) -> i64 {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    loop {
        let n = syncs(master);
        let online = master.info_field("replication", "slave0").is_some_and(|v| v.contains("state=online"));
        let up = replica.info_field("replication", "master_link_status").as_deref() == Some("up");
        if n > after && online && up {
            if std::env::var_os("SOCKTEST_TIMES").is_some() {
                eprintln!("{}: resynced in {:?}", what, start.elapsed());
            }
            return n;
        }
        if Instant::now() > deadline {
            panic!("{}: no resync after {} (now {}, online {}, link up {})", what, after, n, online, up);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One master-replica pair: `rounds` times the master kills its replica and the replica kills
/// its master link, then `rounds` times the replica flips REPLICAOF NO ONE / REPLICAOF host
/// port; after each the pair re-syncs. Returns (master fds, replica fds) as (start, end).
fn churn(what: &str, master: &Server, replica: &Server, rounds: usize) -> ((usize, usize), (usize, usize)) {
    let mut m = master.conn();
    let mut r = replica.conn();
    let port = master.port.to_string();
    let mut n = syncs(&mut m);
    assert_eq!(r.cmd(&["REPLICAOF", "127.0.0.1", &port]).text(), "OK");
    n = wait_resynced(what, &mut m, &mut r, n - 1);
    assert_eq!(m.cmd(&["SET", "k", "v"]).text(), "OK");
    std::thread::sleep(Duration::from_millis(300));
    let (m0, r0) = (fds(master.pid()), fds(replica.pid()));
    for i in 0..rounds {
        // (More than one when an old link is still open.)
        assert!(m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]).int() >= 1, "{} round {}", what, i);
        n = wait_resynced(what, &mut m, &mut r, n);
        assert!(r.cmd(&["CLIENT", "KILL", "TYPE", "master"]).int() >= 1, "{} round {}", what, i);
        n = wait_resynced(what, &mut m, &mut r, n);
        assert_eq!(m.cmd(&["INCR", "n"]).int(), i as i64 + 1);
    }
    // Flips last: the kills above would also close links a flip left behind.
    for _ in 0..rounds {
        assert_eq!(r.cmd(&["REPLICAOF", "NO", "ONE"]).text(), "OK");
        assert_eq!(r.cmd(&["REPLICAOF", "127.0.0.1", &port]).text(), "OK");
        n = wait_resynced(what, &mut m, &mut r, n);
    }
    let m1 = settle_fds(master.pid(), m0, 2);
    let r1 = settle_fds(replica.pid(), r0, 2);
    // The replica's old links are all gone: the master sees one replica.
    let deadline = Instant::now() + Duration::from_secs(2);
    while m.info_field("replication", "connected_slaves").as_deref() != Some("1") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let slaves = m.info_field("replication", "connected_slaves").unwrap_or_default();
    eprintln!("{}: master fds {} -> {}, replica fds {} -> {} after {} rounds; connected_slaves {}", what, m0, m1, r0, r1, rounds, slaves);
    assert_eq!(slaves, "1", "{}: the master still sees old links of its replica", what);
    ((m0, m1), (r0, r1))
}

#[test]
fn replica_reconnects_and_replicaof_flips_leave_no_sockets() {
    let master = Server::tandem(&MASTER);
    let replica = Server::tandem(&[]);
    let ((m0, m1), (r0, r1)) = churn("tandem -> tandem", &master, &replica, 30);
    assert!(m1 <= m0 + 2, "master fds grew from {} to {}", m0, m1);
    assert!(r1 <= r0 + 2, "replica fds grew from {} to {}", r0, r1);
}

/// Mixed pairs: a real redis-server replica of tandem and a tandem replica of redis-server
/// (redis-server reconnects from its once-a-second cron, so fewer rounds).
#[test]
fn mixed_pairs_leave_no_sockets() {
    if !have_redis() {
        eprintln!("note: skipped, {} is not installed", REDIS_SERVER);
        return;
    }
    let a = std::thread::spawn(|| {
        let master = Server::tandem(&MASTER);
        let replica = Server::redis(&[]);
        churn("tandem -> redis", &master, &replica, 8)
    });
    let b = std::thread::spawn(|| {
        let master = Server::redis(&MASTER);
        let replica = Server::tandem(&[]);
        churn("redis -> tandem", &master, &replica, 8)
    });
    let ((tm0, tm1), (rr0, rr1)) = a.join().expect("tandem master / redis replica");
    let ((rm0, rm1), (tr0, tr1)) = b.join().expect("redis master / tandem replica");
    assert!(tm1 <= tm0 + 2, "tandem master fds grew from {} to {}", tm0, tm1);
    assert!(tr1 <= tr0 + 2, "tandem replica fds grew from {} to {}", tr0, tr1);
    // redis-server is the reference: flat too.
    assert!(rr1 <= rr0 + 2 && rm1 <= rm0 + 2, "redis-server fds grew: replica {}->{}, master {}->{}", rr0, rr1, rm0, rm1);
}
