//! Incremental request parser: RESP multibulk and inline commands.
//!
//! The parser keeps its position inside a half-read multibulk between reads (like Redis's
//! `multibulklen`/`bulklen`), so a huge or slow request is never re-scanned from the start and
//! no memory is reserved from a claimed length alone: arguments are cut from the read buffer
//! only once their bytes have arrived.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request, or `*`/`$` count line, kept while waiting for its newline.
pub const INLINE_MAX: usize = 64 * 1024;

/// Limits that come from the configuration and the connection's auth state.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// Unauthenticated connections get tiny limits, as in Redis.
    pub authenticated: bool,
}

/// A protocol error: the text after `-ERR Protocol error: `. The connection is closed after
/// replying, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub String);

impl ProtoError {
    /// The full error reply line.
    pub fn reply(&self) -> String {
        format!("-ERR Protocol error: {}\r\n", self.0)
    }
}

/// Parses requests out of a connection's read buffer.
#[derive(Default, Debug)]
pub struct RequestParser {
    /// Arguments still expected by the multibulk in progress (0 = none in progress).
    pending: usize,
    /// Arguments of the multibulk in progress.
    args: Argv,
    /// Length of the bulk whose `$len` line has been read but whose payload has not.
    bulk_len: Option<usize>,
    /// Raw bytes consumed by the request in progress (replication offsets count them).
    consumed: usize,
    /// Arguments of `args` already copied out of the read buffer (see `own_partial_args`).
    owned: usize,
    /// Report empty requests (blank lines, `*0`) as requests with no arguments, so a replica
    /// can keep raw bytes and requests aligned.
    pub keep_empty: bool,
}

/// A request's arguments: up to three inline (no allocation for GET or SET).
pub type Argv = smallvec::SmallVec<[Bytes; 3]>;

/// One parsed request and the number of raw bytes it took on the wire.
#[derive(Debug, Clone)]
pub struct Request {
    pub argv: Argv,
    pub wire_len: usize,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    /// True when a request is partly read (used for the query buffer accounting).
    pub fn in_progress(&self) -> bool {
        self.pending > 0
    }

    /// Bytes of the current half-read request already taken out of the buffer.
    pub fn partial_bytes(&self) -> usize {
        self.consumed
    }

