//! Lengths read from an RDB are not trusted for pre-sizing (issue 9, item 4): a tiny RDB whose
//! RESIZEDB claims 2^62 keys must not make the server reserve gigabytes, whether it is the
//! dump.rdb loaded at start or the payload of a full sync from a master. Real redis-server
//! stays small on the same input; tandem must too.

mod support;

use support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Above this INFO used_memory the server has pre-sized from a hostile count.
const SMALL: u64 = 64 << 20;

/// `REDIS0009`, SELECTDB 0, RESIZEDB with two 2^62 counts (0x81 + 8-byte big-endian length),
/// EOF and a zero checksum (which loaders skip): 39 bytes.
fn hostile_rdb() -> Vec<u8> {
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(&[0xFE, 0x00, 0xFB]);
    for _ in 0..2 {
        f.push(0x81);
        f.extend_from_slice(&(1u64 << 62).to_be_bytes());
    }
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    f
}

/// Starts `kind` in a fresh directory holding `rdb` as dump.rdb.
fn start_with_dump(kind: Kind, rdb: &[u8]) -> Server {
    let dir = TempDir::new("rdb-limits");
    std::fs::write(dir.path().join("dump.rdb"), rdb).unwrap();
    Server::launch(kind).dir(dir).ready_within(Duration::from_secs(20)).start()
}

fn used_memory(s: &Server) -> u64 {
    s.conn().info_field("memory", "used_memory").expect("used_memory").parse().unwrap()
}

/// The server answers and still works after loading.
fn assert_serves(s: &Server) {
    let mut c = s.conn();
    assert_eq!(c.cmd(&["PING"]).text(), "PONG");
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 0);
}

#[test]
fn hostile_resizedb_in_dump_rdb() {
    let rdb = hostile_rdb();
    let t = start_with_dump(Kind::Tandem, &rdb);
    assert_serves(&t);
    let mut c = t.conn();
    assert_eq!(c.cmd(&["SET", "k", "v"]).text(), "OK");
    assert_eq!(c.cmd(&["GET", "k"]).text(), "v");
    let tm = used_memory(&t);
    eprintln!("dump.rdb with RESIZEDB 2^62: tandem used_memory {}", tm);
    if have_redis() {
        let r = start_with_dump(Kind::Redis, &rdb);
        assert_serves(&r);
        let rm = used_memory(&r);
        eprintln!("dump.rdb with RESIZEDB 2^62: redis-server used_memory {}", rm);
        assert!(rm < SMALL, "redis-server used_memory {}", rm);
    }
    assert!(tm < SMALL, "tandem used_memory {} after loading a {}-byte RDB", tm, rdb.len());
}

/// How the fake master frames the RDB after +FULLRESYNC.
#[derive(Clone, Copy)]
enum Framing {
    /// `$<len>\r\n<rdb>`: the size is known.
    Sized,
    /// `$EOF:<mark>\r\n<rdb><mark>` (diskless): the size is not known in advance.
    EofMark,
}

/// A master that answers the replica handshake and serves `rdb` in a full sync, then keeps
/// the link open (sending nothing) until dropped.
struct FakeMaster {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FakeMaster {
    fn start(rdb: Vec<u8>, framing: Framing) -> FakeMaster {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (rdb, st) = (rdb.clone(), st.clone());
                std::thread::spawn(move || serve_replica(conn, &rdb, framing, &st));
            }
        });
        FakeMaster { port, stop }
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// Reads one command (RESP multibulk or inline); None at EOF.
fn read_command(r: &mut BufReader<TcpStream>) -> Option<Vec<String>> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let line = line.trim_end();
    let Some(n) = line.strip_prefix('*') else {
        return Some(line.split_whitespace().map(str::to_string).collect());
    };
    let n: usize = n.parse().ok()?;
    let mut args = Vec::with_capacity(n.min(16));
    for _ in 0..n {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let len: usize = h.trim_end().strip_prefix('$')?.parse().ok()?;
        let mut b = vec![0u8; len + 2];
        r.read_exact(&mut b).ok()?;
        b.truncate(len);
        args.push(String::from_utf8_lossy(&b).into_owned());
    }
    Some(args)
}

