//! The embedding API: in-process commands with a real client identity, replication helpers,
//! events, and per-server logging, checked on the flow of examples/replication.rs.

#[path = "../examples/replication.rs"]
mod replication_example;

use tandem::embed::Value;
use tandem::events::ReplEvent;

#[test]
fn master_two_replicas_wait_and_promotion() {
    let r = tandem::block_on(replication_example::demo()).expect("demo runs");
    assert_eq!(r.acked_by, 2);
    assert_eq!(r.replica_get.as_deref(), Some("hello"));
    assert_eq!(r.replica_write, "Error(\"READONLY You can't write against a read only replica.\")");
    assert!(r.promoted_role.starts_with("Array([Bulk(b\"master\")"), "{}", r.promoted_role);
    assert_eq!(r.follower_get_after_promotion.as_deref(), Some("promotion"));
    assert_eq!(r.full_syncs_of_follower, 0, "replica2 continued replica1's history with a partial resync");
    let ev = &r.events_of_replica1;
    let pos = |e: &ReplEvent| ev.iter().position(|x| x == e);
    assert!(matches!(ev.first(), Some(ReplEvent::Role { master: Some(_) })), "{ev:?}");
    let started = pos(&ReplEvent::SyncStarted { full: true }).expect("full sync started");
    let finished = ev.iter().position(|e| matches!(e, ReplEvent::SyncFinished { full: true, .. })).expect("finished");
    assert!(started < finished, "{ev:?}");
    assert!(pos(&ReplEvent::LinkState("Connected".into())).is_some(), "{ev:?}");
    assert!(pos(&ReplEvent::Role { master: None }).expect("promoted") > finished, "{ev:?}");
    assert!(ev.iter().any(|e| matches!(e, ReplEvent::ReplicaOnline(_))), "replica2 came online on the promoted replica1: {ev:?}");

    // Per-server logs: each file has its own role letter; only the master traced.
    let read = |n: &str| std::fs::read_to_string(r.log_dir.join(format!("{n}.log"))).unwrap();
    let (m, r1, r2) = (read("master"), read("replica1"), read("replica2"));
    let pid = std::process::id();
    assert!(m.contains(&format!("{pid}:M ")) && !m.contains(&format!("{pid}:S ")), "master log has only M lines");
    assert!(r2.contains(&format!("{pid}:S ")) && !r2.contains(&format!("{pid}:M ")), "replica2 was only ever a replica");
    assert!(r1.contains(&format!("{pid}:S ")) && r1.contains(&format!("{pid}:M ")), "replica1 was a replica, then a master");
    assert!(r1.contains("MASTER MODE enabled"));
    assert!(m.contains(" . [") && m.contains("-> backlog: Append("), "the master traced its conversations");
    assert!(!r1.contains(" . [") && !r2.contains(" . ["), "the replicas did not trace");
    let _ = std::fs::remove_dir_all(&r.log_dir);
}