    /// Parses every complete request in `buf` into `out`.
    ///
    /// Empty requests (blank inline lines, `*0`, `*-1`) produce nothing but their bytes are
    /// reported through `skipped` (a replica counts a master's `\n` keepalives? no: Redis does
    /// not count them, so they are only consumed).
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: Limits,
        out: &mut Vec<Request>,
    ) -> Result<(), ProtoError> {
        let mut spans = Spans::new();
        loop {
            if self.pending == 0 {
                if buf.is_empty() {
                    return Ok(());
                }
                if buf[0] == b'*' {
                    spans.clear();
                    if let Some(total) = scan_whole(buf, limits, &mut spans) {
                        out.push(Request { argv: cut_whole(buf, total, &spans), wire_len: total });
                        continue;
                    }
                    match self.start_multibulk(buf, limits)? {
                        Step::NeedMore => return Ok(()),
                        Step::Done => {}
                    }
                    if self.pending == 0 {
                        // *0 or *-1: nothing to run.
                        if self.keep_empty {
                            out.push(Request { argv: Argv::new(), wire_len: self.consumed });
                        }
                        self.consumed = 0;
                        continue;
                    }
                } else {
                    match self.inline(buf)? {
                        None => return Ok(()),
                        Some(None) => continue,
                        Some(Some(req)) => {
                            out.push(req);
                            continue;
                        }
                    }
                }
            }
            match self.bulks(buf, limits)? {
                Step::NeedMore => {
                    self.own_partial_args();
                    return Ok(());
                }
                Step::Done => {
                    self.owned = 0;
                    let argv = std::mem::take(&mut self.args);
                    out.push(Request { argv, wire_len: self.consumed });
                    self.consumed = 0;
                }
            }
        }
    }

    /// A request waits for more bytes: its small arguments read so far get allocations of
    /// their own, so the read buffer is not pinned by them (it can be reused, and a client's
    /// memory is what its query buffer counts). Big ones keep theirs, as Redis keeps a big
    /// argument's buffer.
    fn own_partial_args(&mut self) {
        const BIG_ARG: usize = 32 * 1024;
        for a in self.args.iter_mut().skip(self.owned) {
            if a.len() < BIG_ARG {
                *a = Bytes::copy_from_slice(a);
            }
        }
        self.owned = self.args.len();
    }

    /// Reads the `*<n>\r\n` header.
    fn start_multibulk(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<Step, ProtoError> {
        let Some(nl) = count_line_end(buf, "too big mbulk count string")? else {
            return Ok(Step::NeedMore);
        };
        let n = crate::util::num::parse_i64(&buf[1..nl]);
        let n = match n {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => return Err(ProtoError("invalid multibulk length".into())),
        };
        if !limits.authenticated && n > 10 {
            return Err(ProtoError("unauthenticated multibulk length".into()));
        }
        buf.advance(nl + 2);
        self.consumed = nl + 2;
        if n > 0 {
            self.pending = n as usize;
            self.args = Argv::with_capacity(self.pending.min(1024));
        }
        Ok(Step::Done)
    }

    /// Reads as many `$<len>\r\n<payload>\r\n` arguments as have arrived.
    fn bulks(&mut self, buf: &mut BytesMut, limits: Limits) -> Result<Step, ProtoError> {
        while self.pending > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(nl) = count_line_end(buf, "too big bulk count string")? else {
                        return Ok(Step::NeedMore);
                    };
                    if buf[0] != b'$' {
                        return Err(expected_dollar(buf[0]));
                    }
                    let len = match crate::util::num::parse_i64(&buf[1..nl]) {
                        Some(l) if l >= 0 && l <= limits.max_bulk_len => l as usize,
                        _ => return Err(ProtoError("invalid bulk length".into())),
                    };
                    if !limits.authenticated && len > 16384 {
                        return Err(ProtoError("unauthenticated bulk length".into()));
                    }
                    buf.advance(nl + 2);
                    self.consumed += nl + 2;
                    self.bulk_len = Some(len);
                    // Reserve only what is likely to come soon, never the claimed length.
                    let want = (len + 2).min(1 << 20);
                    if buf.capacity() - buf.len() < want && buf.len() < want {
                        buf.reserve(want - buf.len());
                    }
                    len
                }
            };
            if buf.len() < len + 2 {
                return Ok(Step::NeedMore);
            }
            let arg = buf.split_to(len).freeze();
            buf.advance(2);
            self.consumed += len + 2;
            self.bulk_len = None;
            self.args.push(arg);
            self.pending -= 1;
        }
        Ok(Step::Done)
    }

    /// Reads one inline command line. `None`: need more bytes; `Some(None)`: an empty line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Option<Request>>, ProtoError> {
        // As Redis (a C string search), a NUL byte hides the newline after it: the request
        // waits for more input, up to the inline limit.
        let Some(nl) = memchr_before_nul(b'\n', buf) else {
            if buf.len() > INLINE_MAX {
                return Err(ProtoError("too big inline request".into()));
            }
            return Ok(None);
        };
        let mut end = nl;
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        let args = crate::util::splitargs::splitargs(&buf[..end])
            .ok_or_else(|| ProtoError("unbalanced quotes in request".into()))?;
        buf.advance(nl + 1);
        if args.is_empty() {
            if self.keep_empty {
                return Ok(Some(Some(Request { argv: Argv::new(), wire_len: nl + 1 })));
            }
            return Ok(Some(None));
        }
        let argv = args.into_iter().map(Bytes::from).collect();
        Ok(Some(Some(Request { argv, wire_len: nl + 1 })))
    }
}

enum Step {
    NeedMore,
    Done,
}

/// Where each argument of a whole multibulk lies: (offset, length).
type Spans = smallvec::SmallVec<[(usize, usize); 8]>;

/// The fast path for a whole, ordinary multibulk at the start of `buf` (the usual case of a
/// pipeline): its arguments' spans and its total length, found in one pass without touching
/// the buffer. `None` for anything incomplete or unusual (a limit reached, a sign, leading
/// zeros, no `$`, more than 64 arguments): the incremental path then takes the request and
/// words any error exactly as before.
fn scan_whole(buf: &[u8], limits: Limits, spans: &mut Spans) -> Option<usize> {
    let (n, mut at) = count_at(buf, 1)?;
    if n == 0 || n > 64 || (!limits.authenticated && n > 10) {
        return None;
    }
    for _ in 0..n {
        if *buf.get(at)? != b'$' {
            return None;
        }
        let (len, start) = count_at(buf, at + 1)?;
        if len as i64 > limits.max_bulk_len || (!limits.authenticated && len > 16384) {
            return None;
        }
        // The two bytes after the payload are skipped unread, as by the incremental path.
        let end = start.checked_add(len)?.checked_add(2)?;
        if end > buf.len() {
            return None;
        }
        spans.push((start, len));
        at = end;
    }
    Some(at)
}

