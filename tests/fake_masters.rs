//! Masters that lie: a fake master (a test socket server) answers the handshake, then sends a
//! truncated RDB, a `$<len>` shorter or longer than its RDB, a `$EOF:` mark that never comes,
//! a CRC mismatch, an unknown RDB opcode, or garbage in the command stream after a good sync.
//! Each time a tandem replica logs Redis's message, keeps its old data, retries, and keeps
//! serving; real redis-server as the replica logs the same lines and retries too (it keeps
//! its data only when the transfer itself fails: a corrupt RDB it has flushed for).

mod support;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// What the fake master sends after `+FULLRESYNC <id> 0\r\n`, then whether it closes.
#[derive(Clone)]
struct Script {
    bytes: Vec<u8>,
    close: bool,
}

struct FakeMaster {
    port: u16,
    conns: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeMaster {
    fn start(script: Script) -> FakeMaster {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let conns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c2, s2) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        c2.fetch_add(1, Ordering::SeqCst);
                        let (sc, st) = (script.clone(), s2.clone());
                        std::thread::spawn(move || serve(s, sc, st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeMaster { port, conns, stop }
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one command (RESP array or inline) from `s`; None when the peer is gone.
fn read_command(s: &mut TcpStream, buf: &mut Vec<u8>, stop: &AtomicBool) -> Option<Vec<String>> {
    let line = |s: &mut TcpStream, buf: &mut Vec<u8>| -> Option<String> {
        loop {
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = buf.drain(..p + 2).take(p).collect();
                return Some(String::from_utf8_lossy(&l).into_owned());
            }
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let mut tmp = [0u8; 4096];
            match s.read(&mut tmp) {
                Ok(0) => return None,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
        }
    };
    let first = line(s, buf)?;
    let Some(n) = first.strip_prefix('*') else {
        return Some(first.split_whitespace().map(String::from).collect());
    };
    let n: usize = n.parse().ok()?;
    let mut args = Vec::new();
    for _ in 0..n {
        let _len = line(s, buf)?;
        args.push(line(s, buf)?);
    }
    Some(args)
}

fn serve(mut s: TcpStream, script: Script, stop: Arc<AtomicBool>) {
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = Vec::new();
    while let Some(cmd) = read_command(&mut s, &mut buf, &stop) {
        let name = cmd.first().map(|c| c.to_ascii_uppercase()).unwrap_or_default();
        let reply = match name.as_str() {
            "PING" => b"+PONG\r\n".to_vec(),
            "REPLCONF" if cmd.get(1).is_some_and(|o| o.eq_ignore_ascii_case("ack")) => continue,
            "REPLCONF" | "AUTH" => b"+OK\r\n".to_vec(),
            "PSYNC" | "SYNC" => {
                let mut r = format!("+FULLRESYNC {} 0\r\n", "ab".repeat(20)).into_bytes();
                r.extend_from_slice(&script.bytes);
                if s.write_all(&r).is_err() || script.close {
                    return;
                }
                continue;
            }
            _ => b"-ERR unknown command\r\n".to_vec(),
        };
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A valid empty RDB as redis-server 7.0 writes it (version 10, CRC64 trailer).
fn empty_rdb() -> Vec<u8> {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SAVE"]), "+OK\r\n");
    std::fs::read(s.dir().join("dump.rdb")).unwrap()
}

/// An RDB holding one string key `fake` (with `crc_ok`, a correct checksum).
fn one_key_rdb(crc_ok: bool) -> Vec<u8> {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "fake", "x"]);
    assert_eq!(c.raw(&["SAVE"]), "+OK\r\n");
    let mut rdb = std::fs::read(s.dir().join("dump.rdb")).unwrap();
    if !crc_ok {
        let n = rdb.len();
        rdb[n - 1] ^= 0xff;
    }
    rdb
}

fn sized(rdb: &[u8], claimed: usize) -> Vec<u8> {
    let mut v = format!("${}\r\n", claimed).into_bytes();
    v.extend_from_slice(rdb);
    v
}

/// Points a replica of `kind` holding data at `script`'s master; returns (the replica's
/// log once it retried, the fake master's connection count).
fn replica_of_liar(kind: Kind, script: Script, extra: &[&str]) -> (String, usize) {
    let fake = FakeMaster::start(script);
    let r = Server::launch(kind).name("replica").repl().args(extra).start();
    let mut c = r.conn();
    for i in 0..20 {
        c.cmd(&["SET", &format!("mine:{i}"), "v"]);
    }
    c.cmd(&["RPUSH", "mine:list", "a", "b"]);
    let digest = r.digest();
    c.cmd(&["REPLICAOF", "127.0.0.1", &fake.port.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.conns.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        // The replica answers meanwhile.
        assert_eq!(r.conn().raw(&["PING"]), "+PONG\r\n");
    }
    let conns = fake.conns.load(Ordering::SeqCst);
    assert!(conns >= 3, "{} did not retry ({} connections):\n{}", kind.label(), conns, r.log_text());
    assert_eq!(r.info_field("replication", "master_link_status"), "down");
    // Redis 7.0 flushes its data before loading a master's RDB from disk, so a corrupt one
    // leaves it empty; tandem loads aside and keeps its data.
    if kind == Kind::Tandem {
        assert_eq!(r.digest(), digest, "tandem lost its data to a lying master:\n{}", r.log_text());
        c.cmd(&["REPLICAOF", "NO", "ONE"]);
        assert_eq!(r.digest(), digest);
    }
    (r.log_text(), conns)
}

/// Runs `script` against tandem (and redis-server when installed and `redis_too`: a corrupt
/// RDB from a master makes redis-server 7.0 exit, "Terminating server after rdb file reading
/// failure"), checking each logged one of `expected` (Redis's lines).
fn check(script: Script, extra: &[&str], expected: &[&str], redis_too: bool) {
    let (log, _) = replica_of_liar(Kind::Tandem, script.clone(), extra);
    assert!(expected.iter().any(|e| log.contains(e)), "tandem logged none of {:?}:\n{}", expected, log);
    assert!(!log.contains("== BUG =="), "{}", log);
    if redis_too && have_redis() {
        let (rlog, _) = replica_of_liar(Kind::Redis, script, extra);
        assert!(expected.iter().any(|e| rlog.contains(e)), "redis-server logged none of {:?}:\n{}", expected, rlog);
    }
}

const IO_LOST: &str = "I/O error trying to sync with MASTER: connection lost";
const LOAD_FAILED: &str = "Failed trying to load the MASTER synchronization DB from disk";

#[test]
fn truncated_rdb_then_closed() {
    let rdb = one_key_rdb(true);
    let half = &rdb[..rdb.len() / 2];
    check(Script { bytes: sized(half, rdb.len()), close: true }, &[], &[IO_LOST], true);
}

#[test]
fn length_shorter_than_the_rdb() {
    let rdb = one_key_rdb(true);
    check(Script { bytes: sized(&rdb, rdb.len() - 9), close: false }, &[], &[LOAD_FAILED], false);
}

#[test]
fn length_longer_than_the_rdb_then_closed() {
    let rdb = one_key_rdb(true);
    check(Script { bytes: sized(&rdb, rdb.len() + 100), close: true }, &[], &[IO_LOST], true);
}

#[test]
fn eof_mark_that_never_comes() {
    let rdb = one_key_rdb(true);
    let mut bytes = format!("$EOF:{}\r\n", "m".repeat(40)).into_bytes();
    bytes.extend_from_slice(&rdb);
    bytes.extend_from_slice("x".repeat(40).as_bytes());
    check(Script { bytes, close: true }, &[], &[IO_LOST], true);
}

#[test]
fn crc_mismatch() {
    let rdb = one_key_rdb(false);
    check(Script { bytes: sized(&rdb, rdb.len()), close: false }, &[], &[LOAD_FAILED], false);
}

#[test]
fn unknown_rdb_opcode() {
    let mut rdb = b"REDIS0010".to_vec();
    rdb.extend_from_slice(&[0xfe, 0x00, 0xd3, 0x01, b'k', 0x01, b'v', 0xff]);
    rdb.extend_from_slice(&[0; 8]);
    check(Script { bytes: sized(&rdb, rdb.len()), close: false }, &[], &[LOAD_FAILED], false);
}

/// After a good sync the stream carries garbage: the replica drops the link and syncs again
/// (it keeps what the good sync and the commands before the garbage gave it).
#[test]
fn garbage_in_the_stream_after_a_good_sync() {
    let rdb = empty_rdb();
    let mut bytes = sized(&rdb, rdb.len());
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$6\r\nsynced\r\n$1\r\n1\r\n");
    bytes.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$zz\r\n\x00\x01garbage");
    let fake = FakeMaster::start(Script { bytes, close: false });
    let r = Server::launch(Kind::Tandem).name("replica").repl().start();
    r.replicaof_port(fake.port);
    wait_for("the replica syncs again after the garbage", || fake.conns.load(Ordering::SeqCst) >= 3);
    let log = r.log_text();
    assert!(log.contains("Protocol error from master"), "{}", log);
    assert!(!log.contains("== BUG =="), "{}", log);
    assert_eq!(r.conn().raw(&["GET", "synced"]), "$1\r\n1\r\n");
    assert_eq!(r.conn().raw(&["PING"]), "+PONG\r\n");
}

/// An empty request (`*0`, a blank line) inside a MULTI of the master's stream is skipped,
/// as Redis skips it: the transaction still runs.
#[test]
fn empty_request_inside_a_masters_multi() {
    let rdb = empty_rdb();
    let mut bytes = sized(&rdb, rdb.len());
    bytes.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*0\r\n\r\n*3\r\n$3\r\nSET\r\n$2\r\nin\r\n$3\r\ntxn\r\n*1\r\n$4\r\nEXEC\r\n");
    let fake = FakeMaster::start(Script { bytes, close: false });
    let r = Server::launch(Kind::Tandem).name("replica").repl().start();
    r.replicaof_port(fake.port);
    wait_for("the transaction ran", || r.conn().raw(&["GET", "in"]) == "$3\r\ntxn\r\n");
    assert!(!r.log_text().contains("This replica is sending an error to its master"), "{}", r.log_text());
}
