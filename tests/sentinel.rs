//! tandem under real Redis Sentinel (issue 11): three `redis-server --sentinel` processes
//! monitor a master and two replicas started from config files (so Sentinel's CONFIG REWRITE
//! has a file to write). Sentinel drives everything with the commands it sends to any Redis
//! (INFO, ROLE, `MULTI; SLAVEOF; CONFIG REWRITE; CLIENT KILL ...; EXEC`, PUBLISH/SUBSCRIBE on
//! `__sentinel__:hello`), so these tests pass only if tandem answers them as redis-server.
//!
//! * `failover_tandem` / `failover_redis_master`: the master is killed -9 under a light write
//!   load; Sentinel promotes a replica, the other follows it with a partial resync, and the
//!   restarted old master is turned into a replica of the new one (its rewritten config file
//!   restarts it as one).
//! * `manual_failover_respects_priority`: SENTINEL FAILOVER never picks a `replica-priority 0`
//!   replica.

mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{free_port, have_redis, wait_for_within, wait_synced, Conn, Kind, Reply, Server, TempDir};

const NODE_CONF: &str = "# tandem sentinel test: comments and order survive CONFIG REWRITE\nappendonly no\n\n# end of the hand-written part\n";

/// Long enough for down-after (1 s) + a failover (5 s timeout) and Sentinel's periods.
const FAILOVER_WAIT: Duration = Duration::from_secs(20);

/// A data node (master or replica) started from `node.conf` in its own directory.
fn start_node(kind: Kind, name: &str, extra: &[&str]) -> Server {
    let dir = TempDir::new(name);
    let conf = dir.path().join("node.conf");
    std::fs::write(&conf, NODE_CONF).unwrap();
    Server::launch(kind).name(name).config(&conf).repl().args(extra).dir(dir).start()
}

/// Kills `srv` (-9) and starts it again on the same port from the same config file.
fn crash_and_restart(srv: Server) -> Server {
    let (kind, name, port) = (srv.kind, srv.name.clone(), srv.port);
    let dir = srv.crash();
    let conf = dir.path().join("node.conf");
    Server::launch(kind).name(&name).config(&conf).repl().port(port).dir(dir).start()
}

fn conf_text(srv: &Server) -> String {
    std::fs::read_to_string(srv.dir().join("node.conf")).unwrap()
}

/// A real Sentinel, killed on drop (it is a [`Server`] of kind Redis started with --sentinel).
fn start_sentinel(i: usize, master_port: u16) -> Server {
    let dir = TempDir::new(&format!("sentinel{}", i));
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    let text = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n\
         sentinel parallel-syncs mymaster 1\n",
        dir.path().display()
    );
    std::fs::write(&conf, text).unwrap();
    let s = Server::launch(Kind::Redis).name(&format!("sentinel{}", i)).config(&conf).bare().args(&["--sentinel"]).port(port).dir(dir).start();
    // Shorter INFO and hello periods: discovery and the old master's reconfiguration (4 hello
    // periods after it is back) take seconds instead of tens of seconds. A shorter ping period
    // too: Sentinel reconnects a link at most once a ping period, and a link it resets (the new
    // master's, at +switch-master; any link CLIENT KILL TYPE normal closed) must answer within
    // down-after (1 s), or a second, spurious failover follows, with redis-server as well.
    let r = s.conn().cmd(&["SENTINEL", "DEBUG", "info-period", "1000", "publish-period", "1000", "ping-period", "200"]);
    assert!(!matches!(r, Reply::Error(_)), "SENTINEL DEBUG: {:?}", r);
    s
}

fn sentinel_master_addr(s: &Server) -> Option<u16> {
    match s.conn().cmd(&["SENTINEL", "get-master-addr-by-name", "mymaster"]) {
        Reply::Array(a) if a.len() == 2 => a[1].text().parse().ok(),
        _ => None,
    }
}

fn sentinel_count(s: &Server, what: &str) -> usize {
    match s.conn().cmd(&["SENTINEL", what, "mymaster"]) {
        Reply::Array(a) => a.len(),
        _ => 0,
    }
}

