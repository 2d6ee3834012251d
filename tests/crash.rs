//! Crash recovery: a server killed with SIGKILL at the moments that matter (during a BGSAVE,
//! a master during a full sync, a replica while it loads its master's RDB) comes back on
//! its own, with the data it had promised to keep.

mod support;
use support::*;
use std::time::Duration;

/// The pid of the server's save child, once it has one.
fn save_child(s: &Server) -> u32 {
    let mut child = None;
    wait_for("a save child", || {
        child = child_pids(s.pid()).first().copied();
        child.is_some()
    });
    child.unwrap_or_default()
}

/// Killed during a BGSAVE, the server leaves the previous dump.rdb byte for byte (the child
/// writes a temporary file and renames it only once complete) and starts from it again.
#[test]
fn kill_9_during_bgsave_keeps_the_previous_dump() {
    let s = Server::repl_tandem("bgsave-crash", &[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "1000", "old", "50"]), "+OK\r\n");
    assert_eq!(c.raw(&["SAVE"]), "+OK\r\n");
    let saved = s.digest();
    let dump = std::fs::read(s.dir().join("dump.rdb")).expect("dump.rdb after SAVE");
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "3000", "new", "50"]), "+OK\r\n");
    assert_eq!(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]), "+OK\r\n");
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    let child = save_child(&s);
    // Let the child write part of its file.
    std::thread::sleep(Duration::from_millis(300));
    let port = s.port;
    let dir = s.crash();
    wait_for("the orphaned save child to end", || !process_alive(child));
    assert_eq!(std::fs::read(dir.path().join("dump.rdb")).expect("dump.rdb after the crash"), dump, "dump.rdb changed");
    let s = Server::launch(Kind::Tandem).name("bgsave-crash").repl().port(port).dir(dir).start();
    assert_eq!(s.conn().cmd(&["DBSIZE"]).int(), 1000);
    assert_eq!(s.digest(), saved);
}

/// A master killed while it sends a full sync (its RDB half written to the socket) comes
/// back from its own dump.rdb; the replica, which kept retrying, syncs from it and ends
/// with the same data. Both RDB framings.
#[test]
fn master_killed_during_a_full_sync_recovers() {
    for diskless in ["no", "yes"] {
        let m = Server::repl_tandem("crash-master", &["--repl-diskless-sync", diskless]);
        let mut mc = m.conn();
        assert_eq!(mc.raw(&["DEBUG", "POPULATE", "4000", "k", "100"]), "+OK\r\n");
        assert_eq!(mc.raw(&["SAVE"]), "+OK\r\n");
        let digest = m.digest();
        assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]), "+OK\r\n");
        let r = Server::repl_tandem("crash-replica", &[]);
        let mut rc = r.conn();
        assert_eq!(rc.raw(&["SET", "replica-own", "x"]), "+OK\r\n");
        assert_eq!(rc.raw(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]), "+OK\r\n");
        // The sync is under way: the master's child writes the RDB (to disk, or to the
        // replica's socket), slowly.
        mc.wait_info("persistence", "rdb_bgsave_in_progress", WAIT, |v| v == "1");
        std::thread::sleep(Duration::from_millis(1000));
        let port = m.port;
        let dir = m.crash();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(rc.raw(&["PING"]), "+PONG\r\n", "the replica answers while its master is gone");
        let m = Server::launch(Kind::Tandem).name("crash-master").repl().args(&["--repl-diskless-sync", diskless]).port(port).dir(dir).start();
        assert_eq!(m.digest(), digest, "the master restarts from its dump.rdb");
        rc.wait_info("replication", "master_link_status", WAIT, |v| v == "up");
        wait_synced(&m, &[&r]);
        assert_same_data(&m, &r, 1);
    }
}

/// A replica killed while it loads its master's RDB (disk load: the RDB is parsed as it
/// arrives and written to a temporary file) restarts from its own directory (the
/// RDB it had renamed into place, or its older dump, never a partial file), syncs again and
/// ends with the master's data.
#[test]
fn replica_killed_while_loading_recovers() {
    let m = Server::repl_tandem("load-master", &[]);
    let mut mc = m.conn();
    assert_eq!(mc.raw(&["DEBUG", "POPULATE", "5000", "k", "100"]), "+OK\r\n");
    let r = Server::repl_tandem("load-replica", &["--repl-diskless-load", "disabled", "--key-load-delay", "500"]);
    let mut rc = r.conn();
    assert_eq!(rc.raw(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]), "+OK\r\n");
    // The replica takes the RDB in (its parser slowed by key-load-delay).
    rc.wait_info("replication", "master_sync_read_bytes", WAIT, |v| v.parse::<u64>().unwrap_or(0) > 0);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(rc.info_field("replication", "master_link_status").as_deref(), Some("down"), "still loading when killed");
    let port = r.port;
    let dir = r.crash();
    assert_eq!(mc.raw(&["SET", "written-meanwhile", "1"]), "+OK\r\n");
    let master = m.port.to_string();
    let r = Server::launch(Kind::Tandem)
        .name("load-replica")
        .repl()
        .args(&["--replicaof", "127.0.0.1", &master])
        .port(port)
        .dir(dir)
        .ready_within(Duration::from_secs(30))
        .start();
    r.conn().wait_info("replication", "master_link_status", WAIT, |v| v == "up");
    wait_synced(&m, &[&r]);
    assert_same_data(&m, &r, 1);
}
