//! Replication integration tests: the real tandem binary against itself and against real
//! redis-server 7.0 (tests needing /usr/bin/redis-server print a note and pass when it is
//! absent). Every wait polls with a deadline of at most 10 s; processes die in Drop guards.
//!
//! Set TANDEM_TEST_LOGS=1 to print the servers' logs even when tests pass.

mod support;

use support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{:?}: {}", args, e))
}

fn select(c: &mut redis::Connection, db: usize) {
    let _: () = redis::cmd("SELECT").arg(db).query(c).unwrap();
}

/// A mixed workload over `dbs` databases: SET, SET EX, INCR, EXPIRE, DEL, MSET, MULTI/EXEC.
fn workload(srv: &Server, tag: &str, dbs: usize) {
    let mut c = srv.client();
    for db in 0..dbs {
        select(&mut c, db);
        for i in 0..50 {
            let _: () = q(&mut c, &["SET", &format!("{}:s:{}", tag, i), &format!("v{}-{}", db, i)]);
        }
        for _ in 0..25 {
            let _: i64 = q(&mut c, &["INCR", &format!("{}:counter", tag)]);
        }
        let _: () = q(&mut c, &["SET", &format!("{}:ex", tag), "x", "EX", "1000"]);
        let n: i64 = q(&mut c, &["EXPIRE", &format!("{}:s:1", tag), "500"]);
        assert_eq!(n, 1);
        let n: i64 = q(&mut c, &["DEL", &format!("{}:s:2", tag), &format!("{}:s:3", tag), "missing"]);
        assert_eq!(n, 2);
        let _: () = q(&mut c, &["MSET", &format!("{}:m1", tag), "a", &format!("{}:m2", tag), "b", &format!("{}:m3", tag), "c"]);
        let (a, b): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("INCRBY")
            .arg(format!("{}:tx", tag))
            .arg(10)
            .cmd("INCR")
            .arg(format!("{}:tx", tag))
            .cmd("SET")
            .arg(format!("{}:txs", tag))
            .arg(db)
            .ignore()
            .cmd("DEL")
            .arg(format!("{}:m3", tag))
            .ignore()
            .query(&mut c)
            .unwrap();
        assert_eq!(b, a + 1);
    }
}

fn stat(srv: &Server, f: &str) -> i64 {
    srv.info_i64("stats", f)
}

// ---------------------------------------------------------------------------------------
// 1. tandem master, two tandem replicas, a chained sub-replica
// ---------------------------------------------------------------------------------------

#[test]
fn tandem_master_two_replicas_and_chained_subreplica() {
    let m = Server::repl_tandem("m", &[]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    let c = Server::repl_tandem("c", &[]);
    workload(&m, "before", 3);
    a.replicaof(&m);
    b.replicaof(&m);
    a.wait_link_up();
    b.wait_link_up();
    c.replicaof(&a);
    workload(&m, "live", 4);
    c.wait_link_up();
    workload(&m, "after", 2);
    let off = wait_synced(&m, &[&a, &b, &c]);
    assert!(off > 0);
    let id = m.replid();
    for r in [&a, &b, &c] {
        assert_eq!(r.replid(), id, "{} has another master_replid", r.name);
        assert_eq!(r.info_field("replication", "role"), "slave");
    }
    // Only direct replicas ACK to the master; the sub-replica ACKs to `a`.
    wait_acked(&m, 2);
    wait_acked(&a, 1);
    for r in [&a, &b, &c] {
        assert_same_data(&m, r, 4);
    }
    assert_eq!(stat(&m, "sync_full"), 2);
    assert_eq!(stat(&a, "sync_full"), 1);
}

// ---------------------------------------------------------------------------------------
// 2. real redis-server master -> tandem replica
// ---------------------------------------------------------------------------------------

#[test]
fn real_master_tandem_replica() {
    if !have_redis() {
        return;
    }
    let m = Server::repl_redis("redis-master", &[]);
    workload(&m, "before", 3);
    let r = Server::repl_tandem("tandem-replica", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    m.wait_log(&format!("Synchronization with replica 127.0.0.1:{} succeeded", r.port));
    workload(&m, "live", 3);
    wait_synced(&m, &[&r]);
    assert_eq!(r.replid(), m.replid());
    // Our ACKs: the real master sees us online at its own offset once writes stop.
    wait_acked(&m, 1);
    assert_same_data(&m, &r, 3);
    let mut c = m.client();
    let _: () = q(&mut c, &["SET", "wait-key", "1"]);
    let n: i64 = q(&mut c, &["WAIT", "1", "1000"]);
    assert_eq!(n, 1, "WAIT 1 1000 on the real master");
}

// ---------------------------------------------------------------------------------------
// 3. tandem master -> real redis-server replica
// ---------------------------------------------------------------------------------------

#[test]
fn tandem_master_real_replica() {
    if !have_redis() {
        return;
    }
    let m = Server::repl_tandem("tandem-master", &[]);
    workload(&m, "before", 3);
    let r = Server::repl_redis("redis-replica", &[]);
    r.replicaof(&m);
    r.wait_log("MASTER <-> REPLICA sync: Finished with success");
    r.wait_link_up();
    workload(&m, "live", 3);
    wait_synced(&m, &[&r]);
    assert_eq!(r.replid(), m.replid());
    wait_acked(&m, 1);
    assert_same_data(&m, &r, 3);
    let mut c = m.client();
    let _: () = q(&mut c, &["SET", "wait-key", "1"]);
    let n: i64 = q(&mut c, &["WAIT", "1", "1000"]);
    assert_eq!(n, 1, "WAIT 1 1000 on tandem with a real replica");

    // The full-sync payload, checked by Redis's own checker.
    let file = m.dir().join("cli-dump.rdb");
    let out = std::process::Command::new(REDIS_CLI)
        .args(["-p", &m.port.to_string(), "--rdb", &file.to_string_lossy()])
        .output()
        .expect("run redis-cli --rdb");
    assert!(out.status.success(), "redis-cli --rdb failed: {} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(REDIS_CHECK_RDB).arg(&file).output().expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb rejected tandem's RDB:\n{}", text);
}

// ---------------------------------------------------------------------------------------
// 4. link kills under write load, both directions
// ---------------------------------------------------------------------------------------

fn link_kills_under_load(m: Server, r: Server) {
    workload(&m, "before", 2);
    r.replicaof(&m);
    r.wait_link_up();
    wait_synced(&m, &[&r]);
    wait_acked(&m, 1);
    let full0 = stat(&m, "sync_full");
    let pok0 = stat(&m, "sync_partial_ok");

    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, ops) = (stop.clone(), ops.clone());
        let mut c = m.client();
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) || i < 3000 {
                select(&mut c, i % 3);
                let _: i64 = q(&mut c, &["INCR", "load:counter"]);
                let _: () = q(&mut c, &["SET", &format!("load:{}", i % 200), &i.to_string()]);
                i += 1;
                ops.store(i, Ordering::Relaxed);
            }
            i
        })
    };
    let mut kills = 0;
    for round in 0..3 {
        let before = ops.load(Ordering::Relaxed);
        wait_for("writer progress", || ops.load(Ordering::Relaxed) > before + 200);
        let n: i64 = q(&mut m.client(), &["CLIENT", "KILL", "TYPE", "replica"]);
        assert_eq!(n, 1, "round {}: CLIENT KILL TYPE replica on the master", round);
        kills += 1;
        r.wait_link_up();
        wait_for("sync_partial_ok after master-side kill", || stat(&m, "sync_partial_ok") >= pok0 + kills);

        let before = ops.load(Ordering::Relaxed);
        wait_for("writer progress", || ops.load(Ordering::Relaxed) > before + 200);
        let n: i64 = q(&mut r.client(), &["CLIENT", "KILL", "TYPE", "master"]);
        assert_eq!(n, 1, "round {}: CLIENT KILL TYPE master on the replica", round);
        kills += 1;
        r.wait_link_up();
        wait_for("sync_partial_ok after replica-side kill", || stat(&m, "sync_partial_ok") >= pok0 + kills);
    }
    stop.store(true, Ordering::Relaxed);
    let total = writer.join().expect("writer thread");
    assert!(total >= 3000);
    wait_synced(&m, &[&r]);
    wait_acked(&m, 1);
    assert_eq!(stat(&m, "sync_full"), full0, "a link kill caused a full resync");
    assert_eq!(stat(&m, "sync_partial_ok"), pok0 + kills, "one partial resync per kill");
    assert_same_data(&m, &r, 3);
    let counter: i64 = q(&mut r.client(), &["GET", "load:counter"]);
    assert!(counter > 0);
}