/// A count line's digits from `from` to its `\r` (canonical: no sign, no leading zero, at
/// most 18 digits), with the byte after the `\r` present: (value, offset after that byte).
fn count_at(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    let mut i = from;
    loop {
        match *buf.get(i)? {
            c @ b'0'..=b'9' if i - from < 18 => value = value * 10 + (c - b'0') as usize,
            b'\r' => break,
            _ => return None,
        }
        i += 1;
    }
    let digits = i - from;
    if digits == 0 || (digits > 1 && buf[from] == b'0') || i + 1 >= buf.len() {
        return None;
    }
    Some((value, i + 2))
}

/// Takes a scanned multibulk of `total` bytes out of `buf` as its arguments: one split of
/// the buffer, then each argument cut from it (the last one is what remains).
fn cut_whole(buf: &mut BytesMut, total: usize, spans: &Spans) -> Argv {
    let mut rest = buf.split_to(total);
    let mut argv = Argv::with_capacity(spans.len());
    let mut pos = 0;
    for (i, &(start, len)) in spans.iter().enumerate() {
        rest.advance(start - pos);
        if i + 1 == spans.len() {
            rest.truncate(len);
            argv.push(std::mem::take(&mut rest).freeze());
            break;
        }
        argv.push(rest.split_to(len).freeze());
        pos = start + len;
    }
    argv
}

fn expected_dollar(got: u8) -> ProtoError {
    ProtoError(format!("expected '$', got '{}'", got as char))
}

/// Where a `*<count>` or `$<len>` line ends.
enum Cr {
    /// The line's `\r` is here and a byte follows it.
    At(usize),
    /// The `\r` is the last byte: wait for the one after it.
    Pending,
    /// No `\r` yet (or a NUL byte before it).
    Missing,
}

/// Finds the `\r` ending a count line as Redis does: the first `\r` (a C string search, so
/// not past a NUL byte), followed by any byte, which is skipped as if it were the `\n`.
fn find_cr(buf: &[u8]) -> Cr {
    match memchr_before_nul(b'\r', buf) {
        Some(i) if i + 1 < buf.len() => Cr::At(i),
        Some(_) => Cr::Pending,
        None => Cr::Missing,
    }
}

/// Where the count line at the start of `buf` ends (`None`: wait for more), or the error
/// `too_big` once more than the inline limit has come without one.
fn count_line_end(buf: &[u8], too_big: &str) -> Result<Option<usize>, ProtoError> {
    match find_cr(buf) {
        Cr::At(nl) => Ok(Some(nl)),
        Cr::Pending => Ok(None),
        Cr::Missing if buf.len() > INLINE_MAX => Err(ProtoError(too_big.into())),
        Cr::Missing => Ok(None),
    }
}

/// Position of the first `c` in `buf` that comes before any NUL byte.
fn memchr_before_nul(c: u8, buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == c || b == 0).filter(|&i| buf[i] == c)
}


