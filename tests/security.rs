//! Admin paths closed as Redis closes them (issue 9): DEBUG and MODULE LOAD/UNLOAD behind
//! `enable-debug-command` / `enable-module-command` (`no`, `yes`, `local`), protected configs
//! behind `enable-protected-configs`, and the cross-protocol guard (HTTP `POST` / `Host:`
//! closes the connection). Each case runs on tandem and on real redis-server, with the same
//! bytes expected from both.

mod support;

use support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const DEBUG_DENIED: &str = "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n";
const MODULE_DENIED: &str = "-ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n";

/// Both servers started with the same arguments (redis-server only when installed).
fn pair(extra: &[&str]) -> Vec<Server> {
    let mut v = vec![Server::tandem(extra)];
    if have_redis() {
        v.push(Server::redis(extra));
    }
    v
}

/// A raw connection from source address `from` to 127.0.0.1 (only exactly 127.0.0.1, ::1 and
/// Unix sockets are "local" to Redis, although 127.0.0.2 is loopback too).
fn conn_from(from: &str, port: u16) -> Conn {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let src: std::net::SocketAddr = format!("{}:0", from).parse().unwrap();
    sock.bind(&src.into()).expect("bind source address");
    let dst: std::net::SocketAddr = format!("127.0.0.1:{}", port).parse().unwrap();
    sock.connect(&dst.into()).expect("connect");
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    Conn { r: std::io::BufReader::new(s.try_clone().unwrap()), w: s }
}

