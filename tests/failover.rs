//! Commands refused while a FAILOVER is in progress (issue 9): REPLICAOF (either form) would
//! leave a master stuck in `waiting-for-sync` with its writes paused; Redis answers
//! `-ERR REPLICAOF not allowed while failing over.` Runs on tandem and on redis-server.

mod support;

use support::{encode_str, wait_synced, Conn, Kind, Server};
use std::time::{Duration, Instant};

fn refused_while_failing_over(kind: Kind) {
    let m = Server::repl(kind, "fo-master", &[]);
    let r = Server::repl(kind, "fo-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    // FAILOVER TO needs the replica online on the master (its first REPLCONF ACK after the
    // RDB): a replica stopped before that is "not online" on a loaded machine.
    let mut mc = Conn::connect(m.port);
    support::wait_for("the master sees its replica online", || {
        mc.info_field("replication", "slave0").is_some_and(|v| v.contains("state=online"))
    });
    // A stopped replica cannot catch up: the failover stays in waiting-for-sync.
    r.stop();
    let mut c = Conn::connect(m.port);
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    let port = r.port.to_string();
    assert_eq!(c.raw(&["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "60000"]), "+OK\r\n", "{:?}", kind);
    assert_eq!(c.info_field("replication", "master_failover_state").as_deref(), Some("waiting-for-sync"));
    for args in [&["REPLICAOF", "127.0.0.1", &port][..], &["REPLICAOF", "NO", "ONE"], &["SLAVEOF", "localhost", "1"]] {
        assert_eq!(c.raw(args), "-ERR REPLICAOF not allowed while failing over.\r\n", "{:?} {:?}", kind, args);
    }
    assert_eq!(c.raw(&["FAILOVER"]), "-ERR FAILOVER already in progress.\r\n", "{:?}", kind);
    assert_eq!(c.info_field("replication", "role").as_deref(), Some("master"));
    assert_eq!(c.raw(&["FAILOVER", "ABORT"]), "+OK\r\n", "{:?}", kind);
    assert_eq!(c.info_field("replication", "master_failover_state").as_deref(), Some("no-failover"));
    // Writes flow again at once, and REPLICAOF is accepted again.
    let t = Instant::now();
    c.send(&encode_str(&["SET", "k2", "v2"]));
    assert_eq!(String::from_utf8_lossy(&c.reply_bytes()), "+OK\r\n");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}: write held {:?} after FAILOVER ABORT", kind, t.elapsed());
    r.cont();
    assert_eq!(c.raw(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n", "{:?}", kind);
}

#[test]
fn replicaof_refused_during_failover_tandem() {
    refused_while_failing_over(Kind::Tandem);
}

#[test]
fn replicaof_refused_during_failover_redis() {
    if support::have_redis() {
        refused_while_failing_over(Kind::Redis);
    }
}

/// A FAILOVER is a conversation, not a poll: the failover asks the backlog to be told when a
/// replica has acknowledged the paused master's offset (the trace shows it), then hands over.
#[test]
fn failover_is_answered_by_the_backlog() {
    let m = Server::repl_tandem("fo2-master", &["--trace", "yes"]);
    let r = Server::repl_tandem("fo2-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    let mut c = Conn::connect(m.port);
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.raw(&["FAILOVER"]), "+OK\r\n");
    let t = Instant::now();
    while Conn::connect(r.port).info_field("replication", "role").as_deref() != Some("master") {
        assert!(t.elapsed() < Duration::from_secs(20), "the replica was not promoted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = m.log_text();
    let asked = log.find("failover -> backlog: WaitSynced(offset=").expect("WaitSynced traced");
    let synced = format!("backlog --> failover: Synced(127.0.0.1:{} at", r.port);
    assert!(log[asked..].contains(&synced), "{}", log);
    assert!(log.contains(&format!("Failover target 127.0.0.1:{} is synced, failing over.", r.port)));
    // The old master follows the new one and gets the write back.
    wait_synced(&r, &[&m]);
    assert_eq!(Conn::connect(m.port).raw(&["GET", "k"]), "$1\r\nv\r\n");
}
