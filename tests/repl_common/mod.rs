//! Helpers for the replication integration tests: start the real tandem binary and real
//! redis-server on free ports, talk to them, poll with deadlines, compare datasets.
//!
//! (Named `repl_common` so it does not clash with the general `tests/common`.)
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";
pub const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

/// Longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tandem,
    Redis,
}

/// True when real redis-server is installed; otherwise prints a note (the caller returns).
pub fn have_redis(test: &str) -> bool {
    let ok = Path::new(REDIS_SERVER).exists();
    if !ok {
        eprintln!("note: {} skipped: {} is not installed", test, REDIS_SERVER);
    }
    ok
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "tandem-repltest-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process (killed on drop).
pub struct Srv {
    pub kind: Kind,
    pub port: u16,
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
    pub dir: Option<TempDir>,
}

impl Srv {
    /// Starts tandem with the usual test options plus `extra`.
    pub fn tandem(name: &str, extra: &[&str]) -> Srv {
        Srv::start(Kind::Tandem, name, extra, None, None)
    }

    pub fn redis(name: &str, extra: &[&str]) -> Srv {
        Srv::start(Kind::Redis, name, extra, None, None)
    }

    /// Starts a server; `port`/`dir` reuse a previous instance's (restart). A server that
    /// does not come up on a picked port (lost the race for it) is retried on another one.
    pub fn start(kind: Kind, name: &str, extra: &[&str], port: Option<u16>, dir: Option<TempDir>) -> Srv {
        let mut dir = Some(dir.unwrap_or_else(|| TempDir::new(name)));
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = port.unwrap_or_else(free_port);
            let d = dir.take().unwrap();
            let log = d.path().join(format!("{}-{}.log", name, port));
            let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
            let err = out.try_clone().unwrap();
            let bin = match kind {
                Kind::Tandem => TANDEM,
                Kind::Redis => REDIS_SERVER,
            };
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--repl-diskless-sync-delay".into(),
                "0".into(),
                "--dir".into(),
                d.path().to_string_lossy().into_owned(),
                "--logfile".into(),
                "".into(),
                "--enable-debug-command".into(),
                "yes".into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let child = Command::new(bin)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {}", bin, e));
            let mut srv = Srv { kind, port, name: name.to_string(), child, log, dir: Some(d) };
            match srv.wait_ready() {
                Ok(()) => return srv,
                Err(e) => {
                    last_err = format!("{} (log: {})", e, srv.log_text());
                    let _ = srv.child.kill();
                    let _ = srv.child.wait();
                    dir = srv.dir.take();
                }
            }
        }
        panic!("{} did not start: {}", name, last_err)
    }

    /// Kills the process (SIGKILL) and starts it again on the same port and dir.
    pub fn restart(mut self, extra: &[&str]) -> Srv {
        let (kind, name, port) = (self.kind, self.name.clone(), self.port);
        let dir = self.dir.take();
        drop(self);
        Srv::start(kind, &name, extra, Some(port), dir)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(format!("exited with {}", st));
            }
            if let Ok(mut c) = self.try_conn() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err("not answering PING after 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        client.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// A new blocking connection (10 s read timeout).
    pub fn conn(&self) -> redis::Connection {
        let c = self.try_conn().unwrap_or_else(|e| panic!("connect to {} ({}): {}", self.name, self.port, e));
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.set_write_timeout(Some(WAIT)).unwrap();
        c
    }

    pub fn dir_path(&self) -> &Path {
        self.dir.as_ref().expect("dir").path()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGSTOP, then waits until every thread of the process is actually stopped (delivery
    /// is asynchronous: a busy thread may run on for a moment).
    pub fn stop(&self) {
        signal(self.pid(), "STOP");
        let pid = self.pid();
        wait_for(&format!("{} (pid {}) stopped", self.name, pid), || all_threads_stopped(pid));
    }

    pub fn cont(&self) {
        signal(self.pid(), "CONT");
    }

    pub fn log_text(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        wait_for(&format!("{} logs {:?}", self.name, needle), || self.log_text().contains(needle));
    }

    pub fn info(&self, section: &str) -> HashMap<String, String> {
        info(&mut self.conn(), section)
    }

    pub fn info_field(&self, section: &str, field: &str) -> String {
        self.info(section).get(field).cloned().unwrap_or_else(|| panic!("{}: no INFO field {}", self.name, field))
    }

    pub fn info_i64(&self, section: &str, field: &str) -> i64 {
        let v = self.info_field(section, field);
        v.parse().unwrap_or_else(|_| panic!("{}: INFO {} = {:?} is not an integer", self.name, field, v))
    }

    pub fn offset(&self) -> i64 {
        self.info_i64("replication", "master_repl_offset")
    }

    pub fn replid(&self) -> String {
        self.info_field("replication", "master_replid")
    }

    pub fn digest(&self) -> String {
        redis::cmd("DEBUG").arg("DIGEST").query::<String>(&mut self.conn()).unwrap_or_else(|e| panic!("{}: DEBUG DIGEST: {}", self.name, e))
    }

    /// REPLICAOF `master`.
    pub fn replicaof(&self, master: &Srv) {
        let r: String = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(master.port).query(&mut self.conn()).unwrap();
        assert!(r.starts_with("OK"), "REPLICAOF answered {}", r);
    }

    pub fn replicaof_port(&self, port: u16) {
        let r: String = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut self.conn()).unwrap();
        assert!(r.starts_with("OK"), "REPLICAOF answered {}", r);
    }

    pub fn replicaof_no_one(&self) {
        let r: String = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut self.conn()).unwrap();
        assert_eq!(r, "OK");
    }

    /// Waits until this replica's link to its master is up.
    pub fn wait_link_up(&self) {
        wait_for(&format!("{} master_link_status:up", self.name), || {
            self.info("replication").get("master_link_status").map(|s| s == "up").unwrap_or(false)
        });
    }

    /// The `slaveN:` lines of INFO replication, parsed.
    pub fn replicas(&self) -> Vec<HashMap<String, String>> {
        let info = self.info("replication");
        let mut v: Vec<(usize, HashMap<String, String>)> = info
            .iter()
            .filter_map(|(k, val)| {
                let n: usize = k.strip_prefix("slave")?.parse().ok()?;
                let m = val.split(',').filter_map(|kv| kv.split_once('=')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
                Some((n, m))
            })
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("REPLTEST_SHOW_LOGS").is_some() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("----- last log lines of {} (port {}) -----", self.name, self.port);
            for l in tail.iter().rev() {
                eprintln!("{}", l);
            }
        }
    }
}

/// True when every thread of `pid` is in state T (stopped) per /proc.
pub fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", pid)) else { return false };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat"))
            .ok()
            .and_then(|st| st.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T') || rest.starts_with('t')))
            .unwrap_or(true)
    })
}

pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill").args([&format!("-{}", sig), &pid.to_string()]).status().expect("run kill");
    assert!(st.success(), "kill -{} {} failed", sig, pid);
}

/// SIGCONTs a process when dropped (so a failing test never leaves one stopped).
pub struct Resume(pub u32);
impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0.to_string()]).stderr(Stdio::null()).status();
    }
}

/// Polls `f` every 20 ms for at most 10 s; panics with `what` on timeout.
pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    wait_for_within(WAIT, what, &mut f)
}

pub fn wait_for_within(limit: Duration, what: &str, f: &mut dyn FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {:?} waiting for: {}", limit, what);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn info(con: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Waits until every replica's link is up and its master_repl_offset equals the master's
/// (the master is read again after the replicas, so a ping in between only makes the poll
/// retry); returns that offset.
pub fn wait_synced(master: &Srv, replicas: &[&Srv]) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = master.offset();
        let rs: Vec<i64> = replicas.iter().map(|r| r.offset()).collect();
        let up = replicas.iter().all(|r| r.info("replication").get("master_link_status").map(|s| s == "up").unwrap_or(false));
        if up && rs.iter().all(|&r| r == m) && master.offset() == m {
            return m;
        }
        if Instant::now() > deadline {
            panic!(
                "replicas did not reach the master's offset: {} at {}, {}",
                master.name,
                m,
                replicas.iter().zip(&rs).map(|(r, o)| format!("{} at {}", r.name, o)).collect::<Vec<_>>().join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the master's INFO shows every replica online with an ACK equal to its offset.
pub fn wait_acked(master: &Srv, n: usize) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = master.offset();
        let reps = master.replicas();
        let ok = reps.len() == n
            && reps.iter().all(|r| r.get("state").map(|s| s == "online").unwrap_or(false) && r.get("offset").map(|o| o == &m.to_string()).unwrap_or(false));
        if ok && master.offset() == m {
            return m;
        }
        if Instant::now() > deadline {
            panic!("{}: replicas did not ACK offset {}: {:?}", master.name, m, reps);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One key as seen through commands: (type, value rendering, has a TTL).
pub type KeyView = (String, String, bool);

/// Every key of dbs 0..ndb, key by key.
pub fn dataset(srv: &Srv, ndb: usize) -> BTreeMap<(usize, Vec<u8>), KeyView> {
    let mut c = srv.conn();
    let mut out = BTreeMap::new();
    for db in 0..ndb {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut c).unwrap();
            let v = match t.as_str() {
                "string" => format!("{:?}", redis::cmd("GET").arg(&k).query::<Option<Vec<u8>>>(&mut c).unwrap()),
                "list" => format!("{:?}", redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query::<Vec<Vec<u8>>>(&mut c).unwrap()),
                "set" => {
                    let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(&mut c).unwrap();
                    m.sort();
                    format!("{:?}", m)
                }
                "hash" => {
                    let mut m: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(&k).query(&mut c).unwrap();
                    m.sort();
                    format!("{:?}", m)
                }
                "zset" => format!("{:?}", redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).arg("WITHSCORES").query::<Vec<Vec<u8>>>(&mut c).unwrap()),
                "none" => continue, // expired between KEYS and TYPE
                other => other.to_string(),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut c).unwrap();
            out.insert((db, k), (t, v, pttl >= 0));
        }
    }
    out
}

/// Asserts that two servers hold the same data (key by key and DEBUG DIGEST).
pub fn assert_same_data(a: &Srv, b: &Srv, ndb: usize) {
    let da = dataset(a, ndb);
    let db = dataset(b, ndb);
    if da != db {
        let only_a: Vec<_> = da.iter().filter(|(k, v)| db.get(*k) != Some(v)).take(10).collect();
        let only_b: Vec<_> = db.iter().filter(|(k, v)| da.get(*k) != Some(v)).take(10).collect();
        panic!("{} and {} differ ({} vs {} keys); {} has {:?}; {} has {:?}", a.name, b.name, da.len(), db.len(), a.name, only_a, b.name, only_b);
    }
    assert_eq!(a.digest(), b.digest(), "DEBUG DIGEST of {} and {} differ (keys are equal)", a.name, b.name);
}

// ----- raw sockets -----

/// A raw RESP connection.
pub struct Raw {
    pub s: TcpStream,
    pub buf: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("raw connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        Raw { s, buf: Vec::new() }
    }

    pub fn send(&mut self, args: &[&str]) {
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
        }
        self.s.write_all(&b).unwrap();
    }

    fn fill(&mut self) {
        let mut tmp = [0u8; 65536];
        let n = self.s.read(&mut tmp).expect("raw read (timeout?)");
        assert!(n > 0, "connection closed by peer; buffered: {:?}", String::from_utf8_lossy(&self.buf));
        self.buf.extend_from_slice(&tmp[..n]);
    }

    /// One line without its CRLF.
    pub fn line(&mut self) -> String {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = self.buf.drain(..p + 2).take(p).collect();
                return String::from_utf8_lossy(&l).into_owned();
            }
            self.fill();
        }
    }

    /// Skips the bare `\n` keepalives a master may send before a reply.
    pub fn skip_newlines(&mut self) {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.remove(0);
            }
            if !self.buf.is_empty() {
                return;
            }
            self.fill();
        }
    }

    pub fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// Reads until `mark` ends the buffer; returns what came before it.
    pub fn until_suffix(&mut self, mark: &[u8]) -> Vec<u8> {
        loop {
            if let Some(p) = self.buf.windows(mark.len()).position(|w| w == mark) {
                let data: Vec<u8> = self.buf.drain(..p).collect();
                self.buf.drain(..mark.len());
                return data;
            }
            self.fill();
        }
    }

    pub fn cmd(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.line()
    }
}