#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<(), ProtoError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = vec![];
        let r = p.parse(&mut buf, OPEN, &mut out);
        (out.into_iter().map(|r| r.argv.iter().map(|a| a.to_vec()).collect()).collect(), r)
    }

    #[test]
    fn multibulk_and_inline() {
        let (cmds, r) = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\n\r\n");
        assert!(r.is_ok());
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0], vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(cmds[1], vec![b"PING".to_vec()]);
        assert_eq!(cmds[2], vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()]);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut out = vec![];
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            p.parse(&mut buf, OPEN, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].wire_len, input.len());
        assert_eq!(&out[0].argv[2][..], b"hello");
    }

    /// Parses `input` fed one byte at a time: the incremental path (a request's header is
    /// taken before its arguments arrive, so the whole-request path never applies).
    fn parse_bytewise(input: &[u8], limits: Limits) -> (Vec<(Vec<Vec<u8>>, usize)>, Option<ProtoError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut out = vec![];
        for &b in input {
            buf.extend_from_slice(&[b]);
            if let Err(e) = p.parse(&mut buf, limits, &mut out) {
                return (out.into_iter().map(|r| (r.argv.iter().map(|a| a.to_vec()).collect(), r.wire_len)).collect(), Some(e));
            }
        }
        (out.into_iter().map(|r| (r.argv.iter().map(|a| a.to_vec()).collect(), r.wire_len)).collect(), None)
    }

    #[test]
    fn whole_request_fast_path_agrees_with_the_incremental_path() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let pieces: &[&[u8]] = &[b"*", b"$", b"\r\n", b"\r", b"\n", b"0", b"1", b"2", b"3", b"-1", b"+1", b"01", b"17", b"\0", b"x", b"GET", b"ab"];
        for round in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..1 + rnd(3) {
                // A well-formed request, then maybe a corruption.
                let n = 1 + rnd(4) as usize;
                input.extend_from_slice(format!("*{}\r\n", n).as_bytes());
                for _ in 0..n {
                    let len = rnd(6) as usize;
                    input.extend_from_slice(format!("${}\r\n", len).as_bytes());
                    input.extend((0..len).map(|_| b"abc\r\n\0"[rnd(6) as usize]));
                    input.extend_from_slice(b"\r\n");
                }
            }
            for _ in 0..rnd(3) {
                let at = rnd(input.len() as u64 + 1) as usize;
                let piece = pieces[rnd(pieces.len() as u64) as usize];
                if rnd(2) == 0 {
                    input.splice(at..at, piece.iter().copied());
                } else {
                    let end = (at + piece.len()).min(input.len());
                    input.splice(at..end, piece.iter().copied());
                }
            }
            for limits in [OPEN, Limits { max_bulk_len: 3, authenticated: true }, Limits { max_bulk_len: 512 << 20, authenticated: false }] {
                let mut p = RequestParser::new();
                let mut buf = BytesMut::from(&input[..]);
                let mut out = vec![];
                let r = p.parse(&mut buf, limits, &mut out).err();
                let whole: Vec<_> = out.into_iter().map(|r| (r.argv.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), r.wire_len)).collect();
                let (bytewise, e) = parse_bytewise(&input, limits);
                assert_eq!((whole, r), (bytewise, e), "round {round} input {:?}", String::from_utf8_lossy(&input));
            }
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse_all(b"*3000000000\r\n").1.unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\n$99999999999\r\n").1.unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$-1\r\n").1.unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\nfoo\r\n").1.unwrap_err().0, "expected '$', got 'f'");
        assert_eq!(parse_all(b"set \"a\n").1.unwrap_err().0, "unbalanced quotes in request");
        let (cmds, r) = parse_all(b"*-5\r\nPING\r\n");
        assert!(r.is_ok());
        assert_eq!(cmds.len(), 1);
    }

    #[test]
    fn count_lines_end_at_the_first_cr_as_redis() {
        // Redis skips the byte after the `\r` of a count line, whatever it is.
        let (cmds, r) = parse_all(b"*1\rX$4\rYPING\r\n");
        assert!(r.is_ok());
        assert_eq!(cmds, vec![vec![b"PING".to_vec()]]);
        // A count line cut after its `\r`: wait.
        let (cmds, r) = parse_all(b"*1\r");
        assert!(r.is_ok() && cmds.is_empty());
        // Something other than `$` with no line end yet: wait, as Redis (no error yet).
        let (cmds, r) = parse_all(b"*1\r\nfoo");
        assert!(r.is_ok() && cmds.is_empty());
    }

    #[test]
    fn nul_hides_the_line_end_as_in_redis() {
        let (cmds, r) = parse_all(b"PI\0NG\r\n");
        assert!(r.is_ok() && cmds.is_empty());
        let (cmds, r) = parse_all(b"*1\0\r\n$4\r\nPING\r\n");
        assert!(r.is_ok() && cmds.is_empty());
        // Past the inline limit it is an error.
        let mut big = b"PING\0".to_vec();
        big.resize(INLINE_MAX + 10, b'a');
        big.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&big).1.unwrap_err().0, "too big inline request");
        // NULs inside a bulk payload are data.
        let (cmds, r) = parse_all(b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n");
        assert!(r.is_ok());
        assert_eq!(cmds[0][1], b"a\0b".to_vec());
    }

    #[test]
    fn huge_header_reserves_nothing() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2000000\r\n$1\r\na\r\n"[..]);
        let mut out = vec![];
        p.parse(&mut buf, OPEN, &mut out).unwrap();
        assert!(out.is_empty());
        assert!(p.in_progress());
        assert!(p.args.capacity() <= 1024);
    }
}