#[test]
fn debug_and_module_refused_by_default() {
    for s in pair(&[]) {
        let mut c = s.conn();
        let who = &s.name;
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0"]), DEBUG_DENIED, "{}", who);
        assert_eq!(c.raw(&["debug", "populate", "1000000"]), DEBUG_DENIED, "{}", who);
        assert_eq!(c.raw(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), DEBUG_DENIED, "{}", who);
        assert_eq!(c.raw(&["DEBUG", "RELOAD"]), DEBUG_DENIED, "{}", who);
        assert_eq!(c.cmd(&["DBSIZE"]).int(), 0, "{}: DEBUG POPULATE must not have run", who);
        // The arity check comes first, as in Redis.
        assert_eq!(c.raw(&["DEBUG"]), "-ERR wrong number of arguments for 'debug' command\r\n", "{}", who);
        // Inside MULTI the refusal dooms the transaction.
        assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0"]), DEBUG_DENIED, "{}", who);
        assert_eq!(c.raw(&["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n", "{}", who);
        assert_eq!(c.raw(&["MODULE", "LOAD", "/nonexistent.so"]), MODULE_DENIED, "{}", who);
        assert_eq!(c.raw(&["MODULE", "LOADEX", "/nonexistent.so"]), MODULE_DENIED, "{}", who);
        assert_eq!(c.raw(&["MODULE", "UNLOAD", "x"]), MODULE_DENIED, "{}", who);
        assert_eq!(c.raw(&["MODULE", "LIST"]), "*0\r\n", "{}", who);
        assert_eq!(c.raw(&["MODULE", "LOAD"]), "-ERR wrong number of arguments for 'module|load' command\r\n", "{}", who);
        assert_eq!(c.raw(&["MODULE", "FOO"]), "-ERR unknown subcommand 'FOO'. Try MODULE HELP.\r\n", "{}", who);
        // Settable only at start.
        assert_eq!(
            c.raw(&["CONFIG", "SET", "enable-debug-command", "yes"]),
            "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n",
            "{}",
            who
        );
    }
}

#[test]
fn debug_refused_before_authentication() {
    for s in pair(&["--requirepass", "secret"]) {
        let mut c = s.conn();
        // Redis checks protection right after the arity, before NOAUTH.
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0"]), DEBUG_DENIED, "{}", s.name);
        assert_eq!(c.raw(&["GET", "k"]), "-NOAUTH Authentication required.\r\n", "{}", s.name);
    }
    for s in pair(&["--requirepass", "secret", "--enable-debug-command", "yes"]) {
        let mut c = s.conn();
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0"]), "-NOAUTH Authentication required.\r\n", "{}", s.name);
    }
}

#[test]
fn debug_yes_and_local() {
    for s in pair(&["--enable-debug-command", "yes", "--protected-mode", "no"]) {
        assert_eq!(conn_from("127.0.0.2", s.port).raw(&["DEBUG", "SLEEP", "0"]), "+OK\r\n", "{}", s.name);
    }
    let dir = TempDir::new("unixsock");
    let kinds: &[Kind] = if have_redis() { &[Kind::Tandem, Kind::Redis] } else { &[Kind::Tandem] };
    for (i, kind) in kinds.iter().enumerate() {
        let sock = dir.path().join(format!("s{}.sock", i));
        let sock_s = sock.to_str().unwrap();
        let s = Server::start(*kind, &["--enable-debug-command", "local", "--enable-module-command", "local", "--protected-mode", "no", "--unixsocket", sock_s]);
        let who = &s.name;
        // 127.0.0.1 is local; 127.0.0.2, although loopback, is not (Redis's islocalClient).
        assert_eq!(s.conn().raw(&["DEBUG", "SLEEP", "0"]), "+OK\r\n", "{}", who);
        let mut far = conn_from("127.0.0.2", s.port);
        assert_eq!(far.raw(&["DEBUG", "SLEEP", "0"]), DEBUG_DENIED, "{}", who);
        assert_eq!(far.raw(&["MODULE", "UNLOAD", "x"]), MODULE_DENIED, "{}", who);
        assert_eq!(
            s.conn().raw(&["MODULE", "UNLOAD", "x"]),
            "-ERR Error unloading module: no such module with that name\r\n",
            "{}",
            who
        );
        // A Unix socket is local.
        let mut u = std::os::unix::net::UnixStream::connect(&sock).expect("unix socket");
        u.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        u.write_all(b"DEBUG SLEEP 0\r\n").unwrap();
        let mut b = [0u8; 5];
        u.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"+OK\r\n", "{}", who);
    }
}

#[test]
fn protected_configs_follow_enable_protected_configs() {
    let refused = "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n";
    for s in pair(&[]) {
        let dir = s.dir().to_str().unwrap().to_string();
        assert_eq!(s.conn().raw(&["CONFIG", "SET", "dir", &dir]), refused, "{}", s.name);
    }
    for s in pair(&["--enable-protected-configs", "local", "--protected-mode", "no"]) {
        let dir = s.dir().to_str().unwrap().to_string();
        assert_eq!(conn_from("127.0.0.2", s.port).raw(&["CONFIG", "SET", "dir", &dir]), refused, "{}", s.name);
        assert_eq!(s.conn().raw(&["CONFIG", "SET", "dir", &dir]), "+OK\r\n", "{}", s.name);
    }
}

const ATTACK: &str = "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.";

#[test]
fn http_post_and_host_close_the_connection() {
    for s in pair(&["--requirepass", "pw"]) {
        let who = &s.name;
        let cases: &[&[u8]] = &[
            // An HTTP request: nothing answered, connection closed (even unauthenticated).
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 14\r\n\r\n*1\r\n$4\r\nPING\r\n",
            b"host: example.com\r\nPING\r\n",
            // Authenticated and pipelined: what came first ran, but no reply goes out at all.
            b"AUTH pw\r\nSET before 1\r\nPOST /x\r\nSET after 1\r\n",
            // In a transaction too.
            b"AUTH pw\r\nMULTI\r\nSET queued 1\r\n*2\r\n$4\r\nPOST\r\n$1\r\n/\r\nEXEC\r\n",
        ];
        for bytes in cases {
            let mut c = s.conn();
            c.send(bytes);
            assert_eq!(c.read_to_close(Duration::from_secs(5)), b"", "{}: {:?}", who, String::from_utf8_lossy(bytes));
        }
        let mut c = s.conn();
        assert_eq!(c.raw(&["AUTH", "pw"]), "+OK\r\n");
        assert_eq!(c.raw(&["MGET", "before", "after", "queued"]), "*3\r\n$1\r\n1\r\n$-1\r\n$-1\r\n", "{}", who);
        // Logged once a minute at most.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(s.log_text().matches(ATTACK).count(), 1, "{}: {}", who, s.log_text());
    }
}

#[test]
fn protected_mode_local_means_127_0_0_1() {
    for s in pair(&[]) {
        // 127.0.0.2 is loopback but not local to Redis: protected mode refuses it.
        let got = conn_from("127.0.0.2", s.port).read_to_close(Duration::from_secs(5));
        let got = String::from_utf8_lossy(&got).into_owned();
        assert!(got.starts_with("-DENIED Redis is running in protected mode"), "{}: {}", s.name, got);
        assert!(got.contains("4) Setup a an authentication password for the default user."), "{}: {}", s.name, got);
        assert_eq!(s.conn().raw(&["PING"]), "+PONG\r\n");
    }
}

/// A master that completes a full sync with an empty dataset, then streams `stream`.
fn rogue_master(stream: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::BufRead;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (conn, _) = l.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = conn.try_clone().unwrap();
        let mut r = std::io::BufReader::new(conn);
        // Empty RDB (checksum 0: not checked).
        let mut rdb = b"REDIS0009".to_vec();
        rdb.push(0xff);
        rdb.extend_from_slice(&[0u8; 8]);
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let Some(n) = line.trim_end().strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else { continue };
            let mut args = vec![];
            for _ in 0..n {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let len: usize = h.trim_end()[1..].parse().unwrap();
                let mut b = vec![0u8; len + 2];
                r.read_exact(&mut b).unwrap();
                args.push(String::from_utf8_lossy(&b[..len]).to_ascii_uppercase());
            }
            match args[0].as_str() {
                "PING" => w.write_all(b"+PONG\r\n").unwrap(),
                "PSYNC" | "SYNC" => {
                    w.write_all(format!("+FULLRESYNC {} 0\r\n${}\r\n", "b".repeat(40), rdb.len()).as_bytes()).unwrap();
                    w.write_all(&rdb).unwrap();
                    w.write_all(stream).unwrap();
                    // Keep the link open while the replica applies the stream.
                    std::thread::sleep(Duration::from_secs(12));
                    return;
                }
                "REPLCONF" if args.get(1).map(|a| a == "ACK").unwrap_or(false) => {}
                _ => w.write_all(b"+OK\r\n").unwrap(),
            }
        }
    });
    (port, h)
}

#[test]
fn debug_from_master_stream_is_refused() {
    let kinds: &[Kind] = if have_redis() { &[Kind::Tandem, Kind::Redis] } else { &[Kind::Tandem] };
    for kind in kinds {
        let (port, _h) = rogue_master(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$2\r\n30\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
        let s = Server::start(*kind, &["--replicaof", "127.0.0.1", &port.to_string()]);
        let t = std::time::Instant::now();
        let mut c = s.conn();
        loop {
            if c.cmd(&["GET", "k"]) == Reply::Bulk(b"v".to_vec()) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{}: the master's DEBUG SLEEP 30 ran", s.name);
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = s.log_text();
        assert!(
            log.contains("== CRITICAL == This replica is sending an error to its master: 'DEBUG command not allowed."),
            "{}: {}",
            s.name,
            log
        );
    }
}
