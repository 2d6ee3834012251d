//! Shared helpers of the data-type tests: a server guard (the real binary or redis-server on a
//! free port, in its own directory), a raw RESP connection, `check`, which runs a table of
//! commands against tandem and, when installed, real redis-server, `same_on_both`, which
//! compares what a workload returns on both, and readers of a raw `SYNC` stream.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const REDIS: &str = "/usr/bin/redis-server";
pub const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");

/// A running server, killed and its directory removed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether all of `programs` are installed; says which are needed when they are not.
pub fn have(programs: &[&str]) -> bool {
    let ok = programs.iter().all(|p| Path::new(p).exists());
    if !ok {
        eprintln!("{} not installed: skipped", programs.join(" / "));
    }
    ok
}

/// Whether redis-server is installed (the comparisons are skipped with a message if not).
pub fn have_redis() -> bool {
    have(&[REDIS])
}

/// Starts `bin` on a free port, in a fresh directory of its own (`--dir`: a replica's sync
/// files land there). Another process may grab the port between the check and the bind
/// (tests run in parallel): a server that exits instead of listening is started again on
/// another port, and the listener found must be our child's. None when `bin` cannot be run.
pub fn start(bin: &str, extra: &[&str]) -> Option<Server> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..5 {
        let port = free_port();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tandem-test-{}-{}-{}", std::process::id(), seq, port));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec!["--port".to_string(), port.to_string(), "--save".into(), "".into()];
        args.extend(["--dir".to_string(), dir.to_string_lossy().into_owned()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = match Command::new(bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
            Ok(child) => child,
            Err(_) => {
                let _ = std::fs::remove_dir_all(&dir);
                return None;
            }
        };
        let mut s = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if s.child.try_wait().ok().flatten().is_some() {
                break; // exited (port taken): try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(20));
                if s.child.try_wait().ok().flatten().is_none() {
                    return Some(s);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{} did not start", bin);
}

/// `start` for a program that must be there.
pub fn server(bin: &str, extra: &[&str]) -> Server {
    start(bin, extra).unwrap_or_else(|| panic!("cannot run {bin}"))
}

pub fn tandem() -> Server {
    server(TANDEM, &[])
}

/// The RESP multibulk of a command.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args.iter().map(AsRef::as_ref) {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    req
}

/// A raw RESP connection: replies are returned as they came on the wire.
pub struct Conn {
    pub w: TcpStream,
    pub r: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Conn { w, r }
    }

    /// Appends one whole reply (RESP2 or RESP3), nested ones included, to `out`.
    pub fn read_reply(&mut self, out: &mut Vec<u8>) {
        let mut line = vec![];
        self.r.read_until(b'\n', &mut line).unwrap();
        assert!(!line.is_empty(), "connection closed");
        out.extend_from_slice(&line);
        let n = || std::str::from_utf8(&line[1..line.len() - 2]).unwrap().parse::<i64>().unwrap();
        match line[0] {
            b'$' | b'=' | b'!' if n() >= 0 => {
                let mut b = vec![0; n() as usize + 2];
                self.r.read_exact(&mut b).unwrap();
                out.extend_from_slice(&b);
            }
            b'*' | b'~' | b'>' => (0..n().max(0)).for_each(|_| self.read_reply(out)),
            b'%' => (0..2 * n()).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }

    /// The next reply, byte for byte.
    pub fn reply_bytes(&mut self) -> Vec<u8> {
        let mut out = vec![];
        self.read_reply(&mut out);
        out
    }

    /// The next reply as text (invalid UTF-8 replaced).
    pub fn reply(&mut self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.w.write_all(&encode(args)).unwrap();
    }

    /// Sends a command and returns its reply byte for byte.
    pub fn raw_bytes<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.reply_bytes()
    }

    /// Sends a command and returns its reply as text.
    pub fn raw(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.reply()
    }

    /// Sends every command at once, then reads the replies; panics on an error reply.
    pub fn pipeline(&mut self, cmds: &[Vec<String>]) {
        for chunk in cmds.chunks(500) {
            let mut buf = vec![];
            for c in chunk {
                buf.extend(encode(c));
            }
            self.w.write_all(&buf).unwrap();
            for c in chunk {
                let r = self.reply();
                assert!(!r.starts_with('-'), "{:?} -> {}", c, r);
            }
        }
    }

    pub fn info_field(&mut self, field: &str) -> Option<String> {
        let info = self.raw(&["INFO", "all"]);
        info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
    }
}

pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

pub fn wait_link_up(replica: u16) {
    let mut c = Conn::new(replica);
    wait_for("master_link_status:up", 30, || c.info_field("master_link_status").as_deref() == Some("up"));
}

/// Runs each command on a fresh tandem (and on redis-server when installed) and compares the
/// raw replies with the expected ones.
pub fn check(table: &[(&[&str], &str)]) {
    let t = tandem();
    let mut c = Conn::new(t.port);
    let real = Path::new(REDIS).exists().then(|| start(REDIS, &[])).flatten();
    let mut rc = real.as_ref().map(|r| Conn::new(r.port));
    for (args, want) in table {
        if let Some(rc) = rc.as_mut() {
            assert_eq!(rc.raw(args), *want, "redis-server disagrees with the table for {:?}", args);
        }
        assert_eq!(c.raw(args), *want, "tandem: {:?}", args);
    }
}

/// Runs `f` against tandem and (when installed) redis-server and compares what it returns,
/// step by step (as text: invalid UTF-8 replaced).
pub fn same_on_both<T: AsRef<[u8]>>(f: impl Fn(u16) -> Vec<T>) {
    same_on_both_with(&[], f)
}

/// `same_on_both` with both servers started with the `extra` arguments.
pub fn same_on_both_with<T: AsRef<[u8]>>(extra: &[&str], f: impl Fn(u16) -> Vec<T>) {
    let t = server(TANDEM, extra);
    let got = f(t.port);
    if have_redis() {
        let r = server(REDIS, extra);
        let want = f(r.port);
        assert_eq!(got.len(), want.len(), "tandem (left) and redis-server (right) ran a different number of steps");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g.as_ref()),
                String::from_utf8_lossy(w.as_ref()),
                "step {i}: tandem (left) and redis-server (right) differ"
            );
        }
    }
}

/// Attaches as a replica with `SYNC` and skips the RDB it answers: `$<len>\r\n<bytes>`
/// (newlines may come first).
pub fn attach_replica(port: u16) -> Conn {
    let mut repl = Conn::new(port);
    repl.w.write_all(b"SYNC\r\n").unwrap();
    let len = loop {
        let mut line = String::new();
        repl.r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed during SYNC");
        if let Some(n) = line.strip_prefix('$') {
            break n.trim().parse::<usize>().unwrap();
        }
    };
    let mut rdb = vec![0; len];
    repl.r.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS"));
    repl
}

/// Reads the replication stream up to `SET end-marker 1`, each command as its arguments,
/// PINGs and SELECTs left out.
pub fn read_stream(repl: &mut Conn) -> Vec<Vec<String>> {
    let mut v = vec![];
    loop {
        let raw = repl.reply();
        let parts: Vec<String> = raw.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).map(|s| s.to_string()).collect();
        let name = parts[0].to_ascii_uppercase();
        if name == "SET" && parts[1] == "end-marker" {
            return v;
        }
        if name != "PING" && name != "SELECT" {
            v.push(parts);
        }
    }
}
