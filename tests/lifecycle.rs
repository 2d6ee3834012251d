//! Resources over a server's life: nothing may pile up when servers start and stop over and
//! over, or when a replica's link drops and comes back again and again.
//!
//! - 50 start/stop cycles of an embedded master and replica (`tandem::Server::start` in this
//!   process), replicating between start and stop, keep this process's RSS and open fds flat;
//! - 100 replica reconnects (`CLIENT KILL TYPE master` on the replica), then 100 more
//!   (`CLIENT KILL TYPE replica` on the master), keep both processes' fd counts flat and are
//!   all partial resyncs; the same with a real redis-server as the replica of a tandem master.
//!
//! The tests of this file measure whole processes (this one, too): they run one at a time.

mod support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::*;

/// Held by each test: a test measuring this process must not see another's sockets.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `f` every millisecond (a reconnect takes a few) for at most 10 s.
fn poll(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {}", what);
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    c.info(section).into_iter().collect()
}

fn stat(c: &mut Conn, field: &str) -> i64 {
    info(c, "stats")[field].parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// Embedded start/stop cycles
// ---------------------------------------------------------------------------------------

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

const WARM_UP: usize = 10;
const MEASURED: usize = 40;

/// One cycle: an embedded master and replica, REPLICAOF, 2000 keys of 1000 bytes (2 MB of
/// stream through a 1 MB backlog), wait until the replica's offset is the master's, stop both.
fn embedded_cycle() {
    let conf = "port 0\nbind 127.0.0.1\nsave \"\"\nrepl-backlog-size 1mb\nrepl-diskless-sync-delay 0";
    let start = || tandem::block_on(tandem::Server::start(tandem::config::Config::from_text(conf).unwrap())).unwrap();
    let (m, r) = (start(), start());
    {
        let (mut mc, mut rc) = (Conn::connect(m.addr.port()), Conn::connect(r.addr.port()));
        assert_eq!(rc.raw(&["REPLICAOF", "127.0.0.1", &m.addr.port().to_string()]), "+OK\r\n");
        let v = "x".repeat(1000);
        let sets: Vec<Vec<String>> = (0..2000).map(|i| vec!["SET".into(), format!("k{}", i), v.clone()]).collect();
        mc.pipeline(&sets);
        let offset = |c: &mut Conn| info(c, "replication")["master_repl_offset"].parse::<i64>().unwrap();
        let want = offset(&mut mc);
        poll("the replica at the master's offset", || {
            let i = info(&mut rc, "replication");
            i["master_link_status"] == "up" && i["master_repl_offset"].parse::<i64>().unwrap() == want
        });
        assert_eq!(rc.raw(&["DBSIZE"]), ":2000\r\n");
    }
    tandem::block_on(async {
        r.stop().await;
        m.stop().await;
    });
}

/// `stop()` must free every actor of each server (the backlog and the master link included,
/// which hold the server's shared state) and close every socket: after a warm-up (allocator
/// arenas, the runtime's thread pool), 40 more cycles keep the fd count where it was and RSS
/// within 10 MB. A server kept alive holds at least its 2 MB of keys and 1 MB of backlog, so
/// a per-cycle leak of either server shows as 120 MB or more; 10 MB leaves room for allocator
/// noise (measured: well under 2 MB).
#[test]
fn start_stop_cycles_with_replication_keep_rss_and_fds_flat() {
    let _one = serial();
    let t = Instant::now();
    for _ in 0..WARM_UP {
        embedded_cycle();
    }
    std::thread::sleep(Duration::from_millis(300));
    let (rss0, fds0) = (rss_kib(), open_fds(std::process::id()));
    for _ in 0..MEASURED {
        embedded_cycle();
    }
    std::thread::sleep(Duration::from_millis(500));
    let (rss1, fds1) = (rss_kib(), open_fds(std::process::id()));
    eprintln!(
        "{} cycles ({:?}): after {} warm-up cycles RSS {} KiB, fds {}; after {} more RSS {} KiB ({:+} KiB), fds {}",
        WARM_UP + MEASURED,
        t.elapsed(),
        WARM_UP,
        rss0,
        fds0,
        MEASURED,
        rss1,
        rss1 as i64 - rss0 as i64,
        fds1
    );
    assert!(fds1 <= fds0 + 2, "open fds {} -> {} over {} cycles", fds0, fds1, MEASURED);
    assert!(rss1 < rss0 + 10 * 1024, "RSS grew {} -> {} KiB over {} cycles", rss0, rss1, MEASURED);
}

// ---------------------------------------------------------------------------------------
// Replica reconnects
// ---------------------------------------------------------------------------------------

/// Which end drops the link.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// `CLIENT KILL TYPE master` on the replica.
    OnReplica,
    /// `CLIENT KILL TYPE replica` on the master.
    OnMaster,
}

