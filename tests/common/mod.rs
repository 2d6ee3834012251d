//! Shared helpers for the integration tests: start the real `tandem` binary (or a real
//! `redis-server`) on a free port in a temporary directory, talk raw RESP to it, and kill it
//! when the test ends.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// How long a reply may take before a test fails instead of hanging.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "tandem-test-{}-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            nanos
        ));
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server process (tandem or redis-server) killed when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
    pub log_path: PathBuf,
    pub program: String,
}

/// Which binary to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tandem,
    Redis,
}

impl Kind {
    pub fn program(self) -> &'static str {
        match self {
            Kind::Tandem => TANDEM,
            Kind::Redis => REDIS_SERVER,
        }
    }
}

/// Whether a real redis-server is installed (tests comparing with it skip otherwise).
pub fn have_redis() -> bool {
    Path::new(REDIS_SERVER).exists()
}

impl Server {
    /// Starts tandem with `--port P --save "" --dir <tmp>` plus `extra`.
    pub fn tandem(extra: &[&str]) -> Server {
        Server::start(Kind::Tandem, None, extra)
    }

    /// Starts a real redis-server the same way.
    pub fn redis(extra: &[&str]) -> Server {
        Server::start(Kind::Redis, None, extra)
    }

    /// Starts `kind`; `config` is an optional config file given as the first argument.
    pub fn start(kind: Kind, config: Option<&Path>, extra: &[&str]) -> Server {
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let dir = TempDir::new(match kind {
                Kind::Tandem => "tandem",
                Kind::Redis => "redis",
            });
            let port = free_port();
            let log_path = dir.path().join("stdout.log");
            let mut cmd = Command::new(kind.program());
            if let Some(c) = config {
                cmd.arg(c);
            }
            cmd.args(["--port", &port.to_string(), "--save", "", "--dir"]).arg(dir.path());
            cmd.args(extra);
            let child = spawn_logged(&mut cmd, &log_path);
            let mut s = Server { child: Some(child), port, dir, log_path, program: kind.program().into() };
            match s.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return s,
                Err(log) => {
                    last_log = log;
                    // A port race with another test: try another port.
                    if last_log.contains("ddress already in use") {
                        continue;
                    }
                    panic!("{} did not start:\n{}", kind.program(), last_log);
                }
            }
        }
        panic!("server did not start after 3 attempts:\n{}", last_log);
    }

    /// Waits until the server answers PING (Err(log) if the process exited or timed out).
    pub fn wait_ready(&mut self, max: Duration) -> Result<(), String> {
        let deadline = Instant::now() + max;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("exited with {}:\n{}", status, self.log()));
                }
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 64];
                    if let Ok(n) = s.read(&mut buf) {
                        // -NOAUTH and -LOADING also prove the server is up.
                        if n > 0 && (buf[0] == b'+' || buf[0] == b'-') {
                            return Ok(());
                        }
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for PING:\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server already reaped").id()
    }

    /// A raw RESP connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// A `redis` crate connection.
    pub fn redis_client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap().get_connection().unwrap()
    }

    /// What the server has logged (stdout and stderr).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends a signal with kill(1).
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill").arg(format!("-{}", sig)).arg(self.pid().to_string()).status().unwrap();
        assert!(st.success(), "kill -{} failed", sig);
    }

    /// Waits for the process to exit; returns its exit code (None if killed by a signal).
    pub fn wait_exit(&mut self, max: Duration) -> Option<i32> {
        let deadline = Instant::now() + max;
        let child = self.child.as_mut().expect("server already reaped");
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return st.code();
            }
            if Instant::now() > deadline {
                panic!("server did not exit within {:?}; log:\n{}", max, self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls `INFO <section>` on a new connection (which counts in connected_clients) until
    /// `field` satisfies `pred` (or panics after `max`).
    pub fn wait_info(&self, section: &str, field: &str, max: Duration, pred: impl Fn(&str) -> bool) -> String {
        self.conn().wait_info(section, field, max, pred)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Spawns `cmd` with stdout and stderr going to `log`.
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Child {
    let out = fs::File::create(log).expect("create log file");
    let err = out.try_clone().unwrap();
    cmd.stdin(Stdio::null()).stdout(Stdio::from(out)).stderr(Stdio::from(err)).spawn().expect("spawn server")
}

/// Encodes a command as a RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Encodes a command given as strings.
pub fn encode_str(args: &[&str]) -> Vec<u8> {
    let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    encode(&v)
}

/// A parsed reply, for tests that need structure (SCAN, CLIENT LIST, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
    Double(String),
    Bool(bool),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Verbatim(String, Vec<u8>),
}

impl Reply {
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) | Reply::Double(s) => s.clone(),
            Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Int(i) => i.to_string(),
            other => panic!("not a text reply: {:?}", other),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("not an integer reply: {:?}", other),
        }
    }
    pub fn array(&self) -> &[Reply] {
        match self {
            Reply::Array(v) | Reply::Set(v) => v,
            other => panic!("not an array reply: {:?}", other),
        }
    }
    /// Array elements as strings.
    pub fn strings(&self) -> Vec<String> {
        self.array().iter().map(|r| r.text()).collect()
    }
}

