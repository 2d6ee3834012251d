//! Pub/Sub and MONITOR over real sockets, against real redis-server as the oracle:
//! - the replies and pushes of a subscribe/publish session (RESP2 and RESP3) are byte for
//!   byte redis-server's;
//! - PUBLISH on a master reaches subscribers on its replicas (tandem -> tandem, redis-server
//!   -> tandem, tandem -> redis-server); a replica's own PUBLISH stays local;
//! - a subscriber that never reads is disconnected at the pubsub output limit and the
//!   server's memory stays bounded;
//! - MONITOR lines have Redis's format, with AUTH/HELLO redacted and the master's stream
//!   shown with the master's address.

mod support;
use std::time::Duration;
use support::*;

/// A scripted session: the bytes a subscriber and a publisher receive.
fn session(port: u16, resp3: bool) -> Vec<u8> {
    let mut sub = Conn::connect(port);
    let mut publ = Conn::connect(port);
    let mut got = Vec::new();
    if resp3 {
        sub.send_cmd(&["HELLO", "3"]);
        let _ = sub.read_reply();
    }
    sub.send_cmd(&["SUBSCRIBE", "news", "sport"]);
    for _ in 0..2 {
        got.extend(sub.reply_bytes());
    }
    sub.send_cmd(&["PSUBSCRIBE", "n*"]);
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["PUBLISH", "news", "hello"]));
    got.extend(sub.reply_bytes());
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["PUBLISH", "nothing", "x"]));
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["PUBSUB", "NUMSUB", "news", "none"]));
    got.extend(publ.raw_bytes(&["PUBSUB", "NUMPAT"]));
    // Only (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET in RESP2's subscribed context.
    sub.send_cmd(&["GET", "k"]);
    got.extend(sub.reply_bytes());
    sub.send_cmd(&["PING", "x"]);
    got.extend(sub.reply_bytes());
    // (Without arguments the order is the server's table order: one channel left, so the
    // comparison does not depend on it.)
    sub.send_cmd(&["UNSUBSCRIBE", "news"]);
    got.extend(sub.reply_bytes());
    sub.send_cmd(&["UNSUBSCRIBE"]);
    got.extend(sub.reply_bytes());
    sub.send_cmd(&["PUNSUBSCRIBE", "n*", "zz"]);
    for _ in 0..2 {
        got.extend(sub.reply_bytes());
    }
    sub.send_cmd(&["UNSUBSCRIBE"]);
    got.extend(sub.reply_bytes());
    sub.send_cmd(&["SSUBSCRIBE", "shard1"]);
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["SPUBLISH", "shard1", "s"]));
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["PUBSUB", "SHARDCHANNELS"]));
    sub.send_cmd(&["RESET"]);
    got.extend(sub.reply_bytes());
    got.extend(publ.raw_bytes(&["PUBSUB", "SHARDNUMSUB", "shard1"]));
    got
}

#[test]
fn session_matches_redis_in_both_protocols() {
    if !have_redis() {
        return;
    }
    for resp3 in [false, true] {
        same_on_both(|port| vec![session(port, resp3)]);
    }
}

