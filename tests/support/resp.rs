//! The raw RESP client: commands out, replies back exactly as they came on the wire (or
//! parsed into a [`Reply`]), and the line/byte readers a raw replication stream needs.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// Encodes a command as a RESP multibulk, from any byte-like arguments.
pub fn encode_args<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args.iter().map(AsRef::as_ref) {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Encodes a command given as byte strings (`&[b"SET", b"k", &value]`).
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    encode_args(args)
}

/// Encodes a command given as strings.
pub fn encode_str(args: &[&str]) -> Vec<u8> {
    encode_args(args)
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

/// A raw RESP connection. Every read times out after [`IO_TIMEOUT`] (a test fails instead
/// of hanging); `r` and `w` are the same socket, for tests that need it directly.
///
/// Naming: `raw` / `raw_bytes` / `cmd` send a command and return its reply as text, as bytes
/// or parsed; `reply` / `reply_bytes` / `read_reply` only read the next reply.
pub struct Conn {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to port {}: {}", port, e));
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Conn { r: BufReader::new(s.try_clone().unwrap()), w: s }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("write to server");
    }

    /// Sends a command without reading its reply.
    pub fn send_cmd(&mut self, args: &[&str]) {
        self.send(&encode_str(args));
    }

    /// Sends a command and returns its reply as a (lossy) string, for assert_eq! readability.
    pub fn raw(&mut self, args: &[&str]) -> String {
        self.send_cmd(args);
        self.reply()
    }

    /// Sends a command (any byte-like arguments) and returns its reply byte for byte.
    pub fn raw_bytes<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(&encode_args(args));
        self.reply_bytes()
    }

    /// Sends a command and parses its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        self.send_cmd(args);
        self.read_reply()
    }

    /// Binary-safe form of [`Conn::cmd`].
    pub fn cmd_b(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Sends every command at once (in chunks of 500), then reads the replies; panics on an
    /// error reply.
    pub fn pipeline(&mut self, cmds: &[Vec<String>]) {
        for chunk in cmds.chunks(500) {
            let mut buf = vec![];
            for c in chunk {
                buf.extend(encode_args(c));
            }
            self.send(&buf);
            for c in chunk {
                let r = self.reply();
                assert!(!r.starts_with('-'), "{:?} -> {}", c, r);
            }
        }
    }

    /// Reads the raw bytes of exactly one reply (RESP2 or RESP3, nested ones included).
    pub fn reply_bytes(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        read_one(&mut self.r, &mut out);
        out
    }

    /// Waits until the server closes the connection (EOF or an error); true on EOF.
    pub fn wait_closed(&mut self) -> bool {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        loop {
            match self.r.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Reads one reply as text (invalid UTF-8 replaced).
    pub fn reply(&mut self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }

    /// Reads and parses one reply.
    pub fn read_reply(&mut self) -> Reply {
        parse(&self.reply_bytes()).0
    }

    // ----- INFO -----

    /// `INFO <section>` as (field, value) pairs, in the server's order.
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

    // ----- closing -----

    /// True once the server closed the connection (EOF or reset); false if data arrived or
    /// nothing did within `within`.
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

    /// Reads whatever arrives until EOF (or `within` passes without data): for replies
    /// followed by a close. Check [`Conn::is_closed`] to tell the two apart.
    pub fn read_to_close(&mut self, within: Duration) -> Vec<u8> {
        self.w.set_read_timeout(Some(within)).unwrap();
        let mut v = Vec::new();
        let _ = self.r.read_to_end(&mut v);
        self.w.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        v
    }

    // ----- a raw replication stream -----

    /// One line without its line end (CRLF, or a bare LF).
    pub fn line(&mut self) -> String {
        let mut l = Vec::new();
        let n = self.r.read_until(b'\n', &mut l).expect("read a line");
        assert!(n > 0, "connection closed while waiting for a line");
        if l.ends_with(b"\r\n") {
            l.truncate(l.len() - 2);
        } else if l.ends_with(b"\n") {
            l.truncate(l.len() - 1);
        }
        String::from_utf8_lossy(&l).into_owned()
    }

    /// Skips the bare `\n` keepalives a master may send before a reply.
    pub fn skip_newlines(&mut self) {
        loop {
            let buf = self.r.fill_buf().expect("read");
            assert!(!buf.is_empty(), "connection closed");
            if buf[0] != b'\n' {
                return;
            }
            self.r.consume(1);
        }
    }

    /// Exactly `n` bytes.
    pub fn exact(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.r.read_exact(&mut v).unwrap_or_else(|e| panic!("read {} bytes: {}", n, e));
        v
    }

    /// Reads until `mark` arrives; returns what came before it (the mark is consumed).
    pub fn until_suffix(&mut self, mark: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let buf = self.r.fill_buf().unwrap_or_else(|e| panic!("read until {:?}: {}", String::from_utf8_lossy(mark), e));
            assert!(!buf.is_empty(), "connection closed before {:?}", String::from_utf8_lossy(mark));
            let before = out.len();
            out.extend_from_slice(buf);
            let from = before.saturating_sub(mark.len() - 1);
            if let Some(p) = out[from..].windows(mark.len()).position(|w| w == mark) {
                let end = from + p;
                self.r.consume(end + mark.len() - before);
                out.truncate(end);
                return out;
            }
            let n = buf.len();
            self.r.consume(n);
        }
    }
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

fn read_line(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) -> String {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line).expect("read reply line");
    assert!(n > 0, "connection closed while waiting for a reply (got so far: {:?})", String::from_utf8_lossy(out));
    out.extend_from_slice(&line);
    assert!(line.ends_with(b"\r\n"), "reply line without CRLF: {:?}", String::from_utf8_lossy(&line));
    String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned()
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
