//! Client-side caching (CLIENT TRACKING) over real sockets, with real redis-server 7.0 as the
//! oracle (byte for byte where the order is defined):
//! - RESP3 sessions: `>2 invalidate` pushes for keys read then changed by another client,
//!   after the reply of the connection's own write, after EXEC's whole reply, a null key list
//!   on FLUSHDB/FLUSHALL, lazy expiry, OPTIN/OPTOUT with CLIENT CACHING, NOLOOP, BCAST;
//! - RESP2 redirection to a client subscribed to `__redis__:invalidate`, BCAST with prefixes
//!   (one message per prefix), NOLOOP, scripts, `tracking-redir-broken` when the redirection
//!   client goes away;
//! - the errors (prefix overlaps, mode switches, CACHING), CLIENT TRACKINGINFO, GETREDIR,
//!   CLIENT LIST flags, INFO fields;
//! - `tracking-table-max-keys` evicts keys from the table with invalidations;
//! - writes from the master's stream invalidate clients tracking on a replica (tandem and
//!   redis-server masters);
//! - a connection blocked in BLPOP still gets its invalidations; an unblocked BLMOVE's reply
//!   precedes the invalidation of its own write; a script's writes are its Lua client's for
//!   BCAST NOLOOP; CLIENT KILL of the redirection client breaks the redirection.

mod support;
use std::time::Duration;
use support::*;

/// A RESP3 tracking connection and a plain one.
fn resp3_pair(port: u16) -> (Conn, Conn) {
    let mut t = Conn::connect(port);
    t.send_cmd(&["HELLO", "3"]);
    let _ = t.read_reply();
    (t, Conn::connect(port))
}

/// A push as words: `invalidate` and its keys (the key list flattened).
fn words(r: &Reply) -> Vec<String> {
    match r {
        Reply::Array(v) | Reply::Set(v) => v.iter().flat_map(words).collect(),
        Reply::Nil | Reply::NilArray => vec!["(nil)".into()],
        other => vec![other.text()],
    }
}

/// Reads one reply as text.
fn next(c: &mut Conn) -> String {
    c.reply()
}

