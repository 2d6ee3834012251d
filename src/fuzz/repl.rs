//! The replication stream applier: an embedded replica of a fake master (a loopback socket
//! server here) that answers the handshake, sends an empty RDB once, continues every later
//! PSYNC, and writes each input into the stream as a master would. After an input, a
//! marker command shows it was applied; a replica stuck inside a bulk the input left open
//! is disconnected (it reconnects and continues). The replica must answer PING throughout.

use super::{check_log, within};
use crate::embed::Value;
use crate::server::{Server, ServerHandle};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const REPLID: &str = "f022f022f022f022f022f022f022f022f022f022";

/// The stream to the replica, once its PSYNC was answered, with a generation number.
#[derive(Default)]
struct Link {
    gen: u64,
    stream: Option<TcpStream>,
}

struct FakeMaster {
    port: u16,
    link: Mutex<Link>,
    changed: Condvar,
    stop: AtomicBool,
}

struct World {
    replica: ServerHandle,
    master: Arc<FakeMaster>,
    dir: PathBuf,
    log_seen: u64,
    counter: u64,
}

static WORLD: Mutex<Option<World>> = Mutex::new(None);

fn resp(argv: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one multibulk command of the replica's handshake.
fn read_command(r: &mut BufReader<TcpStream>) -> Option<Vec<Vec<u8>>> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let n: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut argv = vec![];
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let len: usize = line.trim().strip_prefix('$')?.parse().ok()?;
        let mut arg = vec![0u8; len + 2];
        r.read_exact(&mut arg).ok()?;
        arg.truncate(len);
        argv.push(arg);
    }
    Some(argv)
}

/// An empty RDB (version 10, no checksum).
fn empty_rdb() -> Vec<u8> {
    let mut rdb = b"REDIS0010\xff".to_vec();
    rdb.extend_from_slice(&[0; 8]);
    rdb
}

impl FakeMaster {
    /// Answers one replica connection: handshake, PSYNC, then drains what it sends (ACKs)
    /// until it closes.
    fn serve(self: &Arc<Self>, stream: TcpStream) {
        let Ok(read_half) = stream.try_clone() else { return };
        let mut r = BufReader::new(read_half);
        let mut w = stream;
        while let Some(argv) = read_command(&mut r) {
            let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
            let reply: Vec<u8> = match &name[..] {
                b"ping" => b"+PONG\r\n".to_vec(),
                b"psync" | b"sync" => {
                    let mut out;
                    if argv.get(1).is_some_and(|id| id == REPLID.as_bytes()) {
                        out = format!("+CONTINUE {REPLID}\r\n").into_bytes();
                    } else {
                        let rdb = empty_rdb();
                        out = format!("+FULLRESYNC {REPLID} 0\r\n${}\r\n", rdb.len()).into_bytes();
                        out.extend_from_slice(&rdb);
                    }
                    if w.write_all(&out).is_err() {
                        return;
                    }
                    let gen = self.publish(w.try_clone().ok());
                    let mut sink = [0u8; 4096];
                    while matches!(r.read(&mut sink), Ok(n) if n > 0) {}
                    let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
                    if link.gen == gen {
                        link.stream = None;
                    }
                    return;
                }
                _ => b"+OK\r\n".to_vec(),
            };
            if w.write_all(&reply).is_err() {
                return;
            }
        }
    }

    fn publish(&self, stream: Option<TcpStream>) -> u64 {
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        link.gen += 1;
        link.stream = stream;
        self.changed.notify_all();
        link.gen
    }

    /// The current stream to the replica, waiting up to `ms` for one.
    fn stream(&self, ms: u64) -> Option<(u64, TcpStream)> {
        let deadline = Instant::now() + Duration::from_millis(ms);
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = link.stream.as_ref().and_then(|s| s.try_clone().ok()) {
                return Some((link.gen, s));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            link = self.changed.wait_timeout(link, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Drops the current stream (the replica reconnects).
    fn disconnect(&self) {
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = link.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Starts the fake master and the replica, and waits for the first sync.
pub fn init() {
    let mut world = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    if world.is_some() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("fake master listens");
    let master = Arc::new(FakeMaster {
        port: listener.local_addr().expect("addr").port(),
        link: Mutex::new(Link::default()),
        changed: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    let m = master.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if m.stop.load(SeqCst) {
                break;
            }
            if let Ok(conn) = conn {
                let m = m.clone();
                std::thread::spawn(move || m.serve(conn));
            }
        }
    });
    let dir = std::env::temp_dir().join(format!("tandem-fuzz-repl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    let text = format!(
        "port 0\nbind 127.0.0.1\nsave \"\"\ndir {}\nlogfile {}\nloglevel warning\nrepl-diskless-load disabled\n",
        dir.display(),
        dir.join("log").display()
    );
    let cfg = crate::config::Config::from_text(&text).expect("replica config");
    let replica = crate::rt::block_on(Server::start(cfg)).expect("replica starts");
    crate::rt::block_on(replica.replicaof("127.0.0.1", master.port)).expect("REPLICAOF");
    master.stream(10_000).expect("the replica connects to the fake master");
    *world = Some(World { replica, master, dir, log_seen: 0, counter: 0 });
}

/// Whether the replica's `__fuzz_mark__` holds `mark` within `ms` (false at once when the
/// replica dropped the link, on a protocol error).
fn applied(replica: &ServerHandle, master: &FakeMaster, gen: u64, mark: &str, ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        if master.link.lock().map_or(true, |l| l.gen != gen || l.stream.is_none()) {
            return false;
        }
        if let Ok(Ok(v)) = within(1000, replica.exec(&["GET", "__fuzz_mark__"])) {
            if v.as_str().as_deref() == Some(mark) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

/// Writes one input into the master stream, then the marker; disconnects a stream that did
/// not apply it; checks the replica answers PING and logged no bug.
pub fn run(data: &[u8]) {
    let mut guard = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let w = guard.as_mut().expect("repl::init ran");
    w.counter += 1;
    let mark = w.counter.to_string();
    let Some((gen, mut stream)) = w.master.stream(900) else {
        let pong = within(1000, w.replica.exec(&["PING"]));
        panic!("the replica did not reconnect to its master (PING: {pong:?})");
    };
    let mut bytes = data.to_vec();
    bytes.extend_from_slice(b"\r\n");
    if data.windows(5).any(|x| x.eq_ignore_ascii_case(b"multi")) {
        bytes.extend(resp(&[b"EXEC"]));
    }
    if w.counter.is_multiple_of(64) {
        bytes.extend(resp(&[b"FLUSHALL"]));
    }
    bytes.extend(resp(&[b"SELECT", b"0"]));
    bytes.extend(resp(&[b"SET", b"__fuzz_mark__", mark.as_bytes()]));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let sent = stream.write_all(&bytes).is_ok();
    if !sent || !applied(&w.replica, &w.master, gen, &mark, 15) {
        w.master.disconnect();
    }
    let pong = within(1000, w.replica.exec(&["PING"])).and_then(|r| r);
    assert_eq!(pong, Ok(Value::Status("PONG".into())), "the replica answers PING");
    check_log(&w.dir.join("log"), &mut w.log_seen, "replica");
}

/// Stops the replica and the fake master.
pub fn finish() {
    let w = WORLD.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(w) = w {
        w.master.stop.store(true, SeqCst);
        w.master.disconnect();
        crate::rt::block_on(w.replica.stop());
        let _ = TcpStream::connect(("127.0.0.1", w.master.port));
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}
