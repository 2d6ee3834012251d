//! MULTI/EXEC/DISCARD/WATCH.

mod support;
use support::*;
use std::time::Duration;

#[test]
fn multi_exec_discard_basics() {
    assert_table(&[
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        (&["DISCARD"], "-ERR DISCARD without MULTI\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["MULTI"], "-ERR MULTI calls can not be nested\r\n"),
        (&["SET", "a", "1"], "+QUEUED\r\n"),
        (&["INCR", "a"], "+QUEUED\r\n"),
        (&["GET", "a"], "+QUEUED\r\n"),
        (&["INCR", "nonint"], "+QUEUED\r\n"),
        (&["EXEC"], "*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n:1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "100"], "+QUEUED\r\n"),
        (&["DISCARD"], "+OK\r\n"),
        (&["GET", "a"], "$1\r\n2\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["EXEC"], "*0\r\n"),
        // A runtime error inside EXEC does not abort the rest.
        (&["SET", "s", "str"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["INCR", "s"], "+QUEUED\r\n"),
        (&["SET", "b", "2"], "+QUEUED\r\n"),
        (&["EXEC"], "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"),
        (&["GET", "b"], "$1\r\n2\r\n"),
        // SELECT inside a transaction.
        (&["MULTI"], "+OK\r\n"),
        (&["SELECT", "1"], "+QUEUED\r\n"),
        (&["SET", "indb1", "x"], "+QUEUED\r\n"),
        (&["EXEC"], "*2\r\n+OK\r\n+OK\r\n"),
        (&["GET", "indb1"], "$1\r\nx\r\n"),
        (&["SELECT", "0"], "+OK\r\n"),
        (&["GET", "indb1"], "$-1\r\n"),
    ]);
}

#[test]
fn execabort_after_queue_errors() {
    assert_table(&[
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "1"], "+QUEUED\r\n"),
        (&["NOSUCHCOMMAND", "x"], "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n"),
        (&["SET", "b", "1"], "+QUEUED\r\n"),
        (&["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n"),
        (&["EXISTS", "a", "b"], ":0\r\n"),
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
        // Wrong arity also dooms the transaction.
        (&["MULTI"], "+OK\r\n"),
        (&["GET"], "-ERR wrong number of arguments for 'get' command\r\n"),
        (&["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n"),
        // WATCH inside MULTI is an error but does not doom it.
        (&["MULTI"], "+OK\r\n"),
        (&["WATCH", "a"], "-ERR WATCH inside MULTI is not allowed\r\n"),
        (&["SET", "a", "1"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+OK\r\n"),
        // EXEC with arguments is rejected as EXECABORT and discards the transaction.
        (&["MULTI"], "+OK\r\n"),
        (&["SET", "a", "2"], "+QUEUED\r\n"),
        (&["EXEC", "x"], "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (&["GET", "a"], "$1\r\n1\r\n"),
        (&["EXEC", "x"], "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (&["EXEC"], "-ERR EXEC without MULTI\r\n"),
    ]);
}

#[test]
fn exec_without_auth_is_execabort() {
    let s = Server::tandem(&["--requirepass", "pw"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["EXEC"]), "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n");
    if have_redis() {
        let r = Server::redis(&["--requirepass", "pw"]);
        assert_eq!(r.conn().raw(&["EXEC"]), "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n");
    }
}

#[test]
fn watch_conflict_from_another_connection() {
    let s = Server::tandem(&[]);
    let mut c1 = s.conn();
    let mut c2 = s.conn();
    assert_eq!(c1.raw(&["SET", "w", "1"]), "+OK\r\n");
    assert_eq!(c1.raw(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(c2.raw(&["SET", "w", "2"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["SET", "w", "3"]), "+QUEUED\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*-1\r\n");
    assert_eq!(c1.raw(&["GET", "w"]), "$1\r\n2\r\n");
    // The watch is gone after EXEC: a new transaction succeeds.
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["SET", "w", "3"]), "+QUEUED\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*1\r\n+OK\r\n");

    // Modification between MULTI and EXEC also aborts.
    assert_eq!(c1.raw(&["WATCH", "w", "other"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["GET", "w"]), "+QUEUED\r\n");
    assert_eq!(c2.raw(&["SET", "other", "x"]), "+OK\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*-1\r\n");

    // Deleting, expiring and flushing a watched key count as changes.
    for touch in [&["DEL", "w"][..], &["EXPIRE", "other", "100"][..], &["FLUSHALL"][..]] {
        assert_eq!(c1.raw(&["SET", "w", "1"]), "+OK\r\n");
        assert_eq!(c1.raw(&["SET", "other", "1"]), "+OK\r\n");
        assert_eq!(c1.raw(&["WATCH", "w", "other"]), "+OK\r\n");
        let r = c2.cmd(touch);
        assert!(!matches!(r, Reply::Error(_)), "{:?}: {:?}", touch, r);
        assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
        assert_eq!(c1.raw(&["PING"]), "+QUEUED\r\n");
        assert_eq!(c1.raw(&["EXEC"]), "*-1\r\n", "after {:?}", touch);
    }

    // A write to a key in another database does not touch the watched key.
    assert_eq!(c1.raw(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(c2.raw(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c2.raw(&["SET", "w", "db1"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["PING"]), "+QUEUED\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*1\r\n+PONG\r\n");
}

#[test]
fn unwatch_and_discard_clear_watches() {
    let s = Server::tandem(&[]);
    let mut c1 = s.conn();
    let mut c2 = s.conn();
    assert_eq!(c1.raw(&["WATCH", "x"]), "+OK\r\n");
    assert_eq!(c1.raw(&["UNWATCH"]), "+OK\r\n");
    assert_eq!(c2.raw(&["SET", "x", "1"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["INCR", "x"]), "+QUEUED\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*1\r\n:2\r\n");

    assert_eq!(c1.raw(&["WATCH", "x"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["DISCARD"]), "+OK\r\n");
    assert_eq!(c2.raw(&["SET", "x", "5"]), "+OK\r\n");
    assert_eq!(c1.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c1.raw(&["INCR", "x"]), "+QUEUED\r\n");
    assert_eq!(c1.raw(&["EXEC"]), "*1\r\n:6\r\n");

    // A watch set by a client that disconnects does not leak into a new connection.
    assert_eq!(c2.raw(&["WATCH", "x"]), "+OK\r\n");
    drop(c2);
    let mut c3 = s.conn();
    assert_eq!(c1.raw(&["SET", "x", "9"]), "+OK\r\n");
    assert_eq!(c3.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c3.raw(&["GET", "x"]), "+QUEUED\r\n");
    assert_eq!(c3.raw(&["EXEC"]), "*1\r\n$1\r\n9\r\n");
}

#[test]
fn transaction_replies_arrive_pipelined() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let mut buf = Vec::new();
    for a in [&["MULTI"][..], &["SET", "p", "1"], &["INCR", "p"], &["EXEC"], &["GET", "p"]] {
        buf.extend(encode_str(a));
    }
    c.send(&buf);
    for w in ["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n+OK\r\n:2\r\n", "$1\r\n2\r\n"] {
        assert_eq!(String::from_utf8_lossy(&c.reply_bytes()), w);
    }
}

/// Commands of a transaction run in order: a CLIENT KILL queued before DEBUG SLEEP closes its
/// victim before the sleep, not after the whole transaction (Redis's replication tests rely on
/// this to keep a link down for a while). Checked on redis-server too.
fn client_kill_inside_multi_runs_in_order(s: &Server) {
    let mut c = s.conn();
    let t0 = std::time::Instant::now();
    let mut victim2 = s.conn();
    let id2 = victim2.cmd(&["CLIENT", "ID"]).int();
    let watcher = std::thread::spawn(move || {
        let closed = victim2.is_closed(Duration::from_secs(5));
        (closed, t0.elapsed())
    });
    assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.raw(&["CLIENT", "KILL", "ID", &id2.to_string()]), "+QUEUED\r\n");
    assert_eq!(c.raw(&["DEBUG", "SLEEP", "1.5"]), "+QUEUED\r\n");
    assert_eq!(c.raw(&["EXEC"]), "*2\r\n:1\r\n+OK\r\n");
    let exec_done = t0.elapsed();
    let (closed, at) = watcher.join().unwrap();
    assert!(closed, "the victim was not closed");
    assert!(at + Duration::from_millis(500) < exec_done, "victim closed at {:?}, EXEC answered at {:?}", at, exec_done);
    // Killing ourselves inside MULTI: EXEC's reply arrives, then the connection closes.
    let me = c.cmd(&["CLIENT", "ID"]).int();
    assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.raw(&["CLIENT", "KILL", "ID", &me.to_string(), "SKIPME", "no"]), "+QUEUED\r\n");
    assert_eq!(c.raw(&["SET", "after", "1"]), "+QUEUED\r\n");
    c.send(&encode_str(&["EXEC"]));
    // Redis drops the replies after the kill; the later commands still run.
    assert_eq!(String::from_utf8_lossy(&c.read_to_close(Duration::from_secs(5))), "*2\r\n:1\r\n");
    assert_eq!(s.conn().raw(&["GET", "after"]), "$1\r\n1\r\n");
}

#[test]
fn client_kill_inside_multi() {
    client_kill_inside_multi_runs_in_order(&Server::tandem(&["--enable-debug-command", "yes"]));
    if have_redis() {
        client_kill_inside_multi_runs_in_order(&Server::redis(&["--enable-debug-command", "yes"]));
    }
}

/// Connection commands queued in a transaction take effect in their place: a CONFIG SET
/// changes how the next queued command encodes, and WATCH aborting the transaction skips them
/// too. Same replies as redis-server.
fn connection_commands_in_order(s: &Server) -> Vec<String> {
    let mut c = s.conn();
    let mut seen = vec![];
    assert_eq!(c.raw(&["CONFIG", "SET", "hash-max-listpack-entries", "128"]), "+OK\r\n");
    assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
    for cmd in [
        &["HSET", "small", "a", "1"][..],
        &["OBJECT", "ENCODING", "small"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "0"],
        &["HSET", "big", "a", "1"],
        &["OBJECT", "ENCODING", "big"],
        &["CLIENT", "SETNAME", "in-txn"],
        &["CLIENT", "GETNAME"],
    ] {
        assert_eq!(c.raw(cmd), "+QUEUED\r\n");
    }
    seen.push(c.raw(&["EXEC"]));
    // WATCH abort: nothing runs, the CONFIG SET included.
    let mut other = s.conn();
    assert_eq!(c.raw(&["WATCH", "w"]), "+OK\r\n");
    assert_eq!(other.raw(&["SET", "w", "changed"]), "+OK\r\n");
    assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.raw(&["CONFIG", "SET", "hash-max-listpack-entries", "7"]), "+QUEUED\r\n");
    assert_eq!(c.raw(&["SET", "w", "mine"]), "+QUEUED\r\n");
    seen.push(c.raw(&["EXEC"]));
    seen.push(c.raw(&["CONFIG", "GET", "hash-max-listpack-entries"]));
    seen.push(c.raw(&["GET", "w"]));
    seen
}

#[test]
fn connection_commands_inside_multi_run_in_order() {
    let ours = connection_commands_in_order(&Server::tandem(&[]));
    assert_eq!(ours[0], "*7\r\n:1\r\n$8\r\nlistpack\r\n+OK\r\n:1\r\n$9\r\nhashtable\r\n+OK\r\n$6\r\nin-txn\r\n");
    assert_eq!(ours[1], "*-1\r\n");
    if have_redis() {
        assert_eq!(ours, connection_commands_in_order(&Server::redis(&[])));
    }
}

/// CLIENT PAUSE WRITE holds scripts that may write, not those that declared `no-writes` (a
/// shebang flag, a registered function's flag), as Redis reads the declared flags first.
#[test]
fn write_pause_lets_no_writes_scripts_through() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut v = vec![c.raw(&["FUNCTION", "LOAD", "#!lua name=pl\nredis.register_function{function_name='ro', callback=function() return 'ro' end, flags={'no-writes'}}"])];
        v.push(c.raw(&["CLIENT", "PAUSE", "2000", "WRITE"]));
        let t0 = std::time::Instant::now();
        v.push(c.raw(&["EVAL", "#!lua flags=no-writes\nreturn 'x'", "0"]));
        v.push(c.raw(&["FCALL", "ro", "0"]));
        v.push(c.raw(&["EVAL_RO", "return 1", "0"]));
        v.push(format!("fast: {}", t0.elapsed() < std::time::Duration::from_millis(1000)));
        // A script that may write waits for the pause.
        let t0 = std::time::Instant::now();
        v.push(c.raw(&["EVAL", "return 2", "0"]));
        v.push(format!("held: {}", t0.elapsed() >= std::time::Duration::from_millis(1000)));
        // Read-only scripts may not even publish (a command that propagates).
        v.push(c.raw(&["EVAL_RO", "return redis.call('publish','ch','m')", "0"]).split(" script:").next().unwrap_or("").to_string());
        v
    });
}

/// EXEC is judged by what it queued: a queued write is refused with EXECABORT when
/// min-replicas-to-write cannot be met any more, and the transaction does not run.
#[test]
fn exec_is_refused_by_its_queued_writes() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut admin = Conn::connect(port);
        let mut v = vec![c.raw(&["SET", "xx", "1"]), c.raw(&["MULTI"]), c.raw(&["INCR", "xx"])];
        v.push(admin.raw(&["CONFIG", "SET", "min-replicas-to-write", "2"]));
        v.push(c.raw(&["EXEC"]));
        v.push(admin.raw(&["CONFIG", "SET", "min-replicas-to-write", "0"]));
        v.push(c.raw(&["GET", "xx"]));
        v
    });
}

/// While clients are paused nothing expires: a key past its TTL reads as missing but is not
/// deleted (no `expired_keys`, no DEL) until the pause ends.
#[test]
fn paused_clients_hold_expiry_back() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let before = c.info_field("stats", "expired_keys").unwrap_or_default();
        let mut v = vec![c.raw(&["MULTI"]), c.raw(&["SET", "foo", "bar", "PX", "10"]), c.raw(&["CLIENT", "PAUSE", "50000", "WRITE"]), c.raw(&["EXEC"])];
        std::thread::sleep(std::time::Duration::from_millis(300));
        v.push(c.raw(&["GET", "foo"]));
        v.push(format!("expired during pause: {}", c.info_field("stats", "expired_keys").unwrap_or_default() != before));
        v.push(c.raw(&["CLIENT", "UNPAUSE"]));
        v.push(c.raw(&["GET", "foo"]));
        v.push(format!("expired after: {}", c.info_field("stats", "expired_keys").unwrap_or_default() != before));
        v
    });
}

/// CONFIG SET queued in a transaction runs in the transaction's turn: the writes around it
/// are propagated as one MULTI/EXEC, and the eviction it causes follows the EXEC (Redis's
/// unit/maxmemory "propagation with eviction in MULTI"). Same replies and stream as
/// redis-server.
#[test]
fn config_set_inside_multi_keeps_the_transaction_whole() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.raw(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
        let mut out = replies_and_stream(
            port,
            &[
                &["MULTI"],
                &["INCR", "x"],
                &["CONFIG", "SET", "maxmemory", "1"],
                &["INCR", "x"],
                &["CONFIG", "GET", "maxmemory"],
                &["EXEC"],
                &["CONFIG", "SET", "maxmemory", "0"],
                &["DBSIZE"],
            ],
        );
        // The end marker's SET may come before or after the eviction's DEL is written: keep
        // the transaction's part of the stream.
        out.retain(|l| !l.contains("end-marker"));
        c.raw(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
        out
    });
}
