//! Full syncs on the master: several replicas sharing one snapshot, a replica stalled during
//! a diskless transfer, rdb-only replicas. Each scenario runs against tandem and, as the
//! oracle, against redis-server as master. Kept apart from tests/replication.rs because these
//! move tens of MB and would disturb that file's timing checks.

mod support;

use support::*;
use std::time::Duration;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{:?}: {}", args, e))
}

fn stat(srv: &Server, f: &str) -> i64 {
    srv.info_i64("stats", f)
}

// ---------------------------------------------------------------------------------------
// Several replicas asking for a full sync share one snapshot (checked against redis-server
// as master too: the same log lines and the same counts)
// ---------------------------------------------------------------------------------------

/// The `<replid>:<offset>` a replica logged for its full resync.
fn fullresync_point(r: &Server) -> String {
    let log = r.log_text();
    let line = log.lines().rev().find(|l| l.contains("Full resync from master: ")).expect("full resync line");
    line.rsplit("Full resync from master: ").next().unwrap().trim().to_string()
}

fn diskless_replicas_share_one_transfer(kind: Kind) {
    let m = Server::repl(kind, "m", &["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "3"]);
    let _: () = q(&mut m.client(), &["DEBUG", "POPULATE", "2000", "k", "20"]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    a.replicaof(&m);
    m.wait_log("Delay next BGSAVE for diskless SYNC");
    b.replicaof(&m);
    wait_synced(&m, &[&a, &b]);
    assert_eq!(m.log_count("Starting BGSAVE for SYNC with target: replicas sockets"), 1, "{}", m.log_text());
    assert_eq!(m.log_count("Delay next BGSAVE for diskless SYNC"), 2);
    assert_eq!(stat(&m, "sync_full"), 2);
    assert_eq!(fullresync_point(&a), fullresync_point(&b));
    assert_same_data(&m, &a, 1);
    assert_same_data(&m, &b, 1);
}

fn disk_replica_joins_running_save(kind: Kind) {
    // 1 ms per key: the RDB of 3000 keys takes about 3 s to write.
    let m = Server::repl(kind, "m", &["--repl-diskless-sync", "no", "--rdb-key-save-delay", "1000"]);
    let _: () = q(&mut m.client(), &["DEBUG", "POPULATE", "3000", "k", "20"]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    a.replicaof(&m);
    m.wait_log("Starting BGSAVE for SYNC with target: disk");
    // Writes after the snapshot reach both replicas after the RDB.
    let mut c = m.client();
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("during:{}", i), "x"]);
    }
    b.replicaof(&m);
    m.wait_log("Waiting for end of BGSAVE for SYNC");
    let _: () = q(&mut c, &["SET", "after-join", "y"]);
    wait_synced(&m, &[&a, &b]);
    assert_eq!(m.log_count("Starting BGSAVE for SYNC with target: disk"), 1, "{}", m.log_text());
    assert_eq!(stat(&m, "sync_full"), 2);
    assert_eq!(fullresync_point(&a), fullresync_point(&b));
    let _: () = q(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_same_data(&m, &a, 1);
    assert_same_data(&m, &b, 1);
    assert_eq!(q::<i64>(&mut a.client(), &["DBSIZE"]), 3101);
}

#[test]
fn full_syncs_share_one_snapshot() {
    diskless_replicas_share_one_transfer(Kind::Tandem);
    disk_replica_joins_running_save(Kind::Tandem);
    if have_redis() {
        diskless_replicas_share_one_transfer(Kind::Redis);
        disk_replica_joins_running_save(Kind::Redis);
    }
}

/// `REPLCONF rdb-only 1` (what `redis-cli --rdb` sends): the RDB and then the connection
/// closes, no stream; the replica leaves INFO. Same on redis-server.
fn rdb_only_gets_rdb_then_close(kind: Kind, diskless: &str) {
    let m = Server::repl(kind, "m", &["--repl-diskless-sync", diskless]);
    let _: () = q(&mut m.client(), &["SET", "before", "1"]);
    let mut raw = Conn::connect(m.port);
    assert_eq!(raw.raw(&["REPLCONF", "rdb-only", "1"]), "+OK\r\n");
    assert_eq!(raw.raw(&["REPLCONF", "capa", "eof"]), "+OK\r\n");
    raw.send_cmd(&["PSYNC", "?", "-1"]);
    let (_, _, rdb, _) = raw_fullsync(&mut raw);
    check_rdb(&rdb, m.dir(), "rdbonly.rdb");
    let _: () = q(&mut m.client(), &["SET", "after", "1"]);
    let rest = raw.read_to_close(Duration::from_secs(5));
    assert!(raw.is_closed(Duration::from_millis(100)), "{:?} connection not closed after the RDB", kind);
    assert!(!rest.windows(5).any(|w| w == b"after"), "{:?} stream sent to an rdb-only replica: {:?}", kind, String::from_utf8_lossy(&rest));
    wait_for("rdb-only replica gone from INFO", || m.info_i64("replication", "connected_slaves") == 0);
}

#[test]
fn rdb_only_replica() {
    for d in ["yes", "no"] {
        rdb_only_gets_rdb_then_close(Kind::Tandem, d);
        if have_redis() {
            rdb_only_gets_rdb_then_close(Kind::Redis, d);
        }
    }
}

/// A replica that stops reading during a diskless transfer does not stall the others for
/// longer than repl-timeout: it is dropped ("Disconnecting timedout replica (full sync)"),
/// the others finish, and it resyncs once it is back.
fn stalled_replica_dropped_during_transfer(kind: Kind) {
    let m = Server::repl(
        kind,
        "m",
        &[
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "1", "--repl-timeout", "3",
            "--rdb-key-save-delay", "20", "--rdbcompression", "no",
            // tandem's diskless writer waits once a replica has this much unwritten
            "--client-output-buffer-limit", "replica 4mb 0 0",
        ],
    );
    // 20,000 keys of 1000 bytes, uncompressed: far more than socket buffers hold.
    let _: () = q(&mut m.client(), &["DEBUG", "POPULATE", "20000", "k", "1000"]);
    let a = Server::repl_tandem("a", &[]);
    let b = Server::repl_tandem("b", &[]);
    a.replicaof(&m);
    b.replicaof(&m);
    m.wait_log("Starting BGSAVE for SYNC with target: replicas sockets");
    b.stop();
    m.wait_log("Disconnecting timedout replica (full sync)");
    let _: () = q(&mut m.client(), &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_for_within(Duration::from_secs(30), "replica a synced", &mut || {
        a.info_field("replication", "master_link_status") == "up" && a.offset() == m.offset()
    });
    b.cont();
    wait_synced(&m, &[&a, &b]);
    assert_eq!(m.digest(), b.digest());
    assert_eq!(m.digest(), a.digest());
}

#[test]
fn stalled_replica_during_full_sync() {
    stalled_replica_dropped_during_transfer(Kind::Tandem);
    if have_redis() {
        stalled_replica_dropped_during_transfer(Kind::Redis);
    }
}
