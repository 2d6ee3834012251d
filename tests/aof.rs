//! The append-only file (Redis 7.0's multi-part AOF), against real redis-server: each loads
//! the other's AOF directory (RDB-preamble and command bases, incr files) to the same
//! `DEBUG DIGEST`, `redis-check-aof` accepts ours, CONFIG SET appendonly turns it on and off
//! without losing a write, and with `appendfsync always` no acknowledged write is lost to
//! kill -9 (`TANDEM_AOF_KILLS` sets how many kills; 200 for the long run).

mod support;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const AOF: &[&str] = &["--appendonly", "yes", "--enable-debug-command", "yes"];

/// Writes every type (with a stream holding groups, pending entries and an idle consumer,
/// and keys with TTLs) in two databases.
fn write_dataset(c: &mut Conn, tag: &str) {
    let k = |n: &str| format!("{tag}:{n}");
    for i in 0..50 {
        c.cmd(&["SET", &k(&format!("s{i}")), &format!("v{i}")]);
    }
    c.cmd(&["SET", &k("int"), "12345"]);
    c.cmd(&["INCRBYFLOAT", &k("float"), "1.5"]);
    for i in 0..150 {
        c.cmd(&["RPUSH", &k("list"), &format!("e{i}")]);
        c.cmd(&["SADD", &k("set"), &format!("m{i}")]);
        c.cmd(&["ZADD", &k("zset"), &format!("{}.25", i), &format!("z{i}")]);
        c.cmd(&["HSET", &k("hash"), &format!("f{i}"), &format!("{i}")]);
    }
    c.cmd(&["SADD", &k("intset"), "1", "2", "3"]);
    c.cmd(&["ZADD", &k("small"), "-inf", "a", "3.141592653589793", "b"]);
    for i in 0..20 {
        c.cmd(&["XADD", &k("stream"), "*", "f", &i.to_string()]);
    }
    c.cmd(&["XGROUP", "CREATE", &k("stream"), "g1", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", &k("stream"), ">"]);
    c.cmd(&["XGROUP", "CREATECONSUMER", &k("stream"), "g1", "bob"]);
    c.cmd(&["XDEL", &k("stream"), "0-1"]);
    c.cmd(&["XADD", &k("empty"), "MAXLEN", "0", "*", "a", "b"]);
    c.cmd(&["SET", &k("ttl"), "x", "EX", "1000"]);
    c.cmd(&["HSET", &k("hash-ttl"), "a", "b"]);
    c.cmd(&["PEXPIRE", &k("hash-ttl"), "5000000"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", &k("db3"), "three"]);
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["FUNCTION", "LOAD", "REPLACE", &format!("#!lua name=lib_{tag}\nredis.register_function('f_{tag}', function() return 1 end)")]);
}

/// Waits until the server loaded its AOF (it answers -LOADING meanwhile, as Redis).
fn loaded(s: Server) -> Server {
    s.wait_info("persistence", "loading", Duration::from_secs(20), |v| v == "0");
    s
}

fn wait_rewrite_done(s: &Server) {
    s.wait_info("persistence", "aof_rewrite_in_progress", Duration::from_secs(20), |v| v == "0");
    s.wait_info("persistence", "aof_rewrite_scheduled", Duration::from_secs(20), |v| v == "0");
}

/// The function libraries loaded, sorted (FUNCTION LIST's order is a hash table's).
fn functions(c: &mut Conn) -> Vec<String> {
    let list = c.raw(&["FUNCTION", "LIST"]);
    let mut libs: Vec<String> = list.split("\r\n").filter(|l| l.starts_with("lib_")).map(String::from).collect();
    libs.sort();
    libs
}

/// One server writes its AOF (base from a rewrite with `preamble`, then an incr file), is
/// killed, and `reader` loads the directory: the same digest and functions.
fn handover(writer: Kind, reader: Kind, preamble: &str) {
    let w = loaded(Server::launch(writer).args(AOF).args(&["--aof-use-rdb-preamble", preamble]).start());
    let mut c = w.conn();
    write_dataset(&mut c, "before");
    assert_eq!(c.raw(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_rewrite_done(&w);
    write_dataset(&mut c, "after");
    c.cmd(&["DEL", "before:s1"]);
    c.cmd(&["FLUSHDB"]);
    write_dataset(&mut c, "again");
    let digest = w.digest();
    let funcs = functions(&mut c);
    let dir = w.crash();
    let manifest = dir.path().join("appendonlydir/appendonly.aof.manifest");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(&format!(".base.{}", if preamble == "yes" { "rdb" } else { "aof" })), "{}", text);
    if have(&["/usr/bin/redis-check-aof"]) {
        let out = std::process::Command::new("/usr/bin/redis-check-aof").arg(&manifest).output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "redis-check-aof refused {}'s AOF:\n{}", writer.label(), said);
        assert!(said.contains("is valid"), "{}", said);
    }
    let r = loaded(Server::launch(reader).dir(dir).args(AOF).start());
    assert_eq!(r.digest(), digest, "{} loaded {}'s AOF (preamble {})", reader.label(), writer.label(), preamble);
    assert_eq!(functions(&mut r.conn()), funcs);
}

#[test]
fn redis_loads_tandems_aof() {
    if !have_redis() {
        return;
    }
    handover(Kind::Tandem, Kind::Redis, "yes");
    handover(Kind::Tandem, Kind::Redis, "no");
}

#[test]
fn tandem_loads_redis_aof() {
    if !have_redis() {
        return;
    }
    handover(Kind::Redis, Kind::Tandem, "yes");
    handover(Kind::Redis, Kind::Tandem, "no");
}

/// The AOF files a server keeps after the same steps: names and manifest as Redis's.
fn files_after_steps(kind: Kind) -> Vec<String> {
    let s = Server::launch(kind).args(&["--enable-debug-command", "yes"]).start();
    let mut c = s.conn();
    let mut out = vec![];
    c.cmd(&["SET", "a", "1"]);
    out.push(format!("enable: {}", c.raw(&["CONFIG", "SET", "appendonly", "yes"])));
    s.wait_info("persistence", "aof_enabled", Duration::from_secs(10), |v| v == "1");
    wait_rewrite_done(&s);
    c.cmd(&["SET", "b", "2"]);
    out.push(format!("bgrewriteaof: {}", c.raw(&["BGREWRITEAOF"])));
    wait_rewrite_done(&s);
    c.cmd(&["SET", "c", "3"]);
    let manifest = std::fs::read_to_string(s.dir().join("appendonlydir/appendonly.aof.manifest")).unwrap();
    out.push(manifest);
    let mut files: Vec<String> = std::fs::read_dir(s.dir().join("appendonlydir")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    out.push(files.join(" "));
    let info = c.info("persistence");
    for f in ["aof_enabled", "aof_rewrite_in_progress", "aof_rewrites", "aof_last_bgrewrite_status", "aof_rewrites_consecutive_failures", "aof_last_write_status", "aof_pending_rewrite"] {
        out.push(format!("{}={}", f, info.iter().find(|(k, _)| k == f).map(|(_, v)| v.as_str()).unwrap_or("<missing>")));
    }
    out.push(format!("disable: {}", c.raw(&["CONFIG", "SET", "appendonly", "no"])));
    out.push(format!("rewrite while off: {}", c.raw(&["BGREWRITEAOF"])));
    wait_rewrite_done(&s);
    let manifest = std::fs::read_to_string(s.dir().join("appendonlydir/appendonly.aof.manifest")).unwrap();
    out.push(manifest);
    out.push(format!("loadaof: {}", c.raw(&["DEBUG", "LOADAOF"])));
    out.push(c.raw(&["MGET", "a", "b", "c"]));
    out
}

#[test]
fn config_set_appendonly_and_rewrites_keep_files_as_redis() {
    if !have_redis() {
        return;
    }
    assert_eq!(files_after_steps(Kind::Tandem), files_after_steps(Kind::Redis));
}

/// Clients write with `appendfsync always` while the server is killed at random moments:
/// after each restart every acknowledged write is there.
#[test]
fn acknowledged_writes_survive_kill_9_with_appendfsync_always() {
    let kills: usize = std::env::var("TANDEM_AOF_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut s = loaded(Server::launch(Kind::Tandem).args(&args).start());
    let mut acked_total = 0i64;
    for round in 0..kills {
        let port = s.port;
        let acked = Arc::new(AtomicI64::new(-1));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, st) = (acked.clone(), stop.clone());
        let start = acked_total;
        let writer = std::thread::spawn(move || {
            let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return };
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut i = start;
            while !st.load(Ordering::Relaxed) {
                use std::io::{Read, Write};
                let set = format!("*3\r\n$3\r\nSET\r\n${}\r\nk:{}\r\n$1\r\nv\r\n", format!("k:{}", i).len(), i);
                if c.write_all(set.as_bytes()).is_err() {
                    return;
                }
                let mut buf = [0u8; 5];
                match c.read_exact(&mut buf) {
                    Ok(()) if &buf == b"+OK\r\n" => {
                        a.store(i, Ordering::Relaxed);
                        i += 1;
                    }
                    _ => return,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(20 + rand::random::<u64>() % 80));
        let dir = s.crash();
        stop.store(true, Ordering::Relaxed);
        let _ = writer.join();
        let last = acked.load(Ordering::Relaxed);
        s = loaded(Server::launch(Kind::Tandem).dir(dir).args(&args).start());
        let mut c = s.conn();
        if last >= 0 {
            // Every key up to the last acknowledged one is there.
            let n: i64 = c.cmd(&["DBSIZE"]).int();
            assert!(n > last, "round {}: {} keys after restart, last acknowledged k:{}\n{}", round, n, last, s.log_text());
            assert_eq!(c.raw(&["EXISTS", &format!("k:{}", last)]), ":1\r\n", "round {}", round);
            acked_total = last + 1;
        }
        // Writes continue from what the server has.
        acked_total = acked_total.max(c.cmd(&["DBSIZE"]).int());
    }
}

/// A truncated last incr file: refused with Redis's lines, loaded with
/// `aof-load-truncated yes` (the default) after cutting the partial command.
#[test]
fn a_truncated_aof_is_cut_and_loaded_as_redis() {
    let s = loaded(Server::launch(Kind::Tandem).args(&["--appendonly", "yes"]).start());
    let mut c = s.conn();
    for i in 0..10 {
        assert_eq!(c.raw(&["SET", &format!("k{i}"), "v"]), "+OK\r\n");
    }
    let dir = s.crash();
    let incr = dir.path().join("appendonlydir/appendonly.aof.1.incr.aof");
    let mut bytes = std::fs::read(&incr).unwrap();
    let whole = bytes.len() as u64;
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$2\r\nk1");
    std::fs::write(&incr, &bytes).unwrap();
    let out = std::process::Command::new(TANDEM)
        .args(["--port", &free_port().to_string(), "--save", "", "--appendonly", "yes", "--aof-load-truncated", "no", "--dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{}", log);
    assert!(log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>."), "{}", log);
    let s = loaded(Server::launch(Kind::Tandem).dir(dir).args(&["--appendonly", "yes"]).start());
    assert_eq!(s.conn().cmd(&["DBSIZE"]).int(), 10);
    let log = s.log_text();
    assert!(log.contains("!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"), "{}", log);
    assert!(log.contains(&format!("!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {} !!!", whole)), "{}", log);
    assert!(log.contains("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"), "{}", log);
    assert_eq!(std::fs::metadata(s.dir().join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap().len(), whole);
}

/// A replica with `appendonly yes` keeps its own AOF: the full sync's dataset (the AOF is
/// rewritten from it) and the commands of the master's stream after it. Restarted alone, it
/// holds the master's dataset.
#[test]
fn a_replica_keeps_its_own_aof_of_the_applied_stream() {
    if !have_redis() {
        return;
    }
    let master = Server::repl_redis("master", &["--enable-debug-command", "yes"]);
    let mut m = master.conn();
    write_dataset(&mut m, "synced");
    let replica = loaded(Server::launch(Kind::Tandem).name("replica").repl().args(AOF).start());
    replica.replicaof(&master);
    replica.wait_link_up();
    wait_rewrite_done(&replica);
    write_dataset(&mut m, "streamed");
    m.cmd(&["DEL", "synced:s3"]);
    m.cmd(&["EXPIRE", "synced:list", "100000"]);
    wait_synced(&master, &[&replica]);
    let digest = master.digest();
    assert_eq!(replica.digest(), digest);
    let dir = replica.crash();
    let again = loaded(Server::launch(Kind::Tandem).name("replica-again").dir(dir).args(AOF).start());
    assert_eq!(again.digest(), digest, "{}", again.log_text());
}

/// Starts tandem under a soft file-size limit (`prlimit --fsize`, which the test can lift
/// later without privileges): its AOF writes fail with EFBIG once the incr file reaches the
/// limit. Returns the process and its port.
fn tandem_with_fsize_limit(dir: &std::path::Path, limit: u64, policy: &str) -> (std::process::Child, u16) {
    let port = free_port();
    let log = std::fs::File::create(dir.join("tandem.log")).expect("log file");
    let child = std::process::Command::new("/usr/bin/prlimit")
        .arg(format!("--fsize={}:unlimited", limit))
        .arg(TANDEM)
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "yes", "--appendfsync", policy])
        .arg("--dir")
        .arg(dir)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("spawn prlimit tandem");
    wait_for("tandem to answer", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    (child, port)
}

/// When the AOF cannot be written (here the process's file-size limit), Redis's behaviour:
/// - `everysec`: writes are refused with `-MISCONF Errors writing to the AOF file: ...` and
///   INFO shows `aof_last_write_status:err`; reads go on. Once the file can be written again
///   the error clears ("AOF write error looks solved"), and after a restart every
///   acknowledged write is there.
/// - `always`: the server exits ("Can't recover from AOF write error ..."), without replying
///   to the write that failed; restarted, it has every acknowledged write.
#[test]
fn aof_write_errors_as_redis() {
    if !have(&["/usr/bin/prlimit"]) {
        return;
    }
    let value = "v".repeat(1000);
    for policy in ["everysec", "always"] {
        let dir = TempDir::new("aof-write-error");
        let (mut child, port) = tandem_with_fsize_limit(dir.path(), 128 * 1024, policy);
        let mut c = Conn::connect(port);
        let mut client = redis::Client::open(format!("redis://127.0.0.1:{}/", port)).and_then(|cl| cl.get_connection()).expect("connect");
        let mut acked = 0;
        let mut refusal = String::new();
        for i in 0..1000 {
            match redis::cmd("SET").arg(format!("k{}", i)).arg(&value).query::<String>(&mut client) {
                Ok(_) => acked += 1,
                Err(e) => {
                    refusal = format!("-{} {}", e.code().unwrap_or("closed"), e.detail().unwrap_or(""));
                    break;
                }
            }
        }
        assert!(acked > 50 && acked < 1000, "{}: {} writes acknowledged", policy, acked);
        let log = || std::fs::read_to_string(dir.path().join("tandem.log")).unwrap_or_default();
        if policy == "everysec" {
            assert!(refusal.starts_with("-MISCONF Errors writing to the AOF file: File too large"), "{}", refusal);
            assert_eq!(c.info_field("persistence", "aof_last_write_status").as_deref(), Some("err"));
            assert_eq!(c.cmd(&["GET", "k0"]).text(), value, "reads go on");
            // The limit goes; the cron writes the pending buffer and the error clears.
            let pid = child.id().to_string();
            let status = std::process::Command::new("/usr/bin/prlimit").args(["--pid", &pid, "--fsize=unlimited:unlimited"]).status().expect("prlimit --pid");
            assert!(status.success());
            c.wait_info("persistence", "aof_last_write_status", WAIT, |v| v == "ok");
            assert!(log().contains("AOF write error looks solved, Redis can write again."));
            assert_eq!(c.raw(&["SET", "after", "1"]), "+OK\r\n");
            acked += 1;
            c.send_cmd(&["SHUTDOWN", "NOSAVE"]);
        } else {
            assert!(!refusal.contains("MISCONF"), "always: the connection closes without a reply, got {}", refusal);
            wait_for("the server to exit", || matches!(child.try_wait(), Ok(Some(_))));
            assert!(log().contains("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."), "{}", log());
        }
        let _ = child.wait();
        // Restarted without the limit: every acknowledged write is in the AOF.
        let s = Server::launch(Kind::Tandem).name("aof-write-error").args(&["--appendonly", "yes"]).dir(dir).start();
        let mut c = s.conn();
        c.wait_info("persistence", "loading", WAIT, |v| v == "0");
        let keys = c.cmd(&["DBSIZE"]).int();
        assert!(keys >= acked as i64, "{}: {} keys after restart, {} acknowledged", policy, keys, acked);
        for i in 0..acked.min(1000) {
            let k = format!("k{}", i);
            if policy == "everysec" && i + 1 == acked {
                break; // the last acknowledged write of everysec is SET after
            }
            assert_eq!(c.cmd(&["EXISTS", &k]).int(), 1, "{}: {} lost", policy, k);
        }
    }
}
