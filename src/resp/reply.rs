//! Reply writer: appends RESP2 (or RESP3 after `HELLO 3`) replies to one buffer, so a whole
//! pipeline's replies leave in a single write.

use bytes::{BufMut, BytesMut};

/// A reply buffer for one batch of commands.
#[derive(Debug, Default)]
pub struct Out {
    pub buf: BytesMut,
    /// RESP3 framing for maps, sets, doubles and nulls.
    pub resp3: bool,
    /// The codes of the error replies written (INFO errorstats): the buffer's owner hands
    /// them to the server's counters.
    pub errors: Vec<String>,
    /// Error replies written so far, counted ones (never reset: a command failed when it
    /// moved this).
    pub error_count: u64,
}

/// An error reply's code for INFO errorstats, as Redis 7.0 finds it: the text before the
/// first space when that space is within the reply line's first 32 bytes (the `-`
/// included), `ERR` otherwise.
pub fn error_code(msg: &[u8]) -> String {
    match msg.iter().take(31).position(|&b| b == b' ') {
        Some(end) => String::from_utf8_lossy(&msg[..end]).into_owned(),
        None => "ERR".to_string(),
    }
}

impl Out {
    pub fn new(resp3: bool) -> Self {
        Out { buf: BytesMut::with_capacity(256), resp3, errors: Vec::new(), error_count: 0 }
    }

    /// A reply buffer around `buf`.
    pub fn with_buf(buf: BytesMut, resp3: bool) -> Self {
        Out { buf, resp3, errors: Vec::new(), error_count: 0 }
    }

    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(b'+');
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// An error reply; `msg` carries its code (`ERR ...`, `WRONGTYPE ...`).
    /// The text is raw bytes: an argument echoed in it comes back as sent, as in Redis.
    pub fn error(&mut self, msg: impl AsRef<[u8]>) {
        let msg = msg.as_ref();
        self.errors.push(error_code(msg));
        self.error_count += 1;
        self.error_uncounted(msg);
    }

    /// An error reply already counted where it arose (a failed command's error that a
    /// script passes on, as Redis's `ERR_REPLY_FLAG_NO_STATS_UPDATE`).
    pub fn error_uncounted(&mut self, msg: impl AsRef<[u8]>) {
        let msg = msg.as_ref();
        self.buf.reserve(msg.len() + 3);
        self.buf.put_u8(b'-');
        // Newlines would break the framing: Redis replaces them with spaces.
        for &b in msg {
            self.buf.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.put_slice(b"\r\n");
    }

    /// A HELP reply: one simple string per line.
    pub fn help(&mut self, lines: &[&str]) {
        self.array(lines.len());
        for l in lines {
            self.simple(l);
        }
    }

    pub fn int(&mut self, v: i64) {
        self.prefixed_num(b':', v);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.buf.reserve(data.len() + 16);
        self.prefixed_num(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes())
    }

    /// A bulk reply holding an integer's decimal form.
    pub fn bulk_int(&mut self, v: i64) {
        let mut tmp = itoa_buf(v);
        let s = tmp.as_str();
        self.bulk(s.as_bytes());
        tmp.clear();
    }

    /// Null bulk (`$-1`) in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// Null array (`*-1`) in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.prefixed_num(b'*', len as i64);
    }

    /// A map of `len` pairs (an array of 2*len in RESP2).
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.prefixed_num(b'%', len as i64);
        } else {
            self.prefixed_num(b'*', 2 * len as i64);
        }
    }

    /// A set (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.prefixed_num(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// A double: bulk string in RESP2, `,` in RESP3.
    pub fn double(&mut self, v: f64) {
        let s = crate::util::num::fmt_double(v);
        if self.resp3 {
            self.buf.put_u8(b',');
            self.buf.put_slice(s.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A verbatim string (RESP3 `=`), a bulk in RESP2 (used by INFO, CLIENT LIST).
    pub fn verbatim(&mut self, s: &str) {
        if self.resp3 {
            self.prefixed_num(b'=', s.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(s.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// Raw, already framed bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.put_slice(b);
    }

    fn prefixed_num(&mut self, prefix: u8, v: i64) {
        self.buf.reserve(24);
        self.buf.put_u8(prefix);
        let mut tmp = itoa_buf(v);
        self.buf.put_slice(tmp.as_str().as_bytes());
        tmp.clear();
        self.buf.put_slice(b"\r\n");
    }
}

/// A stack buffer holding an integer's decimal digits.
pub struct ItoaBuf {
    bytes: [u8; 20],
    start: usize,
}

impl ItoaBuf {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and '-' are ever written.
        std::str::from_utf8(&self.bytes[self.start..]).unwrap_or("0")
    }
    fn clear(&mut self) {}
}

/// Formats `v` without allocating.
pub fn itoa_buf(v: i64) -> ItoaBuf {
    let mut bytes = [0u8; 20];
    let mut pos = 20;
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        pos -= 1;
        bytes[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        pos -= 1;
        bytes[pos] = b'-';
    }
    ItoaBuf { bytes, start: pos }
}

/// Encodes an argument vector as a RESP array (the replication stream's form).
pub fn encode_command(argv: &[impl AsRef<[u8]>], buf: &mut BytesMut) {
    let mut size = 16;
    for a in argv {
        size += a.as_ref().len() + 16;
    }
    buf.reserve(size);
    put_header(buf, b'*', argv.len());
    for a in argv {
        let a = a.as_ref();
        put_header(buf, b'$', a.len());
        buf.put_slice(a);
        buf.put_slice(b"\r\n");
    }
}

/// `<kind><n>\r\n`, with the common small counts written without division loops.
#[inline]
fn put_header(buf: &mut BytesMut, kind: u8, n: usize) {
    if n < 10 {
        buf.put_slice(&[kind, b'0' + n as u8, b'\r', b'\n']);
    } else if n < 100 {
        buf.put_slice(&[kind, b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, b'\r', b'\n']);
    } else {
        buf.put_u8(kind);
        buf.put_slice(itoa_buf(n as i64).as_str().as_bytes());
        buf.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        let mut o = Out::new(false);
        o.ok();
        o.int(-42);
        o.bulk(b"hi");
        o.null();
        o.array(2);
        o.error("ERR bad\r\nthing");
        assert_eq!(&o.buf[..], b"+OK\r\n:-42\r\n$2\r\nhi\r\n$-1\r\n*2\r\n-ERR bad  thing\r\n");
        assert_eq!(itoa_buf(i64::MIN).as_str(), "-9223372036854775808");
    }

    #[test]
    fn command_encoding_lengths() {
        for n in [0usize, 1, 9, 10, 11, 99, 100, 101, 12345] {
            let arg = vec![b'x'; n];
            let argv: Vec<&[u8]> = std::iter::repeat_n(&arg[..], n.min(120)).collect();
            let mut b = BytesMut::new();
            encode_command(&argv, &mut b);
            let mut want = format!("*{}\r\n", argv.len());
            for a in &argv {
                want.push_str(&format!("${}\r\n{}\r\n", a.len(), String::from_utf8_lossy(a)));
            }
            assert_eq!(String::from_utf8_lossy(&b), want, "n={}", n);
        }
    }
}