/// A raw RESP connection: bytes in, exact reply bytes out.
pub struct Conn {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Conn { r: BufReader::new(s.try_clone().unwrap()), w: s }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("write to server");
    }

    /// Sends a command and returns the raw bytes of its reply.
    pub fn raw(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(&encode_str(args));
        self.read_raw()
    }

    /// Sends a command and returns its reply as a (lossy) string, for assert_eq! readability.
    pub fn raw_s(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.raw(args)).into_owned()
    }

    /// Sends raw bytes and returns the raw reply as a string.
    pub fn send_s(&mut self, bytes: &[u8]) -> String {
        self.send(bytes);
        String::from_utf8_lossy(&self.read_raw()).into_owned()
    }

    /// Sends a command and parses its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        self.send(&encode_str(args));
        self.read_reply()
    }

    /// Binary-safe form of [`cmd`].
    pub fn cmd_b(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Reads the raw bytes of exactly one reply.
    pub fn read_raw(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        read_one(&mut self.r, &mut out);
        out
    }

    /// Reads and parses one reply.
    pub fn read_reply(&mut self) -> Reply {
        let raw = self.read_raw();
        parse(&raw).0
    }

    /// `INFO <section>` as (field, value) lines.
    pub fn info(&mut self, section: &str) -> Vec<(String, String)> {
        let text = self.cmd(&["INFO", section]).text();
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.to_string(), v.trim_end().to_string())))
            .collect()
    }

    pub fn info_field(&mut self, section: &str, field: &str) -> Option<String> {
        self.info(section).into_iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// Polls `INFO <section>` until `field` satisfies `pred` (or panics after `max`).
    pub fn wait_info(&mut self, section: &str, field: &str, max: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + max;
        loop {
            let v = self.info_field(section, field).unwrap_or_default();
            if pred(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("INFO {} {} stayed at {:?}", section, field, v);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True once the server closed the connection (EOF or reset); false if data arrived.
    pub fn is_closed(&mut self, within: Duration) -> bool {
        self.w.set_read_timeout(Some(within)).unwrap();
        let mut b = [0u8; 1];
        let r = self.r.read(&mut b);
        self.w.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match r {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::BrokenPipe
            ),
        }
    }

    /// Reads whatever arrives until EOF (or timeout): for replies followed by a close.
    pub fn read_to_close(&mut self, within: Duration) -> Vec<u8> {
        self.w.set_read_timeout(Some(within)).unwrap();
        let mut v = Vec::new();
        let _ = self.r.read_to_end(&mut v);
        v
    }
}

fn read_line(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) -> String {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line).expect("read reply line");
    assert!(n > 0, "connection closed while waiting for a reply (got so far: {:?})", String::from_utf8_lossy(out));
    out.extend_from_slice(&line);
    assert!(line.ends_with(b"\r\n"), "reply line without CRLF: {:?}", String::from_utf8_lossy(&line));
    String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned()
}

/// Reads one complete RESP2/RESP3 reply, appending its raw bytes to `out`.
fn read_one(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) {
    let start = out.len();
    let rest = read_line(r, out);
    let kind = out[start];
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
        b'$' | b'!' | b'=' => {
            let n: i64 = rest.parse().expect("bulk length");
            if n >= 0 {
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf).expect("read bulk payload");
                out.extend_from_slice(&buf);
            }
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = rest.parse().expect("array length");
            for _ in 0..n.max(0) {
                read_one(r, out);
            }
        }
        b'%' | b'|' => {
            let n: i64 = rest.parse().expect("map length");
            for _ in 0..n.max(0) * 2 {
                read_one(r, out);
            }
        }
        other => panic!("unexpected reply type byte {:?} in {:?}", other as char, String::from_utf8_lossy(out)),
    }
}

