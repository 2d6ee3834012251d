//! maxmemory eviction against real Redis 7.0 (redis-server from /usr/bin where the test
//! compares; skipped parts say so): OBJECT IDLETIME / FREQ / REFCOUNT under each policy,
//! every `maxmemory-policy` keeping memory near the limit (volatile-* evicting only keys with
//! a TTL, noeviction answering -OOM), LRU and LFU choosing the cold keys, evictions reaching
//! the replication stream as DELs and subscribers as `evicted` events, INFO evicted_keys,
//! and a replica that never evicts on its own (`replica-ignore-maxmemory`).

mod support;
use std::time::Duration;
use support::*;

fn used_memory(c: &mut Conn) -> u64 {
    c.info_field("memory", "used_memory").and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn dbsize(c: &mut Conn) -> i64 {
    c.cmd(&["DBSIZE"]).int()
}

#[test]
fn object_freq_idletime_refcount_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut steps = vec![];
        let mut run = |c: &mut Conn, cmd: &[&str]| steps.push(format!("{:?} -> {}", cmd, c.raw(cmd)));
        run(&mut c, &["SET", "foo", "bar"]);
        run(&mut c, &["OBJECT", "FREQ", "foo"]);
        run(&mut c, &["OBJECT", "IDLETIME", "foo"]);
        run(&mut c, &["OBJECT", "IDLETIME", "nokey"]);
        run(&mut c, &["SET", "n", "1"]);
        run(&mut c, &["OBJECT", "REFCOUNT", "n"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory", "1gb"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
        run(&mut c, &["SET", "n2", "1"]);
        run(&mut c, &["OBJECT", "REFCOUNT", "n2"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
        run(&mut c, &["SET", "n3", "1"]);
        run(&mut c, &["OBJECT", "REFCOUNT", "n3"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
        run(&mut c, &["OBJECT", "IDLETIME", "foo"]);
        run(&mut c, &["SET", "f", "v"]);
        // A new key starts at LFU_INIT_VAL (5); the first access always counts.
        run(&mut c, &["OBJECT", "FREQ", "f"]);
        run(&mut c, &["GET", "f"]);
        run(&mut c, &["OBJECT", "FREQ", "f"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"]);
        run(&mut c, &["OBJECT", "FREQ", "f"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]);
        run(&mut c, &["OBJECT", "FREQ", "f"]);
        run(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
        steps
    });
}

#[test]
fn idletime_grows_and_reads_reset_it() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.cmd(&["SET", "foo", "bar"]);
        std::thread::sleep(Duration::from_millis(2100));
        let mut steps = vec![];
        // TYPE, TTL, EXISTS and OBJECT do not touch the key (Redis's LOOKUP_NOTOUCH).
        for cmd in [&["TYPE", "foo"][..], &["TTL", "foo"], &["EXISTS", "foo"], &["OBJECT", "ENCODING", "foo"]] {
            c.cmd(cmd);
        }
        let idle = c.cmd(&["OBJECT", "IDLETIME", "foo"]).int();
        steps.push(format!("idle after notouch reads >= 2: {}", idle >= 2));
        c.cmd(&["GET", "foo"]);
        steps.push(format!("after GET: {}", c.cmd(&["OBJECT", "IDLETIME", "foo"]).int()));
        c.cmd(&["SET", "t", "x"]);
        std::thread::sleep(Duration::from_millis(2100));
        c.cmd(&["TOUCH", "t"]);
        steps.push(format!("after TOUCH: {}", c.cmd(&["OBJECT", "IDLETIME", "t"]).int()));
        steps
    });
}

/// Fills a server past a limit 100 KB above its usage, then writes as much again: as
/// Redis's unit/maxmemory, memory must stay near the limit, volatile policies may evict only
/// keys with a TTL (and answer -OOM once none is left), noeviction answers -OOM.
fn fill_under_policy(port: u16, policy: &str) -> (bool, bool, bool) {
    let mut c = Conn::connect(port);
    c.cmd(&["FLUSHALL"]);
    let limit = used_memory(&mut c) + 100 * 1024;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]);
    let mut n = 0;
    let mut oom = false;
    loop {
        // Even keys without a TTL, odd keys volatile.
        let key = format!("key:{n}");
        let r = if n % 2 == 1 { c.raw(&["SETEX", &key, "10000", "x"]) } else { c.raw(&["SET", &key, "x"]) };
        oom |= r.contains("OOM");
        n += 1;
        if used_memory(&mut c) + 4096 > limit || oom {
            break;
        }
        assert!(n < 100_000, "never reached the limit");
    }
    for j in 0..n {
        let r = c.raw(&["SETEX", &format!("foo:{j}"), "10000", "x"]);
        oom |= r.contains("OOM");
    }
    let within = used_memory(&mut c) < limit + 4096;
    let kept_persistent = (0..n).step_by(2).filter(|j| j % 2 == 0).all(|j| c.cmd(&["EXISTS", &format!("key:{j}")]).int() == 1);
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    c.cmd(&["FLUSHALL"]);
    (within || oom, kept_persistent, oom)
}

#[test]
fn every_policy_honours_the_limit() {
    let t = Server::tandem(&[]);
    for policy in ["allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
        let (within, kept, oom) = fill_under_policy(t.port, policy);
        assert!(within, "{policy}: memory over the limit");
        assert!(!oom, "{policy}: -OOM while evictable keys remain");
        if policy.starts_with("volatile") {
            assert!(kept, "{policy}: a key without TTL was evicted");
        }
    }
    let (_, kept, oom) = fill_under_policy(t.port, "noeviction");
    assert!(oom && kept, "noeviction must answer -OOM and keep every key");
    let mut c = t.conn();
    assert!(c.info_field("stats", "evicted_keys").unwrap().parse::<u64>().unwrap() > 0);
    if have_redis() {
        let r = Server::redis(&[]);
        let (_, kept, oom) = fill_under_policy(r.port, "noeviction");
        assert!(oom && kept, "redis-server agrees on noeviction");
    }
}

#[test]
fn volatile_policy_without_volatile_keys_answers_oom_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut steps = vec![];
        c.cmd(&["SET", "a", "1"]);
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
        c.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
        for cmd in [&["SET", "b", "2"][..], &["GET", "a"], &["DEL", "a"], &["INCR", "c"], &["MULTI"], &["SET", "x", "y"], &["PING"], &["EXEC"]] {
            steps.push(format!("{:?} -> {}", cmd, c.raw(cmd)));
        }
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        steps.push(format!("dbsize {}", dbsize(&mut c)));
        steps
    });
}