// The writer produces ~1 MB of stream per second and a replica reconnects after ~1 s: a
// default 1 MB backlog could legitimately force a full resync.
const BIG_BACKLOG: &[&str] = &["--repl-backlog-size", "64mb"];

#[test]
fn link_kills_tandem_master_tandem_replica() {
    link_kills_under_load(Server::repl_tandem("m", BIG_BACKLOG), Server::repl_tandem("r", BIG_BACKLOG));
}

#[test]
fn link_kills_real_master_tandem_replica() {
    if !have_redis() {
        return;
    }
    link_kills_under_load(Server::repl_redis("redis-master", BIG_BACKLOG), Server::repl_tandem("tandem-replica", BIG_BACKLOG));
}

// ---------------------------------------------------------------------------------------
// 5. promotion: the other replica continues partially with the promoted one
// ---------------------------------------------------------------------------------------

#[test]
fn promotion_keeps_partial_resync() {
    // No pings from the master while we look at offsets.
    let m = Server::repl_tandem("m", &["--repl-ping-replica-period", "60"]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    a.replicaof(&m);
    b.replicaof(&m);
    workload(&m, "w", 3);
    a.wait_link_up();
    b.wait_link_up();
    let off = wait_synced(&m, &[&a, &b]);
    let old_id = m.replid();

    a.replicaof_no_one();
    let info = a.info("replication");
    assert_eq!(info["role"], "master");
    assert_eq!(info["master_replid2"], old_id);
    assert_ne!(info["master_replid"], old_id);
    assert_eq!(info["second_repl_offset"], (off + 1).to_string());
    assert_eq!(info["master_repl_offset"], off.to_string());
    let new_id = info["master_replid"].clone();

    let pok0 = stat(&a, "sync_partial_ok");
    b.replicaof(&a);
    b.wait_link_up();
    wait_for("b takes a's new replid", || b.replid() == new_id);
    assert_eq!(stat(&a, "sync_partial_ok"), pok0 + 1, "b did not continue with a partial resync");
    assert_eq!(stat(&a, "sync_full"), 0, "b needed a full resync from the promoted replica");
    workload(&a, "after-promotion", 2);
    wait_synced(&a, &[&b]);
    wait_acked(&a, 1);
    assert_same_data(&a, &b, 3);
}

// ---------------------------------------------------------------------------------------
// 6. WAIT
// ---------------------------------------------------------------------------------------

#[test]
fn wait_counts_acking_replicas() {
    let m = Server::repl_tandem("m", &[]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    a.replicaof(&m);
    b.replicaof(&m);
    a.wait_link_up();
    b.wait_link_up();
    wait_acked(&m, 2);
    let mut c = m.client();
    let _: () = q(&mut c, &["SET", "k", "1"]);
    let n: i64 = q(&mut c, &["WAIT", "2", "1000"]);
    assert_eq!(n, 2);

    b.stop();
    let _resume = Resume(b.pid());
    let _: () = q(&mut c, &["SET", "k", "2"]);
    let t = Instant::now();
    let n: i64 = q(&mut c, &["WAIT", "2", "500"]);
    let ms = ms_since(t);
    assert_eq!(n, 1, "WAIT 2 500 with one replica stopped");
    assert!((450..3000).contains(&ms), "WAIT 2 500 returned after {} ms", ms);
    b.cont();
    let n: i64 = q(&mut c, &["WAIT", "2", "5000"]);
    assert_eq!(n, 2, "after SIGCONT both replicas ACK");
}

/// WAIT is a conversation: the client registers with the backlog, each replica's actor reports
/// its ACK there, and the backlog answers the client (the trace shows each message).
#[test]
fn wait_is_answered_by_the_backlog() {
    let m = Server::repl_tandem("m", &["--trace", "yes"]);
    let a = Server::repl_tandem("a", &[]);
    a.replicaof(&m);
    a.wait_link_up();
    wait_acked(&m, 1);
    // The replica is stopped while the write and the WAIT go in: WAIT must wait for its ACK.
    a.stop();
    let _resume = Resume(a.pid());
    let mut c = m.client();
    let _: () = q(&mut c, &["SET", "k", "1"]);
    let off = m.offset();
    let mut raw = Conn::connect(m.port);
    raw.send_cmd(&["SET", "k", "2"]);
    assert_eq!(raw.line(), "+OK");
    let off2 = m.offset();
    assert!(off2 > off);
    raw.send_cmd(&["WAIT", "1", "0"]);
    std::thread::sleep(Duration::from_millis(200));
    a.cont();
    assert_eq!(raw.line(), ":1");
    let off = off2;
    let log = m.log_text();
    let register = log.find("-> backlog: WaitAcks(target=").expect("WaitAcks traced");
    let ack = log[register..].find(&format!("-> backlog: Acked(offset={})", off)).expect("the replica's ACK reported to the backlog");
    let answer = log[register + ack..].find("backlog --> client:").expect("the backlog answers the client");
    assert!(answer > 0);
}

/// WAIT asks for acknowledgements: a replica that ACKs only when asked (a raw socket that
/// answers `REPLCONF GETACK *` and nothing else) releases WAIT, and its ACK counts only at
/// or past the client's write.
#[test]
fn wait_sends_getack_and_counts_the_answer() {
    let m = Server::repl_tandem("m", &[]);
    let mut raw = Conn::connect(m.port);
    assert_eq!(raw.raw(&["REPLCONF", "capa", "eof", "capa", "psync2"]), "+OK\r\n");
    raw.send_cmd(&["PSYNC", "?", "-1"]);
    let (_id, off, _rdb, _eof) = raw_fullsync(&mut raw);
    raw.send_cmd(&["REPLCONF", "ACK", &off.to_string()]);
    let port = m.port;
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", port)).unwrap().get_connection().unwrap();
        let _: () = q(&mut c, &["SET", "k", "1"]);
        let n: i64 = q(&mut c, &["WAIT", "1", "8000"]);
        n
    });
    // The stream: SELECT, SET, then the GETACK WAIT caused (PINGs may come in between).
    let mut offset = off;
    let getack = loop {
        raw.skip_newlines();
        let header = raw.line();
        let argc: usize = header.strip_prefix('*').and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("bad header {:?}", header));
        let mut len = header.len() + 2;
        let mut argv = vec![];
        for _ in 0..argc {
            let h = raw.line();
            let n: usize = h[1..].parse().unwrap();
            let a = raw.exact(n + 2);
            len += h.len() + 2 + n + 2;
            argv.push(String::from_utf8_lossy(&a[..n]).into_owned());
        }
        if argv[0].eq_ignore_ascii_case("REPLCONF") {
            break (argv, offset);
        }
        offset += len as i64;
    };
    assert_eq!(getack.0, vec!["REPLCONF", "GETACK", "*"]);
    // An ACK short of the write does not release WAIT...
    raw.send_cmd(&["REPLCONF", "ACK", &off.to_string()]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "WAIT counted an ACK before the client's write");
    // ...the one at the write's end does.
    raw.send_cmd(&["REPLCONF", "ACK", &getack.1.to_string()]);
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn wait_inside_multi_answers_at_once() {
    let m = Server::repl_tandem("m", &[]);
    let a = Server::repl_tandem("a", &[]);
    a.replicaof(&m);
    a.wait_link_up();
    wait_acked(&m, 1);
    let mut c = m.client();
    let _: () = q(&mut c, &["SET", "k", "1"]);
    let n: i64 = q(&mut c, &["WAIT", "1", "5000"]);
    assert_eq!(n, 1);
    // Real Redis: QUEUED, then EXEC answers the count at once (never blocks in MULTI).
    let t = Instant::now();
    let r: (i64,) = redis::pipe().atomic().cmd("WAIT").arg(5).arg(0).query(&mut c).unwrap();
    assert_eq!(r.0, 1);
    assert!(ms_since(t) < 1000);
}