/// The embedder's connection is a real client: a replica refuses its writes, MULTI works, it
/// shows in CLIENT LIST, and loglevel/trace changes on one server leave the other alone.
#[test]
fn exec_is_a_real_client_and_logging_is_per_server() {
    tandem::block_on(async {
        let dir = std::env::temp_dir().join(format!("tandem-embed-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = |name: &str| {
            let text = format!("port 0\nsave \"\"\nenable-debug-command yes\nrepl-diskless-sync-delay 0\nlogfile {}", dir.join(name).display());
            tandem::config::Config::from_text(&text).unwrap()
        };
        let a = tandem::Server::start(cfg("a.log")).await.unwrap();
        let b = tandem::Server::start(cfg("b.log")).await.unwrap();
        let id = a.exec(&["CLIENT", "ID"]).await.unwrap().as_int().unwrap();
        assert!(id > 0, "a real client id, never the master-stream marker");
        let list = a.exec(&["CLIENT", "LIST"]).await.unwrap().as_str().unwrap();
        assert!(list.contains(&format!("id={id} ")), "{list}");
        assert_eq!(a.exec(&["MULTI"]).await.unwrap(), Value::Status("OK".into()));
        assert_eq!(a.exec(&["INCR", "n"]).await.unwrap(), Value::Status("QUEUED".into()));
        assert_eq!(a.exec(&["EXEC"]).await.unwrap(), Value::Array(vec![Value::Int(1)]));
        // b becomes a replica of a: writes through b's API are refused.
        b.replicaof("127.0.0.1", a.addr.port()).await.unwrap();
        for _ in 0..500 {
            if b.info("replication").await.unwrap().contains("master_link_status:up") {
                break;
            }
            async_std::task::sleep(std::time::Duration::from_millis(10)).await;
        }
        let w = b.exec(&["SET", "x", "1"]).await.unwrap();
        assert_eq!(w, Value::Error("READONLY You can't write against a read only replica.".into()));
        // A separate connection has its own state.
        let mut c = a.connect().await.unwrap();
        assert_ne!(c.id() as i64, id);
        assert_eq!(c.exec(&["SELECT", "3"]).await.unwrap(), Value::Status("OK".into()));
        assert_eq!(c.exec(&["GET", "n"]).await.unwrap(), Value::Nil);
        assert_eq!(a.exec(&["GET", "n"]).await.unwrap().as_str().as_deref(), Some("1"));
        // Logging belongs to each server.
        b.exec(&["CONFIG", "SET", "loglevel", "warning"]).await.unwrap();
        a.exec(&["CONFIG", "SET", "trace", "yes"]).await.unwrap();
        a.exec(&["SET", "traced", "1"]).await.unwrap();
        a.exec(&["DEBUG", "LOG", "marker-a"]).await.unwrap();
        b.exec(&["DEBUG", "LOG", "marker-b"]).await.unwrap();
        let offset = a.offset().await;
        assert!(offset > 0, "a has a backlog (b is its replica) and wrote: {offset}");
        // b's promotion logs notices on both servers; b is at warning level now.
        b.promote().await.unwrap();
        for _ in 0..200 {
            if a.info("replication").await.unwrap().contains("connected_slaves:0") {
                break;
            }
            async_std::task::sleep(std::time::Duration::from_millis(10)).await;
        }
        b.stop().await;
        a.stop().await;
        let la = std::fs::read_to_string(dir.join("a.log")).unwrap();
        let lb = std::fs::read_to_string(dir.join("b.log")).unwrap();
        assert!(la.contains("marker-a"), "{la}");
        assert!(lb.contains("DEBUG LOG: marker-b"), "warnings still show on b: {lb}");
        assert!(!lb.contains("MASTER MODE enabled"), "loglevel warning on b hides its notices: {lb}");
        assert!(la.contains("Connection with replica") && la.contains("lost."), "a still logs notices: {la}");
        assert!(la.contains(&format!(" . [{}] client:{id} -> keyspace: Exec(SET)", a_port(&la))), "{la}");
        assert!(!lb.contains(" . ["), "tracing a does not trace b");
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// The server name on a's trace lines (its port).
fn a_port(log: &str) -> String {
    log.split(" . [").nth(1).and_then(|s| s.split(']').next()).unwrap_or_default().to_string()
}

/// An embedded server whose RDB cannot be loaded ends alone: `join` returns the error, the
/// application (this test process) and its other servers go on.
#[test]
fn a_corrupt_rdb_ends_only_its_own_embedded_server() {
    tandem::block_on(async {
        let dir = std::env::temp_dir().join(format!("tandem-embed-corrupt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A valid header, then a record type no RDB has.
        std::fs::write(dir.join("dump.rdb"), b"REDIS0010\xf1garbage").unwrap();
        let cfg = |logname: &str| {
            let text = format!("port 0\nsave \"\"\ndir {}\nlogfile {}", dir.display(), dir.join(logname).display());
            tandem::config::Config::from_text(&text).unwrap()
        };
        let other = tandem::Server::start(cfg("other.log")).await;
        // `other` loaded the same file: it ends too. A third server in another dir lives on.
        let healthy_dir = dir.join("healthy");
        std::fs::create_dir_all(&healthy_dir).unwrap();
        let healthy = tandem::Server::start(
            tandem::config::Config::from_text(&format!("port 0\nsave \"\"\ndir {}\nlogfile {}", healthy_dir.display(), dir.join("healthy.log").display())).unwrap(),
        )
        .await
        .unwrap();
        let failed = match other {
            Ok(h) => h.join().await,
            Err(e) => Err(e),
        };
        assert!(failed.as_ref().is_err_and(|e| e.contains("Fatal error loading the DB")), "{failed:?}");
        assert_eq!(healthy.exec(&["SET", "k", "v"]).await.unwrap(), Value::Status("OK".into()));
        healthy.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