pub fn ms_since(t: Instant) -> u128 {
    t.elapsed().as_millis()
}

/// Reads `+FULLRESYNC <replid> <offset>` and the RDB after it (either framing): (replid,
/// offset, rdb, eof-framed).
pub fn raw_fullsync(raw: &mut Raw) -> (String, i64, Vec<u8>, bool) {
    raw.skip_newlines();
    let line = raw.line();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 3, "bad FULLRESYNC line {:?}", line);
    assert_eq!(parts[0], "+FULLRESYNC", "{:?}", line);
    assert!(parts[1].len() == 40 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()), "bad replid in {:?}", line);
    let off: i64 = parts[2].parse().unwrap_or_else(|_| panic!("bad offset in {:?}", line));
    raw.skip_newlines();
    let header = raw.line();
    if let Some(mark) = header.strip_prefix("$EOF:") {
        assert_eq!(mark.len(), 40, "EOF mark {:?}", mark);
        let rdb = raw.until_suffix(mark.as_bytes());
        (parts[1].to_string(), off, rdb, true)
    } else {
        let len: usize = header.strip_prefix('$').and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("bad bulk header {:?}", header));
        (parts[1].to_string(), off, raw.exact(len), false)
    }
}

/// The RDB is v10 with EOF + CRC, and redis-check-rdb (when installed) accepts it.
pub fn check_rdb(rdb: &[u8], dir: &std::path::Path, name: &str) {
    assert!(rdb.starts_with(b"REDIS0010"), "RDB starts with {:?}", String::from_utf8_lossy(&rdb[..rdb.len().min(9)]));
    assert!(rdb.len() > 18 && rdb[rdb.len() - 9] == 0xFF, "RDB does not end with EOF opcode + CRC");
    if std::path::Path::new(REDIS_CHECK_RDB).exists() {
        let f = dir.join(name);
        std::fs::write(&f, rdb).unwrap();
        let out = std::process::Command::new(REDIS_CHECK_RDB).arg(&f).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb:\n{}", text);
    }
}