// ---------------------------------------------------------------------------------------
// 7. min-replicas-to-write / min-replicas-max-lag
// ---------------------------------------------------------------------------------------

#[test]
fn min_replicas_to_write() {
    let m = Server::repl_tandem("m", &[]);
    let r = Server::repl_tandem("r", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    wait_acked(&m, 1);
    let mut c = m.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "min-replicas-max-lag", "2"]);
    let mut raw = Conn::connect(m.port);
    for i in 0..20 {
        assert_eq!(raw.raw(&["SET", "k", &i.to_string()]), "+OK\r\n");
    }
    assert_eq!(m.info_field("replication", "min_slaves_good_slaves"), "1");

    r.stop();
    let _resume = Resume(r.pid());
    let t = Instant::now();
    let mut last = String::new();
    wait_for("a write refused with NOREPLICAS", || {
        last = raw.raw(&["SET", "k", "x"]);
        last != "+OK\r\n"
    });
    assert_eq!(last, "-NOREPLICAS Not enough good replicas to write.\r\n");
    assert!(ms_since(t) >= 1500, "writes refused after only {} ms", ms_since(t));
    assert_eq!(m.info_field("replication", "min_slaves_good_slaves"), "0");
    // Reads still work.
    assert!(raw.raw(&["GET", "k"]).starts_with('$'));
    r.cont();
    wait_for("writes accepted again after SIGCONT", || raw.raw(&["SET", "k", "y"]) == "+OK\r\n");
}

// ---------------------------------------------------------------------------------------
// 8. read-only replica, replicas do not expire keys themselves
// ---------------------------------------------------------------------------------------

