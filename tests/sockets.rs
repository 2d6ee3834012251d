//! Sockets and descriptors: replica reconnects and REPLICAOF flips leave no socket behind
//! (fd counts read from /proc/<pid>/fd, tandem and redis-server side by side), the listen
//! queue is `tcp-backlog` long, the process exits promptly after "ready to exit", and a
//! `temp-<pid>.rdb` left by a killed save is cleaned up at start.

mod support;
use support::*;
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

/// The listen queue length `ss` shows for the listener on `port` (Send-Q of a LISTEN socket),
/// or None without iproute2.
fn ss_backlog(port: u16) -> Option<usize> {
    let out = std::process::Command::new("ss").args(["-ltnH", &format!("sport = :{}", port)]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().next()?.split_whitespace().nth(2)?.parse().ok()
}

/// With the server stopped (SIGSTOP: nothing accepts), how many of `max` connections the
/// kernel completes: the accept queue holds backlog + 1, then SYNs are dropped.
fn handshakes_while_stopped(s: &Server, max: usize) -> usize {
    s.signal("STOP");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", s.port).parse().unwrap();
    let mut open = Vec::new();
    for _ in 0..max {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(c) => open.push(c),
            Err(_) => break,
        }
    }
    s.signal("CONT");
    open.len()
}

fn somaxconn() -> usize {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(4096)
}

#[test]
fn listen_queue_is_tcp_backlog() {
    // The default 511 and a value below std's fixed 128.
    for (args, want) in [(&[][..], 511usize), (&["--tcp-backlog", "50"][..], 50)] {
        let want = want.min(somaxconn());
        let t = Server::tandem(args);
        if let Some(n) = ss_backlog(t.port) {
            assert_eq!(n, want, "ss: listen queue of tandem {:?}", args);
        }
        let got = handshakes_while_stopped(&t, 300);
        assert_eq!(got, (want + 1).min(300), "handshakes completed while tandem {:?} was stopped", args);
        assert_eq!(t.conn().raw(&["PING"]), "+PONG\r\n");
        if have_redis() {
            let r = Server::redis(args);
            let theirs = handshakes_while_stopped(&r, 300);
            eprintln!("tcp-backlog {:?}: tandem completed {}, redis-server {}", args, got, theirs);
            assert_eq!(got, theirs, "redis-server {:?}", args);
        }
    }
}

#[test]
fn unix_socket_listen_queue_is_tcp_backlog() {
    let mut counts = vec![];
    for kind in [Kind::Tandem, Kind::Redis] {
        if kind == Kind::Redis && !have_redis() {
            continue;
        }
        let dir = TempDir::new("unixsock");
        let path = dir.path().join("s.sock");
        let p = path.to_string_lossy().into_owned();
        let s = Server::start(kind, &["--unixsocket", &p, "--tcp-backlog", "40"]);
        s.signal("STOP");
        let mut open = Vec::new();
        for _ in 0..200 {
            match connect_unix(&path) {
                Some(c) => open.push(c),
                None => break,
            }
        }
        s.signal("CONT");
        counts.push(open.len());
    }
    eprintln!("unixsocket, tcp-backlog 40: queued while stopped: tandem, redis-server = {:?}", counts);
    assert_eq!(counts[0], 41, "unix connections queued while tandem was stopped");
    assert!(counts.iter().all(|&n| n == counts[0]), "{:?}", counts);
}

/// Connects to a Unix socket, giving up after 300 ms (a full queue makes connect wait).
fn connect_unix(path: &std::path::Path) -> Option<std::os::unix::net::UnixStream> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::os::unix::net::UnixStream::connect(p).ok());
    });
    rx.recv_timeout(Duration::from_millis(300)).ok().flatten()
}

/// Times from `trigger` until the process has exited: (since the trigger, since the log said
/// "ready to exit").
fn exit_latency(s: &mut Server, trigger: impl FnOnce(&Server)) -> (Duration, Duration) {
    let t0 = Instant::now();
    trigger(s);
    let mut ready: Option<Instant> = None;
    let deadline = t0 + Duration::from_secs(10);
    let code = loop {
        if ready.is_none() && s.log_text().contains("ready to exit") {
            ready = Some(Instant::now());
        }
        if let Some(code) = s.exited() {
            break code;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s; log:\n{}", s.log_text());
        std::thread::sleep(Duration::from_millis(2));
    };
    let now = Instant::now();
    assert_eq!(code, Some(0), "log:\n{}", s.log_text());
    assert!(s.log_text().contains("ready to exit"), "{}", s.log_text());
    (now - t0, now - ready.unwrap_or(now))
}

/// A server with a replica attached, a few idle clients, a blocked BLPOP and some keys: the
/// situations the exit path has to close. `sleeping`: a client is in `DEBUG SLEEP 3` when
/// the shutdown comes (the keyspace is busy).
fn busy(kind: Kind, with_replica: bool, sleeping: bool) -> (Server, Option<Server>, Vec<Conn>) {
    let s = Server::start(kind, &["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{}", i), "v"]);
    }
    let mut conns = vec![c];
    for _ in 0..3 {
        let mut c = s.conn();
        assert_eq!(c.raw(&["PING"]), "+PONG\r\n");
        conns.push(c);
    }
    let mut b = s.conn();
    b.send(&encode_str(&["BLPOP", "q", "0"]));
    conns.push(b);
    let replica = with_replica.then(|| {
        let r = Server::tandem(&["--replicaof", "127.0.0.1", &s.port.to_string()]);
        r.wait_info("replication", "master_link_status", Duration::from_secs(10), |v| v == "up");
        r
    });
    if sleeping {
        let mut z = s.conn();
        z.send(&encode_str(&["DEBUG", "SLEEP", "3"]));
        std::thread::sleep(Duration::from_millis(100));
        conns.push(z);
    }
    (s, replica, conns)
}