fn resp3_session(port: u16) -> Vec<String> {
    let (mut t, mut w) = resp3_pair(port);
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on"])];
    w.raw(&["SET", "k1", "1"]);
    got.push(t.raw(&["GET", "k1"]));
    // Another connection's write: the push comes before the reply of our next command.
    got.push(w.raw(&["SET", "k1", "2"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // Not read again: no more invalidations for k1.
    got.push(w.raw(&["SET", "k1", "3"]));
    got.push(t.raw(&["PING"]));
    // Our own write: the reply first, then the push.
    got.push(t.raw(&["HSET", "h", "f", "1"]));
    got.push(t.raw(&["HGET", "h", "f"]));
    t.send_cmd(&["HDEL", "h", "f"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // MULTI: the push after EXEC's whole reply.
    got.push(t.raw(&["MSET", "a", "1", "b", "2"]));
    got.push(t.raw(&["GET", "a"]));
    got.push(t.raw(&["MULTI"]));
    got.push(t.raw(&["INCR", "a"]));
    got.push(t.raw(&["GET", "b"]));
    t.send_cmd(&["EXEC"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // A pipeline: every reply, then the invalidations of the batch's own writes (in order).
    t.send(b"GET p1\r\nGET p2\r\nSET p1 x\r\nSET p2 y\r\nPING\r\n");
    for _ in 0..7 {
        got.push(next(&mut t));
    }
    // FLUSHDB from another connection: a null key list.
    got.push(t.raw(&["GET", "a"]));
    got.push(w.raw(&["FLUSHDB"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // FLUSHALL inside our own transaction: after its reply.
    got.push(t.raw(&["MULTI"]));
    got.push(t.raw(&["FLUSHALL"]));
    t.send_cmd(&["EXEC"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // Lazy expiry of a key read by MGET: after MGET's reply.
    got.push(t.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]));
    got.push(t.raw(&["MSET", "x", "1", "y", "2"]));
    got.push(t.raw(&["PEXPIRE", "y", "300"]));
    got.push(t.raw(&["MGET", "x", "y"]));
    std::thread::sleep(Duration::from_millis(450));
    t.send_cmd(&["MGET", "x", "y"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    got.push(t.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]));
    got
}

#[test]
fn resp3_invalidations_match_redis() {
    same_on_both_with(&["--enable-debug-command", "yes"], resp3_session);
}

fn modes_session(port: u16) -> Vec<String> {
    let (mut t, mut w) = resp3_pair(port);
    let mut got = Vec::new();
    // OPTIN: only the command after CLIENT CACHING YES tracks.
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "OPTIN"]));
    got.push(t.raw(&["GET", "o1"]));
    got.push(t.raw(&["CLIENT", "CACHING", "yes"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(t.raw(&["GET", "o2"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(w.raw(&["MSET", "o1", "1", "o2", "2"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // CLIENT CACHING YES before MULTI covers the whole transaction.
    got.push(t.raw(&["CLIENT", "CACHING", "yes"]));
    got.push(t.raw(&["MULTI"]));
    got.push(t.raw(&["GET", "m1"]));
    got.push(t.raw(&["GET", "m2"]));
    got.push(t.raw(&["EXEC"]));
    got.push(t.raw(&["GET", "m3"]));
    got.push(w.raw(&["MSET", "m1", "1", "m2", "2", "m3", "3"]));
    t.send_cmd(&["PING"]);
    for _ in 0..3 {
        got.push(next(&mut t));
    }
    // OPTOUT: everything tracks but the command after CLIENT CACHING NO.
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "OPTOUT"]));
    got.push(t.raw(&["CLIENT", "CACHING", "no"]));
    got.push(t.raw(&["GET", "n1"]));
    got.push(t.raw(&["GET", "n2"]));
    got.push(w.raw(&["MSET", "n1", "1", "n2", "2"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    // NOLOOP: our own writes are not reported, other connections' are.
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "NOLOOP"]));
    got.push(t.raw(&["MGET", "l1", "l2"]));
    got.push(t.raw(&["SET", "l1", "mine"]));
    got.push(w.raw(&["SET", "l2", "theirs"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    // BCAST: every key under the prefixes, in byte order, one message per prefix, after the
    // batch.
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "item:"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(w.raw(&["MSET", "user:2", "b", "item:1", "x", "user:1", "a", "other", "o"]));
    t.send_cmd(&["PING"]);
    for _ in 0..3 {
        got.push(next(&mut t));
    }
    // Our own BCAST changes come after our reply.
    t.send_cmd(&["SET", "user:9", "z"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "extra:"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "BCAST"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(t.raw(&["CLIENT", "GETREDIR"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "GETREDIR"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got
}

#[test]
fn optin_optout_noloop_and_bcast_match_redis() {
    same_on_both(modes_session);
}

/// Replaces a client id in a reply (ids differ between servers).
fn without_id(s: String, id: i64) -> String {
    s.replace(&format!(":{id}\r\n"), ":<id>\r\n").replace(&format!("redir={id} "), "redir=<id> ")
}

fn redirect_session(port: u16) -> Vec<String> {
    let mut redir = Conn::connect(port);
    let id = redir.cmd(&["CLIENT", "ID"]).int();
    let _ = redir.raw(&["SUBSCRIBE", "__redis__:invalidate"]);
    let mut t = Conn::connect(port);
    let mut w = Conn::connect(port);
    let ids = id.to_string();
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on", "REDIRECT", &ids])];
    got.push(without_id(t.raw(&["CLIENT", "GETREDIR"]), id));
    got.push(without_id(t.raw(&["CLIENT", "TRACKINGINFO"]), id));
    let line = t.raw(&["CLIENT", "INFO"]);
    let flags = line.split(' ').filter(|f| f.starts_with("flags=") || f.starts_with("redir=")).collect::<Vec<_>>().join(" ");
    got.push(without_id(flags + " ", id));
    got.push(t.raw(&["MGET", "a", "b"]));
    got.push(w.raw(&["INCR", "b"]));
    got.push(w.raw(&["INCR", "a"]));
    got.push(next(&mut redir));
    got.push(next(&mut redir));
    // A script's read tracks the script's declared keys.
    got.push(t.raw(&["EVAL", "return redis.call('get', 'other')", "2", "s1", "s2"]));
    got.push(w.raw(&["MSET", "s2", "1", "s1", "1", "other", "1"]));
    got.push(next(&mut redir));
    got.push(next(&mut redir));
    // FLUSHALL: a null key list on the channel.
    got.push(t.raw(&["GET", "a"]));
    got.push(w.raw(&["FLUSHALL"]));
    got.push(next(&mut redir));
    // BCAST with prefixes through a transaction: one message per prefix.
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &ids, "PREFIX", "a:", "PREFIX", "b:"]));
    let flags = t.raw(&["CLIENT", "INFO"]).split(' ').filter(|f| f.starts_with("flags=")).collect::<Vec<_>>().join(" ");
    got.push(flags);
    got.push(t.raw(&["MULTI"]));
    for k in ["a:2", "a:1", "b:1", "c:1"] {
        got.push(t.raw(&["INCR", k]));
    }
    got.push(t.raw(&["EXEC"]));
    got.push(next(&mut redir));
    got.push(next(&mut redir));
    // BCAST NOLOOP: only the other connection's change.
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &ids, "NOLOOP"]));
    got.push(t.raw(&["SET", "mine", "1"]));
    got.push(w.raw(&["SET", "theirs", "1"]));
    got.push(next(&mut redir));
    got.push(redir.raw(&["PING"]));
    got
}

#[test]
fn resp2_redirection_matches_redis() {
    same_on_both(redirect_session);
}

fn broken_redirect_session(port: u16) -> Vec<String> {
    let mut redir = Conn::connect(port);
    let id = redir.cmd(&["CLIENT", "ID"]).int();
    let (mut t, mut w) = resp3_pair(port);
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()])];
    got.push(t.raw(&["GET", "k"]));
    got.push(redir.raw(&["QUIT"]));
    drop(redir);
    got.push(w.raw(&["SET", "k", "1"]));
    t.send_cmd(&["PING"]);
    got.push(without_id(next(&mut t), id));
    got.push(next(&mut t));
    got.push(without_id(t.raw(&["CLIENT", "TRACKINGINFO"]), id));
    let flags = t.raw(&["CLIENT", "INFO"]).split(' ').filter(|f| f.starts_with("flags=")).collect::<Vec<_>>().join(" ");
    got.push(flags);
    got
}

#[test]
fn broken_redirection_matches_redis() {
    same_on_both(broken_redirect_session);
}

#[test]
fn errors_match_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut other = Conn::connect(port);
        let other_id = other.cmd(&["CLIENT", "ID"]).int().to_string();
        let steps: Vec<Vec<&str>> = vec![
            vec!["CLIENT", "TRACKING"],
            vec!["CLIENT", "TRACKING", "maybe"],
            vec!["CLIENT", "TRACKING", "on", "nonsense"],
            vec!["CLIENT", "TRACKING", "on", "REDIRECT"],
            vec!["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
            vec!["CLIENT", "TRACKING", "on", "REDIRECT", "999999"],
            vec!["CLIENT", "TRACKING", "on", "REDIRECT", &other_id, "REDIRECT", &other_id],
            vec!["CLIENT", "TRACKING", "on", "PREFIX", "a"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
            vec!["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "FOOBAR"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"],
            vec!["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "BARB"],
            vec!["CLIENT", "TRACKING", "on"],
            vec!["CLIENT", "TRACKING", "off"],
            vec!["CLIENT", "CACHING", "yes"],
            vec!["CLIENT", "CACHING", "yes", "no"],
            vec!["CLIENT", "TRACKING", "on", "OPTIN"],
            vec!["CLIENT", "TRACKING", "on", "OPTOUT"],
            vec!["CLIENT", "CACHING", "no"],
            vec!["CLIENT", "CACHING", "maybe"],
            vec!["CLIENT", "CACHING", "yes"],
            vec!["CLIENT", "TRACKING", "on", "BCAST"],
            vec!["CLIENT", "GETREDIR", "x"],
            vec!["CLIENT", "TRACKINGINFO", "x"],
            vec!["CLIENT", "TRACKING", "off"],
            vec!["CLIENT", "GETREDIR"],
            vec!["CLIENT", "TRACKINGINFO"],
        ];
        // The step's index names it (the client id differs between servers).
        steps.iter().enumerate().map(|(i, s)| format!("{i} {} -> {}", s[..s.len().min(3)].join(" "), c.raw(s))).collect::<Vec<_>>()
    });
}

fn info_session(port: u16) -> Vec<String> {
    let mut t = Conn::connect(port);
    let mut b = Conn::connect(port);
    let mut c = Conn::connect(port);
    let _ = t.raw(&["CLIENT", "TRACKING", "on"]);
    let _ = c.raw(&["CLIENT", "TRACKING", "on"]);
    let _ = t.raw(&["MGET", "k1", "k2", "k3"]);
    let _ = c.raw(&["GET", "k1"]);
    let _ = b.raw(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:", "PREFIX", "q:"]);
    let fields = |conn: &mut Conn| -> String {
        let mut v: Vec<String> = conn.info("clients").into_iter().chain(conn.info("stats")).filter(|(k, _)| k.starts_with("tracking")).map(|(k, v)| format!("{k}:{v}")).collect();
        v.sort();
        v.join(",")
    };
    let mut got = vec![fields(&mut b)];
    let _ = b.raw(&["SET", "k1", "x"]);
    got.push(fields(&mut b));
    let _ = t.raw(&["CLIENT", "TRACKING", "off"]);
    let _ = b.raw(&["CLIENT", "TRACKING", "off"]);
    got.push(fields(&mut b));
    let _ = b.raw(&["FLUSHALL"]);
    got.push(fields(&mut b));
    got
}

#[test]
fn info_fields_match_redis() {
    same_on_both(info_session);
}

/// Keys over `tracking-table-max-keys` leave the table with an invalidation each.
fn table_limit_session(port: u16) -> Vec<String> {
    let (mut t, mut admin) = resp3_pair(port);
    let _ = t.raw(&["CLIENT", "TRACKING", "on"]);
    let keys: Vec<String> = (0..20).map(|i| format!("key:{i}")).collect();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(|s| s.as_str()));
    let _ = t.raw(&mget);
    let mut got = vec![admin.raw(&["CONFIG", "SET", "tracking-table-max-keys", "5"])];
    // The limit applies by the next command (or the cron): 15 invalidations, then PONG.
    let mut invalidated = Vec::new();
    t.send_cmd(&["PING"]);
    loop {
        let r = t.read_reply();
        if r == Reply::Status("PONG".into()) {
            break;
        }
        let s = words(&r);
        assert_eq!(s[0], "invalidate", "{r:?}");
        invalidated.push(s[1].clone());
    }
    got.push(format!("{} invalidations", invalidated.len()));
    invalidated.sort();
    invalidated.dedup();
    got.push(format!("{} distinct", invalidated.len()));
    got.push(admin.info_field("stats", "tracking_total_keys").unwrap_or_default());
    got
}

#[test]
fn table_limit_matches_redis() {
    same_on_both(table_limit_session);
}

#[test]
fn active_expiry_and_eviction_invalidate() {
    let srv = Server::tandem(&["--maxmemory-policy", "allkeys-random"]);
    let (mut t, mut w) = resp3_pair(srv.port);
    assert_eq!(t.raw(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
    w.raw(&["SET", "short", "v", "PX", "300"]);
    assert_eq!(t.raw(&["GET", "short"]), "$1\r\nv\r\n");
    // The cron expires it: the push arrives without any command from us.
    assert_eq!(words(&t.read_reply()), ["invalidate", "short"]);
    // Eviction under maxmemory invalidates the evicted keys.
    let mut fill = Vec::new();
    for i in 0..2000 {
        fill.push(vec!["SET".to_string(), format!("e:{i}"), "x".repeat(100)]);
    }
    w.pipeline(&fill);
    let mut get = vec!["MGET".to_string()];
    get.extend((0..2000).map(|i| format!("e:{i}")));
    let _ = t.cmd(&get.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let used: u64 = w.info_field("memory", "used_memory").unwrap().parse().unwrap();
    w.raw(&["CONFIG", "SET", "maxmemory", &(used - 100_000).to_string()]);
    w.raw(&["SET", "trigger", "1"]);
    let r = words(&t.read_reply());
    assert_eq!(r[0], "invalidate", "{r:?}");
    assert!(r[1].starts_with("e:"), "{r:?}");
    w.raw(&["CONFIG", "SET", "maxmemory", "0"]);
}

/// Writes applied from the master's stream invalidate the replica's tracking clients.
#[test]
fn writes_from_the_master_invalidate_on_the_replica() {
    let kinds: &[Kind] = if have_redis() { &[Kind::Tandem, Kind::Redis] } else { &[Kind::Tandem] };
    for &mk in kinds {
        let master = Server::repl(mk, "master", &[]);
        let replica = Server::repl_tandem("replica", &["--replicaof", "127.0.0.1", &master.port.to_string()]);
        wait_synced(&master, &[&replica]);
        let mut m = master.conn();
        m.raw(&["MSET", "k", "1", "e", "2"]);
        wait_synced(&master, &[&replica]);
        // RESP3 on the replica, and a RESP2 client redirecting to a subscriber.
        let (mut t, _) = resp3_pair(replica.port);
        assert_eq!(t.raw(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
        let mut redir = replica.conn();
        let id = redir.cmd(&["CLIENT", "ID"]).int().to_string();
        let _ = redir.raw(&["SUBSCRIBE", "__redis__:invalidate"]);
        let mut t2 = replica.conn();
        assert_eq!(t2.raw(&["CLIENT", "TRACKING", "on", "REDIRECT", &id]), "+OK\r\n");
        assert_eq!(t.raw(&["MGET", "k", "e"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(t2.raw(&["GET", "k"]), "$1\r\n1\r\n");
        m.raw(&["SET", "k", "2"]);
        assert_eq!(words(&t.read_reply()), ["invalidate", "k"], "{mk:?} master");
        assert_eq!(redir.reply(), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n", "{mk:?} master");
        // A key expiring on the master reaches the replica as a DEL.
        m.raw(&["PEXPIRE", "e", "20"]);
        assert_eq!(words(&t.read_reply()), ["invalidate", "e"], "{mk:?} master");
        // FLUSHALL on the master: a null key list.
        assert_eq!(t.raw(&["GET", "k"]), "$1\r\n2\r\n");
        m.raw(&["FLUSHALL"]);
        assert_eq!(t.reply(), ">2\r\n$10\r\ninvalidate\r\n_\r\n", "{mk:?} master");
        assert_eq!(t.raw(&["PING"]), "+PONG\r\n");
    }
}

/// An unblocked BLMOVE's reply comes before the invalidation its own push caused.
#[test]
fn unblocked_command_reply_precedes_its_invalidation() {
    same_on_both(|port| {
        let (mut t, mut w) = resp3_pair(port);
        let mut got = vec![w.raw(&["RPUSH", "dst", "a"])];
        got.push(t.raw(&["CLIENT", "TRACKING", "on"]));
        got.push(t.raw(&["LRANGE", "dst", "0", "-1"]));
        t.send_cmd(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
        wait_for("the BLMOVE to block", || w.info_field("clients", "blocked_clients").as_deref() == Some("1"));
        got.push(w.raw(&["RPUSH", "src", "foo"]));
        got.push(next(&mut t));
        got.push(next(&mut t));
        got
    });
}

/// CLIENT CACHING covers only the next command, even a connection command; RESET turns
/// tracking off; CLIENT TRACKING works inside MULTI; MONITOR shows it.
fn connection_state_session(port: u16) -> Vec<String> {
    let (mut t, mut w) = resp3_pair(port);
    let mut mon = Conn::connect(port);
    let mut got = vec![mon.raw(&["MONITOR"])];
    got.push(t.raw(&["MULTI"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "OPTIN"]));
    got.push(t.raw(&["CLIENT", "CACHING", "yes"]));
    got.push(t.raw(&["GET", "c1"]));
    got.push(t.raw(&["EXEC"]));
    got.push(t.raw(&["CLIENT", "CACHING", "yes"]));
    got.push(t.raw(&["CONFIG", "GET", "maxmemory"]));
    got.push(t.raw(&["GET", "c2"]));
    got.push(w.raw(&["MSET", "c1", "1", "c2", "2"]));
    t.send_cmd(&["PING"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    got.push(t.raw(&["RESET"]));
    got.push(t.raw(&["CLIENT", "TRACKINGINFO"]));
    got.push(w.raw(&["SET", "c1", "3"]));
    got.push(t.raw(&["PING"]));
    // What MONITOR showed of the tracking connection (its timestamps and port aside).
    loop {
        let l = mon.line();
        let shown = l.split_once("] ").map(|(_, a)| a.to_string()).unwrap_or(l);
        let done = shown == "\"PING\"";
        got.push(shown);
        if done {
            break;
        }
    }
    got
}

#[test]
fn connection_state_matches_redis() {
    same_on_both(connection_state_session);
}

/// RESP2 without a usable redirection: keys are tracked (and counted) but nothing is sent,
/// as Redis drops the message.
fn resp2_silent_session(port: u16) -> Vec<String> {
    let mut t = Conn::connect(port);
    let mut w = Conn::connect(port);
    let mut quiet = Conn::connect(port);
    let quiet_id = quiet.cmd(&["CLIENT", "ID"]).int().to_string();
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on"])];
    got.push(t.raw(&["GET", "k"]));
    got.push(w.info_field("stats", "tracking_total_keys").unwrap_or_default());
    got.push(w.raw(&["SET", "k", "1"]));
    got.push(t.raw(&["PING"]));
    got.push(w.info_field("stats", "tracking_total_keys").unwrap_or_default());
    // Redirected to a RESP2 connection that subscribed to nothing: dropped too.
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "REDIRECT", &quiet_id]));
    got.push(t.raw(&["GET", "k"]));
    got.push(w.raw(&["SET", "k", "2"]));
    got.push(quiet.raw(&["PING"]));
    got.push(t.raw(&["PING"]));
    got
}

#[test]
fn resp2_without_redirection_is_silent_as_in_redis() {
    same_on_both(resp2_silent_session);
}

/// A script's writes are its Lua client's: BCAST NOLOOP still reports them to the caller,
/// while per-key NOLOOP does not (the caller is the current client).
fn script_noloop_session(port: u16) -> Vec<String> {
    let (mut t, _) = resp3_pair(port);
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"])];
    t.send_cmd(&["EVAL", "redis.call('set', KEYS[1], 'v') return 1", "1", "sk"]);
    got.push(next(&mut t));
    got.push(next(&mut t));
    got.push(t.raw(&["SET", "own", "1"]));
    got.push(t.raw(&["PING"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "off"]));
    got.push(t.raw(&["CLIENT", "TRACKING", "on", "NOLOOP"]));
    got.push(t.raw(&["GET", "sk"]));
    got.push(t.raw(&["EVAL", "redis.call('set', KEYS[1], 'w') return 2", "1", "sk"]));
    got.push(t.raw(&["PING"]));
    got
}

#[test]
fn scripts_and_noloop_match_redis() {
    same_on_both(script_noloop_session);
}

/// A connection blocked in BLPOP still receives its invalidations, before its reply.
fn blocked_session(port: u16) -> Vec<String> {
    let (mut t, mut w) = resp3_pair(port);
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on"])];
    got.push(t.raw(&["GET", "k"]));
    t.send_cmd(&["BLPOP", "list", "0"]);
    wait_for("the BLPOP to block", || w.info_field("clients", "blocked_clients").as_deref() == Some("1"));
    got.push(w.raw(&["SET", "k", "1"]));
    // Read while still blocked.
    got.push(next(&mut t));
    got.push(w.raw(&["RPUSH", "list", "x"]));
    got.push(next(&mut t));
    got
}

#[test]
fn blocked_connection_gets_invalidations_as_redis() {
    same_on_both(blocked_session);
}

/// CLIENT KILL of the redirection client breaks the redirection (RESP2: only the flag).
fn killed_redirect_session(port: u16) -> Vec<String> {
    let mut redir = Conn::connect(port);
    let id = redir.cmd(&["CLIENT", "ID"]).int();
    let mut t = Conn::connect(port);
    let mut w = Conn::connect(port);
    let mut got = vec![t.raw(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()])];
    got.push(t.raw(&["GET", "k"]));
    got.push(w.raw(&["CLIENT", "KILL", "ID", &id.to_string()]));
    got.push(w.raw(&["SET", "k", "1"]));
    got.push(t.raw(&["PING"]));
    got.push(without_id(t.raw(&["CLIENT", "TRACKINGINFO"]), id));
    let line = t.raw(&["CLIENT", "INFO"]);
    got.push(without_id(line.split(' ').filter(|f| f.starts_with("flags=") || f.starts_with("redir=")).collect::<Vec<_>>().join(" ") + " ", id));
    got
}

#[test]
fn killed_redirection_matches_redis() {
    same_on_both(killed_redirect_session);
}