/// PUBLISH on a master reaches a subscriber on the replica, for every pairing.
#[test]
fn publish_reaches_subscribers_on_replicas() {
    if !have_redis() {
        return;
    }
    for (mk, rk) in [(Kind::Tandem, Kind::Tandem), (Kind::Redis, Kind::Tandem), (Kind::Tandem, Kind::Redis)] {
        let master = Server::repl(mk, "master", &[]);
        let replica = Server::repl(rk, "replica", &["--replicaof", "127.0.0.1", &master.port.to_string()]);
        wait_synced(&master, &[&replica]);
        let mut sub = replica.conn();
        sub.send_cmd(&["SUBSCRIBE", "events"]);
        let _ = sub.read_reply();
        assert_eq!(master.conn().cmd(&["PUBLISH", "events", "from-master"]).int(), 0, "{mk:?} master has no subscriber");
        let msg = sub.read_reply().strings();
        assert_eq!(msg, ["message", "events", "from-master"], "{mk:?} -> {rk:?}");
        // A replica's own PUBLISH reaches its subscribers but not its master's stream.
        let before = master.conn().info_field("replication", "master_repl_offset");
        assert_eq!(replica.conn().cmd(&["PUBLISH", "events", "local"]).int(), 1);
        assert_eq!(sub.read_reply().strings(), ["message", "events", "local"]);
        assert_eq!(master.conn().info_field("replication", "master_repl_offset"), before);
    }
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_at_the_pubsub_limit() {
    let srv = Server::tandem(&["--client-output-buffer-limit", "pubsub 4mb 1mb 60"]);
    let mut sub = srv.conn();
    sub.send_cmd(&["SUBSCRIBE", "flood"]);
    let _ = sub.read_reply();
    // The subscriber now stops reading: messages pile up in the server until the limit.
    let mut publ = srv.conn();
    let big = "x".repeat(64 * 1024);
    let mut dropped = false;
    for _ in 0..2000 {
        publ.cmd(&["PUBLISH", "flood", &big]);
        if publ.cmd(&["PUBSUB", "NUMSUB", "flood"]).array()[1].int() == 0 {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "the subscriber was never disconnected");
    srv.wait_log("scheduled to be closed ASAP for overcoming of output buffer limits");
    assert!(sub.read_to_close(Duration::from_secs(5)).len() < 16 << 20, "far more than the limit was sent");
    // Memory stays bounded: 2000 x 64 KiB published would be 128 MiB.
    let rss: u64 = publ.info_field("memory", "used_memory_rss").unwrap().parse().unwrap();
    assert!(rss < 100 << 20, "rss {rss}");
    assert!(publ.cmd(&["CLIENT", "LIST"]).text().lines().all(|l| !l.contains("flags=P")));
}

/// MONITOR lines as redis-server writes them, the timestamp and peer port aside.
fn monitor_lines(port: u16) -> Vec<String> {
    let mut mon = Conn::connect(port);
    assert_eq!(mon.raw(&["MONITOR"]).trim_end(), "+OK");
    let mut c = Conn::connect(port);
    c.raw(&["SET", "k", "a b\"c\n"]);
    c.raw(&["AUTH", "user", "secret"]);
    c.raw(&["HELLO", "2", "AUTH", "default", "pw"]);
    c.raw(&["MULTI"]);
    c.raw(&["INCR", "n"]);
    c.raw(&["EXEC"]);
    c.raw(&["SELECT", "3"]);
    c.raw(&["CLIENT", "ID"]);
    c.raw(&["CONFIG", "GET", "port"]);
    // A script and a function show before the commands they run, which show as `lua`.
    c.raw(&["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "s", "v"]);
    c.raw(&["FUNCTION", "LOAD", "#!lua name=mon\nredis.register_function('mf', function() return redis.call('incr', 'n') end)"]);
    c.raw(&["FCALL", "mf", "0"]);
    c.raw(&["PUBLISH", "c", "m"]);
    let mut lines = Vec::new();
    loop {
        let l = mon.line();
        // +1700000000.123456 [0 127.0.0.1:40000] "SET" ...
        let (ts, rest) = l.split_once(' ').unwrap();
        assert!(ts.starts_with('+') && ts[1..].split_once('.').is_some_and(|(s, us)| s.len() >= 10 && us.len() == 6), "{l}");
        let (db_peer, args) = rest.split_once("] ").unwrap();
        let (db, peer) = db_peer.trim_start_matches('[').split_once(' ').unwrap();
        assert!(peer.starts_with("127.0.0.1:") || peer == "lua", "{l}");
        lines.push(format!("{db} {} {args}", if peer == "lua" { "lua" } else { "client" }));
        if args.starts_with("\"PUBLISH\"") {
            return lines;
        }
    }
}

#[test]
fn monitor_lines_match_redis() {
    if !have_redis() {
        return;
    }
    let r = Server::redis(&[]);
    let t = Server::tandem(&[]);
    assert_eq!(monitor_lines(t.port), monitor_lines(r.port));
}

#[test]
fn monitor_on_a_replica_shows_the_masters_stream() {
    let master = Server::repl_tandem("master", &[]);
    let replica = Server::repl_tandem("replica", &["--replicaof", "127.0.0.1", &master.port.to_string()]);
    wait_synced(&master, &[&replica]);
    let mut mon = replica.conn();
    assert_eq!(mon.raw(&["MONITOR"]).trim_end(), "+OK");
    master.conn().raw(&["SET", "from", "master"]);
    let want = format!("[0 127.0.0.1:{}] \"SET\" \"from\" \"master\"", master.port);
    wait_for("the SET on the replica's MONITOR", || mon.line().ends_with(&want));
}

/// CLIENT REPLY SKIP does not silence a (P)SUBSCRIBE confirmation (a push in Redis), and
/// the messages that follow arrive (Redis's "we receive keyevent notifications" test).
#[test]
fn reply_skip_keeps_subscribe_confirmations() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.raw(&["CONFIG", "SET", "notify-keyspace-events", "EA"]);
        let mut sub = Conn::connect(port);
        sub.send(b"CLIENT REPLY SKIP\r\nPSUBSCRIBE *\r\n");
        let confirm = sub.reply();
        c.raw(&["SET", "foo", "bar"]);
        vec![confirm, sub.reply()]
    });
}