#[test]
fn exits_promptly_after_ready_to_exit() {
    let kinds: &[Kind] = if have_redis() { &[Kind::Tandem, Kind::Redis] } else { &[Kind::Tandem] };
    for &kind in kinds {
        for how in ["SIGTERM", "SHUTDOWN"] {
            for (with_replica, sleeping) in [(false, false), (true, false), (false, true)] {
                if sleeping && how == "SHUTDOWN" {
                    continue; // SHUTDOWN would queue behind the sleep
                }
                let (mut s, replica, _conns) = busy(kind, with_replica, sleeping);
                let (total, linger) = exit_latency(&mut s, |s| {
                    if how == "SIGTERM" {
                        s.signal("TERM");
                    } else {
                        s.conn().send(&encode_str(&["SHUTDOWN", "NOSAVE"]));
                    }
                });
                eprintln!(
                    "{:?} {} (replica: {}, DEBUG SLEEP running: {}): exited {:?} after the request, {:?} after \"ready to exit\"",
                    kind, how, with_replica, sleeping, total, linger
                );
                assert!(linger < Duration::from_millis(500), "{:?} lingered {:?} after ready to exit; log:\n{}", kind, linger, s.log_text());
                if kind == Kind::Tandem {
                    assert!(total < Duration::from_millis(500), "{} took {:?} to exit; log:\n{}", how, total, s.log_text());
                }
                // The replica's own exit, its master gone.
                if let Some(mut r) = replica {
                    let (total, linger) = exit_latency(&mut r, |r| r.signal("TERM"));
                    eprintln!("  its tandem replica, SIGTERM: exited {:?} after the signal, {:?} after \"ready to exit\"", total, linger);
                    assert!(total < Duration::from_millis(500), "replica took {:?} to exit; log:\n{}", total, r.log_text());
                }
            }
        }
    }
}

/// A pid no process has now (a child that already exited).
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().expect("spawn true");
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn stale_temp_rdb_removed_at_start_live_ones_kept() {
    let dir = TempDir::new("temprdb");
    let dead = dead_pid();
    let mut live = std::process::Command::new("sleep").arg("30").spawn().expect("spawn sleep");
    let stale = dir.path().join(format!("temp-{}.rdb", dead));
    let kept = dir.path().join(format!("temp-{}.rdb", live.id()));
    let other = dir.path().join("temp-notapid.rdb");
    for f in [&stale, &kept, &other] {
        std::fs::write(f, b"REDIS0010 half written").unwrap();
    }
    let d = dir.path().to_string_lossy().into_owned();
    let s = Server::tandem(&["--dir", &d]);
    let log = s.log_text();
    let _ = live.kill();
    let _ = live.wait();
    assert!(!stale.exists(), "stale temp file of dead pid {} still there; log:\n{}", dead, log);
    assert!(log.contains(&format!("Removed the stale temp RDB file {}", stale.display())), "{}", log);
    assert!(kept.exists(), "the temp file of a running process was removed");
    assert!(other.exists(), "a file that only looks like a temp file was removed");
}

#[test]
fn failed_save_removes_its_temp_file() {
    let s = Server::tandem(&[]);
    // dump.rdb is a non-empty directory: the rename of the temp file fails.
    std::fs::create_dir_all(s.dir().join("dump.rdb").join("x")).unwrap();
    let tmp = s.dir().join(format!("temp-{}.rdb", s.pid()));
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    assert!(c.raw(&["SAVE"]).starts_with("-ERR"));
    assert!(!tmp.exists(), "SAVE left {}", tmp.display());
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.log_text().contains("Background saving error") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The save child wrote temp-<its pid>.rdb: no temp file of any pid is left.
    let temps: Vec<_> = std::fs::read_dir(s.dir()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("temp-")).collect();
    assert!(temps.is_empty(), "BGSAVE left {:?}", temps);
    assert!(s.log_text().contains("Removed the temp RDB file"), "{}", s.log_text());
}

#[test]
fn shutdown_during_bgsave_removes_the_temp_file() {
    let mut s = Server::tandem(&["--rdb-key-save-delay", "100000"]);
    let mut c = s.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{}", i), "v"]);
    }
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    // The save child writes temp-<its pid>.rdb.
    let mut kids = Vec::new();
    wait_for("the save child", || {
        kids = child_pids(s.pid());
        !kids.is_empty()
    });
    let tmp = s.dir().join(format!("temp-{}.rdb", kids[0]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !tmp.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(tmp.exists(), "BGSAVE did not start writing {}", tmp.display());
    c.send(&encode_str(&["SHUTDOWN", "NOSAVE"]));
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "{}", s.log_text());
    assert!(!tmp.exists(), "the aborted BGSAVE left {}", tmp.display());
    assert!(s.log_text().contains("There is a child saving an .rdb. Killing it!"), "{}", s.log_text());
}