/// Under allkeys-lru, keys not read for two seconds go before the keys just read.
#[test]
fn lru_evicts_the_idle_keys() {
    let t = Server::tandem(&[]);
    let mut c = t.conn();
    let value = "v".repeat(1000);
    for i in 0..300 {
        c.cmd(&["SET", &format!("old:{i}"), &value]);
    }
    std::thread::sleep(Duration::from_millis(2100));
    for i in 0..300 {
        c.cmd(&["SET", &format!("new:{i}"), &value]);
    }
    // About 150 keys' worth over the limit.
    let limit = used_memory(&mut c) - 150 * 1100;
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["PING"]);
    wait_for("eviction", || dbsize(&mut c) < 600);
    let count = |c: &mut Conn, pat: &str| c.cmd(&["KEYS", pat]).array().len();
    let (old, new) = (count(&mut c, "old:*"), count(&mut c, "new:*"));
    assert!(new >= 290, "recently written keys evicted: {new} of 300 left ({old} old)");
    assert!(old < 300);
}

/// Under allkeys-lfu, keys read many times survive keys read once.
#[test]
fn lfu_evicts_the_rarely_used_keys() {
    let t = Server::tandem(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = t.conn();
    let value = "v".repeat(1000);
    for i in 0..300 {
        c.cmd(&["SET", &format!("cold:{i}"), &value]);
        c.cmd(&["SET", &format!("hot:{i}"), &value]);
    }
    for _ in 0..20 {
        let cmds: Vec<Vec<String>> = (0..300).map(|i| vec!["GET".to_string(), format!("hot:{i}")]).collect();
        c.pipeline(&cmds);
    }
    assert!(c.cmd(&["OBJECT", "FREQ", "hot:1"]).int() > 5);
    let limit = used_memory(&mut c) - 150 * 1100;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["PING"]);
    wait_for("eviction", || dbsize(&mut c) < 600);
    let hot = c.cmd(&["KEYS", "hot:*"]).array().len();
    assert!(hot >= 290, "frequently read keys evicted: {hot} of 300 left");
}

