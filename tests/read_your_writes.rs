//! Read-your-writes on replicas: WRITEOFFSET on the master names the point of the
//! replication stream after the connection's last write (replication ID and offset), and
//! WAITOFFSET on a replica answers once the replica's dataset holds that point; across a
//! failover the promoted server's previous ID (replid2) still names the old history, and a
//! point the promoted replica never received is reported as lost.

mod support;
use std::time::{Duration, Instant};
use support::*;

/// WRITEOFFSET's (replid, offset).
fn write_offset(c: &mut Conn) -> (String, i64) {
    let r = c.cmd(&["WRITEOFFSET"]);
    let a = r.array();
    (a[0].text(), a[1].int())
}

fn wait_offset(c: &mut Conn, id: &str, off: i64, timeout_ms: u64) -> String {
    c.raw(&["WAITOFFSET", id, &off.to_string(), &timeout_ms.to_string()])
}

#[test]
fn waitoffset_answers_once_the_replica_applied_the_write() {
    let m = Server::repl_tandem("ryw-master", &[]);
    let r = Server::repl_tandem("ryw-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    let mut mc = m.conn();
    // Nothing written yet: offset 0, nothing to wait for.
    let (id0, off0) = write_offset(&mut mc);
    assert_eq!((id0.as_str(), off0), (m.replid().as_str(), 0));
    assert_eq!(wait_offset(&mut r.conn(), &id0, off0, 10), ":1\r\n");

    // The replica holds its master's stream while paused for writes.
    assert_eq!(r.conn().raw(&["CLIENT", "PAUSE", "1500", "WRITE"]), "+OK\r\n");
    let paused_at = Instant::now();
    assert_eq!(mc.raw(&["SET", "k", "v1"]), "+OK\r\n");
    let (id, off) = write_offset(&mut mc);
    assert_eq!(id, m.replid());
    assert_eq!(off, m.offset(), "the offset after the connection's write");
    // A read of another connection does not move it.
    assert_eq!(m.conn().raw(&["SET", "other", "x"]), "+OK\r\n");
    assert_eq!(write_offset(&mut mc), (id.clone(), off));

    let mut rc = r.conn();
    assert_eq!(wait_offset(&mut rc, &id, off, 100), ":0\r\n", "the replica has not applied it yet");
    assert_eq!(rc.raw(&["GET", "k"]), "$-1\r\n");
    assert_eq!(wait_offset(&mut rc, &id, off, 10_000), ":1\r\n");
    assert!(paused_at.elapsed() >= Duration::from_millis(1000), "answered before the pause ended");
    assert_eq!(rc.raw(&["GET", "k"]), "$2\r\nv1\r\n", "read-your-writes after WAITOFFSET");

    // The master has its own writes; an unknown history is never reached; bad arguments.
    assert_eq!(wait_offset(&mut mc, &id, off, 0), ":1\r\n");
    let t = Instant::now();
    assert_eq!(wait_offset(&mut rc, &"f".repeat(40), 5, 200), ":0\r\n");
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(rc.raw(&["WAITOFFSET", &id, "x", "0"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(rc.raw(&["WAITOFFSET", &id, "1", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(rc.raw(&["WAITOFFSET", &id]), "-ERR wrong number of arguments for 'waitoffset' command\r\n");
    // Inside MULTI it answers at once.
    assert_eq!(rc.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(rc.raw(&["WAITOFFSET", &id, &(off + 1_000_000).to_string(), "0"]), "+QUEUED\r\n");
    assert_eq!(rc.raw(&["EXEC"]), "*1\r\n:0\r\n");
}

/// A write acknowledged before a FAILOVER is found through the old replication ID on the
/// promoted replica, on the other replica that follows it, and on the demoted master; a
/// write after it through the new ID.
#[test]
fn waitoffset_follows_the_history_across_failover() {
    let m = Server::repl_tandem("ryw-fo-master", &[]);
    let r1 = Server::repl_tandem("ryw-fo-r1", &[]);
    let r2 = Server::repl_tandem("ryw-fo-r2", &[]);
    r1.replicaof(&m);
    r2.replicaof(&m);
    wait_synced(&m, &[&r1, &r2]);
    let mut mc = m.conn();
    assert_eq!(mc.raw(&["SET", "before", "1"]), "+OK\r\n");
    let (id1, x) = write_offset(&mut mc);
    assert_eq!(mc.raw(&["WAIT", "2", "5000"]), ":2\r\n");
    let r1_port = r1.port.to_string();
    assert_eq!(mc.raw(&["FAILOVER", "TO", "127.0.0.1", &r1_port]), "+OK\r\n");
    wait_for("r1 promoted", || r1.info_field("replication", "role") == "master");
    r2.replicaof(&r1);
    wait_synced(&r1, &[&r2, &m]);
    assert_ne!(r1.replid(), id1);
    assert_eq!(r1.info_field("replication", "master_replid2"), id1);
    for s in [&r1, &r2, &m] {
        let mut c = s.conn();
        assert_eq!(wait_offset(&mut c, &id1, x, 2000), ":1\r\n", "{}", s.name);
        assert_eq!(c.raw(&["GET", "before"]), "$1\r\n1\r\n", "{}", s.name);
    }
    // A write on the new master.
    let mut nc = r1.conn();
    assert_eq!(nc.raw(&["SET", "after", "2"]), "+OK\r\n");
    let (id2, y) = write_offset(&mut nc);
    assert_eq!(id2, r1.replid());
    assert!(y > x);
    for s in [&r2, &m] {
        let mut c = s.conn();
        assert_eq!(wait_offset(&mut c, &id2, y, 5000), ":1\r\n", "{}", s.name);
        assert_eq!(c.raw(&["GET", "after"]), "$1\r\n2\r\n", "{}", s.name);
    }
}

/// A write the replica never received before it was promoted is reported lost, also to a
/// client already waiting for it when the promotion happens.
#[test]
fn waitoffset_reports_writes_lost_in_a_promotion() {
    let m = Server::repl_tandem("ryw-lost-master", &[]);
    let r = Server::repl_tandem("ryw-lost-replica", &[]);
    r.replicaof(&m);
    wait_synced(&m, &[&r]);
    let mut mc = m.conn();
    assert_eq!(mc.raw(&["SET", "kept", "1"]), "+OK\r\n");
    let (id, kept) = write_offset(&mut mc);
    wait_synced(&m, &[&r]);

    // The replica holds the stream (paused) while a client waits on it for the next write.
    assert_eq!(r.conn().raw(&["CLIENT", "PAUSE", "20000", "WRITE"]), "+OK\r\n");
    assert_eq!(mc.raw(&["SET", "lost", "1"]), "+OK\r\n");
    let (id_b, lost) = write_offset(&mut mc);
    assert_eq!(id_b, id);
    let port = r.port;
    let (idc, lostc) = (id.clone(), lost);
    let waiter = std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let t = Instant::now();
        (wait_offset(&mut c, &idc, lostc, 20_000), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    // Promoted in the middle: the held stream is dropped with the link.
    r.replicaof_no_one();
    let (reply, waited) = waiter.join().unwrap();
    assert!(reply.starts_with("-LOSTWRITE "), "{}", reply);
    assert!(waited < Duration::from_secs(10), "answered at the promotion, not at the timeout");
    assert_eq!(r.conn().raw(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    let mut rc = r.conn();
    assert!(wait_offset(&mut rc, &id, lost, 100).starts_with("-LOSTWRITE "));
    assert_eq!(rc.raw(&["GET", "lost"]), "$-1\r\n");
    assert_eq!(wait_offset(&mut rc, &id, kept, 100), ":1\r\n");
    assert_eq!(rc.raw(&["GET", "kept"]), "$1\r\n1\r\n");
}