/// Parses one reply from complete raw bytes; returns it and the bytes used.
pub fn parse(b: &[u8]) -> (Reply, usize) {
    let nl = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
    let line = String::from_utf8_lossy(&b[1..nl]).into_owned();
    let mut used = nl + 2;
    let r = match b[0] {
        b'+' => Reply::Status(line),
        b'-' => Reply::Error(line),
        b':' => Reply::Int(line.parse().unwrap()),
        b'_' => Reply::Nil,
        b',' => Reply::Double(line),
        b'#' => Reply::Bool(line == "t"),
        b'(' => Reply::Status(line),
        b'$' | b'!' | b'=' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                Reply::Nil
            } else {
                let data = b[used..used + n as usize].to_vec();
                used += n as usize + 2;
                if b[0] == b'=' {
                    Reply::Verbatim(String::from_utf8_lossy(&data[..3]).into_owned(), data[4..].to_vec())
                } else {
                    Reply::Bulk(data)
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = line.parse().unwrap();
            if n < 0 {
                Reply::NilArray
            } else {
                let mut v = vec![];
                for _ in 0..n {
                    let (x, u) = parse(&b[used..]);
                    used += u;
                    v.push(x);
                }
                if b[0] == b'~' {
                    Reply::Set(v)
                } else {
                    Reply::Array(v)
                }
            }
        }
        b'%' | b'|' => {
            let n: i64 = line.parse().unwrap();
            let mut v = vec![];
            for _ in 0..n {
                let (k, u) = parse(&b[used..]);
                used += u;
                let (x, u) = parse(&b[used..]);
                used += u;
                v.push((k, x));
            }
            Reply::Map(v)
        }
        other => panic!("unexpected type byte {:?}", other as char),
    };
    (r, used)
}

/// Runs each command on a fresh tandem and (if installed) a fresh redis-server, asserting
/// identical raw replies. Commands run in order on one connection per server.
pub fn assert_same_as_redis(cmds: &[&[&str]]) {
    let t = Server::tandem(&[]);
    let mut tc = t.conn();
    let r = if have_redis() { Some(Server::redis(&[])) } else {
        eprintln!("note: {} missing, checking tandem only against expectations", REDIS_SERVER);
        None
    };
    let mut rc = r.as_ref().map(|r| r.conn());
    for c in cmds {
        let got = tc.raw_s(c);
        if let Some(rc) = rc.as_mut() {
            let want = rc.raw_s(c);
            assert_eq!(got, want, "reply to {:?} differs from redis-server", c);
        }
    }
}

/// Like [`assert_same_as_redis`] but each entry also carries the expected raw reply, so the
/// test means something without redis-server too (and checks redis agrees with us).
pub fn assert_table(table: &[(&[&str], &str)]) {
    let t = Server::tandem(&[]);
    let mut tc = t.conn();
    let r = if have_redis() { Some(Server::redis(&[])) } else { None };
    let mut rc = r.as_ref().map(|r| r.conn());
    for (c, want) in table {
        if let Some(rc) = rc.as_mut() {
            let real = rc.raw_s(c);
            assert_eq!(&real, want, "redis-server disagrees with the test table for {:?}", c);
        }
        let got = tc.raw_s(c);
        assert_eq!(&got, want, "tandem reply to {:?}", c);
    }
}

/// Builds an owned argv from string slices.
pub fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
