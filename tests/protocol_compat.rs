//! Request parsing and error texts byte for byte as Redis 7.0 (issue 9): a count line ends at
//! its first `\r` whatever follows it, a NUL byte hides the end of an inline command, error
//! replies echo arguments as raw bytes (cut at a NUL, as C's `%s`), HELLO's NOAUTH text, and
//! the query buffer limit counts bytes not yet parsed (not the parsed arguments of a long
//! multibulk). Each case runs on tandem and real redis-server with the same bytes expected.

mod support;

use support::*;
use std::time::Duration;

fn pair(extra: &[&str]) -> Vec<Server> {
    let mut v = vec![Server::tandem(extra)];
    if have_redis() {
        v.push(Server::redis(extra));
    }
    v
}

/// Sends `bytes` and returns what arrives within `wait` (the connection stays open).
fn exchange(s: &Server, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let mut c = s.conn();
    c.send(bytes);
    std::thread::sleep(wait);
    c.w.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut c.r, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

#[test]
fn count_line_ends_at_first_cr() {
    for s in pair(&[]) {
        let got = exchange(&s, b"*1\rX$4\rYPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", Duration::from_millis(200));
        assert_eq!(String::from_utf8_lossy(&got), "+PONG\r\n$2\r\nhi\r\n", "{}", s.name);
        // Not a `$` yet and no line end: Redis waits (no error before the line is complete).
        let got = exchange(&s, b"*1\r\nfoo", Duration::from_millis(200));
        assert_eq!(got, b"", "{}", s.name);
    }
}

#[test]
fn nul_in_inline_command_waits_for_more() {
    for s in pair(&[]) {
        let mut c = s.conn();
        c.send(b"PI\0NG\r\n");
        std::thread::sleep(Duration::from_millis(300));
        // No reply and not closed: the read would block.
        c.w.set_nonblocking(true).unwrap();
        let mut b = [0u8; 16];
        let r = std::io::Read::read(&mut c.r, &mut b);
        assert!(matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock), "{}: {:?}", s.name, r);
        assert_eq!(s.conn().raw(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn errors_echo_raw_bytes() {
    for s in pair(&[]) {
        let mut c = s.conn();
        let r = c.cmd_raw(&[b"foo\xff\x00bar", b"a\x00b", b"c\xfe", b"x\r\ny"]);
        assert_eq!(r, b"-ERR unknown command 'foo\xff', with args beginning with: 'a' 'c\xfe' 'x  y' \r\n".to_vec(), "{}", s.name);
        let r = c.cmd_raw(&[b"CLIENT", b"\xffx"]);
        assert_eq!(r, b"-ERR unknown subcommand '\xffx'. Try CLIENT HELP.\r\n".to_vec(), "{}", s.name);
        let r = c.cmd_raw(&[b"CONFIG", b"\xe9t\xe9"]);
        assert_eq!(r, b"-ERR unknown subcommand '\xe9t\xe9'. Try CONFIG HELP.\r\n".to_vec(), "{}", s.name);
        let r = c.cmd_raw(&[b"MEMORY", b"\xff"]);
        assert_eq!(r, b"-ERR unknown subcommand '\xff'. Try MEMORY HELP.\r\n".to_vec(), "{}", s.name);
        let r = c.cmd_raw(&[b"HELLO", b"3", b"\xffopt"]);
        assert_eq!(r, b"-ERR Syntax error in HELLO option '\xffopt'\r\n".to_vec(), "{}", s.name);
        // Long arguments: the list stops once it reaches 128 bytes, each cut to what is left.
        let long = vec![b'a'; 100];
        let r = c.cmd_raw(&[b"nosuch", &long, &long, &long]);
        let want = format!("-ERR unknown command 'nosuch', with args beginning with: '{}' '{}' \r\n", "a".repeat(100), "a".repeat(25));
        assert_eq!(String::from_utf8_lossy(&r), want, "{}", s.name);
    }
}

#[test]
fn hello_noauth_text() {
    for s in pair(&["--requirepass", "pw"]) {
        assert_eq!(
            s.conn().raw(&["HELLO", "3"]),
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
            "{}",
            s.name
        );
    }
}

#[test]
fn query_buffer_limit_counts_unparsed_bytes() {
    for s in pair(&["--client-query-buffer-limit", "1mb"]) {
        // 2 MB of arguments in one command, each 1 KB: Redis parses them as they come.
        let mut c = s.conn();
        let kb = vec![b'x'; 1024];
        let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"l"];
        argv.extend(std::iter::repeat_n(&kb[..], 2048));
        assert_eq!(c.cmd_raw(&argv), b":2048\r\n".to_vec(), "{}", s.name);
        // One 2 MB argument must sit in the buffer whole: over the limit, closed.
        let mut c = s.conn();
        let big = vec![b'y'; 2 * 1024 * 1024];
        let _ = std::io::Write::write_all(&mut c.w, &encode(&[b"SET", b"big", &big]));
        assert!(c.is_closed(Duration::from_secs(5)), "{}", s.name);
        assert_eq!(s.conn().raw(&["EXISTS", "big"]), ":0\r\n", "{}", s.name);
        assert!(s.log_text().contains("Closing client that reached max query buffer length"), "{}", s.name);
    }
}

trait RawCmd {
    fn cmd_raw(&mut self, args: &[&[u8]]) -> Vec<u8>;
}

impl RawCmd for Conn {
    fn cmd_raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.reply_bytes()
    }
}
