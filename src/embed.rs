//! In-process connections and their replies: what [`ServerHandle`](crate::ServerHandle)'s
//! embedding API (`exec`, `connect`, `replicaof`, `promote`, `offset`, `wait`, `info`,
//! `events`) is built on.
//!
//! An in-process [`Connection`] is a real client of the server: one end of a Unix socket pair
//! is handed to a client actor exactly as an accepted socket would be, so every command goes
//! through the same parsing, checks (READONLY on a replica, MULTI, ACL, pauses), propagation
//! and CLIENT LIST entry as over TCP. It is authenticated (the application owns the server)
//! and local. Replies come back as [`Value`]s.

use bytes::{Buf, Bytes, BytesMut};

/// A reply, as RESP2 or RESP3 carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+OK`
    Status(String),
    /// `-ERR ...` (the text without the `-`)
    Error(String),
    /// `:42`
    Int(i64),
    /// `$5 hello`
    Bulk(Bytes),
    /// `$-1`, `*-1` or RESP3 `_`
    Nil,
    /// `*N ...` (also RESP3 sets and pushes)
    Array(Vec<Value>),
    /// RESP3 `%N` map
    Map(Vec<(Value, Value)>),
    /// RESP3 `,1.5`
    Double(f64),
    /// RESP3 `#t` / `#f`
    Bool(bool),
    /// RESP3 `(` big number, `=` verbatim string (text after the `txt:` prefix)
    Text(String),
}

impl Value {
    /// The bytes of a bulk or status reply.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) => Some(b),
            Value::Status(s) | Value::Text(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// A bulk, status or text reply as a string (lossy UTF-8).
    pub fn as_str(&self) -> Option<String> {
        self.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// An integer reply.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// `Err(text)` for an error reply, else `Ok(self)`.
    pub fn into_result(self) -> Result<Value, String> {
        match self {
            Value::Error(e) => Err(e),
            v => Ok(v),
        }
    }
}

/// Parses one complete reply from the front of `buf` (None: incomplete; Err: bad protocol).
pub fn parse_value(buf: &mut BytesMut) -> Result<Option<Value>, String> {
    let mut at = 0;
    match parse_at(buf, &mut at)? {
        Some(v) => {
            buf.advance(at);
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

fn line<'a>(buf: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = &buf[*at..];
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    *at += i + 2;
    Some(&rest[..i])
}

fn int_of(l: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(l).ok().and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(l)))
}

fn parse_at(buf: &[u8], at: &mut usize) -> Result<Option<Value>, String> {
    let Some(&kind) = buf.get(*at) else { return Ok(None) };
    *at += 1;
    let Some(l) = line(buf, at) else { return Ok(None) };
    let text = || String::from_utf8_lossy(l).into_owned();
    Ok(Some(match kind {
        b'+' => Value::Status(text()),
        b'-' => Value::Error(text()),
        b':' => Value::Int(int_of(l)?),
        b'_' => Value::Nil,
        b'#' => Value::Bool(l == b"t"),
        b',' => Value::Double(text().parse().unwrap_or(f64::NAN)),
        b'(' => Value::Text(text()),
        b'$' | b'=' | b'!' => {
            let n = int_of(l)?;
            if n < 0 {
                return Ok(Some(Value::Nil));
            }
            let n = n as usize;
            if buf.len() < *at + n + 2 {
                return Ok(None);
            }
            let body = Bytes::copy_from_slice(&buf[*at..*at + n]);
            *at += n + 2;
            match kind {
                b'$' => Value::Bulk(body),
                b'!' => Value::Error(String::from_utf8_lossy(&body).into_owned()),
                _ => Value::Text(String::from_utf8_lossy(body.get(4..).unwrap_or(&[])).into_owned()),
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = int_of(l)?;
            if n < 0 {
                return Ok(Some(Value::Nil));
            }
            let items = if kind == b'%' { 2 * n } else { n };
            let mut vs = Vec::with_capacity(items.min(1024) as usize);
            for _ in 0..items {
                match parse_at(buf, at)? {
                    Some(v) => vs.push(v),
                    None => return Ok(None),
                }
            }
            if kind == b'%' {
                let mut it = vs.into_iter();
                let mut pairs = vec![];
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            } else {
                Value::Array(vs)
            }
        }
        other => return Err(format!("unexpected reply type byte {:?}", other as char)),
    }))
}

/// An in-process connection to a server (its own client actor, like one TCP client).
pub struct Connection {
    stream: crate::rt::UnixStream,
    buf: BytesMut,
    id: u64,
}

impl Connection {
    pub(crate) fn new(stream: crate::rt::UnixStream, id: u64) -> Self {
        Connection { stream, buf: BytesMut::new(), id }
    }

    /// This connection's client id (CLIENT ID, CLIENT LIST).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Runs one command and returns its reply (an error reply is `Ok(Value::Error)`; `Err` is
    /// a closed connection).
    pub async fn exec<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Result<Value, String> {
        use crate::rt::WriteExt;
        let parts: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        let mut out = BytesMut::new();
        crate::resp::reply::encode_command(&parts, &mut out);
        self.stream.write_all(&out).await.map_err(|e| e.to_string())?;
        self.read().await
    }

    /// Waits for the next value the server sends without a request: a Pub/Sub message after
    /// SUBSCRIBE, a MONITOR line, the further confirmations of a SUBSCRIBE to several
    /// channels (`exec` returns the first).
    pub async fn read(&mut self) -> Result<Value, String> {
        use crate::rt::ReadExt;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(v) = parse_value(&mut self.buf)? {
                return Ok(v);
            }
            let n = self.stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Option<Value> {
        let mut b = BytesMut::from(s);
        parse_value(&mut b).unwrap()
    }

    #[test]
    fn replies() {
        assert_eq!(parse(b"+OK\r\n"), Some(Value::Status("OK".into())));
        assert_eq!(parse(b"-ERR no\r\n"), Some(Value::Error("ERR no".into())));
        assert_eq!(parse(b":-3\r\n"), Some(Value::Int(-3)));
        assert_eq!(parse(b"$3\r\nabc\r\n"), Some(Value::Bulk(Bytes::from_static(b"abc"))));
        assert_eq!(parse(b"$-1\r\n"), Some(Value::Nil));
        assert_eq!(parse(b"$3\r\nab"), None);
        assert_eq!(
            parse(b"*2\r\n:1\r\n*1\r\n$1\r\nx\r\n"),
            Some(Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Bulk(Bytes::from_static(b"x"))])]))
        );
        assert_eq!(parse(b"*2\r\n:1\r\n"), None);
        assert_eq!(parse(b"%1\r\n+a\r\n#t\r\n"), Some(Value::Map(vec![(Value::Status("a".into()), Value::Bool(true))])));
        assert_eq!(parse(b",1.5\r\n"), Some(Value::Double(1.5)));
        assert_eq!(parse(b"=8\r\ntxt:abcd\r\n"), Some(Value::Text("abcd".into())));
        let mut b = BytesMut::from(&b"?x\r\n"[..]);
        assert!(parse_value(&mut b).is_err());
    }
}