fn serve_replica(conn: TcpStream, rdb: &[u8], framing: Framing, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    while !stop.load(Ordering::Relaxed) {
        let Some(args) = read_command(&mut r) else {
            // Timeout (or EOF): keep the link until the test ends; stop on a closed socket.
            if r.get_ref().peek(&mut [0u8; 1]).map(|n| n == 0).unwrap_or(false) {
                return;
            }
            continue;
        };
        let cmd = args.first().map(|a| a.to_ascii_uppercase()).unwrap_or_default();
        let out: Vec<u8> = match cmd.as_str() {
            "PING" => b"+PONG\r\n".to_vec(),
            "REPLCONF" if args.get(1).is_some_and(|a| a.eq_ignore_ascii_case("ACK")) => continue,
            "REPLCONF" | "AUTH" => b"+OK\r\n".to_vec(),
            "PSYNC" | "SYNC" => {
                let mut o = format!("+FULLRESYNC {} 0\r\n", "a".repeat(40)).into_bytes();
                match framing {
                    Framing::Sized => {
                        o.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
                        o.extend_from_slice(rdb);
                    }
                    Framing::EofMark => {
                        let mark = "0123456789abcdef0123456789abcdef01234567";
                        o.extend_from_slice(format!("$EOF:{}\r\n", mark).as_bytes());
                        o.extend_from_slice(rdb);
                        o.extend_from_slice(mark.as_bytes());
                    }
                }
                o
            }
            _ => b"-ERR unknown command\r\n".to_vec(),
        };
        if w.write_all(&out).is_err() {
            return;
        }
    }
}

/// A replica of a fake master serving the hostile RDB: it syncs, stays small and keeps working.
fn replica_of_hostile_master(kind: Kind, framing: Framing) -> u64 {
    let m = FakeMaster::start(hostile_rdb(), framing);
    let port = m.port.to_string();
    let r = Server::start(kind, &["--replicaof", "127.0.0.1", &port]);
    r.wait_info("replication", "master_link_status", Duration::from_secs(20), |v| v == "up");
    // Synced and serving: the master link stays up and reads work.
    assert_serves(&r);
    let mut c = r.conn();
    assert!(c.cmd(&["SET", "k", "v"]).text().starts_with("READONLY"));
    let used = used_memory(&r);
    assert_eq!(c.info_field("replication", "master_link_status").as_deref(), Some("up"));
    drop(m);
    used
}

#[test]
fn hostile_resizedb_from_master_sized() {
    let tm = replica_of_hostile_master(Kind::Tandem, Framing::Sized);
    eprintln!("full sync ($len) with RESIZEDB 2^62: tandem replica used_memory {}", tm);
    if have_redis() {
        let rm = replica_of_hostile_master(Kind::Redis, Framing::Sized);
        eprintln!("full sync ($len) with RESIZEDB 2^62: redis-server replica used_memory {}", rm);
        assert!(rm < SMALL, "redis-server replica used_memory {}", rm);
    }
    assert!(tm < SMALL, "tandem replica used_memory {}", tm);
}

#[test]
fn hostile_resizedb_from_master_eof_marked() {
    let tm = replica_of_hostile_master(Kind::Tandem, Framing::EofMark);
    eprintln!("full sync ($EOF:) with RESIZEDB 2^62: tandem replica used_memory {}", tm);
    if have_redis() {
        let rm = replica_of_hostile_master(Kind::Redis, Framing::EofMark);
        eprintln!("full sync ($EOF:) with RESIZEDB 2^62: redis-server replica used_memory {}", rm);
        assert!(rm < SMALL, "redis-server replica used_memory {}", rm);
    }
    assert!(tm < SMALL, "tandem replica used_memory {}", tm);
}