/// Evictions reach the replication stream as one DEL per key (outside MULTI), and
/// subscribers as `evicted` events, as redis-server sends them.
#[test]
fn evictions_propagate_as_del_and_notify() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
        let mut sub = Conn::connect(port);
        sub.cmd(&["PSUBSCRIBE", "*"]);
        let mut repl = attach_replica(port);
        for k in ["asdf1", "asdf2", "asdf3"] {
            c.cmd(&["SET", k, "1"]);
        }
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
        c.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
        wait_for("every key evicted", || dbsize(&mut c) == 0);
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        c.cmd(&["SET", "end-marker", "1"]);
        let mut stream = read_stream(&mut repl);
        // The order among the evicted keys is the sampler's.
        stream.sort();
        let mut events: Vec<String> = (0..3).map(|_| sub.read_reply().strings().join(" ")).collect();
        events.sort();
        let mut steps: Vec<String> = stream.iter().map(|c| c.join(" ")).collect();
        steps.extend(events);
        steps.push(c.info_field("stats", "evicted_keys").unwrap_or_default());
        steps
    });
}

/// A replica with replica-ignore-maxmemory (the default) never evicts: its dataset follows
/// the master's, whose evictions it receives as DELs.
#[test]
fn replica_ignores_maxmemory_and_follows_master_evictions() {
    let m = Server::tandem(&[]);
    let r = Server::tandem(&["--replicaof", &format!("127.0.0.1 {}", m.port)]);
    let mut mc = m.conn();
    let mut rc = r.conn();
    rc.wait_info("replication", "master_link_status", Duration::from_secs(10), |v| v == "up");
    rc.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    rc.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
    for i in 0..100 {
        mc.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    wait_synced(&m, &[&r]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(dbsize(&mut rc), 100, "the replica evicted on its own");
    assert_eq!(rc.info_field("stats", "evicted_keys").as_deref(), Some("0"));
    mc.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    mc.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
    wait_for("master evicted", || dbsize(&mut mc) == 0);
    mc.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    mc.cmd(&["SET", "after", "1"]);
    wait_synced(&m, &[&r]);
    assert_eq!(dbsize(&mut rc), 1, "the master's evictions reached the replica");
}

/// `maxmemory-clients`: a connection whose buffers push the clients' total over the limit is
/// closed and counted in `evicted_clients`; a CLIENT NO-EVICT one and the others stay, as in
/// redis-server.
#[test]
fn client_eviction_closes_the_connection_holding_most() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out = vec![c.raw(&["CONFIG", "SET", "maxmemory-clients", "1mb"])];
        let mut protect = Conn::connect(port);
        out.push(protect.raw(&["CLIENT", "NO-EVICT", "on"]));
        out.push(c.raw(&["CLIENT", "NO-EVICT", "maybe"]));
        let mut victim = Conn::connect(port);
        // Commands left unfinished: their bytes wait in the query buffers.
        protect.send(&[&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n"[..], &[b'x'; 10_000]].concat());
        // The server may close the victim before it has sent it all.
        let _ = std::io::Write::write_all(&mut victim.w, &[&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n"[..], &vec![b'x'; 1_500_000]].concat());
        out.push(victim.is_closed(Duration::from_secs(3)).to_string());
        out.push(c.raw(&["PING"]));
        out.push(c.info_field("stats", "evicted_clients").unwrap_or_default());
        out.push(protect.is_closed(Duration::from_millis(300)).to_string());
        out.push(c.raw(&["CONFIG", "SET", "maxmemory-clients", "0"]));
        out
    });
}