/// Waits until the master's INFO shows exactly one replica, online.
fn wait_one_online(mc: &mut Conn) {
    poll("the master sees one replica online", || {
        let i = info(mc, "replication");
        i["connected_slaves"] == "1" && i.get("slave0").map(|s| s.contains("state=online")).unwrap_or(false)
    });
}

/// Waits until the process has at most `max` fds open (closing a connection on its server
/// side is asynchronous, a leaked fd never closes); returns the count.
fn fds_settle(s: &Server, max: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = s.open_fds();
        if n <= max || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `rounds` link drops of `how`, each followed by the replica's partial resync: the link is
/// up on the replica, the master sees it online and counted one more partial resync. Every
/// round writes a key first, so some resyncs carry a backlog. All INFO polling goes through
/// two connections opened before the rounds (a new connection per poll would add fds in
/// flight). The fd counts of the master and (when `replica_fds`) the replica must end where
/// they started, give or take 2.
fn reconnects(m: &Server, r: &Server, how: Kill, rounds: usize, replica_fds: bool) {
    let (mut mc, mut rc) = (m.conn(), r.conn());
    wait_synced(m, &[r]);
    wait_one_online(&mut mc);
    std::thread::sleep(Duration::from_millis(100));
    let (mfds0, rfds0) = (m.open_fds(), replica_fds.then(|| r.open_fds()));
    let (full0, pok0) = (stat(&mut mc, "sync_full"), stat(&mut mc, "sync_partial_ok"));
    let t = Instant::now();
    for i in 0..rounds {
        assert_eq!(mc.raw(&["SET", &format!("{:?}:{}", how, i), "v"]), "+OK\r\n");
        let killed = match how {
            Kill::OnReplica => rc.raw(&["CLIENT", "KILL", "TYPE", "master"]),
            Kill::OnMaster => mc.raw(&["CLIENT", "KILL", "TYPE", "replica"]),
        };
        assert_eq!(killed, ":1\r\n", "{:?} round {}", how, i);
        let want = pok0 + i as i64 + 1;
        poll(&format!("{:?} round {}: partial resync number {}", how, i, want), || stat(&mut mc, "sync_partial_ok") >= want);
        poll(&format!("{:?} round {}: master_link_status:up", how, i), || info(&mut rc, "replication")["master_link_status"] == "up");
        wait_one_online(&mut mc);
    }
    let took = t.elapsed();
    assert_eq!(stat(&mut mc, "sync_full"), full0, "{:?}: a reconnect needed a full resync", how);
    assert_eq!(stat(&mut mc, "sync_partial_ok"), pok0 + rounds as i64, "{:?}: one partial resync per reconnect", how);
    wait_synced(m, &[r]);
    assert_eq!(mc.raw(&["DBSIZE"]), rc.raw(&["DBSIZE"]));
    let mfds1 = fds_settle(m, mfds0 + 2);
    let rfds1 = rfds0.map(|n| fds_settle(r, n + 2));
    eprintln!(
        "{} replica reconnects ({:?}, {} replica) in {:?}: master fds {} -> {}, replica fds {:?} -> {:?}",
        rounds,
        how,
        r.kind.label(),
        took,
        mfds0,
        mfds1,
        rfds0,
        rfds1
    );
    assert!(mfds1 <= mfds0 + 2, "{:?}: the master's open fds went {} -> {} over {} reconnects", how, mfds0, mfds1, rounds);
    if let (Some(a), Some(b)) = (rfds0, rfds1) {
        assert!(b <= a + 2, "{:?}: the replica's open fds went {} -> {} over {} reconnects", how, a, b, rounds);
    }
}

/// tandem master, tandem replica: 100 reconnects from each end.
#[test]
fn replica_reconnects_keep_fds_flat_and_resync_partially() {
    let _one = serial();
    let m = Server::repl_tandem("master", &[]);
    let r = Server::repl_tandem("replica", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    reconnects(&m, &r, Kill::OnReplica, 100, true);
    reconnects(&m, &r, Kill::OnMaster, 100, true);
    assert_same_data(&m, &r, 1);
}

/// tandem master, real redis-server replica (the master side with a real peer): 100
/// reconnects from each end.
#[test]
fn real_replica_reconnects_keep_master_fds_flat() {
    if !have_redis() {
        return;
    }
    let _one = serial();
    let m = Server::repl_tandem("master", &[]);
    let r = Server::repl_redis("redis-replica", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    reconnects(&m, &r, Kill::OnReplica, 100, false);
    reconnects(&m, &r, Kill::OnMaster, 100, false);
    assert_same_data(&m, &r, 1);
}