#[test]
fn read_only_replica_and_expiry_from_master() {
    let m = Server::repl_tandem("m", &[]);
    let r = Server::repl_tandem("r", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    let mut raw = Conn::connect(r.port);
    assert_eq!(raw.raw(&["SET", "x", "y"]), "-READONLY You can't write against a read only replica.\r\n");
    assert_eq!(raw.raw(&["INCR", "x"]), "-READONLY You can't write against a read only replica.\r\n");

    let mut mc = m.client();
    // The master expires nothing by itself for now: no DEL can come from it.
    let _: () = q(&mut mc, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut mc, &["SET", "keep", "1"]);
    let _: () = q(&mut mc, &["SET", "vol", "v", "PX", "2000"]);
    let set_at = Instant::now();
    let mut rc = r.client();
    wait_for("replica sees the volatile key", || q::<Option<String>>(&mut rc, &["GET", "vol"]).is_some());
    wait_for("the volatile key is logically expired on the replica", || q::<Option<String>>(&mut rc, &["GET", "vol"]).is_none());
    assert!(ms_since(set_at) >= 1950, "replica hid the key after only {} ms", ms_since(set_at));
    assert_eq!(q::<i64>(&mut rc, &["EXISTS", "vol"]), 0);
    // Give the replica's own expiry cycle time to run (it must not delete anything).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 2, "the replica deleted the expired key itself");
    let _: () = q(&mut mc, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    wait_for("the master's DEL reaches the replica", || q::<i64>(&mut rc, &["DBSIZE"]) == 1);
    assert_eq!(q::<i64>(&mut mc, &["DBSIZE"]), 1);
    wait_synced(&m, &[&r]);
    assert_same_data(&m, &r, 1);
}

// ---------------------------------------------------------------------------------------
// 9. bad REPLCONF/PSYNC arguments; a raw PSYNC ? -1
// ---------------------------------------------------------------------------------------

fn check_bad_repl_args(port: u16, who: &str) {
    let mut raw = Conn::connect(port);
    assert_eq!(raw.raw(&["REPLCONF", "foo", "bar"]), "-ERR Unrecognized REPLCONF option: foo\r\n", "{}", who);
    assert_eq!(raw.raw(&["REPLCONF", "listening-port"]), "-ERR syntax error\r\n", "{}", who);
    assert_eq!(raw.raw(&["REPLCONF", "listening-port", "1234", "capa"]), "-ERR syntax error\r\n", "{}", who);
    assert_eq!(raw.raw(&["REPLCONF", "listening-port", "1234"]), "+OK\r\n", "{}", who);
    assert_eq!(raw.raw(&["REPLCONF", "capa", "eof", "capa", "whatever"]), "+OK\r\n", "{}", who);
    assert_eq!(raw.raw(&["PSYNC", "abc", "notanumber"]), "-ERR value is not an integer or out of range\r\n", "{}", who);
    assert_eq!(raw.raw(&["PSYNC", "abc"]), "-ERR wrong number of arguments for 'psync' command\r\n", "{}", who);
    // The connection is still a normal client.
    assert_eq!(raw.raw(&["PING"]), "+PONG\r\n", "{}", who);
}

#[test]
fn bad_replconf_and_psync_arguments() {
    let m = Server::repl_tandem("m", &[]);
    check_bad_repl_args(m.port, "tandem");
    if std::path::Path::new(REDIS_SERVER).exists() {
        let r = Server::repl_redis("redis", &[]);
        check_bad_repl_args(r.port, "real redis (oracle)");
    }
}

/// Reads a full-sync payload after `PSYNC ? -1`; returns (replid, offset, rdb, eof-framed).
/// `replica-lazy-flush yes`: the dataset a full sync replaces is freed in the background
/// (INFO lazyfreed_objects counts its keys); the new one is loaded all the same. Checked with
/// a redis-server replica too.
fn replica_lazy_flush_with(r: Server) {
    let m = Server::repl_tandem("m", &[]);
    let _: () = q(&mut m.client(), &["SET", "from-master", "1"]);
    let _: () = q(&mut r.client(), &["DEBUG", "POPULATE", "1000"]);
    r.replicaof(&m);
    r.wait_link_up();
    wait_synced(&m, &[&r]);
    assert_same_data(&m, &r, 1);
    wait_for("old keys freed in the background", || r.info_field("memory", "lazyfreed_objects") == "1000");
    assert_eq!(r.info_field("memory", "lazyfree_pending_objects"), "0");
}

#[test]
fn replica_lazy_flush() {
    replica_lazy_flush_with(Server::repl_tandem("r", &["--replica-lazy-flush", "yes"]));
    if have_redis() {
        replica_lazy_flush_with(Server::repl_redis("redis-r", &["--replica-lazy-flush", "yes"]));
    }
    // Without it the old keys are freed in place.
    let m = Server::repl_tandem("m2", &[]);
    let r = Server::repl_tandem("r2", &[]);
    let _: () = q(&mut r.client(), &["DEBUG", "POPULATE", "1000"]);
    r.replicaof(&m);
    r.wait_link_up();
    wait_synced(&m, &[&r]);
    assert_eq!(r.info_field("memory", "lazyfreed_objects"), "0");
}

/// A replica that sends commands answering something is disconnected, as Redis 7.0 does:
/// keyspace commands are refused ("Replica can't interact with the keyspace", counted as
/// rejected) and never run. Checked on redis-server too.
fn rogue_replica_disconnected(m: &Server) {
    let mut raw = Conn::connect(m.port);
    raw.send_cmd(&["PSYNC", "?", "-1"]);
    let _ = raw_fullsync(&mut raw);
    raw.send_cmd(&["REPLCONF", "ACK", "0"]);
    raw.send_cmd(&["SET", "rogue", "1"]);
    // Only PINGs of the stream may come before the close.
    raw.read_to_close(Duration::from_secs(5));
    assert!(raw.is_closed(Duration::from_millis(100)), "{}: the rogue replica was not disconnected", m.name);
    assert_eq!(q::<Option<String>>(&mut m.client(), &["GET", "rogue"]), None, "{}", m.name);
    m.wait_log("Replica generated a reply to command 'set', disconnecting it: id=");
    m.wait_log("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the keyspace' after processing the command 'set'");
    let stats = m.info("commandstats");
    assert!(stats["cmdstat_set"].contains("rejected_calls=1"), "{}: {:?}", m.name, stats.get("cmdstat_set"));
    assert_eq!(m.info_i64("stats", "unexpected_error_replies"), 1, "{}", m.name);
    wait_for("replica gone", || m.info_i64("replication", "connected_slaves") == 0);
    // A container command is named with its subcommand.
    let mut raw = Conn::connect(m.port);
    raw.send_cmd(&["PSYNC", "?", "-1"]);
    let _ = raw_fullsync(&mut raw);
    raw.send_cmd(&["SLOWLOG", "GET"]);
    raw.read_to_close(Duration::from_secs(5));
    m.wait_log("Replica generated a reply to command 'slowlog|get', disconnecting it: id=");
    // A PSYNC whose offset is not a number is refused, and logged.
    let mut raw = Conn::connect(m.port);
    assert_eq!(raw.raw(&["PSYNC", "replicationid", "offset_str"]), "-ERR value is not an integer or out of range\r\n");
    m.wait_log("asks for synchronization but with a wrong offset");
    assert_eq!(raw.raw(&["PING"]), "+PONG\r\n");
}

#[test]
fn rogue_replica_is_disconnected() {
    rogue_replica_disconnected(&Server::repl_tandem("m", &[]));
    if have_redis() {
        rogue_replica_disconnected(&Server::repl_redis("redis-m", &[]));
    }
}

/// Commands of the master's stream that fail on the replica (DEBUG REPLICATE sends any
/// command; a writable replica's own key makes INCRBY fail) are logged as Redis logs them,
/// with the stream's latest bytes, counted, and the stream goes on. Checked on redis-server.
fn replica_errors_from_master(m: &Server, r: &Server) -> Vec<String> {
    r.replicaof(m);
    r.wait_link_up();
    m.conn().raw(&["SET", "before", "1"]);
    wait_synced(m, &[r]);
    m.conn().raw(&["DEBUG", "REPLICATE", "fake-command-1"]);
    m.conn().raw(&["SET", "foo", "bar2"]);
    wait_synced(m, &[r]);
    r.wait_log("== CRITICAL == This replica is sending an error to its master: 'unknown command 'fake-command-1', with args beginning with: ' after processing the command '<unknown>'");
    r.wait_log("Latest backlog is: '\"");
    assert_eq!(q::<String>(&mut r.client(), &["GET", "foo"]), "bar2", "{}", r.name);
    r.conn().raw(&["CONFIG", "SET", "replica-read-only", "no"]);
    r.conn().raw(&["SET", "number2", "foo"]);
    m.conn().raw(&["INCRBY", "number2", "1"]);
    wait_synced(m, &[r]);
    r.wait_log("This replica is sending an error to its master: 'value is not an integer or out of range' after processing the command 'incrby'");
    assert_eq!(r.info_i64("stats", "unexpected_error_replies"), 2, "{}", r.name);
    assert_eq!(q::<String>(&mut r.client(), &["GET", "number2"]), "foo", "{}", r.name);
    // The error lines and the stream dumps, without the log prefix (pid, time).
    let log = r.log_text();
    log.lines().filter_map(|l| l.split_once(" # ").map(|(_, m)| m.to_string())).filter(|m| m.contains("CRITICAL") || m.starts_with("Latest backlog")).collect()
}

#[test]
fn replica_logs_errors_from_master() {
    let m = Server::repl_tandem("m", &["--enable-debug-command", "yes"]);
    let ours = replica_errors_from_master(&m, &Server::repl_tandem("r", &[]));
    assert_eq!(ours.len(), 4, "{ours:#?}");
    if have_redis() {
        let m = Server::repl_redis("redis-m", &["--enable-debug-command", "yes"]);
        let theirs = replica_errors_from_master(&m, &Server::repl_redis("redis-r", &[]));
        assert_eq!(ours, theirs);
    }
}

/// With `propagation-error-behavior panic`, a read-only replica stops at the first command
/// of its master that fails, as Redis panics, instead of diverging silently.
#[test]
fn propagation_error_panic_stops_the_replica() {
    let m = Server::repl_tandem("m", &["--enable-debug-command", "yes"]);
    let mut r = Server::repl_tandem("r", &["--propagation-error-behavior", "panic"]);
    r.replicaof(&m);
    r.wait_link_up();
    m.conn().raw(&["DEBUG", "REPLICATE", "fake-command-1"]);
    wait_for("the replica stopped", || r.exited().is_some());
    r.wait_log("Guru Meditation: This replica panicked sending an error to its master after processing the command '<unknown>'");
}

/// A command's reply as text: "" for nil, `-<error>` for an error.
fn run(s: &Server, a: &[&str]) -> String {
    match s.conn().cmd(a) {
        Reply::Nil => String::new(),
        Reply::Error(e) => format!("-{e}"),
        other => other.text(),
    }
}

/// A diskless master with 600 keys of 100 KB, and a writable `swapdb` replica (not attached).
fn swapdb_pair(m: &Server, r: &Server) {
    run(m, &["CONFIG", "SET", "repl-diskless-sync", "yes"]);
    run(m, &["CONFIG", "SET", "repl-diskless-sync-delay", "0"]);
    run(m, &["CONFIG", "SET", "rdbcompression", "no"]);
    run(m, &["DEBUG", "POPULATE", "600", "master", "100000"]);
    run(r, &["CONFIG", "SET", "repl-diskless-load", "swapdb"]);
    run(r, &["CONFIG", "SET", "replica-read-only", "no"]);
}

/// `repl-diskless-load swapdb`, as Redis 7.0: a full sync from a master with another history
/// loads with clients answered -LOADING and the old data back if the transfer fails; one from
/// the master whose history the replica holds loads asynchronously, the old data served
/// meanwhile and only REPLICAOF-like commands refused. Checked on redis-server.
fn swapdb_loading(m: &Server, r: &Server) {
    swapdb_pair(m, r);
    run(r, &["DEBUG", "POPULATE", "20", "slave", "10"]);
    run(r, &["SET", "mykey", "myvalue"]);
    // 10 ms per key: the transfer lasts 6 s (Redis answers clients every 2 MB loaded, 20 keys).
    run(m, &["CONFIG", "SET", "rdb-key-save-delay", "10000"]);
    r.replicaof(m);
    r.wait_info("persistence", "loading", Duration::from_secs(10), |v| v == "1");
    assert_eq!(r.info_field("persistence", "async_loading"), "0", "{}", r.name);
    // The transfer fails, and the master refuses the replica's next attempts (it requires
    // a password now) until the old data has been checked.
    let mut mc = m.conn();
    mc.cmd(&["CONFIG", "SET", "requirepass", "later"]);
    mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    r.wait_info("persistence", "loading", Duration::from_secs(20), |v| v == "0");
    assert_eq!(run(r, &["GET", "mykey"]), "myvalue", "{}: the old data is back", r.name);
    assert_eq!(run(r, &["DBSIZE"]), "21", "{}", r.name);
    mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    mc.cmd(&["CONFIG", "SET", "requirepass", ""]);
    // The next sync succeeds: the master's dataset replaces the replica's (offsets are not
    // compared: redis-server's replica may still be reconnecting after its retries).
    wait_for("the master's dataset replaced the replica's", || {
        r.info("replication").get("master_link_status").is_some_and(|s| s == "up") && run(r, &["GET", "mykey"]).is_empty() && run(r, &["DBSIZE"]) == "600"
    });
}

/// The async half of [`swapdb_loading`], on a fresh pair: a failed asynchronous load keeps
/// serving the old data.
fn swapdb_async_loading(m: &Server, r: &Server) {
    swapdb_pair(m, r);
    r.replicaof(m);
    // A full sync with the history the replica holds (the backlog is too small for the
    // replica's offset): asynchronous.
    r.wait_link_up();
    wait_synced(m, &[r]);
    r.wait_info("replication", "master_sync_in_progress", Duration::from_secs(10), |v| v == "0");
    run(r, &["SET", "mykey", "myvalue"]);
    assert_eq!(run(r, &["GET", "mykey"]), "myvalue", "{}", r.name);
    run(m, &["CONFIG", "SET", "repl-backlog-size", "16384"]);
    run(m, &["CONFIG", "SET", "rdb-key-save-delay", "10000"]);
    let mut c = m.conn();
    c.raw(&["MULTI"]);
    c.raw(&["CLIENT", "KILL", "TYPE", "replica"]);
    let big = "A".repeat(16384);
    for i in 0..4 {
        c.raw(&["SET", &format!("big{i}"), &big]);
    }
    c.raw(&["EXEC"]);
    r.wait_info("persistence", "async_loading", Duration::from_secs(10), |v| v == "1");
    assert_eq!(r.info_field("persistence", "loading"), "0", "{}", r.name);
    assert_eq!(run(r, &["GET", "mykey"]), "myvalue", "{}: the old data is served", r.name);
    assert!(run(r, &["REPLICAOF", "NO", "ONE"]).starts_with("-LOADING"), "{}", r.name);
    assert!(run(r, &["CONFIG", "SET", "repl-diskless-load", "disabled"]).starts_with("-LOADING"), "{}", r.name);
    c.cmd(&["CONFIG", "SET", "requirepass", "later"]);
    c.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    r.wait_info("persistence", "async_loading", Duration::from_secs(20), |v| v == "0");
    assert_eq!(run(r, &["GET", "mykey"]), "myvalue", "{}", r.name);
    for line in ["Loading DB in memory", "Discarding temporary DB in background", "Swapping active DB with loaded DB", "Discarding old DB in background"] {
        assert!(r.log_count(line) > 0, "{}: no {line:?} in the log", r.name);
    }
}

#[test]
fn swapdb_loading_states() {
    let extra = ["--enable-debug-command", "yes"];
    swapdb_loading(&Server::repl_tandem("m", &extra), &Server::repl_tandem("r", &extra));
    swapdb_async_loading(&Server::repl_tandem("m2", &extra), &Server::repl_tandem("r2", &extra));
    if have_redis() {
        swapdb_loading(&Server::repl_redis("redis-m", &extra), &Server::repl_redis("redis-r", &extra));
        swapdb_async_loading(&Server::repl_redis("redis-m2", &extra), &Server::repl_redis("redis-r2", &extra));
    }
}

#[test]
fn raw_psync_full_resync_payload() {
    let m = Server::repl_tandem("m", &[]);
    workload(&m, "w", 2);
    // With capa eof: diskless framing expected to be accepted either way.
    let mut raw = Conn::connect(m.port);
    assert_eq!(raw.raw(&["REPLCONF", "capa", "eof", "capa", "psync2"]), "+OK\r\n");
    raw.send_cmd(&["PSYNC", "?", "-1"]);
    let (id, off, rdb, _eof) = raw_fullsync(&mut raw);
    assert_eq!(id, m.replid());
    assert!(off >= 0);
    check_rdb(&rdb, m.dir(), "eof.rdb");
    // Without capa eof the payload must be length-prefixed (a pre-EOF replica cannot parse
    // the EOF framing).
    let mut raw2 = Conn::connect(m.port);
    raw2.send_cmd(&["PSYNC", "?", "-1"]);
    let (id2, _off2, rdb2, eof2) = raw_fullsync(&mut raw2);
    assert_eq!(id2, id);
    assert!(!eof2, "EOF framing sent to a replica without capa eof");
    check_rdb(&rdb2, m.dir(), "len.rdb");
    // The stream follows: a write shows up on the raw replica.
    let _: () = q(&mut m.client(), &["SET", "after-sync", "1"]);
    raw2.until_suffix(b"after-sync");
}

// ---------------------------------------------------------------------------------------
// 10. a corrupt RDB from a (fake) master
// ---------------------------------------------------------------------------------------

/// A minimal master: answers the handshake, then sends `payloads[i % len]` as the RDB of
/// the i-th connection and keeps the socket open until the peer leaves.
struct FakeMaster {
    port: u16,
    conns: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMaster {
    fn start(payloads: Vec<Vec<u8>>) -> FakeMaster {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let conns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c2, s2) = (conns.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        let i = c2.fetch_add(1, Ordering::SeqCst);
                        let p = payloads[i % payloads.len()].clone();
                        let s3 = s2.clone();
                        std::thread::spawn(move || fake_master_conn(s, p, s3));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeMaster { port, conns, stop, thread: Some(thread) }
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one RESP array command (or inline line) from `s`.
fn read_command(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<String>> {
    fn line(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
        loop {
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = buf.drain(..p + 2).take(p).collect();
                return Some(String::from_utf8_lossy(&l).into_owned());
            }
            let mut tmp = [0u8; 4096];
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
    }
    loop {
        let first = line(s, buf)?;
        if first.is_empty() {
            continue;
        }
        let Some(n) = first.strip_prefix('*') else {
            return Some(first.split_whitespace().map(String::from).collect());
        };
        let n: usize = n.parse().ok()?;
        let mut args = Vec::new();
        for _ in 0..n {
            let _len = line(s, buf)?;
            args.push(line(s, buf)?);
        }
        return Some(args);
    }
}

fn fake_master_conn(mut s: TcpStream, payload: Vec<u8>, stop: Arc<AtomicBool>) {
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let Some(cmd) = read_command(&mut s, &mut buf) else {
            // Timeout or closed: a closed socket makes writes fail below eventually.
            if s.peek(&mut [0u8; 1]).map(|n| n == 0).unwrap_or(false) {
                return;
            }
            continue;
        };
        let name = cmd.first().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
        let reply: Vec<u8> = match name.as_str() {
            "PING" => b"+PONG\r\n".to_vec(),
            "REPLCONF" if cmd.get(1).map(|o| o.eq_ignore_ascii_case("ack")).unwrap_or(false) => continue,
            "REPLCONF" | "AUTH" => b"+OK\r\n".to_vec(),
            "PSYNC" | "SYNC" => {
                let mut r = format!("+FULLRESYNC {} 0\r\n${}\r\n", "ab".repeat(20), payload.len()).into_bytes();
                r.extend_from_slice(&payload);
                r
            }
            _ => b"-ERR unknown command\r\n".to_vec(),
        };
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

#[test]
fn corrupt_rdb_from_master_keeps_data_and_retries() {
    let mut garbage = b"REDIS0010".to_vec();
    garbage.extend_from_slice(b"\xfe\x00\xfb\x01\x00\x00\x03abc\x7f\x99\x98\x97garbage-garbage-garbage");
    // A well-formed RDB (one string key "fake") whose CRC64 is wrong.
    let mut bad_crc = b"REDIS0010".to_vec();
    bad_crc.extend_from_slice(b"\xfe\x00\xfb\x01\x00\x00\x04fake\x01x\xff");
    bad_crc.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let fake = FakeMaster::start(vec![garbage, bad_crc]);

    let t = Server::repl_tandem("t", &[]);
    workload(&t, "mine", 2);
    let before = dataset(&t, 2);
    let digest = t.digest();
    assert!(!before.is_empty());
    t.replicaof_port(fake.port);
    wait_for("the fake master sees three syncs (garbage, bad CRC, retry)", || fake.conns.load(Ordering::SeqCst) >= 3);
    wait_for("two load failures logged", || t.log_count("Failed trying to load the MASTER synchronization DB") >= 2);
    assert!(!t.log_text().contains("MASTER <-> REPLICA sync: Finished with success"));
    assert_eq!(t.info_field("replication", "master_link_status"), "down");
    // Old data kept, nothing of the corrupt payloads applied.
    assert_eq!(dataset(&t, 2), before);
    assert_eq!(t.digest(), digest);
    assert_eq!(q::<Option<String>>(&mut t.client(), &["GET", "fake"]), None);
    t.replicaof_no_one();
    assert_eq!(dataset(&t, 2), before);
}

// ---------------------------------------------------------------------------------------
// 11. restart of a replica continues with a partial resync (needs persistence)
// ---------------------------------------------------------------------------------------

/// A replica of `m` in sync with a workload, its RDB saved.
fn synced_saved_replica(m: &Server) -> Server {
    let r = Server::repl_tandem("r", &[]);
    r.replicaof(m);
    workload(m, "w", 2);
    r.wait_link_up();
    wait_synced(m, &[&r]);
    let _: () = q(&mut r.client(), &["SAVE"]);
    r
}

/// `r` restarted from its RDB as a replica of `m`, its link up again.
fn restart_as_replica(r: Server, m: &Server) -> Server {
    let mport = m.port.to_string();
    let r = r.restart(&["--replicaof", "127.0.0.1", &mport]);
    r.wait_link_up();
    r
}

#[test]
fn replica_restart_continues_partially() {
    let m = Server::repl_tandem("m", &[]);
    let r = synced_saved_replica(&m);
    let full0 = stat(&m, "sync_full");
    let pok0 = stat(&m, "sync_partial_ok");
    let r = restart_as_replica(r, &m);
    workload(&m, "after-restart", 2);
    wait_synced(&m, &[&r]);
    assert_eq!(stat(&m, "sync_full"), full0, "the restarted replica needed a full resync");
    assert_eq!(stat(&m, "sync_partial_ok"), pok0 + 1);
    assert_same_data(&m, &r, 2);
}

/// A replica restarted from its RDB that continued partially has a backlog from there: once
/// promoted, its old master (now its replica) continues partially too, and a new replica's
/// full sync attaches (Sentinel's sequence after restarting a killed instance).
#[test]
fn restarted_replica_promoted_serves_partial_and_full_syncs() {
    let m = Server::repl_tandem("m", &[]);
    let r = restart_as_replica(synced_saved_replica(&m), &m);
    workload(&m, "after-restart", 1);
    wait_synced(&m, &[&r]);
    let off: i64 = r.info_field("replication", "master_repl_offset").parse().unwrap();
    let first: i64 = r.info_field("replication", "repl_backlog_first_byte_offset").parse().unwrap();
    assert!(first > 1 && first <= off, "backlog of the restarted replica starts at {first}, offset {off}");
    r.replicaof_no_one();
    let pok = stat(&r, "sync_partial_ok");
    m.replicaof(&r);
    m.wait_link_up();
    assert_eq!(stat(&r, "sync_partial_ok"), pok + 1, "the old master did not continue partially");
    let n = Server::repl_tandem("n", &[]);
    n.replicaof(&r);
    n.wait_link_up();
    workload(&r, "promoted", 1);
    wait_synced(&r, &[&m, &n]);
    assert_same_data(&r, &m, 2);
    assert_same_data(&r, &n, 2);
}

/// A master restarted from its RDB (written with data, so its offset is far from 0) keeps its
/// history as replid2 with a backlog starting at the restored offset: its replica continues
/// with a partial resync, and keys that expired while it was down reach the replica as DELs.
#[test]
fn master_restart_with_data_continues_partially() {
    let m = Server::repl_tandem("m", &[]);
    let r = Server::repl_tandem("r", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    let _: () = q(&mut m.client(), &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    workload(&m, "w", 2);
    let _: () = q(&mut m.client(), &["SET", "short", "1", "PX", "300"]);
    wait_synced(&m, &[&r]);
    assert_eq!(q::<i64>(&mut r.client(), &["EXISTS", "short"]), 1);
    let _: () = q(&mut m.client(), &["SAVE"]);
    let offset: i64 = m.info_field("replication", "master_repl_offset").parse().unwrap();
    assert!(offset > 1000, "offset {offset}");
    std::thread::sleep(Duration::from_millis(400));
    let m = m.restart(&[]);
    r.wait_link_up();
    assert_eq!(m.info_field("replication", "repl_backlog_first_byte_offset"), (offset + 1).to_string());
    assert_eq!(m.info_field("replication", "second_repl_offset"), (offset + 1).to_string());
    wait_for("the replica continued partially", || stat(&m, "sync_partial_ok") == 1);
    assert_eq!(stat(&m, "sync_full"), 0, "the restarted master sent a full resync");
    workload(&m, "after-restart", 2);
    wait_synced(&m, &[&r]);
    assert_eq!(q::<i64>(&mut r.client(), &["EXISTS", "short"]), 0, "the expired key's DEL did not reach the replica");
    assert_same_data(&m, &r, 2);
}

/// CLIENT PAUSE WRITE on a replica holds its master's stream as Redis holds its master
/// client: the bytes are read (slave_read_repl_offset grows) but not applied
/// (slave_repl_offset stays, the key is absent) until UNPAUSE.
#[test]
fn paused_replica_reads_but_does_not_apply() {
    let m = Server::repl_tandem("m", &["--repl-ping-replica-period", "3600"]);
    let r = Server::repl_tandem("r", &[]);
    r.replicaof(&m);
    r.wait_link_up();
    let _: () = q(&mut m.client(), &["SET", "foo", "bar"]);
    wait_synced(&m, &[&r]);
    let before = r.info_field("replication", "slave_repl_offset");
    let _: () = q(&mut r.client(), &["CLIENT", "PAUSE", "100000", "WRITE"]);
    let _: () = q(&mut m.client(), &["SET", "foo2", "bar2"]);
    let moff = m.info_field("replication", "master_repl_offset");
    wait_for("the replica read the write", || r.info_field("replication", "slave_read_repl_offset") == moff);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(r.info_field("replication", "slave_repl_offset"), before, "a paused replica applied its master's write");
    assert_eq!(q::<Option<String>>(&mut r.client(), &["GET", "foo2"]), None);
    let _: () = q(&mut r.client(), &["CLIENT", "UNPAUSE"]);
    wait_for("applied after UNPAUSE", || r.info_field("replication", "slave_repl_offset") == moff);
    assert_eq!(q::<Option<String>>(&mut r.client(), &["GET", "foo2"]).as_deref(), Some("bar2"));
}

// ---------------------------------------------------------------------------------------
// 12. repl-timeout, both sides
// ---------------------------------------------------------------------------------------

#[test]
fn repl_timeout_both_sides() {
    let m = Server::repl_tandem("m", &["--repl-timeout", "2", "--repl-ping-replica-period", "1"]);
    let r = Server::repl_tandem("r", &["--repl-timeout", "2"]);
    r.replicaof(&m);
    r.wait_link_up();
    workload(&m, "w", 1);
    // Healthy for longer than the timeout: pings and ACKs keep both sides alive.
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(m.log_count("Disconnecting timedout replica"), 0, "a healthy replica timed out");
    assert_eq!(r.log_count("MASTER timeout"), 0, "a healthy master timed out");
    assert_eq!(r.info_field("replication", "master_link_status"), "up");

    // The replica stops ACKing: the master drops it.
    r.stop();
    let resume_r = Resume(r.pid());
    let t = Instant::now();
    m.wait_log("Disconnecting timedout replica");
    // The last ACK may be up to a second older than the stop: more than 2 s after it is
    // more than 1 s after the stop.
    assert!(ms_since(t) >= 900, "replica dropped after only {} ms", ms_since(t));
    r.cont();
    drop(resume_r);
    r.wait_link_up();
    wait_synced(&m, &[&r]);

    // The master goes silent: the replica drops it.
    let n0 = r.log_count("MASTER timeout: no data nor PING received...");
    m.stop();
    let resume_m = Resume(m.pid());
    let t = Instant::now();
    wait_for("replica logs MASTER timeout", || r.log_count("MASTER timeout: no data nor PING received...") > n0);
    // Likewise with the master's last PING (every second).
    assert!(ms_since(t) >= 900, "master dropped after only {} ms", ms_since(t));
    m.cont();
    drop(resume_m);
    r.wait_link_up();
    workload(&m, "after", 1);
    wait_synced(&m, &[&r]);
    assert_same_data(&m, &r, 1);
}

/// A writable replica expires the keys its own clients gave a TTL (the master never will),
/// but still leaves the master's expired keys to the master's DEL.
#[test]
fn writable_replica_expires_its_own_keys() {
    let m = Server::repl_tandem("m", &[]);
    let r = Server::repl_tandem("r", &["--replica-read-only", "no"]);
    r.replicaof(&m);
    r.wait_link_up();
    let mut rc = r.client();
    let _: () = q(&mut rc, &["SET", "own", "1", "PX", "200"]);
    let _: () = q(&mut rc, &["SET", "forever", "1"]);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 2);
    wait_for("the replica's own volatile key is deleted", || q::<i64>(&mut rc, &["DBSIZE"]) == 1);
    assert_eq!(q::<Option<String>>(&mut rc, &["GET", "forever"]).as_deref(), Some("1"));
    // An expired key overwritten by a replica client becomes a new key without the old TTL.
    let mut mc = m.client();
    let _: () = q(&mut mc, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut mc, &["SET", "fromm", "5", "PX", "50"]);
    wait_for("the master's key reaches the replica", || q::<i64>(&mut rc, &["DBSIZE"]) == 2);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(q::<i64>(&mut rc, &["EXISTS", "fromm"]), 0);
    assert_eq!(q::<i64>(&mut rc, &["INCR", "fromm"]), 1);
    assert_eq!(q::<i64>(&mut rc, &["TTL", "fromm"]), -1);
}