/// `INFO replication` on a fresh connection, or an empty map when the connection is closed
/// before the reply: Sentinel's reconfiguration transaction ends with `CLIENT KILL TYPE normal`,
/// which kills the test's own connections too (on redis-server as on tandem).
fn replication_info(srv: &Server) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", srv.port)) else { return map };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n").is_err() {
        return map;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        if let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") {
            let len: usize = std::str::from_utf8(&buf[1..eol]).ok().and_then(|n| n.parse().ok()).unwrap_or(0);
            if buf.len() >= eol + 2 + len {
                break String::from_utf8_lossy(&buf[eol + 2..eol + 2 + len]).into_owned();
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return map,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    for line in body.lines() {
        if let Some((k, v)) = line.split_once(':') {
            map.insert(k.to_string(), v.to_string());
        }
    }
    map
}

fn role_of(srv: &Server) -> String {
    replication_info(srv).get("role").cloned().unwrap_or_default()
}

fn follows(srv: &Server, master: &Server) -> bool {
    let i = replication_info(srv);
    i.get("role").map(|r| r == "slave").unwrap_or(false)
        && i.get("master_port").map(|p| p == &master.port.to_string()).unwrap_or(false)
        && i.get("master_link_status").map(|s| s == "up").unwrap_or(false)
}

/// Master, two replicas, three sentinels that know each other and both replicas.
struct Cluster {
    sentinels: Vec<Server>,
    master: Server,
    replicas: Vec<Server>,
}

fn cluster(master_kind: Kind, tag: &str, replica_extra: [&[&str]; 2]) -> Cluster {
    let master = start_node(master_kind, &format!("{tag}-master"), &[]);
    let replicas: Vec<Server> =
        (0..2).map(|i| start_node(Kind::Tandem, &format!("{tag}-replica{i}"), replica_extra[i])).collect();
    for r in &replicas {
        r.replicaof(&master);
    }
    wait_synced(&master, &[&replicas[0], &replicas[1]]);
    let sentinels: Vec<Server> = (0..3).map(|i| start_sentinel(i, master.port)).collect();
    for s in &sentinels {
        wait_for_within(FAILOVER_WAIT, &format!("{} sees 2 replicas and 2 other sentinels", s.name), || {
            sentinel_count(s, "replicas") == 2 && sentinel_count(s, "sentinels") == 2
        });
    }
    Cluster { sentinels, master, replicas }
}

/// SETs on whatever answers at `port` until stopped (errors and refused connections ignored).
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let (st, ack) = (stop.clone(), acked.clone());
        let thread = std::thread::spawn(move || {
            let mut i = 0u64;
            while !st.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                while !st.load(Ordering::Relaxed) {
                    i += 1;
                    let (k, v) = (format!("load:{}", i % 500), i.to_string());
                    let req = format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n{}\r\n", k.len(), k, v.len(), v);
                    let mut buf = [0u8; 64];
                    if s.write_all(req.as_bytes()).is_err() {
                        break;
                    }
                    match s.read(&mut buf) {
                        Ok(n) if n > 0 && buf.starts_with(b"+OK") => {
                            ack.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });
        Load { stop, acked, thread: Some(thread) }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn kill_master_failover(master_kind: Kind, tag: &str) {
    let Cluster { sentinels, master, mut replicas } = cluster(master_kind, tag, [&[], &[]]);
    let partial_before: Vec<i64> = replicas.iter().map(|r| r.info_i64("stats", "sync_partial_ok")).collect();
    let load = Load::start(master.port);
    wait_for_within(FAILOVER_WAIT, "some writes acknowledged", || load.acked.load(Ordering::Relaxed) > 50);

    let old_port = master.port;
    let t = Instant::now();
    let master_dir: TempDir = master.crash();
    // Sentinel promotes one of the replicas (down-after 1 s + failover, well within the timeout).
    let mut new_port = None;
    wait_for_within(FAILOVER_WAIT, "a sentinel names a new master", || {
        new_port = sentinel_master_addr(&sentinels[0]).filter(|&p| p != old_port);
        new_port.is_some()
    });
    let new_port = new_port.unwrap();
    eprintln!("{tag}: new master {new_port} after {:?}", t.elapsed());
    drop(load);
    let idx = replicas.iter().position(|r| r.port == new_port).expect("the new master is one of the replicas");
    let new_master = replicas.remove(idx);
    let other = replicas.remove(0);
    wait_for_within(FAILOVER_WAIT, "the new master reports role:master", || role_of(&new_master) == "master");
    for s in &sentinels {
        wait_for_within(FAILOVER_WAIT, &format!("{} names the new master", s.name), || sentinel_master_addr(s) == Some(new_port));
    }
    // The other replica follows it, with a partial resync (PSYNC continues the old history).
    wait_for_within(FAILOVER_WAIT, "the other replica follows the new master", || follows(&other, &new_master));
    let partial_after = new_master.info_i64("stats", "sync_partial_ok");
    assert!(partial_after > partial_before[idx], "no partial resync on the new master: sync_partial_ok {} -> {}", partial_before[idx], partial_after);
    wait_synced(&new_master, &[&other]);
    assert_eq!(new_master.digest(), other.digest());
    // Sentinel's CONFIG REWRITE: the replica's file names its new master, comments kept.
    let text = conf_text(&other);
    assert!(text.contains(&format!("replicaof 127.0.0.1 {new_port}")), "{text}");
    assert!(text.starts_with("# tandem sentinel test"), "{text}");
    assert!(text.contains("# end of the hand-written part"), "{text}");
    let text = conf_text(&new_master);
    assert!(!text.contains("replicaof"), "the promoted replica's file still names a master:\n{text}");

    // The old master comes back (same port, same file, as a master): Sentinel makes it a replica
    // of the new master, and rewrites its file.
    let conf = master_dir.path().join("node.conf");
    let old = Server::launch(master_kind).name(&format!("{tag}-old-master")).config(&conf).repl().port(old_port).dir(master_dir).start();
    wait_for_within(FAILOVER_WAIT, "the old master follows the new one", || follows(&old, &new_master));
    wait_for_within(FAILOVER_WAIT, "the old master's file names the new master", || {
        conf_text(&old).contains(&format!("replicaof 127.0.0.1 {new_port}"))
    });
    wait_synced(&new_master, &[&other, &old]);
    assert_eq!(new_master.digest(), old.digest());
    // Its rewritten file restarts it as the replica Sentinel made it.
    if master_kind == Kind::Tandem {
        let old = crash_and_restart(old);
        wait_for_within(FAILOVER_WAIT, "the restarted old master follows the new one", || follows(&old, &new_master));
    }
    drop(sentinels);
}

#[test]
fn failover_tandem() {
    if have_redis() {
        kill_master_failover(Kind::Tandem, "st");
    }
}

#[test]
fn failover_redis_master() {
    if have_redis() {
        kill_master_failover(Kind::Redis, "sr");
    }
}

/// SENTINEL FAILOVER (no agreement needed) picks the replica with a non-zero priority, and the
/// old master becomes its replica.
#[test]
fn manual_failover_respects_priority() {
    if !have_redis() {
        return;
    }
    let Cluster { sentinels, master, replicas } = cluster(Kind::Tandem, "sm", [&["--replica-priority", "0"], &[]]);
    assert_eq!(replicas[0].info_field("replication", "slave_priority"), "0");
    // Sentinel has read the priorities (INFO of each replica) before it can choose.
    wait_for_within(FAILOVER_WAIT, "sentinel knows replica 0 has priority 0", || {
        match sentinels[0].conn().cmd(&["SENTINEL", "replicas", "mymaster"]) {
            Reply::Array(rs) => rs.iter().any(|r| {
                let f = r.strings();
                let get = |k: &str| f.iter().position(|x| x == k).and_then(|i| f.get(i + 1)).cloned();
                get("port") == Some(replicas[0].port.to_string()) && get("slave-priority").as_deref() == Some("0")
            }),
            _ => false,
        }
    });
    let r = sentinels[0].conn().raw(&["SENTINEL", "FAILOVER", "mymaster"]);
    assert_eq!(r, "+OK\r\n");
    wait_for_within(FAILOVER_WAIT, "replica 1 promoted", || sentinel_master_addr(&sentinels[0]) == Some(replicas[1].port));
    wait_for_within(FAILOVER_WAIT, "replica 1 reports role:master", || role_of(&replicas[1]) == "master");
    wait_for_within(FAILOVER_WAIT, "replica 0 follows replica 1", || follows(&replicas[0], &replicas[1]));
    wait_for_within(FAILOVER_WAIT, "the old master follows replica 1", || follows(&master, &replicas[1]));
    let mut c = Conn::connect(replicas[1].port);
    assert_eq!(c.raw(&["SET", "after", "failover"]), "+OK\r\n");
    wait_synced(&replicas[1], &[&replicas[0], &master]);
}

/// What Sentinel sends outside a failover, answered as redis-server answers it: SCRIPT KILL
/// with no script running (a BUSY instance is told to stop its script), the reconfiguration
/// transaction, and INFO's replication fields of a replica whose master is gone.
#[test]
fn sentinel_commands_answer_as_redis() {
    support::assert_table(&[
        (&["SCRIPT", "KILL"], "-NOTBUSY No scripts in execution right now.\r\n"),
        (&["SCRIPT", "KILL", "x"], "-ERR wrong number of arguments for 'script|kill' command\r\n"),
        (&["SCRIPT", "NOPE"], "-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"),
        (&["SCRIPT"], "-ERR wrong number of arguments for 'script' command\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["SLAVEOF", "127.0.0.1", "1"], "+QUEUED\r\n"),
        (&["CLIENT", "KILL", "TYPE", "normal"], "+QUEUED\r\n"),
        (&["CLIENT", "KILL", "TYPE", "pubsub"], "+QUEUED\r\n"),
        (&["SCRIPT", "KILL"], "+QUEUED\r\n"),
        (&["EXEC"], "*4\r\n+OK\r\n:0\r\n:0\r\n-NOTBUSY No scripts in execution right now.\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["SLAVEOF", "NO", "ONE"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+OK\r\n"),
    ]);
    support::same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut steps = vec![c.raw(&["REPLICAOF", "127.0.0.1", "1"])];
        std::thread::sleep(Duration::from_millis(1100));
        let info = c.info("replication");
        for f in ["role", "master_link_status", "master_last_io_seconds_ago", "master_sync_in_progress", "slave_priority", "slave_read_only", "replica_announced", "connected_slaves"] {
            steps.push(format!("{f}:{:?}", info.iter().find(|(k, _)| k == f).map(|(_, v)| v)));
        }
        steps.push(format!("down_since present: {}", info.iter().any(|(k, _)| k == "master_link_down_since_seconds")));
        match c.cmd(&["ROLE"]) {
            Reply::Array(a) => steps.push(format!("ROLE offset {}", a[4].int())),
            r => panic!("ROLE: {:?}", r),
        }
        steps
    });
}

/// A failed BGSAVE with save points configured: PING and writes get -MISCONF (Sentinel then
/// sees the instance down, as the suite's 07-down-conditions checks) until a save succeeds.
#[test]
fn misconf_after_failed_bgsave() {
    support::same_on_both_with(&["--enable-protected-configs", "yes"], |port| {
        let mut c = Conn::connect(port);
        let dir = c.cmd(&["CONFIG", "GET", "dir"]).strings()[1].clone();
        let mut steps = vec![];
        for args in [&["CONFIG", "SET", "save", "1000000 1000000"][..], &["CONFIG", "SET", "dir", "/"], &["CONFIG", "SET", "dbfilename", "tmp"]] {
            steps.push(c.raw(args));
        }
        steps.push(c.raw(&["BGSAVE"]));
        c.wait_info("persistence", "rdb_last_bgsave_status", Duration::from_secs(10), |v| v == "err");
        for args in [&["PING"][..], &["SET", "k", "v"], &["GET", "k"], &["INCR", "n"]] {
            steps.push(c.raw(args));
        }
        // Inside MULTI the refusal comes at queue time and EXEC aborts.
        for args in [&["MULTI"][..], &["GET", "k"], &["SET", "k", "v"], &["EXEC"]] {
            steps.push(c.raw(args));
        }
        steps.push(c.raw(&["CONFIG", "SET", "dir", &dir]));
        steps.push(c.raw(&["CONFIG", "SET", "dbfilename", "dump.rdb"]));
        steps.push(c.raw(&["BGSAVE"]));
        c.wait_info("persistence", "rdb_last_bgsave_status", Duration::from_secs(10), |v| v == "ok");
        steps.push(c.raw(&["PING"]));
        steps.push(c.raw(&["SET", "k", "v"]));
        steps
    });
}
